"""Planar geometry helpers (ROS-free). Angles in radians, REP-103 frames (x forward, z up)."""

from __future__ import annotations

import math


def wrap_angle(theta_rad: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (theta_rad + math.pi) % (2.0 * math.pi) - math.pi


def yaw_to_quaternion(yaw_rad: float) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) of a rotation by ``yaw_rad`` about z."""
    half = 0.5 * yaw_rad
    return (0.0, 0.0, math.sin(half), math.cos(half))


def quaternion_to_yaw(x: float, y: float, z: float, w: float) -> float:
    """Yaw (rotation about z) of a quaternion, in radians."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
