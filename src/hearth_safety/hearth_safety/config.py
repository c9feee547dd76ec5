"""Configuration of the safety node (ROS-free): one frozen dataclass, see ``config/safety.yaml``.

The speed and acceleration limits the safety layer enforces are not parameters of this node:
they are the robot's (what its motor controller can do), read at start from
``robot_params_file`` (``hearth_description.robot_model.load_robot_params()``).
:func:`guard_limits` combines them with this node's own tuning (emergency decelerations,
timeouts) and checks that the two fit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth_common.config import ConfigError, param
from hearth_safety.command_guard import GuardLimits

if TYPE_CHECKING:  # only the type: the node reads robot.yaml, this module reads no file
    from hearth_description.robot_model import MotionLimits


@dataclass(frozen=True)
class SafetyConfig:
    # The robot: its speed and acceleration limits come from its description.
    robot_params_file: str = param(
        "", "robot.yaml whose limits (top speeds, accelerations) commands are held to "
        "(empty: hearth_description's config/robot.yaml)"
    )

    # Emergency stop (node tuning; must brake at least as hard as the robot's normal limits).
    emergency_decel_mps2: float = param(
        3.0,
        "linear deceleration of an emergency stop (odometry silent); at least the robot's "
        "limits.max_linear_accel_mps2",
        min=0.01,
        max=50.0,
    )
    emergency_angular_decel_radps2: float = param(
        12.0,
        "angular deceleration of an emergency stop; at least the robot's "
        "limits.max_angular_accel_radps2",
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


def guard_limits(cfg: SafetyConfig, robot: MotionLimits, source: str = "robot.yaml") -> GuardLimits:
    """The command guard's limits: the robot's speeds and accelerations (``robot``, from
    ``source``) with this node's emergency decelerations and timeouts.

    Raises ConfigError when an emergency deceleration is below the robot's normal
    acceleration limit: an emergency stop must not brake more gently than normal driving.
    """
    if cfg.emergency_decel_mps2 < robot.max_linear_accel_mps2:
        raise ConfigError(
            f"parameter 'emergency_decel_mps2' = {cfg.emergency_decel_mps2!r} is below the "
            f"robot's 'limits.max_linear_accel_mps2' = {robot.max_linear_accel_mps2!r} "
            f"({source}): an emergency stop must not brake more gently than normal driving"
        )
    if cfg.emergency_angular_decel_radps2 < robot.max_angular_accel_radps2:
        raise ConfigError(
            f"parameter 'emergency_angular_decel_radps2' = "
            f"{cfg.emergency_angular_decel_radps2!r} is below the robot's "
            f"'limits.max_angular_accel_radps2' = {robot.max_angular_accel_radps2!r} "
            f"({source}): an emergency stop must not brake more gently than normal driving"
        )
    return GuardLimits(
        max_linear_speed_mps=robot.max_linear_speed_mps,
        max_angular_speed_radps=robot.max_angular_speed_radps,
        max_linear_accel_mps2=robot.max_linear_accel_mps2,
        max_angular_accel_radps2=robot.max_angular_accel_radps2,
        emergency_decel_mps2=cfg.emergency_decel_mps2,
        emergency_angular_decel_radps2=cfg.emergency_angular_decel_radps2,
        cmd_timeout_s=cfg.cmd_timeout_s,
        odom_timeout_s=cfg.odom_timeout_s,
        # A stalled tick ramps over two periods at most.
        max_step_s=2.0 / cfg.output_rate_hz,
    )
