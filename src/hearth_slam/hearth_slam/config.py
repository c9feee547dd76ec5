"""Configuration of the slam node (ROS-free), see ``config/slam.yaml``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth_common.config import ConfigError, param


@dataclass(frozen=True)
class SlamConfig:
    map_frame: str = param("map", "the fixed world frame (parent of TF map->odom)")
    odom_frame: str = param("odom", "the odometry frame (fusion's /odom and TF odom->base_link)")
    base_frame: str = param("base_link", "the robot's body frame (child of /odom)")
    publish_rate_hz: float = param(20.0, "rate of TF map->odom", min=1.0, max=200.0)
    initial_x_m: float = param(0.0, "initial map->odom x", min=-1.0e4, max=1.0e4)
    initial_y_m: float = param(0.0, "initial map->odom y", min=-1.0e4, max=1.0e4)
    initial_yaw_rad: float = param(0.0, "initial map->odom yaw", min=-math.pi, max=math.pi)

    # The front end: stereo visual odometry (hearth_slam.visual_odometry)
    visual_odometry: bool = param(
        True, "track the stereo pair and publish /slam/visual_odometry and /slam/diagnostics")
    robot_params_file: str = param(
        "", "robot.yaml whose URDF places the stereo camera in base_link "
            "(empty: hearth_description's config/robot.yaml)")
    vo_n_features: int = param(1000, "ORB features per image", min=100, max=5000)
    vo_min_inliers: int = param(
        20, "PnP inliers below which tracking is lost", min=6, max=500)
    vo_keyframe_max_interval_s: float = param(
        2.0, "a keyframe at least this often while tracking", min=0.1, max=60.0)
    vo_covariance_inflation: float = param(
        1.0, "factor on the published twist covariance", min=1.0, max=1000.0)
    vo_prior_wait_s: float = param(
        0.05, "how long tracking waits for TF odom->base_link at an image's stamp (the "
              "motion prior); without it the last motion predicts", min=0.0, max=1.0)

    def __post_init__(self) -> None:
        frames = {}
        for key in ("map_frame", "odom_frame", "base_frame"):
            name = getattr(self, key)
            if not name.strip():
                raise ConfigError(f"parameter '{key}' must not be empty")
            if name in frames:
                raise ConfigError(
                    f"parameter '{key}' = {name!r} is the same frame as '{frames[name]}'"
                )
            frames[name] = key
