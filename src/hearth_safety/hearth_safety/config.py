"""Configuration of the safety node (ROS-free): one frozen dataclass, see ``config/safety.yaml``.

The robot itself is not described here: its footprint (``base.radius_m``), its speed,
acceleration and jerk limits (``limits.*``) and the ToF's mounting and range (``tof.*``, the
URDF) come from ``robot_params_file``, the robot's one source of truth.
:func:`controller_params` combines them with this node's own tuning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth_common.config import ConfigError, param
from hearth_safety.controller import ControllerParams
from hearth_safety.local_map import MapParams
from hearth_safety.speed_law import SpeedLawParams

if TYPE_CHECKING:  # only the type: the node reads robot.yaml, this module reads no file
    from hearth_description.robot_model import RobotParams


@dataclass(frozen=True)
class SafetyConfig:
    # The robot: footprint, limits and the ToF's mounting come from its description.
    robot_params_file: str = param(
        "", "robot.yaml giving the footprint, the speed/acceleration/jerk limits and the "
        "ToF mounting (empty: hearth_description's config/robot.yaml)"
    )
    odom_frame: str = param("odom", "frame of /odom and /local_plan")
    tof_frame: str = param(
        "tof_optical", "optical frame of /tof/depth/image_raw (its pose in base_link comes "
        "from the URDF built from robot_params_file)"
    )

    # Input freshness. Each stale input is reported; the output stops within one cycle.
    depth_timeout_s: float = param(
        0.15, "a depth frame older than this (capture stamp) is stale: controlled stop",
        min=0.02, max=2.0)
    plan_timeout_s: float = param(
        0.3, "a /local_plan received longer ago than this is stale: controlled stop",
        min=0.02, max=5.0)
    cmd_timeout_s: float = param(
        0.3, "a /cmd_vel_nav received longer ago than this is stale: controlled stop",
        min=0.01, max=5.0)
    odom_timeout_s: float = param(
        0.2, "/odom silent for longer than this: emergency stop", min=0.01, max=5.0)
    watchdog_rate_hz: float = param(
        50.0, "rate of the staleness watchdog (between depth frames); /cmd_vel is published "
        "per depth frame, and by the watchdog while an input is stale", min=5.0, max=500.0)

    # The local map: 2 x 2 m around the robot, from the newest depth frame plus a memory.
    map_size_m: float = param(2.0, "side of the square local map centred on the robot",
                              min=0.5, max=6.0)
    map_resolution_m: float = param(0.025, "cell size of the local map", min=0.005, max=0.2)
    obstacle_min_height_m: float = param(
        0.03, "points higher than this above the floor are obstacles (floor bumps up to "
        "~2 cm are not; a shoe, ~5 cm, is)", min=0.005, max=0.3)
    overhead_clearance_m: float = param(
        0.05, "points higher than the robot's top plus this are overhead (not obstacles)",
        min=0.0, max=2.0)
    min_points_per_cell: int = param(
        2, "depth points a cell needs to be an obstacle (a lone flying pixel is not)",
        min=1, max=100)
    self_mask_margin_m: float = param(
        0.02, "points within the footprint grown by this are the robot itself (the ToF's "
        "lowest rows see the chassis)", min=0.0, max=0.1)
    memory_s: float = param(
        1.5, "obstacle cells that left the field of view (or are hidden behind the "
        "chassis) are remembered this long, moved with odometry", min=0.0, max=10.0)
    memory_clear_tolerance_m: float = param(
        0.05, "a remembered cell is forgotten when the newest frame sees up to or past it "
        "(within this depth tolerance)", min=0.0, max=0.5)
    ground_fit: bool = param(
        True, "fit the floor plane per frame (bounded tilt and offset) so that a robot "
        "tilted by a bump does not see the floor as an obstacle")
    pixel_stride: int = param(1, "use every n-th depth pixel in each direction", min=1,
                              max=8)

    # The check: the committed trajectory and the current command against the footprint.
    horizon_s: float = param(
        1.0, "how far ahead /local_plan and the command are checked", min=0.2, max=5.0)
    footprint_padding_m: float = param(
        0.03, "the footprint is grown by this for the collision check", min=0.0, max=0.3)
    sweep_step_m: float = param(
        0.02, "spacing of the footprint poses along the checked path", min=0.005, max=0.1)

    # The speed law (see README): scale as the time to collision shrinks, stop in time.
    slow_ttc_s: float = param(
        1.0, "time to collision below which the speed is scaled down", min=0.1, max=10.0)
    stop_ttc_s: float = param(
        0.3, "time to collision at which the scaled speed reaches zero", min=0.0, max=5.0)
    stop_distance_m: float = param(
        0.05, "free distance kept in front of the padded footprint when stopped",
        min=0.0, max=1.0)
    slow_decel_mps2: float = param(
        0.6, "deceleration the smooth slowdown plans with (at most the robot's "
        "limits.max_linear_accel_mps2)", min=0.05, max=10.0)
    reaction_time_s: float = param(
        0.1, "delay assumed between a depth frame and the wheels acting on its command "
        "(emergency stop distance)", min=0.0, max=1.0)
    hold_speed_mps: float = param(
        0.03, "an obstacle ahead and the law allowing less than this: stop and hold (resume "
        "above twice it) instead of creeping on", min=0.0, max=0.5)
    resume_delay_s: float = param(
        0.5, "after an emergency stop the way must be clear this long before driving "
        "again", min=0.0, max=10.0)

    # Visualisation.
    markers_rate_hz: float = param(
        5.0, "rate of /safety/markers (the local map and the footprint sweep); 0: off",
        min=0.0, max=100.0)

    def __post_init__(self) -> None:
        if self.stop_ttc_s >= self.slow_ttc_s:
            raise ConfigError(
                f"parameter 'stop_ttc_s' = {self.stop_ttc_s!r} must be below 'slow_ttc_s' = "
                f"{self.slow_ttc_s!r}")
        if self.slow_ttc_s > self.horizon_s:
            raise ConfigError(
                f"parameter 'slow_ttc_s' = {self.slow_ttc_s!r} must not exceed 'horizon_s' = "
                f"{self.horizon_s!r} (a collision beyond the horizon is not seen)")
        cells = self.map_size_m / self.map_resolution_m
        if cells > 400:
            raise ConfigError(
                f"parameters 'map_size_m' / 'map_resolution_m' = {cells:.0f} cells a side: "
                "at most 400")


def controller_params(cfg: SafetyConfig, robot: RobotParams,
                      source: str = "robot.yaml") -> ControllerParams:
    """The controller's parameters: the robot's footprint, limits and ToF range (``robot``,
    from ``source``) with this node's tuning. Raises ConfigError when the two do not fit."""
    lim = robot.limits
    if cfg.slow_decel_mps2 > lim.max_linear_accel_mps2:
        raise ConfigError(
            f"parameter 'slow_decel_mps2' = {cfg.slow_decel_mps2!r} is above the robot's "
            f"'limits.max_linear_accel_mps2' = {lim.max_linear_accel_mps2!r} ({source}): "
            "the motors cannot brake that hard")
    top_m = (robot.base.ground_clearance_m + robot.base.height_m + robot.mast.height_m
             + robot.screen.height_m)
    return ControllerParams(
        map=MapParams(
            size_m=cfg.map_size_m,
            resolution_m=cfg.map_resolution_m,
            min_height_m=cfg.obstacle_min_height_m,
            max_height_m=top_m + cfg.overhead_clearance_m,
            min_points_per_cell=cfg.min_points_per_cell,
            self_mask_margin_m=cfg.self_mask_margin_m,
            memory_s=cfg.memory_s,
            clear_tolerance_m=cfg.memory_clear_tolerance_m,
            ground_fit=cfg.ground_fit,
        ),
        law=SpeedLawParams(
            max_linear_speed_mps=lim.max_linear_speed_mps,
            max_angular_speed_radps=lim.max_angular_speed_radps,
            max_linear_accel_mps2=lim.max_linear_accel_mps2,
            max_angular_accel_radps2=lim.max_angular_accel_radps2,
            max_linear_jerk_mps3=lim.max_linear_jerk_mps3,
            max_angular_jerk_radps3=lim.max_angular_jerk_radps3,
            slow_ttc_s=cfg.slow_ttc_s,
            stop_ttc_s=cfg.stop_ttc_s,
            stop_distance_m=cfg.stop_distance_m,
            slow_decel_mps2=cfg.slow_decel_mps2,
            reaction_time_s=cfg.reaction_time_s,
            hold_speed_mps=cfg.hold_speed_mps,
        ),
        footprint_radius_m=robot.base.radius_m,
        footprint_padding_m=cfg.footprint_padding_m,
        horizon_s=cfg.horizon_s,
        sweep_step_m=cfg.sweep_step_m,
        depth_timeout_s=cfg.depth_timeout_s,
        plan_timeout_s=cfg.plan_timeout_s,
        cmd_timeout_s=cfg.cmd_timeout_s,
        odom_timeout_s=cfg.odom_timeout_s,
        resume_delay_s=cfg.resume_delay_s,
        min_range_m=robot.tof.min_range_m,
        max_range_m=robot.tof.max_range_m,
        pixel_stride=cfg.pixel_stride,
        max_step_s=max(4.0 / cfg.watchdog_rate_hz, 2.0 / robot.tof.rate_hz),
    )
