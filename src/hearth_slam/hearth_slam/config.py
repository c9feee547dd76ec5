"""Configuration of the slam node (ROS-free), see ``config/slam.yaml``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from hearth_common.config import ConfigError, param

_HOME_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


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

    # The back end, loop closure and relocalization (hearth_slam.slam_system)
    loop_closure: bool = param(
        True, "place recognition (the shipped ORB vocabulary): loop closures and "
              "relocalization; false: the graph runs on visual odometry and odometry alone")
    backend_keyframe_min_m: float = param(
        0.1, "the back end takes a front-end keyframe once the robot moved this far since "
             "the last one it took ...", min=0.0, max=5.0)
    backend_keyframe_min_rad: float = param(
        0.14, "... or turned this much (rad) ...", min=0.0, max=3.2)
    backend_keyframe_max_s: float = param(
        3.0, "... or this long passed (s)", min=0.1, max=60.0)
    reloc_keyframe_interval_s: float = param(
        0.5, "while relocalizing, a query view this often", min=0.05, max=10.0)

    # Maps: one file per home, <map_dir>/<home_name>.map.npz (docs/map_format.md)
    map_dir: str = param(
        "", "folder of the saved maps; empty: nothing saved or loaded (a fresh map each run)")
    home_name: str = param(
        "default", "the home's name: its map file is <map_dir>/<home_name>.map.npz")
    load_map_at_start: bool = param(
        True, "load the home's map at start (then relocalize in it and extend it); a "
              "corrupt or mismatched file: one error line and a fresh map")
    save_map_on_shutdown: bool = param(True, "save the map when the node shuts down")

    # Outputs
    publish_map: bool = param(
        False, "publish /map (OccupancyGrid from the ToF, transient local). Off by default: "
               "the global planner serves the home's static map file on /map (its map_yaml); "
               "turn this on only with the global planner's map_yaml empty")
    visualization_rate_hz: float = param(
        1.0, "rate of /slam/keyframes, /slam/landmarks and the /map update", min=0.1,
        max=10.0)

    def __post_init__(self) -> None:
        if self.home_name and not _HOME_NAME.fullmatch(self.home_name):
            raise ConfigError(f"parameter 'home_name' = {self.home_name!r}: letters, digits, "
                              "'_', '-' and '.' only (it names a file)")
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


def map_file(cfg: SlamConfig) -> Path | None:
    """``<map_dir>/<home_name>.map.npz`` (``~`` expanded); None when ``map_dir`` is empty."""
    if not cfg.map_dir.strip():
        return None
    return Path(cfg.map_dir).expanduser() / f"{cfg.home_name or 'default'}.map.npz"
