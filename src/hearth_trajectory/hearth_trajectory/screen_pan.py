"""Where the screen looks, and how fast it may turn there (ROS-free).

The screen sits on a pan (yaw) joint, angles in the robot frame (0: straight ahead, positive:
to the left). Where it should face comes from the planner (the committed plan's point
``pan_lookahead_s`` ahead, or the followed person). :func:`limit_pan` keeps the command within
the joint's travel and moves it from the previous command no faster than the joint can turn,
so that the screen's command never runs ahead of the screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PanLimits:
    limit_rad: float  # travel either side of straight ahead: commands lie in [-limit, +limit]
    max_speed_radps: float  # the joint's speed limit

    def __post_init__(self) -> None:
        if not (math.isfinite(self.limit_rad) and 0.0 < self.limit_rad <= math.pi):
            raise ValueError(f"limit_rad must be in (0, pi], got {self.limit_rad!r}")
        if not (math.isfinite(self.max_speed_radps) and self.max_speed_radps > 0.0):
            raise ValueError(f"max_speed_radps must be positive, got {self.max_speed_radps!r}")


def limit_pan(target_rad: float, previous_rad: float, dt_s: float, limits: PanLimits) -> float:
    """The pan command: ``target_rad`` clamped to the travel, reached from ``previous_rad`` by a
    step of at most ``max_speed_radps * dt_s`` (no step for ``dt_s <= 0``)."""
    lim = limits.limit_rad
    target = min(max(target_rad, -lim), lim)
    max_step = limits.max_speed_radps * max(dt_s, 0.0)
    step = min(max(target - previous_rad, -max_step), max_step)
    return float(min(max(previous_rad + step, -lim), lim))
