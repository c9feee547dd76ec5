"""The fusion node: /odom and TF odom->base_link (wheel odometry only for now).

Subscribes /wheel/joint_states (integrated by :mod:`hearth_fusion.wheel_odometry`) and
/imu/data, /slam/visual_odometry, /power_mode (received and counted; the IMU and visual
odometry are fused by the EKF of issue 4). Publishes at ``publish_rate_hz`` /odom and TF
odom->base_link, stamped with the node clock and extrapolated at constant velocity from the
last encoder update by at most ``max_extrapolation_s``; when the wheel data is older than that
nothing is published (consumers see /odom go silent rather than a stale pose stamped now).
Publishes /fusion/diagnostics at ``diagnostics_rate_hz``.

The wheel radius and separation and the top speeds (which bound plausible encoder motion) are
the robot's, read once at start from ``robot_params_file`` (hearth_description's robot.yaml by
default); a bad robot file stops the node with one line naming the file and the key.
"""

from __future__ import annotations

import sys

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import TransformStamped, TwistWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.clock import JumpThreshold, TimeJump
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import String

from hearth_common.frames import FramePublisher
from hearth_common.msg_conversions import ns_to_stamp, stamp_to_ns, yaw_to_quaternion_msg
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED
from hearth_description.robot_model import RobotParams, default_robot_yaml, load_robot_params
from hearth_fusion.config import FusionConfig
from hearth_fusion.wheel_odometry import (
    REJECT_REASONS,
    Pose2D,
    WheelOdometry,
    max_wheel_speed_mps,
)

NODE_CONFIG = FusionConfig

# Variance given to the axes a planar wheel odometry does not estimate (z, roll, pitch and
# their rates): "unknown", so that a consumer never trusts them.
UNESTIMATED_VARIANCE = 1.0e6

START_WARNING = (
    "EKF not implemented yet (issue 4): /odom is wheel odometry only; "
    "IMU and visual odometry are not fused"
)


class FusionNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("fusion", **node_kwargs)
        self.config: FusionConfig = declare_config(self, FusionConfig)
        cfg = self.config
        # The robot's one source of truth; raises ConfigError (one line) for a bad file.
        robot_yaml = cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)
        wheels, limits = self.robot.wheels, self.robot.limits
        top_wheel_speed_mps = max_wheel_speed_mps(
            limits.max_linear_speed_mps, limits.max_angular_speed_radps, wheels.separation_m
        )
        self.odometry = WheelOdometry(
            wheel_radius_m=wheels.radius_m,
            wheel_separation_m=wheels.separation_m,
            travel_variance_m2_per_m=cfg.wheel_travel_variance_m2_per_m,
            speed_noise_fraction=cfg.wheel_speed_noise_fraction,
            speed_noise_floor_mps=cfg.wheel_speed_noise_floor_mps,
            max_wheel_speed_mps=cfg.implausible_speed_factor * top_wheel_speed_mps,
            left_joint=cfg.left_wheel_joint,
            right_joint=cfg.right_wheel_joint,
        )
        self.counts = {
            "joint_states_received": 0,
            "imu_received": 0,
            "visual_odometry_received": 0,
            "power_mode_received": 0,
            "power_mode_unknown": 0,
            "clock_jumps_back": 0,
            "encoder_reanchors": 0,
            "odom_published": 0,
        }
        self.low_power = False
        self._last_published_ns = -1
        self._rejected_at_last_diagnostics = 0

        self.odom_pub = self.create_publisher(Odometry, "/odom", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/fusion/diagnostics", 10)
        self.frames = FramePublisher(self) if cfg.publish_tf else None

        # Sensor topics: best effort matches both best-effort and reliable publishers; a lost
        # encoder message costs nothing (the next one's position deltas cover it).
        self.create_subscription(
            JointState, "/wheel/joint_states", self._on_joint_state, qos_profile_sensor_data
        )
        self.create_subscription(Imu, "/imu/data", self._on_imu, qos_profile_sensor_data)
        self.create_subscription(
            TwistWithCovarianceStamped, "/slam/visual_odometry", self._on_visual_odometry, 10
        )
        self.create_subscription(String, "/power_mode", self._on_power_mode, LATCHED)

        self.create_timer(1.0 / cfg.publish_rate_hz, self._publish_odometry)
        self.create_timer(1.0 / cfg.diagnostics_rate_hz, self._publish_diagnostics)
        # A clock that jumps back (simulation reset, bag loop) would make every later stamp
        # "old": re-anchor the encoders instead, keeping the pose.
        self._jump_handle = self.get_clock().create_jump_callback(
            JumpThreshold(min_forward=None, min_backward=Duration(nanoseconds=-1)),
            post_callback=self._on_clock_jump,
        )
        self.get_logger().info(
            f"robot from {robot_yaml}: wheel radius {wheels.radius_m:g} m, separation "
            f"{wheels.separation_m:g} m, top wheel speed {top_wheel_speed_mps:g} m/s"
        )
        self.get_logger().warning(START_WARNING)

    # -------------------------------------------------------------- callbacks
    def _on_joint_state(self, msg: JointState) -> None:
        self.counts["joint_states_received"] += 1
        stamp_ns = stamp_to_ns(msg.header.stamp)
        reason = self.odometry.update_joint_state(msg.name, msg.position, stamp_ns)
        if reason == "stamp_backwards" and self._anchor_is_from_the_future():
            # The last accepted reading was stamped before a clock reset (it arrived after
            # the jump callback): re-anchor on this one rather than rejecting every reading
            # until the clock catches up.
            self.counts["encoder_reanchors"] += 1
            self.odometry.forget_anchor()
            reason = self.odometry.update_joint_state(msg.name, msg.position, stamp_ns)
        if reason is not None:
            self.get_logger().warning(
                f"/wheel/joint_states rejected ({reason}); rejected so far: "
                f"{self._rejected_summary()}",
                throttle_duration_sec=1.0,
            )

    def _anchor_is_from_the_future(self) -> bool:
        anchor_ns = self.odometry.stamp_ns
        now_ns = self.get_clock().now().nanoseconds
        return anchor_ns is not None and anchor_ns - now_ns > 1e9 * self.config.max_extrapolation_s

    def _on_imu(self, msg: Imu) -> None:
        self.counts["imu_received"] += 1

    def _on_visual_odometry(self, msg: TwistWithCovarianceStamped) -> None:
        self.counts["visual_odometry_received"] += 1

    def _on_power_mode(self, msg: String) -> None:
        self.counts["power_mode_received"] += 1
        mode = msg.data.strip().lower()
        if mode in ("normal", "low"):
            self.low_power = mode == "low"
        else:
            self.counts["power_mode_unknown"] += 1
            self.get_logger().warning(
                f"/power_mode {msg.data!r} is not 'normal' or 'low'; ignored",
                throttle_duration_sec=1.0,
            )

    def _on_clock_jump(self, jump: TimeJump) -> None:
        if jump.delta.nanoseconds < 0:
            self.counts["clock_jumps_back"] += 1
            self._last_published_ns = -1
            self.odometry.forget_anchor()
            self.get_logger().warning(
                f"clock jumped back {-jump.delta.nanoseconds / 1e9:.3f} s: wheel odometry "
                "re-anchors on the next encoder reading (pose kept)"
            )

    # ------------------------------------------------------------- publishing
    def _publish_odometry(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        if now_ns <= self._last_published_ns:
            return  # clock has not advanced (paused simulation): never repeat a stamp
        pose = self.odometry.predict(now_ns, self.config.max_extrapolation_s)
        if pose is None:
            return  # no wheel data yet, or stale: /odom goes silent (see diagnostics)
        self._last_published_ns = now_ns
        odom = self._odometry_msg(pose)
        self.odom_pub.publish(odom)
        self.counts["odom_published"] += 1
        if self.frames is not None:
            tf = TransformStamped()
            tf.header = odom.header
            tf.child_frame_id = odom.child_frame_id
            tf.transform.translation.x = pose.x_m
            tf.transform.translation.y = pose.y_m
            tf.transform.rotation = odom.pose.pose.orientation
            self.frames.send([tf])

    def _odometry_msg(self, pose: Pose2D) -> Odometry:
        msg = Odometry()
        msg.header.stamp = ns_to_stamp(pose.stamp_ns)
        msg.header.frame_id = self.config.odom_frame
        msg.child_frame_id = self.config.base_frame
        msg.pose.pose.position.x = pose.x_m
        msg.pose.pose.position.y = pose.y_m
        msg.pose.pose.orientation = yaw_to_quaternion_msg(pose.yaw_rad)
        msg.twist.twist.linear.x = pose.linear_mps
        msg.twist.twist.angular.z = pose.angular_radps
        msg.pose.covariance = _planar_to_6x6(pose.pose_cov)
        msg.twist.covariance = _planar_to_6x6(pose.twist_cov)
        return msg

    def _publish_diagnostics(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        odo = self.odometry
        rejected_total = sum(odo.rejected.values())
        rejected_recently = rejected_total - self._rejected_at_last_diagnostics
        self._rejected_at_last_diagnostics = rejected_total

        problems = []
        if not odo.initialised:
            problems.append("no wheel encoder data yet")
        elif odo.predict(now_ns, self.config.max_extrapolation_s) is None:
            age_s = (now_ns - (odo.stamp_ns or 0)) / 1e9
            if age_s > 0.0:
                problems.append(
                    f"wheel encoder data stale ({age_s:.2f} s old): /odom not published"
                )
            else:
                problems.append(
                    f"wheel encoder stamps {-age_s:.2f} s ahead of the node clock (another "
                    "clock? check use_sim_time): /odom not published"
                )
        if rejected_recently:
            problems.append(f"{rejected_recently} encoder readings rejected")
        if self.config.publish_tf and self.frames is None:
            problems.append("TF not published (hearth_common.frames unavailable)")

        status = DiagnosticStatus()
        status.name = "fusion: odometry"
        status.hardware_id = "wheel_encoders"
        if problems:
            status.level = DiagnosticStatus.WARN
            status.message = "; ".join(problems)
        else:
            status.level = DiagnosticStatus.OK
            status.message = "wheel odometry only (EKF not implemented yet, issue 4)"
        values = {
            # Detectors of issue 4 (need the IMU fused): not computed yet, and not pretended.
            "imu_saturated": "unknown",
            "wheel_slip": "unknown",
            "lifted": "unknown",
            "low_power": str(self.low_power).lower(),
            "distance_travelled_m": f"{odo.distance_m:.3f}",
            "rotation_travelled_rad": f"{odo.rotation_rad:.3f}",
            "joint_states_accepted": str(odo.accepted),
        }
        values.update({f"rejected_{r}": str(odo.rejected[r]) for r in REJECT_REASONS})
        values.update({k: str(v) for k, v in self.counts.items()})
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]

        msg = DiagnosticArray()
        msg.header.stamp = ns_to_stamp(now_ns)
        msg.status = [status]
        self.diag_pub.publish(msg)

    def _rejected_summary(self) -> str:
        return ", ".join(f"{r} {n}" for r, n in self.odometry.rejected.items() if n) or "none"


def _planar_to_6x6(cov3) -> list[float]:
    """A 3x3 covariance of (x, y, yaw) as ROS's row-major 6x6 of (x, y, z, roll, pitch, yaw)."""
    out = [0.0] * 36
    idx = (0, 1, 5)
    for i, a in enumerate(idx):
        for j, b in enumerate(idx):
            out[6 * a + b] = float(cov3[i, j])
    for a in (2, 3, 4):
        out[6 * a + a] = UNESTIMATED_VARIANCE
    return out


def main(args=None):
    sys.exit(run_node(FusionNode, "fusion", args))


if __name__ == "__main__":
    main()
