"""Configuration of the fusion node (ROS-free): one frozen dataclass, see ``config/fusion.yaml``.

The robot's geometry and limits (wheel radius and separation, top speeds) are not parameters
of this node: the node reads them at start from ``robot_params_file``, the robot's one source
of truth (``hearth_description.robot_model.load_robot_params()``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hearth_common.config import ConfigError, param


@dataclass(frozen=True)
class FusionConfig:
    # Wheel encoders (sensor_msgs/JointState on /wheel/joint_states, positions in rad).
    left_wheel_joint: str = param("wheel_left_joint", "joint name of the left wheel's encoder")
    right_wheel_joint: str = param("wheel_right_joint", "joint name of the right wheel's encoder")

    # The robot: geometry and limits come from its description.
    robot_params_file: str = param(
        "", "robot.yaml giving the wheel radius and separation and the top speeds (empty: "
        "hearth_description's config/robot.yaml)"
    )
    implausible_speed_factor: float = param(
        3.0,
        "an encoder step faster than this many times the robot's top wheel speed (from "
        "robot.yaml's limits) is treated as an encoder reset: the step is not integrated and "
        "odometry re-anchors",
        min=1.5,
        max=100.0,
    )

    # Noise model of wheel odometry.
    wheel_travel_variance_m2_per_m: float = param(
        2.0e-4,
        "variance of each wheel's travel per metre that wheel rolls (pose covariance grows "
        "with |distance|, and with rotation through the wheels' opposite travel)",
        min=0.0,
        max=1.0,
    )
    wheel_speed_noise_fraction: float = param(
        0.05, "standard deviation of a wheel's speed as a fraction of that speed", min=0.0, max=1.0
    )
    wheel_speed_noise_floor_mps: float = param(
        0.01, "standard deviation of a wheel's speed at rest", min=1.0e-4, max=1.0
    )

    # Output.
    odom_frame: str = param("odom", "frame of /odom's pose (parent of the TF)")
    base_frame: str = param("base_link", "the robot's body frame (child of the TF)")
    publish_rate_hz: float = param(
        100.0, "rate of /odom and TF odom->base_link", min=10.0, max=500.0
    )
    max_extrapolation_s: float = param(
        0.1,
        "/odom is extrapolated at constant velocity from the last encoder update by at most "
        "this; older wheel data is stale and /odom is not published",
        min=0.01,
        max=0.1,
    )
    diagnostics_rate_hz: float = param(10.0, "rate of /fusion/diagnostics", min=0.5, max=100.0)
    publish_tf: bool = param(True, "publish TF odom->base_link along with /odom")

    def __post_init__(self) -> None:
        for key in ("left_wheel_joint", "right_wheel_joint", "odom_frame", "base_frame"):
            if not getattr(self, key).strip():
                raise ConfigError(f"parameter '{key}' must not be empty")
        if self.left_wheel_joint == self.right_wheel_joint:
            raise ConfigError(
                f"parameter 'right_wheel_joint' = {self.right_wheel_joint!r} is the same joint "
                "as 'left_wheel_joint'"
            )
        if self.odom_frame == self.base_frame:
            raise ConfigError(
                f"parameter 'base_frame' = {self.base_frame!r} is the same frame as 'odom_frame'"
            )
