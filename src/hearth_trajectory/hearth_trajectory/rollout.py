"""Rolling a constant (v, w) command forward with the unicycle model (ROS-free).

The integration is exact (an arc of radius v / w, or a straight line when w = 0), so a rollout
is the pose the robot reaches if it executes the command perfectly.
"""

from __future__ import annotations

import math

import numpy as np


def unicycle_pose(
    x: float, y: float, yaw: float, v: float, w: float, t: float
) -> tuple[float, float, float]:
    """Pose after driving at linear speed ``v`` and yaw rate ``w`` for ``t`` seconds."""
    (out,) = rollout(x, y, yaw, v, w, np.array([t]))
    return float(out[1]), float(out[2]), float(out[3])


def rollout(x: float, y: float, yaw: float, v: float, w: float, times: np.ndarray) -> np.ndarray:
    """Poses at ``times`` (s from now): an (N, 4) array of (t, x, y, yaw), yaw unwrapped."""
    t = np.asarray(times, dtype=float).reshape(-1)
    heading = yaw + w * t
    if abs(w) * max(float(np.max(np.abs(t), initial=0.0)), 1e-9) < 1e-9:
        # Straight line (also the limit of the arc formula as w -> 0).
        px = x + v * t * math.cos(yaw)
        py = y + v * t * math.sin(yaw)
    else:
        r = v / w
        px = x + r * (np.sin(heading) - math.sin(yaw))
        py = y - r * (np.cos(heading) - math.cos(yaw))
    return np.column_stack([t, px, py, heading])


def horizon_times(horizon_s: float, dt_s: float) -> np.ndarray:
    """``dt, 2 dt, ..., horizon``: one time per step (``round(horizon / dt)`` of them)."""
    if not (dt_s > 0.0 and horizon_s >= dt_s):
        raise ValueError(f"need 0 < dt_s <= horizon_s, got dt_s={dt_s}, horizon_s={horizon_s}")
    n = round(horizon_s / dt_s)
    return dt_s * np.arange(1, n + 1)
