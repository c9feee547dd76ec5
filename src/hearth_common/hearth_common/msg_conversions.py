"""Conversions between ROS messages and plain numbers (needs the message packages only)."""

from __future__ import annotations

import math

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Quaternion

from hearth_common.geometry import quaternion_to_yaw, yaw_to_quaternion

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Time) -> int:
    """A message stamp as integer nanoseconds."""
    return stamp.sec * NS_PER_S + stamp.nanosec


def ns_to_stamp(t_ns: int) -> Time:
    """Integer nanoseconds as a message stamp."""
    return Time(sec=int(t_ns // NS_PER_S), nanosec=int(t_ns % NS_PER_S))


def yaw_to_quaternion_msg(yaw_rad: float) -> Quaternion:
    x, y, z, w = yaw_to_quaternion(yaw_rad)
    return Quaternion(x=x, y=y, z=z, w=w)


def quaternion_msg_to_yaw(q: Quaternion) -> float:
    return quaternion_to_yaw(q.x, q.y, q.z, q.w)


def all_finite(*values: float) -> bool:
    """True when every value is a finite number (rejects NaN and +-Inf)."""
    return all(math.isfinite(v) for v in values)
