"""Configuration of the global planner node (ROS-free), see ``config/global_planner.yaml``.

The robot's footprint is not a parameter of this node: it is the robot's (``base.radius_m``),
read at start from ``robot_params_file``
(``hearth_description.robot_model.load_robot_params()``). The margin kept beyond it,
``inflation_margin_m``, is the planner's choice; :func:`inflation_radius_m` adds the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth_common.config import ConfigError, param

if TYPE_CHECKING:  # only the type: the node reads robot.yaml, this module reads no file
    from hearth_description.robot_model import BaseParams


@dataclass(frozen=True)
class GlobalPlannerConfig:
    # The robot: its footprint comes from its description.
    robot_params_file: str = param(
        "",
        "robot.yaml whose base.radius_m is the footprint obstacles are inflated by "
        "(empty: hearth_description's config/robot.yaml)",
    )
    inflation_margin_m: float = param(
        0.01,
        "clearance kept beyond the robot's base.radius_m: obstacles are inflated by the sum",
        min=0.0,
        max=1.0,
    )
    map_yaml: str = param(
        "",
        "map_server YAML of a static map to plan on (republished on /map, transient local); "
        "empty: plan on the map received on /map",
    )
    lethal_occupancy: int = param(
        65, "map cells with this occupancy (0..100) or more are obstacles", min=1, max=100
    )
    goal_tolerance_m: float = param(
        0.15,
        "navigate_to_pose succeeds when the robot is this close to the goal position",
        min=0.01,
        max=5.0,
    )
    global_frame: str = param("map", "frame of the map, the goals and /plan")
    robot_frame: str = param("base_link", "the robot's body frame (TF global_frame -> it)")
    replan_period_s: float = param(
        0.0,
        "replan an active navigation this often from the robot's pose; 0: plan once",
        min=0.0,
        max=3600.0,
    )
    nominal_speed_mps: float = param(
        0.5,
        "average speed assumed for navigate_to_pose's estimated_time_remaining",
        min=0.01,
        max=5.0,
    )
    feedback_rate_hz: float = param(
        5.0,
        "rate at which an active navigation checks the robot's pose and sends feedback",
        min=0.5,
        max=50.0,
    )
    tf_timeout_s: float = param(
        2.0,
        "an active navigation aborts with TF_ERROR when the robot's pose has been "
        "unavailable this long",
        min=0.1,
        max=60.0,
    )

    def __post_init__(self) -> None:
        for key in ("global_frame", "robot_frame"):
            if not getattr(self, key).strip():
                raise ConfigError(f"parameter '{key}' must not be empty")
        if self.global_frame == self.robot_frame:
            raise ConfigError(
                f"parameter 'robot_frame' = {self.robot_frame!r} is the same frame as "
                "'global_frame'"
            )


def inflation_radius_m(cfg: GlobalPlannerConfig, base: BaseParams) -> float:
    """How far from obstacles the robot's centre must stay: the robot's radius plus the
    planner's margin."""
    return base.radius_m + cfg.inflation_margin_m
