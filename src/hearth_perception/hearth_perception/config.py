"""Configuration of the obstacle tracker node (ROS-free): one frozen dataclass, see
``config/obstacle_tracker.yaml``.

The robot's height (the top of the obstacle height band, unless ``max_obstacle_height_m`` is
set), its chassis radius (its own body is no obstacle) and the ToF's range come from
``robot_params_file`` (hearth_description's robot.yaml).
:func:`detection_params` and :func:`tracker_params` turn the config into the cores' params.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth_common.config import ConfigError, param
from hearth_perception.map_alignment import AlignmentParams
from hearth_perception.obstacle_detection import DetectionParams
from hearth_perception.obstacle_tracker import TrackerParams
from hearth_perception.prediction import (
    PEOPLE_ACCEL_PSD_M2PS3,
    PEOPLE_HEADING_STD_RAD,
    PEOPLE_SPEED_STD_MPS,
)

_TRACK = TrackerParams()
_DETECT = DetectionParams()
_ALIGN = AlignmentParams()


@dataclass(frozen=True)
class ObstacleTrackerConfig:
    robot_params_file: str = param(
        "", "robot.yaml giving the robot's height and the ToF's range (empty: "
        "hearth_description's config/robot.yaml)"
    )
    odom_frame: str = param("odom", "frame of the tracks and the predictions")
    base_frame: str = param("base_link", "the robot's frame (its centre on the floor)")
    map_frame: str = param("map", "frame of /map")

    # Depth input.
    pixel_stride: int = param(2, "use every n-th depth pixel in each direction", min=1, max=8)
    tf_wait_s: float = param(
        0.3, "a depth frame waits at most this long (from its stamp) for TF at its stamp; "
        "then it is dropped", min=0.0, max=2.0,
    )

    # Detection (hearth_perception.obstacle_detection).
    floor_height_m: float = param(
        _DETECT.min_z_m, "points at or below this height are the floor", min=-0.5, max=0.5
    )
    max_obstacle_height_m: float = param(
        0.0, "points above this are ignored (0: the robot's height from robot.yaml)",
        min=0.0, max=5.0,
    )
    self_margin_m: float = param(
        0.05, "points within the chassis radius (robot.yaml) plus this of the robot's centre "
        "are the robot itself (the ToF sees the chassis's front edge)", min=0.0, max=1.0,
    )
    static_clearance_m: float = param(
        _DETECT.static_clearance_m,
        "points nearer than this to an occupied cell of /map are explained by the map",
        min=0.0, max=1.0,
    )
    align_to_map: bool = param(
        True, "before /map explains a depth frame, align the frame's walls to the map's "
        "(hearth_perception.map_alignment): the localization may place the map 0.1 m and "
        "a few degrees off, which would turn door jambs and furniture into people"
    )
    max_alignment_m: float = param(
        _ALIGN.max_correction_xy_m, "a larger alignment shift is not believed", min=0.01,
        max=2.0,
    )
    max_alignment_deg: float = param(
        math.degrees(_ALIGN.max_correction_yaw_rad), "a larger alignment turn is not believed",
        min=0.1, max=45.0,
    )
    static_window_m: float = param(
        10.0, "side of the window of /map rasterised around the sensor (covers the ToF's range)",
        min=2.0, max=30.0,
    )
    static_resolution_m: float = param(
        0.05, "cell size of that window", min=0.01, max=0.5
    )
    cluster_cell_m: float = param(
        _DETECT.cell_m, "clustering grid: points less than about this apart join", min=0.02,
        max=0.5,
    )
    min_cluster_points: int = param(
        _DETECT.min_points, "a cluster needs at least this many points", min=1, max=1000
    )
    max_cluster_radius_m: float = param(
        _DETECT.max_radius_m, "larger clusters are not people (left to the costmap)",
        min=0.05, max=3.0,
    )

    # Tracking (hearth_perception.obstacle_tracker).
    accel_psd_m2ps3: float = param(
        _TRACK.accel_psd_m2ps3, "white-acceleration spectral density of the tracker's "
        "maneuvering model (m²/s³: starting, stopping, turning)", min=0.001, max=100.0,
    )
    steady_accel_psd_m2ps3: float = param(
        _TRACK.steady_accel_psd_m2ps3, "the same for its steady model (people walking on or "
        "standing; 0: the maneuvering model alone, no IMM)", min=0.0, max=100.0,
    )
    maneuver_onset_hz: float = param(
        _TRACK.maneuver_onset_hz, "IMM: rate at which a steady person starts a maneuver",
        min=0.001, max=100.0,
    )
    maneuver_end_hz: float = param(
        _TRACK.maneuver_end_hz, "IMM: rate at which a maneuver ends", min=0.001, max=100.0,
    )
    measurement_noise_m: float = param(
        _TRACK.measurement_noise_m, "std of a detection's position", min=0.001, max=2.0
    )
    cut_min_speed_mps: float = param(
        _TRACK.cut_min_speed_mps, "a body cut by the side of the depth image updates only "
        "a track walking at least this fast, and starts none", min=0.0, max=5.0,
    )
    initial_speed_std_mps: float = param(
        _TRACK.initial_speed_std_mps, "velocity uncertainty of a new track (per axis)",
        min=0.01, max=10.0,
    )
    gate_chi2: float = param(
        _TRACK.gate_chi2, "association gate on the squared Mahalanobis distance (2 dof)",
        min=1.0, max=100.0,
    )
    confirm_hits: int = param(
        _TRACK.confirm_hits, "a track is published after this many hits", min=1, max=100
    )
    max_missing_s: float = param(
        _TRACK.max_missing_s, "a confirmed track in the depth camera's view but undetected "
        "this long dies", min=0.05, max=30.0,
    )
    tentative_max_missing_s: float = param(
        _TRACK.tentative_max_missing_s, "a tentative track unseen this long dies",
        min=0.01, max=30.0,
    )
    max_coast_s: float = param(
        _TRACK.max_coast_s, "a track out of the view (the robot turned away) coasts this "
        "long after its last detection, then dies; at least max_missing_s", min=0.05,
        max=60.0,
    )

    # Output.
    publish_rate_hz: float = param(
        10.0, "rate of /obstacles/tracks and /obstacles/predictions", min=1.0, max=100.0
    )
    prediction_horizon_s: float = param(
        3.0, "horizon of the prediction markers", min=0.1, max=20.0
    )
    prediction_step_s: float = param(
        0.5, "step between predicted ellipses", min=0.05, max=5.0
    )
    prediction_accel_psd_m2ps3: float = param(
        PEOPLE_ACCEL_PSD_M2PS3,
        "people's white-acceleration spectral density for prediction (m²/s³; fitted on "
        "ETH/UCY training scenes)", min=0.0, max=100.0,
    )
    prediction_speed_std_mps: float = param(
        PEOPLE_SPEED_STD_MPS,
        "people's intent uncertainty: speed change along their walk (m/s; fitted on ETH/UCY "
        "training scenes)", min=0.0, max=5.0,
    )
    prediction_heading_std_rad: float = param(
        PEOPLE_HEADING_STD_RAD,
        "people's intent uncertainty: heading change (rad; fitted on ETH/UCY training scenes)",
        min=0.0, max=3.2,
    )

    def __post_init__(self) -> None:
        if self.max_obstacle_height_m and self.max_obstacle_height_m <= self.floor_height_m:
            raise ConfigError(
                f"parameter 'max_obstacle_height_m' = {self.max_obstacle_height_m!r} must be "
                f"above 'floor_height_m' = {self.floor_height_m!r}"
            )
        if self.steady_accel_psd_m2ps3 > self.accel_psd_m2ps3:
            raise ConfigError(
                f"parameter 'steady_accel_psd_m2ps3' = {self.steady_accel_psd_m2ps3!r} exceeds "
                f"'accel_psd_m2ps3' = {self.accel_psd_m2ps3!r} (the maneuvering model's)"
            )
        if self.max_coast_s < self.max_missing_s:
            raise ConfigError(
                f"parameter 'max_coast_s' = {self.max_coast_s!r} is below 'max_missing_s' = "
                f"{self.max_missing_s!r}"
            )
        if self.prediction_step_s > self.prediction_horizon_s:
            raise ConfigError(
                f"parameter 'prediction_step_s' = {self.prediction_step_s!r} is longer than "
                f"'prediction_horizon_s' = {self.prediction_horizon_s!r}"
            )


def detection_params(cfg: ObstacleTrackerConfig, robot_height_m: float,
                     robot_radius_m: float) -> DetectionParams:
    top = cfg.max_obstacle_height_m or robot_height_m
    if top <= cfg.floor_height_m:
        raise ConfigError(f"the obstacle band [{cfg.floor_height_m}, {top}] m is empty")
    return DetectionParams(
        min_z_m=cfg.floor_height_m,
        max_z_m=top,
        static_clearance_m=cfg.static_clearance_m,
        cell_m=cfg.cluster_cell_m,
        min_points=cfg.min_cluster_points,
        max_radius_m=cfg.max_cluster_radius_m,
        self_radius_m=robot_radius_m + cfg.self_margin_m,
    )


def alignment_params(cfg: ObstacleTrackerConfig) -> AlignmentParams | None:
    """The map alignment's params, or None when it is off."""
    if not cfg.align_to_map:
        return None
    return AlignmentParams(max_correction_xy_m=cfg.max_alignment_m,
                           max_correction_yaw_rad=math.radians(cfg.max_alignment_deg))


def tracker_params(cfg: ObstacleTrackerConfig) -> TrackerParams:
    return TrackerParams(
        accel_psd_m2ps3=cfg.accel_psd_m2ps3,
        steady_accel_psd_m2ps3=cfg.steady_accel_psd_m2ps3,
        maneuver_onset_hz=cfg.maneuver_onset_hz,
        maneuver_end_hz=cfg.maneuver_end_hz,
        measurement_noise_m=cfg.measurement_noise_m,
        cut_min_speed_mps=cfg.cut_min_speed_mps,
        initial_speed_std_mps=cfg.initial_speed_std_mps,
        gate_chi2=cfg.gate_chi2,
        confirm_hits=cfg.confirm_hits,
        max_missing_s=cfg.max_missing_s,
        tentative_max_missing_s=cfg.tentative_max_missing_s,
        max_coast_s=cfg.max_coast_s,
    )


def robot_height_m(robot) -> float:
    """Floor to the top of the screen (m): chassis clearance and height, mast, screen."""
    return (robot.base.ground_clearance_m + robot.base.height_m + robot.mast.height_m
            + robot.screen.height_m)
