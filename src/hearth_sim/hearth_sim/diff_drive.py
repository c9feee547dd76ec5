"""A differential-drive body on a flat floor (ROS-free, kinematic).

The body tracks a commanded (v, w) as its motor controller would: each step moves the
velocities toward the command by at most the acceleration limit, within the velocity limits
of robot.yaml. The pose integrates along the arc of the step's mean velocities, which is exact
for constant velocities. The wheels turn as the motion needs, times (1 + slip_ratio).

Frames: the pose is base_link in the world frame (x_m, y_m, yaw_rad); v_mps along base_link's
x, w_radps about z. Wheel angles are unwrapped (they keep counting turns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth_common.geometry import wrap_angle
from hearth_description.robot_model import RobotParams


@dataclass(frozen=True)
class DiffDriveState:
    x_m: float = 0.0
    y_m: float = 0.0
    yaw_rad: float = 0.0
    v_mps: float = 0.0
    w_radps: float = 0.0
    accel_mps2: float = 0.0  # dv/dt over the last step
    alpha_radps2: float = 0.0  # dw/dt over the last step
    left_wheel_rad: float = 0.0
    right_wheel_rad: float = 0.0
    left_wheel_radps: float = 0.0
    right_wheel_radps: float = 0.0


def _toward(value: float, target: float, max_change: float) -> float:
    return value + min(max(target - value, -max_change), max_change)


class DiffDriveBody:
    """The simulated base. ``step`` advances it by ``dt_s`` under a velocity command."""

    def __init__(self, params: RobotParams, x_m: float = 0.0, y_m: float = 0.0,
                 yaw_rad: float = 0.0, slip_ratio: float = 0.0):
        self.wheel_radius_m = params.wheels.radius_m
        self.wheel_separation_m = params.wheels.separation_m
        self.limits = params.limits
        self.slip_ratio = slip_ratio
        self.state = DiffDriveState(x_m=x_m, y_m=y_m, yaw_rad=wrap_angle(yaw_rad))

    def step(self, dt_s: float, cmd_v_mps: float, cmd_w_radps: float) -> DiffDriveState:
        if not (math.isfinite(dt_s) and dt_s > 0.0):
            raise ValueError(f"dt_s must be positive and finite, got {dt_s!r}")
        if not (math.isfinite(cmd_v_mps) and math.isfinite(cmd_w_radps)):
            raise ValueError(f"command must be finite, got ({cmd_v_mps!r}, {cmd_w_radps!r})")
        lim, s = self.limits, self.state
        target_v = min(max(cmd_v_mps, -lim.max_linear_speed_mps), lim.max_linear_speed_mps)
        target_w = min(max(cmd_w_radps, -lim.max_angular_speed_radps), lim.max_angular_speed_radps)
        v = _toward(s.v_mps, target_v, lim.max_linear_accel_mps2 * dt_s)
        w = _toward(s.w_radps, target_w, lim.max_angular_accel_radps2 * dt_s)

        # Pose: along the arc of the step's mean velocities.
        v_mean, w_mean = 0.5 * (s.v_mps + v), 0.5 * (s.w_radps + w)
        dyaw = w_mean * dt_s
        if abs(dyaw) < 1e-9:
            heading = s.yaw_rad + 0.5 * dyaw
            dx, dy = v_mean * dt_s * math.cos(heading), v_mean * dt_s * math.sin(heading)
        else:
            radius = v_mean / w_mean
            dx = radius * (math.sin(s.yaw_rad + dyaw) - math.sin(s.yaw_rad))
            dy = -radius * (math.cos(s.yaw_rad + dyaw) - math.cos(s.yaw_rad))

        # Wheels: surface speed v -+ w * separation / 2, turned by the slip factor.
        left_radps, right_radps = self.wheel_speeds_radps(v, w)
        left_mean, right_mean = self.wheel_speeds_radps(v_mean, w_mean)
        self.state = DiffDriveState(
            x_m=s.x_m + dx,
            y_m=s.y_m + dy,
            yaw_rad=wrap_angle(s.yaw_rad + dyaw),
            v_mps=v,
            w_radps=w,
            accel_mps2=(v - s.v_mps) / dt_s,
            alpha_radps2=(w - s.w_radps) / dt_s,
            left_wheel_rad=s.left_wheel_rad + left_mean * dt_s,
            right_wheel_rad=s.right_wheel_rad + right_mean * dt_s,
            left_wheel_radps=left_radps,
            right_wheel_radps=right_radps,
        )
        return self.state

    def wheel_speeds_radps(self, v_mps: float, w_radps: float) -> tuple[float, float]:
        """(left, right) wheel rates for a body velocity, including slip."""
        half = 0.5 * self.wheel_separation_m * w_radps
        k = (1.0 + self.slip_ratio) / self.wheel_radius_m
        return (v_mps - half) * k, (v_mps + half) * k
