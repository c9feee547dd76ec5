"""The motor controller of the differential drive, and wheel slip (ROS-free).

The controller takes (v, w), clamps it to robot.yaml's speed limits, and ramps its set point
toward it within the acceleration limits, as the robot's motor board does; the set point
becomes a speed for each wheel motor, which a velocity servo in MuJoCo tracks (with the
motor's torque limit: ``world.robot_mjcf``).

Slip is modelled at the drive. The motor board regulates the motor shaft, where the encoder
sits; on a rug with slip ``s`` the wheel turns ``1 + s`` times the angle it really rolls (the
pile gives way under it). So, per wheel: the encoder (motor shaft) angle advances by
``(1 + s)`` times the angle MuJoCo's hinge rolls, and the hinge is driven at the commanded
shaft speed divided by ``(1 + s)``. The robot covers ``1 / (1 + s)`` of what the encoders
say, i.e. the encoders count ``(1 + s)`` times the distance really covered, which is what a
rug's ``slip`` means (``hearth_sim.home.model.Rug``). Off the rug, and with the wheel in the
air, ``s = 0``.
"""

from __future__ import annotations

import math

from hearth_description.robot_model import RobotParams


def _toward(value: float, target: float, max_change: float) -> float:
    return value + min(max(target - value, -max_change), max_change)


class DriveController:
    """(v, w) command -> motor shaft speeds (left, right), within the robot's limits."""

    def __init__(self, params: RobotParams):
        self.limits = params.limits
        self.wheel_radius_m = params.wheels.radius_m
        self.half_track_m = 0.5 * params.wheels.separation_m
        self.v_mps = 0.0
        self.w_radps = 0.0

    def step(self, dt_s: float, cmd_v_mps: float, cmd_w_radps: float) -> tuple[float, float]:
        """Advance the set point by ``dt_s`` toward the command; returns the (left, right)
        motor shaft speeds in rad/s."""
        if not (math.isfinite(cmd_v_mps) and math.isfinite(cmd_w_radps)):
            raise ValueError(f"command must be finite, got ({cmd_v_mps!r}, {cmd_w_radps!r})")
        lim = self.limits
        v = min(max(cmd_v_mps, -lim.max_linear_speed_mps), lim.max_linear_speed_mps)
        w = min(max(cmd_w_radps, -lim.max_angular_speed_radps), lim.max_angular_speed_radps)
        self.v_mps = _toward(self.v_mps, v, lim.max_linear_accel_mps2 * dt_s)
        self.w_radps = _toward(self.w_radps, w, lim.max_angular_accel_radps2 * dt_s)
        return self.shaft_speeds_radps(self.v_mps, self.w_radps)

    def shaft_speeds_radps(self, v_mps: float, w_radps: float) -> tuple[float, float]:
        return ((v_mps - self.half_track_m * w_radps) / self.wheel_radius_m,
                (v_mps + self.half_track_m * w_radps) / self.wheel_radius_m)


class SlippingEncoderShaft:
    """One wheel's motor shaft angle (what its encoder counts) from the angle MuJoCo's hinge
    rolls and the slip of the surface under the wheel."""

    def __init__(self, hinge_rad: float = 0.0):
        self.shaft_rad = 0.0
        self._hinge_rad = hinge_rad

    def update(self, hinge_rad: float, slip: float) -> float:
        self.shaft_rad += (1.0 + slip) * (hinge_rad - self._hinge_rad)
        self._hinge_rad = hinge_rad
        return self.shaft_rad


class CommandWatchdog:
    """Holds the last velocity command; gives (0, 0) once it is older than ``timeout_ns``
    (simulated time), as the motor board does when its host goes quiet."""

    def __init__(self, timeout_ns: int):
        self.timeout_ns = timeout_ns
        self._cmd = (0.0, 0.0)
        self._t_ns: int | None = None

    def set(self, v_mps: float, w_radps: float, t_ns: int) -> None:
        if not (math.isfinite(v_mps) and math.isfinite(w_radps)):
            raise ValueError(f"command must be finite, got ({v_mps!r}, {w_radps!r})")
        self._cmd = (v_mps, w_radps)
        self._t_ns = t_ns

    def timed_out(self, t_ns: int) -> bool:
        return self._t_ns is None or t_ns - self._t_ns > self.timeout_ns

    def command(self, t_ns: int) -> tuple[float, float]:
        return (0.0, 0.0) if self.timed_out(t_ns) else self._cmd
