"""The slam node, issue 2 foundation: holds map->odom and reports the robot's map pose.

There is no back end yet (issue 8). The node publishes TF ``map -> odom`` at
``publish_rate_hz``, held at its configured initial value, and per /odom message
``/slam/pose``: the odometry pose composed with map->odom, with odometry's covariance rotated
into the map frame (no visual correction, so no smaller uncertainty is claimed).

The front end (issue 8, ``visual_odometry``): left and right images paired by identical
stamps, with their camera_info, go to :class:`~hearth_slam.visual_odometry.VisualOdometry` on
its own thread (:class:`~hearth_slam.stereo_input.LatestPairWorker`: callbacks never wait for
it; a pair overtaken before it is tracked is dropped and counted). The motion prior is
odom -> base_link between the two images' stamps from TF (waiting up to ``vo_prior_wait_s``
for the newer one); the camera's mounting is the URDF's base_link -> <left camera_info
frame>. Each tracked pair gives /slam/visual_odometry (TwistWithCovarianceStamped, base_link,
the images' stamp); every processed pair gives /slam/diagnostics (tracking, lost or
initialising, with feature and inlier counts). Keyframes are handed to the back end (not
wired yet: counted). A calibration, image or stamp the front end cannot use is rejected,
counted and warned about at most once a second.

``/initialpose`` (geometry_msgs/PoseWithCovarianceStamped in the map frame: rviz's "2D Pose
Estimate", or the simulator saying where it set the robot down) re-anchors map->odom so that
the robot's map pose is the one given. It is subscribed twice, latched and volatile, to
receive both a latched announcement made before this node started and rviz's live ones.
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseWithCovarianceStamped, TwistWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from hearth_common.config import ConfigError
from hearth_common.frames import (
    FrameBuffer,
    FramePublisher,
    TransformError,
    make_transform,
    transform_to_xyz_quat,
)
from hearth_common.msg_conversions import (
    all_finite,
    ns_to_stamp,
    quaternion_msg_to_yaw,
    stamp_to_ns,
)
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED
from hearth_slam import se3
from hearth_slam.config import SlamConfig
from hearth_slam.map_odom import MapOdom, rotate_covariance_6x6, rotate_quaternion_by_yaw
from hearth_slam.stereo_camera import StereoRig, mount_from_urdf
from hearth_slam.stereo_input import LatestPairWorker, StereoPair, StereoPairer, mono8_from_fields
from hearth_slam.visual_odometry import (
    FrontEndParams,
    TrackingState,
    VisualOdometry,
    VoOutput,
    twist_message_fields,
)

NODE_CONFIG = SlamConfig

CLOCK_JUMP_NS = 1_000_000_000  # stamps this far back are a new time line, not a late pair

START_WARNING = (
    "V-SLAM back end not implemented yet (issue 8): map->odom is held at its initial value; "
    "/slam/pose is odometry only"
)


def front_end_params(cfg: SlamConfig) -> FrontEndParams:
    """The front end's parameters from the node's (the rest keep their defaults)."""
    from dataclasses import replace

    p = FrontEndParams()
    tracking = replace(p.tracking, min_inliers=cfg.vo_min_inliers,
                       min_matches=max(p.tracking.min_matches, cfg.vo_min_inliers + 5))
    return replace(p, orb=replace(p.orb, n_features=cfg.vo_n_features), tracking=tracking,
                   min_stereo_points=max(p.min_stereo_points, 2 * cfg.vo_min_inliers),
                   keyframe_max_interval_s=cfg.vo_keyframe_max_interval_s,
                   covariance_inflation=cfg.vo_covariance_inflation)


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
            "stereo_pairs": 0,
            "stereo_rejected": 0,
            "vo_published": 0,
            "vo_lost_frames": 0,
            "vo_no_prior": 0,
            "keyframes": 0,
        }
        self.power_mode = "normal"
        self._last_odom_ns: int | None = None

        self._frames = FramePublisher(self)
        self.pose_pub = self.create_publisher(PoseWithCovarianceStamped, "/slam/pose", 10)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self._setup_front_end(cfg)
        for side in ("left", "right"):
            self.create_subscription(
                Image,
                f"/stereo/{side}/image_raw",
                partial(self._on_image, side),
                qos_profile_sensor_data,
            )
            self.create_subscription(
                CameraInfo,
                f"/stereo/{side}/camera_info",
                partial(self._on_camera_info, side),
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

    # ------------------------------------------------------------------ the front end
    def _setup_front_end(self, cfg: SlamConfig) -> None:
        self._camera_info: dict[str, CameraInfo | None] = {"left": None, "right": None}
        self._pairer = StereoPairer()
        self._vo: VisualOdometry | None = None
        self._vo_calibration: tuple | None = None
        self._vo_prev_stamp_ns: int | None = None
        self._vo_worker: LatestPairWorker | None = None
        if not cfg.visual_odometry:
            return
        from hearth_description.robot_model import expand_xacro

        try:
            self._urdf = expand_xacro(robot_yaml=cfg.robot_params_file or None)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"parameter 'robot_params_file': {exc}") from exc
        self._vo_params = front_end_params(cfg)
        self.vo_pub = self.create_publisher(TwistWithCovarianceStamped, "/slam/visual_odometry",
                                            10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/slam/diagnostics", 10)
        self._tf = FrameBuffer(self)
        self._vo_worker = LatestPairWorker(self._track_pair, self._on_track_error)

    def destroy_node(self) -> None:
        worker = getattr(self, "_vo_worker", None)
        if worker is not None:
            worker.stop()
        super().destroy_node()

    def _reject_stereo(self, why: str) -> None:
        self.counts["stereo_rejected"] += 1
        self.get_logger().warning(
            f"stereo pair ignored: {why} ({self.counts['stereo_rejected']} so far)",
            throttle_duration_sec=1.0,
        )

    def _on_camera_info(self, side: str, msg: CameraInfo) -> None:
        self.counts[f"{side}_camera_info"] += 1
        self._camera_info[side] = msg

    def _on_image(self, side: str, msg: Image) -> None:
        self.counts[f"{side}_images"] += 1
        if self._vo_worker is None:
            return
        stamp_ns = stamp_to_ns(msg.header.stamp)
        if stamp_ns <= 0:
            self._reject_stereo(f"{side} image without a stamp")
            return
        pair = self._pairer.add(side, stamp_ns, msg)
        if pair is not None:
            self.counts["stereo_pairs"] += 1
            self._vo_worker.submit(pair)

    def _front_end_for(self, left: CameraInfo, right: CameraInfo) -> VisualOdometry:
        """The front end for this calibration (a new one when the calibration changes)."""
        key = tuple((m.header.frame_id, m.width, m.height, m.distortion_model, tuple(m.d),
                     tuple(m.k), tuple(m.r), tuple(m.p)) for m in (left, right))
        if self._vo is None or key != self._vo_calibration:
            rig = StereoRig.from_camera_info_fields(
                *[{"width": m.width, "height": m.height, "k": m.k, "d": m.d, "r": m.r,
                   "p": m.p, "distortion_model": m.distortion_model} for m in (left, right)])
            mount = mount_from_urdf(self._urdf, left.header.frame_id, self.cfg.base_frame)
            self._vo = VisualOdometry(rig, mount, self._vo_params)
            self._vo_calibration = key
            self._vo_prev_stamp_ns = None
            self.get_logger().info(
                f"front end: {rig.width_px}x{rig.height_px}, fx {rig.fx:.1f} px, baseline "
                f"{rig.baseline_m * 100:.1f} cm, "
                f"{'rectifying' if rig.needs_rectification else 'rectified input'}, "
                f"camera '{left.header.frame_id}' in {self.cfg.base_frame}")
        return self._vo

    def _motion_prior(self, stamp_ns: int) -> np.ndarray | None:
        """odom -> base_link motion since the previous pair (None when TF lacks it)."""
        prev = self._vo_prev_stamp_ns
        if prev is None:
            return None
        odom, base = self.cfg.odom_frame, self.cfg.base_frame
        try:
            now = self._tf.lookup(odom, base, ns_to_stamp(stamp_ns),
                                  timeout_s=self.cfg.vo_prior_wait_s)
            before = self._tf.lookup(odom, base, ns_to_stamp(prev))
        except TransformError:
            self.counts["vo_no_prior"] += 1
            return None
        poses = []
        for msg in (before, now):
            xyz, q = transform_to_xyz_quat(msg)
            poses.append(se3.from_quaternion(q, xyz))
        return se3.inverse(poses[0]) @ poses[1]

    def _track_pair(self, pair: StereoPair) -> None:
        """The tracking thread: one stereo pair through the front end, then publish."""
        left_info, right_info = self._camera_info["left"], self._camera_info["right"]
        if left_info is None or right_info is None:
            self._reject_stereo("no camera_info yet")
            return
        try:
            vo = self._front_end_for(left_info, right_info)
            images = [mono8_from_fields(m.encoding, m.height, m.width, m.step, m.data)
                      for m in (pair.left, pair.right)]
        except ValueError as exc:
            self._reject_stereo(str(exc))
            return
        prev = self._vo_prev_stamp_ns
        if prev is not None and pair.stamp_ns <= prev:
            if prev - pair.stamp_ns < CLOCK_JUMP_NS:
                self._reject_stereo("stamp not after the previous pair's")
                return
            # the clock went back (a simulation restart, a bag looping): start again
            self.get_logger().warning("stereo stamps jumped back: the front end starts over")
            vo.reset()
            self._vo_prev_stamp_ns = None
        prior = self._motion_prior(pair.stamp_ns)
        try:
            out = vo.track(images[0], images[1], pair.stamp_ns * 1e-9, prior)
        except ValueError as exc:
            self._reject_stereo(str(exc))
            return
        self._vo_prev_stamp_ns = pair.stamp_ns
        self.counts["keyframes"] += len(vo.pop_keyframes())  # the back end's, when it lands
        if not out.tracked:
            self.counts["vo_lost_frames"] += 1
        fields = twist_message_fields(out, self.cfg.base_frame)
        if fields is not None:
            msg = TwistWithCovarianceStamped()
            msg.header.stamp = pair.left.header.stamp
            msg.header.frame_id = fields["frame_id"]
            t = msg.twist.twist
            t.linear.x, t.linear.y, t.linear.z = fields["linear"]
            t.angular.x, t.angular.y, t.angular.z = fields["angular"]
            msg.twist.covariance = fields["covariance"]
            self.vo_pub.publish(msg)
            self.counts["vo_published"] += 1
        self._publish_front_end_status(pair, out)

    def _publish_front_end_status(self, pair: StereoPair, out: VoOutput) -> None:
        status = DiagnosticStatus()
        status.name = "slam: visual odometry"
        status.hardware_id = "stereo"
        if out.state is TrackingState.TRACKING:
            status.level, status.message = DiagnosticStatus.OK, "tracking"
        elif out.state is TrackingState.LOST:
            status.level = DiagnosticStatus.WARN
            status.message = f"lost for {self._vo.frames_lost} frames: following odometry"
        else:
            status.level, status.message = DiagnosticStatus.WARN, "initialising"
        values = {"state": out.state.value, "features": out.n_features,
                  "stereo_points": out.n_stereo, "matches": out.n_matches,
                  "inliers": out.n_inliers, "frames_lost": self._vo.frames_lost,
                  "restarted": out.restarted, "keyframes": self.counts["keyframes"],
                  "pairs_dropped": self._vo_worker.dropped if self._vo_worker else 0,
                  "no_prior": self.counts["vo_no_prior"]}
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = pair.left.header.stamp
        msg.status = [status]
        self.diag_pub.publish(msg)

    def _on_track_error(self, exc: BaseException) -> None:
        self._reject_stereo(f"front end error: {exc!r}")

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
