"""Quantized wheel encoders (ROS-free): what a motor driver reports.

An incremental encoder counts whole ticks: ``ticks = floor(angle_rad * tpr / 2π)``. The driver
reports the position as ``ticks * 2π / tpr`` and the velocity as the tick difference between
two samples over their interval, so both are quantized: at 1024 ticks per revolution and
50 Hz, one tick is 6.1 mrad of position and 0.31 rad/s of velocity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderReading:
    """One sample of the (left, right) encoders."""

    ticks: tuple[int, int]
    positions_rad: tuple[float, float]
    velocities_radps: tuple[float, float]


class WheelEncoders:
    """The two wheels' encoders, sampled together."""

    def __init__(self, ticks_per_rev: int):
        if ticks_per_rev < 1:
            raise ValueError(f"ticks_per_rev must be >= 1, got {ticks_per_rev}")
        self.ticks_per_rev = ticks_per_rev
        self.rad_per_tick = 2.0 * math.pi / ticks_per_rev
        self._last: tuple[int, tuple[int, int]] | None = None  # (t_ns, ticks) of last sample

    def ticks(self, angle_rad: float) -> int:
        """Whole ticks counted from angle 0 (negative angles count down)."""
        return math.floor(angle_rad / self.rad_per_tick)

    def sample(self, t_ns: int, left_rad: float, right_rad: float) -> EncoderReading:
        """Read both encoders at time ``t_ns``; velocities are 0 at the first sample."""
        ticks = (self.ticks(left_rad), self.ticks(right_rad))
        if self._last is None or t_ns <= self._last[0]:
            velocities = (0.0, 0.0)
        else:
            dt_s = (t_ns - self._last[0]) * 1e-9
            velocities = tuple((now - before) * self.rad_per_tick / dt_s
                               for now, before in zip(ticks, self._last[1], strict=True))
        self._last = (t_ns, ticks)
        return EncoderReading(
            ticks=ticks,
            positions_rad=(ticks[0] * self.rad_per_tick, ticks[1] * self.rad_per_tick),
            velocities_radps=velocities,
        )
