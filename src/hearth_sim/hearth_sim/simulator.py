"""The kinematic stand-in world (ROS-free): the body, its sensors and the screen's pan joint.

One ``step`` is one physics step: the body tracks the command, the pan joint moves, and each
sensor whose turn it is takes a sample. There are no walls, no people and no cameras: the
MuJoCo world replaces this with issue 3. Same config (seed included) and same commands give
the same run, sample for sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hearth_description.robot_model import RobotParams
from hearth_sim.config import SimConfig
from hearth_sim.diff_drive import DiffDriveBody, DiffDriveState
from hearth_sim.encoders import EncoderReading, WheelEncoders
from hearth_sim.imu_model import ImuModel, ImuNoise, ImuSample
from hearth_sim.pan_servo import PanServo
from hearth_sim.sim_clock import SimClock


@dataclass(frozen=True)
class PanReading:
    position_rad: float
    velocity_radps: float


@dataclass(frozen=True)
class StepOutputs:
    """What one physics step produced: a sample from each sensor whose turn it was."""

    t_ns: int
    imu: ImuSample | None = None
    wheels: EncoderReading | None = None
    pan: PanReading | None = None
    ground_truth: DiffDriveState | None = None


class CommandWatchdog:
    """Holds the last velocity command; gives (0, 0) once it is older than ``timeout_ns``."""

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


class KinematicSimulator:
    """The world. Its time is ``clock.now_ns``: each ``step`` advances the clock one step;
    the caller paces the steps to wall time with ``clock.steps_due``."""

    def __init__(self, params: RobotParams, cfg: SimConfig):
        self.clock = SimClock(cfg.step_ns, cfg.real_time_factor)
        self._steps = 0
        self.body = DiffDriveBody(params, cfg.initial_x_m, cfg.initial_y_m, cfg.initial_yaw_rad,
                                  slip_ratio=cfg.wheel_slip_ratio)
        self.encoders = WheelEncoders(params.wheels.encoder_ticks_per_rev)
        noise = ImuNoise(cfg.imu_accel_noise_density, cfg.imu_gyro_noise_density,
                         cfg.imu_accel_bias_std_mps2, cfg.imu_gyro_bias_std_radps)
        self.imu = ImuModel(params.imu, cfg.imu_rate_hz, noise, np.random.default_rng(cfg.seed))
        self.pan = PanServo(params.screen.pan_limit_rad, params.screen.max_pan_speed_radps)
        self._imu_every = cfg.steps_per_sample(cfg.imu_rate_hz)
        self._wheels_every = cfg.steps_per_sample(cfg.wheel_rate_hz)
        self._pan_every = cfg.steps_per_sample(cfg.screen_rate_hz)
        self._truth_every = cfg.steps_per_sample(cfg.ground_truth_rate_hz)

    def step(self, cmd_v_mps: float, cmd_w_radps: float) -> StepOutputs:
        """Advance one physics step under the command (m/s, rad/s); the pan joint goes to
        its last ``pan.command`` target."""
        dt_s = self.clock.step_ns * 1e-9
        s = self.body.step(dt_s, cmd_v_mps, cmd_w_radps)
        self.pan.step(dt_s)
        self._steps += 1
        t_ns = self.clock.advance()
        n = self._steps
        imu = wheels = pan = truth = None
        if n % self._imu_every == 0:
            imu = self.imu.measure(s.v_mps, s.w_radps, s.accel_mps2, s.alpha_radps2)
        if n % self._wheels_every == 0:
            wheels = self.encoders.sample(t_ns, s.left_wheel_rad, s.right_wheel_rad)
        if n % self._pan_every == 0:
            pan = PanReading(self.pan.position_rad, self.pan.velocity_radps)
        if n % self._truth_every == 0:
            truth = s
        return StepOutputs(t_ns, imu, wheels, pan, truth)

    @property
    def t_ns(self) -> int:
        """Simulated time, integer nanoseconds since the start."""
        return self.clock.now_ns
