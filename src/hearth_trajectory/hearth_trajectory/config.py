"""Configuration of the local planner node (ROS-free), see ``config/local_planner.yaml``.

The robot's limits are parameters here for now; they will come from
``hearth_description.robot_model.load_robot_params()`` once that exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth_common.config import ConfigError, param


@dataclass(frozen=True)
class LocalPlannerConfig:
    rate_hz: float = param(
        10.0, "planning cycle rate (all outputs are published per cycle)", min=1.0, max=100.0
    )
    horizon_s: float = param(3.0, "time span of /local_plan", min=0.1, max=20.0)
    dt_s: float = param(0.1, "time step between the poses of /local_plan", min=0.01, max=1.0)
    lookahead_m: float = param(
        0.6, "pure-pursuit lookahead distance along the path", min=0.05, max=5.0
    )

    # Robot limits (to be read from hearth_description later).
    max_linear_speed_mps: float = param(1.0, "top forward speed commanded", min=0.01, max=10.0)
    max_angular_speed_radps: float = param(2.5, "top yaw rate commanded", min=0.01, max=20.0)
    max_linear_accel_mps2: float = param(
        1.0, "largest change of the linear command per second", min=0.01, max=20.0
    )
    max_angular_accel_radps2: float = param(
        4.0, "largest change of the angular command per second", min=0.01, max=100.0
    )

    goal_tolerance_m: float = param(
        0.15, "the robot stops when this close to the end of /plan", min=0.01, max=5.0
    )
    odom_timeout_s: float = param(
        0.5, "/odom older than this (at reception): zero command", min=0.01, max=10.0
    )
    odom_frame: str = param("odom", "frame of /odom, /local_plan and the commands' rollout")
    pan_min_rad: float = param(-2.094, "lower limit of /screen/pan_cmd", min=-math.pi, max=0.0)
    pan_max_rad: float = param(2.094, "upper limit of /screen/pan_cmd", min=0.0, max=math.pi)
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
