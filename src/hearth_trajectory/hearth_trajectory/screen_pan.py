"""Where the screen looks, and how fast it may turn there (ROS-free).

The screen sits on a pan (yaw) joint, angles in the robot frame (0: straight ahead, positive:
to the left). :func:`pan_target` is where it should face: the bearing of the point the robot
will reach along its rollout ``lookahead_s`` ahead. :func:`limit_pan` keeps the command within
the joint's travel and moves it from the previous command no faster than the joint can turn,
so that the screen's command never runs ahead of the screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth_common.geometry import wrap_angle
from hearth_trajectory.rollout import unicycle_pose


@dataclass(frozen=True)
class PanLimits:
    limit_rad: float  # travel either side of straight ahead: commands lie in [-limit, +limit]
    max_speed_radps: float  # the joint's speed limit

    def __post_init__(self) -> None:
        if not (math.isfinite(self.limit_rad) and 0.0 < self.limit_rad <= math.pi):
            raise ValueError(f"limit_rad must be in (0, pi], got {self.limit_rad!r}")
        if not (math.isfinite(self.max_speed_radps) and self.max_speed_radps > 0.0):
            raise ValueError(f"max_speed_radps must be positive, got {self.max_speed_radps!r}")


def pan_target(x: float, y: float, yaw: float, v: float, w: float, lookahead_s: float) -> float:
    """Bearing (robot frame, rad) of where the unicycle rollout of (v, w) from pose (x, y, yaw)
    is ``lookahead_s`` ahead. When the robot stays (nearly) in place, the heading it turns to
    instead (``w * lookahead_s``, wrapped)."""
    px, py, _ = unicycle_pose(x, y, yaw, v, w, lookahead_s)
    dx, dy = px - x, py - y
    if math.hypot(dx, dy) > 0.01:
        return wrap_angle(math.atan2(dy, dx) - yaw)
    return wrap_angle(w * lookahead_s)


def limit_pan(target_rad: float, previous_rad: float, dt_s: float, limits: PanLimits) -> float:
    """The pan command: ``target_rad`` clamped to the travel, reached from ``previous_rad`` by a
    step of at most ``max_speed_radps * dt_s`` (no step for ``dt_s <= 0``)."""
    lim = limits.limit_rad
    target = min(max(target_rad, -lim), lim)
    max_step = limits.max_speed_radps * max(dt_s, 0.0)
    step = min(max(target - previous_rad, -max_step), max_step)
    return float(min(max(previous_rad + step, -lim), lim))
