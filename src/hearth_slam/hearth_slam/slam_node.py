"""The slam node, issue 2 foundation: holds map->odom and reports the robot's map pose.

There is no visual SLAM yet (issue 8). The node publishes TF ``map -> odom`` at
``publish_rate_hz``, held at its configured initial value, and per /odom message
``/slam/pose``: the odometry pose composed with map->odom, with odometry's covariance rotated
into the map frame (no visual correction, so no smaller uncertainty is claimed). The stereo
images, their camera_info and /power_mode are subscribed and counted only.

``/initialpose`` (geometry_msgs/PoseWithCovarianceStamped in the map frame: rviz's "2D Pose
Estimate", or the simulator saying where it set the robot down) re-anchors map->odom so that
the robot's map pose is the one given. It is subscribed twice, latched and volatile, to
receive both a latched announcement made before this node started and rviz's live ones.
"""

from __future__ import annotations

import sys

from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from hearth_common.frames import FramePublisher, make_transform
from hearth_common.msg_conversions import all_finite, quaternion_msg_to_yaw, stamp_to_ns
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED
from hearth_slam.config import SlamConfig
from hearth_slam.map_odom import MapOdom, rotate_covariance_6x6, rotate_quaternion_by_yaw

NODE_CONFIG = SlamConfig

START_WARNING = (
    "V-SLAM not implemented yet (issue 8): map->odom is held at its initial value; "
    "/slam/pose is odometry only; no /slam/visual_odometry"
)


class SlamNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("slam", **node_kwargs)
        self.cfg: SlamConfig = declare_config(self, SlamConfig)
        cfg = self.cfg
        self.get_logger().warning(START_WARNING)
        self.map_odom = MapOdom((cfg.initial_x_m, cfg.initial_y_m, cfg.initial_yaw_rad))
        self.counts = {
            "left_images": 0,
            "right_images": 0,
            "left_camera_info": 0,
            "right_camera_info": 0,
            "odom": 0,
            "odom_rejected": 0,
        }
        self.power_mode = "normal"
        self._last_odom_ns: int | None = None

        self._frames = FramePublisher(self)
        self.pose_pub = self.create_publisher(PoseWithCovarianceStamped, "/slam/pose", 10)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        for side in ("left", "right"):
            self.create_subscription(
                Image,
                f"/stereo/{side}/image_raw",
                self._counter(f"{side}_images"),
                qos_profile_sensor_data,
            )
            self.create_subscription(
                CameraInfo,
                f"/stereo/{side}/camera_info",
                self._counter(f"{side}_camera_info"),
                qos_profile_sensor_data,
            )
        self.create_subscription(String, "/power_mode", self._on_power_mode, LATCHED)
        self._odom_T_base: tuple[float, float, float] | None = None
        self._pending_initial_pose: tuple[float, float, float] | None = None
        for qos in (LATCHED, 10):
            self.create_subscription(
                PoseWithCovarianceStamped, "/initialpose", self._on_initial_pose, qos
            )
        self.create_timer(1.0 / cfg.publish_rate_hz, self._publish_map_odom)

    def _counter(self, key: str):
        def callback(_msg) -> None:
            self.counts[key] += 1

        return callback

    def _on_power_mode(self, msg: String) -> None:
        if msg.data not in ("normal", "low"):
            self.get_logger().warning(
                f"/power_mode {msg.data!r} ignored (expected 'normal' or 'low')",
                throttle_duration_sec=1.0,
            )
            return
        if msg.data != self.power_mode:
            self.get_logger().info(f"power mode {msg.data} (no effect until V-SLAM, issue 8)")
        self.power_mode = msg.data

    def _reject_odom(self, why: str) -> None:
        self.counts["odom_rejected"] += 1
        self.get_logger().warning(
            f"/odom ignored: {why} ({self.counts['odom_rejected']} so far)",
            throttle_duration_sec=1.0,
        )

    def _on_odom(self, msg: Odometry) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        cov = msg.pose.covariance
        if not all_finite(p.x, p.y, p.z, q.x, q.y, q.z, q.w, *cov):
            self._reject_odom("non-finite pose or covariance")
            return
        if q.x == q.y == q.z == q.w == 0.0:
            self._reject_odom("zero quaternion")
            return
        if msg.header.frame_id and msg.header.frame_id != self.cfg.odom_frame:
            self._reject_odom(f"frame '{msg.header.frame_id}', expected '{self.cfg.odom_frame}'")
            return
        if msg.child_frame_id and msg.child_frame_id != self.cfg.base_frame:
            self._reject_odom(
                f"child frame '{msg.child_frame_id}', expected '{self.cfg.base_frame}'"
            )
            return
        t_ns = stamp_to_ns(msg.header.stamp)
        if self._last_odom_ns is not None and t_ns < self._last_odom_ns:
            self._reject_odom("stamp older than the previous /odom")
            return
        self._last_odom_ns = t_ns
        self.counts["odom"] += 1

        self._odom_T_base = (p.x, p.y, quaternion_msg_to_yaw(q))
        if self._pending_initial_pose is not None:
            self._anchor(self._pending_initial_pose)
        map_odom = self.map_odom.map_T_odom
        x, y, _ = self.map_odom.map_pose(self._odom_T_base)
        out = PoseWithCovarianceStamped()
        out.header.stamp = msg.header.stamp
        out.header.frame_id = self.cfg.map_frame
        out.pose.pose.position.x, out.pose.pose.position.y, out.pose.pose.position.z = x, y, p.z
        qx, qy, qz, qw = rotate_quaternion_by_yaw((q.x, q.y, q.z, q.w), map_odom[2])
        o = out.pose.pose.orientation
        o.x, o.y, o.z, o.w = qx, qy, qz, qw
        out.pose.covariance = [float(v) for v in rotate_covariance_6x6(cov, map_odom[2])]
        self.pose_pub.publish(out)

    def _on_initial_pose(self, msg: PoseWithCovarianceStamped) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        if not all_finite(p.x, p.y, q.x, q.y, q.z, q.w) or q.x == q.y == q.z == q.w == 0.0:
            self.get_logger().warning("/initialpose ignored: non-finite or zero pose",
                                      throttle_duration_sec=1.0)
            return
        if msg.header.frame_id != self.cfg.map_frame:
            self.get_logger().warning(
                f"/initialpose ignored: frame '{msg.header.frame_id}', expected "
                f"'{self.cfg.map_frame}'", throttle_duration_sec=1.0)
            return
        self._pending_initial_pose = (p.x, p.y, quaternion_msg_to_yaw(q))
        if self._odom_T_base is not None:
            self._anchor(self._pending_initial_pose)

    def _anchor(self, map_T_base: tuple[float, float, float]) -> None:
        """Set map->odom so that the robot's current odometry pose maps to ``map_T_base``."""
        self._pending_initial_pose = None
        self.map_odom.set_from_map_pose(map_T_base, self._odom_T_base)
        x, y, yaw = map_T_base
        self.get_logger().info(f"initial pose ({x:.2f}, {y:.2f}, {yaw:.2f} rad): map->odom set")

    def _publish_map_odom(self) -> None:
        x, y, yaw = self.map_odom.map_T_odom
        self._frames.send(
            make_transform(
                self.cfg.map_frame, self.cfg.odom_frame, self.get_clock().now(), x, y, 0.0, yaw
            )
        )


def main(args=None):
    sys.exit(run_node(SlamNode, "slam", args))


if __name__ == "__main__":
    main()
