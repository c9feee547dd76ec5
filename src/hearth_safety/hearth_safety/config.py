"""Configuration of the safety node (ROS-free): one frozen dataclass, see ``config/safety.yaml``.

The robot's limits are parameters here for now; they will come from
``hearth_description.robot_model.load_robot_params()`` once that exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth_common.config import ConfigError, param


@dataclass(frozen=True)
class SafetyConfig:
    # Robot limits (to be read from hearth_description later).
    max_linear_speed_mps: float = param(
        1.0, "commands are clamped to this forward/backward speed", min=0.01, max=10.0
    )
    max_angular_speed_radps: float = param(
        2.5, "commands are clamped to this yaw rate", min=0.01, max=20.0
    )
    max_linear_accel_mps2: float = param(
        1.0, "largest change of the linear command per second", min=0.01, max=20.0
    )
    max_angular_accel_radps2: float = param(
        4.0, "largest change of the angular command per second", min=0.01, max=100.0
    )
    emergency_decel_mps2: float = param(
        3.0,
        "linear deceleration of an emergency stop (odometry silent); at least "
        "max_linear_accel_mps2",
        min=0.01,
        max=50.0,
    )
    emergency_angular_decel_radps2: float = param(
        12.0,
        "angular deceleration of an emergency stop; at least max_angular_accel_radps2",
        min=0.01,
        max=200.0,
    )

    # Input freshness.
    cmd_timeout_s: float = param(
        0.3, "a /cmd_vel_nav older than this is stale: controlled stop", min=0.01, max=5.0
    )
    odom_timeout_s: float = param(
        0.2, "/odom silent for longer than this: emergency stop", min=0.01, max=5.0
    )

    # Output.
    output_rate_hz: float = param(
        20.0, "rate of /cmd_vel and /safety/state (per depth frame from issue 7)",
        min=5.0, max=200.0,
    )

    def __post_init__(self) -> None:
        if self.emergency_decel_mps2 < self.max_linear_accel_mps2:
            raise ConfigError(
                f"parameter 'emergency_decel_mps2' = {self.emergency_decel_mps2!r} is below "
                f"'max_linear_accel_mps2' = {self.max_linear_accel_mps2!r}: an emergency stop "
                "must not brake more gently than normal driving"
            )
        if self.emergency_angular_decel_radps2 < self.max_angular_accel_radps2:
            raise ConfigError(
                f"parameter 'emergency_angular_decel_radps2' = "
                f"{self.emergency_angular_decel_radps2!r} is below 'max_angular_accel_radps2' = "
                f"{self.max_angular_accel_radps2!r}"
            )
