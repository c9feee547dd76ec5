"""Configuration of the simulator node (ROS-free): see ``config/sim.yaml``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth_common.config import ConfigError, param


@dataclass(frozen=True)
class SimConfig:
    # Rates. Every sensor rate must divide the physics rate: sensors sample on physics steps.
    physics_rate_hz: float = param(200.0, "physics steps per simulated second", min=1.0,
                                   max=2000.0)
    imu_rate_hz: float = param(200.0, "rate of /imu/data (simulated time)", min=1.0)
    wheel_rate_hz: float = param(50.0, "rate of /wheel/joint_states (simulated time)", min=1.0)
    screen_rate_hz: float = param(50.0, "rate of /screen/joint_states (simulated time)", min=1.0)
    ground_truth_rate_hz: float = param(
        50.0, "rate of /ground_truth/odom (simulated time)", min=1.0
    )
    real_time_factor: float = param(
        1.0, "simulated seconds per wall second at most; the sim never runs faster, and runs "
        "slower (and says so) when the machine cannot keep up", min=0.01, max=50.0,
    )
    rtf_log_period_s: float = param(
        5.0, "log the achieved real-time factor this often (wall time)", min=0.5, max=3600.0
    )

    # The robot and where it starts.
    robot_params_file: str = param(
        "", "robot.yaml of the simulated robot (empty: hearth_description's config/robot.yaml)"
    )
    initial_x_m: float = param(0.0, "start position x in the world frame")
    initial_y_m: float = param(0.0, "start position y in the world frame")
    initial_yaw_rad: float = param(0.0, "start heading in the world frame", min=-math.pi,
                                   max=math.pi)

    # Noise and imperfections. The same seed and the same commands give the same run.
    seed: int = param(0, "seed of the sensor noise", min=0)
    imu_accel_noise_density: float = param(
        2.0e-3, "accelerometer white noise density, m/s²/√Hz (200 µg/√Hz: a consumer part)",
        min=0.0, max=1.0,
    )
    imu_gyro_noise_density: float = param(
        1.0e-4, "gyroscope white noise density, rad/s/√Hz", min=0.0, max=1.0
    )
    imu_accel_bias_std_mps2: float = param(
        0.05, "standard deviation of each accelerometer axis's constant bias", min=0.0, max=5.0
    )
    imu_gyro_bias_std_radps: float = param(
        0.003, "standard deviation of each gyroscope axis's constant bias", min=0.0, max=1.0
    )
    wheel_slip_ratio: float = param(
        0.0, "wheels turn (1 + this) times what the body's motion needs (0: no slip)",
        min=-0.5, max=1.0,
    )

    # Commands and robot state.
    cmd_timeout_s: float = param(
        0.5, "stop (within the deceleration limit) when /cmd_vel is silent this long "
        "(simulated time)", min=0.01, max=60.0,
    )
    power_mode: str = param("normal", "power mode announced on /power_mode",
                            choices=("normal", "low"))

    def __post_init__(self) -> None:
        for key in ("imu_rate_hz", "wheel_rate_hz", "screen_rate_hz", "ground_truth_rate_hz"):
            rate = getattr(self, key)
            ratio = self.physics_rate_hz / rate
            if rate > self.physics_rate_hz or abs(ratio - round(ratio)) > 1e-9:
                raise ConfigError(
                    f"parameter '{key}' = {rate:g} must divide physics_rate_hz = "
                    f"{self.physics_rate_hz:g} (sensors sample on physics steps)"
                )

    @property
    def step_ns(self) -> int:
        """Length of one physics step, in integer nanoseconds."""
        return round(1e9 / self.physics_rate_hz)

    def steps_per_sample(self, rate_hz: float) -> int:
        """Physics steps between two samples of a sensor running at ``rate_hz``."""
        return round(self.physics_rate_hz / rate_hz)
