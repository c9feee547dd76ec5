"""Configuration of the global planner node (ROS-free), see ``config/global_planner.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hearth_common.config import ConfigError, param


@dataclass(frozen=True)
class GlobalPlannerConfig:
    map_yaml: str = param(
        "",
        "map_server YAML of a static map to plan on (republished on /map, transient local); "
        "empty: plan on the map received on /map",
    )
    robot_radius_m: float = param(
        0.18,
        "radius of the disc bounding the robot's footprint: obstacles are inflated by it",
        min=0.0,
        max=2.0,
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
