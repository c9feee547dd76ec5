"""Configuration of the evaluation nodes."""

from __future__ import annotations

from dataclasses import dataclass

from hearth_common.config import param


@dataclass(frozen=True)
class TopicMonitorConfig:
    """Which topics the monitor measures, and where it reports."""

    topics: list[str] = param(
        ["/clock", "/odom", "/tf", "/tf_static", "/cmd_vel", "/cmd_vel_nav", "/imu/data",
         "/wheel/joint_states", "/ground_truth/odom", "/plan", "/local_plan", "/slam/pose",
         "/map", "/fusion/diagnostics", "/safety/state", "/screen/pan_cmd", "/power_mode",
         "/local_planner/candidates", "/obstacles/tracks", "/tof/depth/image_raw",
         "/stereo/left/image_raw", "/stereo/right/image_raw", "/slam/visual_odometry"],
        "Topics to measure (subscribed as soon as a publisher appears, whatever their type)",
    )
    discovery_period_s: float = param(
        0.5, "How often to look for new publishers", min=0.05, max=10.0
    )
    report_period_s: float = param(0.0, "Print the table this often (0: only at exit)", min=0.0)
    report_file: str = param("", "Write the final table as JSON here (empty: do not)")
