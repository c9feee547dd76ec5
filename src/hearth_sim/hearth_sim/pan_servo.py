"""The screen's pan joint (ROS-free): a position servo limited in travel and speed."""

from __future__ import annotations

import math


class PanServo:
    """Moves toward its target at up to ``max_speed_radps``, never beyond ±``limit_rad``."""

    def __init__(self, limit_rad: float, max_speed_radps: float, position_rad: float = 0.0):
        if limit_rad <= 0.0 or max_speed_radps <= 0.0:
            raise ValueError("limit_rad and max_speed_radps must be positive")
        self.limit_rad = limit_rad
        self.max_speed_radps = max_speed_radps
        self.position_rad = self.clamp(position_rad)
        self.target_rad = self.position_rad
        self.velocity_radps = 0.0

    def clamp(self, angle_rad: float) -> float:
        return min(max(angle_rad, -self.limit_rad), self.limit_rad)

    def command(self, target_rad: float) -> float:
        """Set the target (clamped to the travel); returns the target it will go to."""
        if not math.isfinite(target_rad):
            raise ValueError(f"pan target must be finite, got {target_rad!r}")
        self.target_rad = self.clamp(target_rad)
        return self.target_rad

    def step(self, dt_s: float) -> float:
        """Advance by ``dt_s``; returns the new position."""
        max_move = self.max_speed_radps * dt_s
        move = min(max(self.target_rad - self.position_rad, -max_move), max_move)
        self.position_rad += move
        self.velocity_radps = move / dt_s
        return self.position_rad
