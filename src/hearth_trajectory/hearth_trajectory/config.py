"""Configuration of the local planner node (ROS-free), see ``config/local_planner.yaml``.

The robot's speed and acceleration limits and its screen's pan limits are not parameters of
this node: they are the robot's, read at start from ``robot_params_file``
(``hearth_description.robot_model.load_robot_params()``). :func:`follower_limits` and
:func:`pan_limits` combine them with this node's own tuning (``speed_fraction``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth_common.config import ConfigError, param
from hearth_trajectory.path_follower import FollowerLimits
from hearth_trajectory.screen_pan import PanLimits

if TYPE_CHECKING:  # only the types: the node reads robot.yaml, this module reads no file
    from hearth_description.robot_model import MotionLimits, ScreenParams


@dataclass(frozen=True)
class LocalPlannerConfig:
    # The robot: its speed, acceleration and pan limits come from its description.
    robot_params_file: str = param(
        "",
        "robot.yaml whose limits (top speeds, accelerations, screen pan travel and speed) "
        "the commands stay within (empty: hearth_description's config/robot.yaml)",
    )
    speed_fraction: float = param(
        1.0,
        "fraction of the robot's top speed and top yaw rate (limits.max_linear_speed_mps, "
        "limits.max_angular_speed_radps) the planner commands at most",
        min=0.01,
        max=1.0,
    )

    rate_hz: float = param(
        10.0, "planning cycle rate (all outputs are published per cycle)", min=1.0, max=100.0
    )
    horizon_s: float = param(3.0, "time span of /local_plan", min=0.1, max=20.0)
    dt_s: float = param(0.1, "time step between the poses of /local_plan", min=0.01, max=1.0)
    lookahead_m: float = param(
        0.6, "pure-pursuit lookahead distance along the path", min=0.05, max=5.0
    )
    goal_tolerance_m: float = param(
        0.15, "the robot stops when this close to the end of /plan", min=0.01, max=5.0
    )
    odom_timeout_s: float = param(
        0.5, "/odom older than this (at reception): zero command", min=0.01, max=10.0
    )
    odom_frame: str = param("odom", "frame of /odom, /local_plan and the commands' rollout")
    pan_lookahead_s: float = param(
        1.2, "the screen faces the point of the rollout this far ahead", min=0.0, max=20.0
    )

    def __post_init__(self) -> None:
        if self.dt_s > self.horizon_s:
            raise ConfigError(
                f"parameter 'dt_s' = {self.dt_s!r} is longer than 'horizon_s' = {self.horizon_s!r}"
            )
        steps = self.horizon_s / self.dt_s
        if abs(steps - round(steps)) > 1e-6:
            raise ConfigError(
                f"parameter 'horizon_s' = {self.horizon_s!r} is not a whole number of "
                f"'dt_s' = {self.dt_s!r} steps"
            )
        if not self.odom_frame.strip():
            raise ConfigError("parameter 'odom_frame' must not be empty")


def follower_limits(cfg: LocalPlannerConfig, robot: MotionLimits) -> FollowerLimits:
    """The path follower's limits: the robot's top speeds scaled by ``speed_fraction``, and
    its acceleration limits as they are."""
    return FollowerLimits(
        max_linear_mps=cfg.speed_fraction * robot.max_linear_speed_mps,
        max_angular_radps=cfg.speed_fraction * robot.max_angular_speed_radps,
        max_linear_accel_mps2=robot.max_linear_accel_mps2,
        max_angular_accel_radps2=robot.max_angular_accel_radps2,
    )


def pan_limits(screen: ScreenParams) -> PanLimits:
    """The limits of /screen/pan_cmd: the pan joint's travel (+-``pan_limit_rad``) and speed."""
    return PanLimits(limit_rad=screen.pan_limit_rad, max_speed_radps=screen.max_pan_speed_radps)
