"""The slam node: stereo V-SLAM (``hearth_slam.slam_system``) over ROS 2.

The node converts and publishes; the algorithm is ``SlamSystem``:

- Left and right images paired by identical stamps, with their camera_info, go to
  ``SlamSystem.process_stereo`` on the tracking thread (``LatestPairWorker``: callbacks never
  wait for it; a pair overtaken before it is tracked is dropped and counted), with TF
  odom->base_link at the pair's stamp (waiting up to ``vo_prior_wait_s``) as the odometry.
  The camera's mounting is the URDF's base_link -> <left camera_info frame>. Each tracked
  pair gives /slam/visual_odometry; every pair gives /slam/diagnostics (front end and map).
- The back end (iSAM2, loop closure, relocalization) runs on its own thread inside
  ``SlamSystem``. TF map->odom (planar) is published at ``publish_rate_hz``; /slam/pose
  (map frame) per /odom message: map->odom ∘ the odometry pose, with the graph's covariance.
- /tof/depth/image_raw (32FC1, metres) with /tof/camera_info: each keyframe keeps a scan;
  /map (OccupancyGrid, transient local) only with ``publish_map`` (the global planner
  serves the static map by default), /slam/keyframes (MarkerArray) and /slam/landmarks
  (PointCloud2) at ``visualization_rate_hz``.
- /fusion/diagnostics' ``needs_relocalization`` (the robot was lifted and put down): the
  node asks ``SlamSystem`` to relocalize and calls ``/fusion/relocalized`` once it has.
- Maps: ``<map_dir>/<home_name>.map.npz`` is loaded at start (the session relocalizes in it
  and extends it; a corrupt or mismatched file is one error line and a fresh map), saved by
  the ``/slam/save_map`` service (std_srvs/Trigger) and at shutdown.
- ``/initialpose`` (map frame; rviz's "2D Pose Estimate", or the simulator saying where it
  set the robot down) before the first keyframe places the map frame; later it says where
  the robot is until relocalization locates it (a kidnap). Subscribed latched and volatile.

Bad input (NaN, wrong frames, stamps going back, an unusable calibration or image) is
rejected, counted and warned about at most once a second; callbacks never raise.
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, PoseWithCovarianceStamped, TwistWithCovarianceStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField
from std_msgs.msg import ColorRGBA, String
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.config import ConfigError
from hearth_common.frames import (
    FrameBuffer,
    FramePublisher,
    TransformError,
    make_transform,
    transform_to_xyz_quat,
)
from hearth_common.msg_conversions import all_finite, ns_to_stamp, stamp_to_ns
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED
from hearth_slam import se3
from hearth_slam.config import SlamConfig, map_file
from hearth_slam.map_store import MapFileError
from hearth_slam.slam_system import FrameResult, SlamParams, SlamSystem, planar
from hearth_slam.stereo_camera import StereoRig, mount_from_urdf
from hearth_slam.stereo_input import LatestPairWorker, StereoPair, StereoPairer, mono8_from_fields
from hearth_slam.visual_odometry import FrontEndParams, TrackingState, twist_message_fields

NODE_CONFIG = SlamConfig

CLOCK_JUMP_NS = 1_000_000_000  # stamps this far back are a new time line, not a late pair

START_WARNING = (
    "V-SLAM runs (stereo front end, iSAM2 back end, loop closure, relocalization, maps per "
    "home). Not yet: lifelong map management (a map grows with every session that extends "
    "it and nothing is forgotten), lighting-invariant features (in darkness tracking is lost "
    "and the odometry carries the pose until the lights return), /map is the ToF grid only "
    "with publish_map (the global planner serves the static map by default)"
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


def slam_params(cfg: SlamConfig) -> SlamParams:
    return SlamParams(front_end=front_end_params(cfg), loop_closure=cfg.loop_closure,
                      backend_keyframe_min_m=cfg.backend_keyframe_min_m,
                      backend_keyframe_min_rad=cfg.backend_keyframe_min_rad,
                      backend_keyframe_max_s=cfg.backend_keyframe_max_s,
                      reloc_keyframe_interval_s=cfg.reloc_keyframe_interval_s)


def _pose_msg_to_matrix(pose) -> np.ndarray:
    p, q = pose.position, pose.orientation
    return se3.from_quaternion([q.x, q.y, q.z, q.w], [p.x, p.y, p.z])


def _fill_pose(msg_pose, T: np.ndarray) -> None:
    msg_pose.position.x, msg_pose.position.y, msg_pose.position.z = (float(v) for v in T[:3, 3])
    o = msg_pose.orientation
    o.x, o.y, o.z, o.w = (float(v) for v in se3.to_quaternion(T))


class SlamNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("slam", **node_kwargs)
        self.cfg: SlamConfig = declare_config(self, SlamConfig)
        cfg = self.cfg
        self.get_logger().warning(START_WARNING)
        self.counts = {
            "left_images": 0, "right_images": 0, "left_camera_info": 0,
            "right_camera_info": 0, "odom": 0, "odom_rejected": 0, "stereo_pairs": 0,
            "stereo_rejected": 0, "vo_published": 0, "vo_lost_frames": 0, "vo_no_prior": 0,
            "keyframes": 0, "tof": 0, "tof_rejected": 0, "maps_published": 0,
            "relocalized_calls": 0,
        }
        self.power_mode = "normal"
        self._last_odom_ns: int | None = None
        self._odom: tuple[np.ndarray, np.ndarray] | None = None  # T_odom_base, covariance

        initial = se3.make(np.array([[np.cos(cfg.initial_yaw_rad), -np.sin(cfg.initial_yaw_rad),
                                      0.0], [np.sin(cfg.initial_yaw_rad),
                                             np.cos(cfg.initial_yaw_rad), 0.0],
                                     [0.0, 0.0, 1.0]]), [cfg.initial_x_m, cfg.initial_y_m, 0.0])
        self.map_path = map_file(cfg)
        self.system = SlamSystem(slam_params(cfg), self._vocabulary(cfg), initial)
        self._frames = FramePublisher(self)
        self.pose_pub = self.create_publisher(PoseWithCovarianceStamped, "/slam/pose", 10)
        self.keyframes_pub = self.create_publisher(MarkerArray, "/slam/keyframes", 10)
        self.landmarks_pub = self.create_publisher(PointCloud2, "/slam/landmarks", 10)
        self.map_pub = (self.create_publisher(OccupancyGrid, "/map", LATCHED)
                        if cfg.publish_map else None)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self._setup_front_end(cfg)
        self.create_subscription(String, "/power_mode", self._on_power_mode, LATCHED)
        for qos in (LATCHED, 10):
            self.create_subscription(
                PoseWithCovarianceStamped, "/initialpose", self._on_initial_pose, qos)
        self.create_subscription(DiagnosticArray, "/fusion/diagnostics",
                                 self._on_fusion_diagnostics, 10)
        self._relocalized_client = self.create_client(Trigger, "/fusion/relocalized")
        self._fusion_lift_since: str | None = None
        self.create_service(Trigger, "/slam/save_map", self._on_save_map)
        self.create_timer(1.0 / cfg.publish_rate_hz, self._publish_map_odom)
        self.create_timer(1.0 / cfg.visualization_rate_hz, self._publish_map_outputs)
        self._saved_on_shutdown = False

    def _vocabulary(self, cfg: SlamConfig):
        if not cfg.loop_closure or not cfg.visual_odometry:
            return None
        from hearth_slam.place_recognition import (
            Vocabulary,
            VocabularyError,
            default_vocabulary_path,
        )

        try:
            return Vocabulary.load(default_vocabulary_path())
        except (OSError, VocabularyError, ValueError) as exc:
            raise ConfigError(f"parameter 'loop_closure': the ORB vocabulary: {exc}") from exc

    # ------------------------------------------------------------------ the front end
    def _setup_front_end(self, cfg: SlamConfig) -> None:
        self._camera_info: dict[str, CameraInfo | None] = {"left": None, "right": None}
        self._tof_info: CameraInfo | None = None
        self._tof_mounts: dict[str, np.ndarray] = {}
        self._pairer = StereoPairer()
        self._calibration: tuple | None = None
        self._prev_stamp_ns: int | None = None
        self._vo_worker: LatestPairWorker | None = None
        if not cfg.visual_odometry:
            return
        from hearth_description.robot_model import expand_xacro

        try:
            self._urdf = expand_xacro(robot_yaml=cfg.robot_params_file or None)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"parameter 'robot_params_file': {exc}") from exc
        self.vo_pub = self.create_publisher(TwistWithCovarianceStamped, "/slam/visual_odometry",
                                            10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/slam/diagnostics", 10)
        self._tf = FrameBuffer(self)
        for side in ("left", "right"):
            self.create_subscription(Image, f"/stereo/{side}/image_raw",
                                     partial(self._on_image, side), qos_profile_sensor_data)
            self.create_subscription(CameraInfo, f"/stereo/{side}/camera_info",
                                     partial(self._on_camera_info, side),
                                     qos_profile_sensor_data)
        self.create_subscription(Image, "/tof/depth/image_raw", self._on_tof,
                                 qos_profile_sensor_data)
        self.create_subscription(CameraInfo, "/tof/camera_info", self._on_tof_info,
                                 qos_profile_sensor_data)
        self._vo_worker = LatestPairWorker(self._track_pair, self._on_track_error)

    def destroy_node(self) -> None:
        worker = getattr(self, "_vo_worker", None)
        if worker is not None:
            worker.stop()
        system = getattr(self, "system", None)
        if system is not None:
            if self.cfg.save_map_on_shutdown and not self._saved_on_shutdown:
                self._saved_on_shutdown = True
                ok, message = self._save_map()
                if system.has_map:
                    (self.get_logger().info if ok else self.get_logger().error)(
                        f"on shutdown: {message}")
            system.close()
        super().destroy_node()

    def _reject_stereo(self, why: str) -> None:
        self.counts["stereo_rejected"] += 1
        self.get_logger().warning(
            f"stereo pair ignored: {why} ({self.counts['stereo_rejected']} so far)",
            throttle_duration_sec=1.0)

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

    def _configure(self, left: CameraInfo, right: CameraInfo) -> None:
        """The rig for this calibration (the tracking thread): the first builds the system
        and loads the home's map; a changed one restarts the front end."""
        key = tuple((m.header.frame_id, m.width, m.height, m.distortion_model, tuple(m.d),
                     tuple(m.k), tuple(m.r), tuple(m.p)) for m in (left, right))
        if key == self._calibration:
            return
        rig = StereoRig.from_camera_info_fields(
            *[{"width": m.width, "height": m.height, "k": m.k, "d": m.d, "r": m.r,
               "p": m.p, "distortion_model": m.distortion_model} for m in (left, right)])
        mount = mount_from_urdf(self._urdf, left.header.frame_id, self.cfg.base_frame)
        first = self._calibration is None
        self.system.configure_camera(rig, mount)
        self._calibration = key
        self._prev_stamp_ns = None
        self.get_logger().info(
            f"front end: {rig.width_px}x{rig.height_px}, fx {rig.fx:.1f} px, baseline "
            f"{rig.baseline_m * 100:.1f} cm, "
            f"{'rectifying' if rig.needs_rectification else 'rectified input'}, "
            f"camera '{left.header.frame_id}' in {self.cfg.base_frame}")
        if first:
            self._load_map()

    def _load_map(self) -> None:
        path = self.map_path
        if path is None or not self.cfg.load_map_at_start:
            return
        if not path.exists():
            self.get_logger().info(f"no map at {path}: a fresh map for home "
                                   f"'{self.cfg.home_name}'")
            return
        try:
            counts = self.system.load_map(path)
        except MapFileError as exc:
            self.get_logger().error(f"map not loaded, starting a fresh one: {exc}")
            return
        self.get_logger().info(
            f"map {path} loaded ({counts.get('keyframes', 0)} keyframes, "
            f"{counts.get('landmarks', 0)} landmarks): relocalizing in it")

    def _odometry_at(self, stamp_ns: int) -> np.ndarray | None:
        """T_odom_base at the pair's stamp from TF (None when TF lacks it)."""
        try:
            msg = self._tf.lookup(self.cfg.odom_frame, self.cfg.base_frame,
                                  ns_to_stamp(stamp_ns), timeout_s=self.cfg.vo_prior_wait_s)
        except TransformError:
            self.counts["vo_no_prior"] += 1
            return None
        xyz, q = transform_to_xyz_quat(msg)
        return se3.from_quaternion(q, xyz)

    def _track_pair(self, pair: StereoPair) -> None:
        """The tracking thread: one stereo pair through the system, then publish."""
        left_info, right_info = self._camera_info["left"], self._camera_info["right"]
        if left_info is None or right_info is None:
            self._reject_stereo("no camera_info yet")
            return
        try:
            self._configure(left_info, right_info)
            images = [mono8_from_fields(m.encoding, m.height, m.width, m.step, m.data)
                      for m in (pair.left, pair.right)]
        except ValueError as exc:
            self._reject_stereo(str(exc))
            return
        prev = self._prev_stamp_ns
        if prev is not None and pair.stamp_ns <= prev:
            if prev - pair.stamp_ns < CLOCK_JUMP_NS:
                self._reject_stereo("stamp not after the previous pair's")
                return
            # the clock went back (a simulation restart, a bag looping): start again, and
            # locate the robot in the map (the odometry started over too)
            self.get_logger().warning("stereo stamps jumped back: tracking starts over")
            self.system.request_relocalization(fusion_asked=False)  # before the next pair
        T_odom_base = self._odometry_at(pair.stamp_ns)
        try:
            result = self.system.process_stereo(pair.stamp_ns * 1e-9, images[0], images[1],
                                                T_odom_base)
        except ValueError as exc:
            self._reject_stereo(str(exc))
            return
        self._prev_stamp_ns = pair.stamp_ns
        self.counts["keyframes"] += len(result.keyframe_ids)
        if not result.tracked:
            self.counts["vo_lost_frames"] += 1
        fields = twist_message_fields(result.vo, self.cfg.base_frame)
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
        self._publish_status(pair, result)

    def _publish_status(self, pair: StereoPair, result: FrameResult) -> None:
        out = result.vo
        front = DiagnosticStatus()
        front.name = "slam: visual odometry"
        front.hardware_id = "stereo"
        vo = self.system.vo
        lost_for = vo.frames_lost if vo is not None else 0
        if out.state is TrackingState.TRACKING:
            front.level, front.message = DiagnosticStatus.OK, "tracking"
        elif out.state is TrackingState.LOST:
            front.level = DiagnosticStatus.WARN
            front.message = f"lost for {lost_for} frames: following odometry"
        else:
            front.level, front.message = DiagnosticStatus.WARN, "initialising"
        values = {"state": out.state.value, "features": out.n_features,
                  "stereo_points": out.n_stereo, "matches": out.n_matches,
                  "inliers": out.n_inliers, "frames_lost": lost_for,
                  "restarted": out.restarted, "keyframes": self.counts["keyframes"],
                  "pairs_dropped": self._vo_worker.dropped if self._vo_worker else 0,
                  "no_prior": self.counts["vo_no_prior"]}
        front.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        status = self.system.status()
        back = DiagnosticStatus()
        back.name = "slam: map"
        back.hardware_id = "stereo"
        if status["localized"]:
            back.level, back.message = DiagnosticStatus.OK, "localized"
        else:
            back.level, back.message = DiagnosticStatus.WARN, "relocalizing: not in the map yet"
        status["map_file"] = str(self.map_path) if self.map_path else "none"
        back.values = [KeyValue(key=k, value=str(v).lower() if isinstance(v, bool) else str(v))
                       for k, v in status.items()]
        msg = DiagnosticArray()
        msg.header.stamp = pair.left.header.stamp
        msg.status = [front, back]
        self.diag_pub.publish(msg)

    def _on_track_error(self, exc: BaseException) -> None:
        self._reject_stereo(f"front end error: {exc!r}")

    # ------------------------------------------------------------------ the ToF
    def _on_tof_info(self, msg: CameraInfo) -> None:
        self._tof_info = msg

    def _on_tof(self, msg: Image) -> None:
        self.counts["tof"] += 1
        info = self._tof_info
        try:
            if info is None:
                raise ValueError("no /tof/camera_info yet")
            if msg.encoding != "32FC1":
                raise ValueError(f"encoding '{msg.encoding}' (expected 32FC1 metres)")
            if msg.step < 4 * msg.width or len(msg.data) < msg.step * msg.height:
                raise ValueError(f"{len(msg.data)} bytes for {msg.height} rows of {msg.step}")
            rows = np.frombuffer(memoryview(msg.data), dtype=np.uint8)[:msg.step * msg.height]
            depth = rows.reshape(msg.height, msg.step)[:, :4 * msg.width].copy().view(
                np.float32)
            if msg.is_bigendian:
                depth = depth.byteswap()
            frame = msg.header.frame_id or info.header.frame_id
            mount = self._tof_mounts.get(frame)
            if mount is None:
                mount = mount_from_urdf(self._urdf, frame, self.cfg.base_frame)
                self._tof_mounts[frame] = mount
            stamp = msg.header.stamp
            try:
                tf = self._tf.lookup(self.cfg.odom_frame, self.cfg.base_frame, stamp)
                xyz, q = transform_to_xyz_quat(tf)
                T_odom_base = se3.from_quaternion(q, xyz)
            except TransformError:
                T_odom_base = None  # taken as the keyframe's own
            self.system.add_tof(stamp_to_ns(stamp) * 1e-9, depth, np.reshape(info.k, (3, 3)),
                                mount, T_odom_base)
        except ValueError as exc:
            self.counts["tof_rejected"] += 1
            self.get_logger().warning(f"ToF image ignored: {exc} "
                                      f"({self.counts['tof_rejected']} so far)",
                                      throttle_duration_sec=1.0)

    # ------------------------------------------------------------------ fusion, power
    def _on_fusion_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if values.get("needs_relocalization") != "true":
                continue
            since = values.get("needs_relocalization_since_s", "")
            if since == self._fusion_lift_since:
                continue  # the same lift, being served
            self._fusion_lift_since = since
            self.get_logger().info("fusion: the robot was lifted and put down: relocalizing")
            self.system.request_relocalization(fusion_asked=True)

    def _handle_events(self) -> None:
        for kind, event in self.system.pop_events():
            self.get_logger().info(
                f"relocalized: keyframe {event.kf_id} matched map keyframe {event.matched_kf} "
                f"({event.inliers} inliers)" + (" after a lift" if kind == "fusion" else ""))
            if kind != "fusion":
                continue
            if not self._relocalized_client.service_is_ready():
                self.get_logger().warning("/fusion/relocalized is not available: fusion "
                                          "keeps its needs_relocalization flag")
                continue
            self._relocalized_client.call_async(Trigger.Request())
            self.counts["relocalized_calls"] += 1

    def _on_power_mode(self, msg: String) -> None:
        if msg.data not in ("normal", "low"):
            self.get_logger().warning(
                f"/power_mode {msg.data!r} ignored (expected 'normal' or 'low')",
                throttle_duration_sec=1.0)
            return
        if msg.data != self.power_mode:
            self.get_logger().info(f"power mode {msg.data}: " + (
                "the cameras are off, odometry carries the pose" if msg.data == "low"
                else "tracking resumes"))
        self.power_mode = msg.data

    # ------------------------------------------------------------------ odometry, pose
    def _reject_odom(self, why: str) -> None:
        self.counts["odom_rejected"] += 1
        self.get_logger().warning(
            f"/odom ignored: {why} ({self.counts['odom_rejected']} so far)",
            throttle_duration_sec=1.0)

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
                f"child frame '{msg.child_frame_id}', expected '{self.cfg.base_frame}'")
            return
        t_ns = stamp_to_ns(msg.header.stamp)
        if self._last_odom_ns is not None and t_ns < self._last_odom_ns:
            self._reject_odom("stamp older than the previous /odom")
            return
        self._last_odom_ns = t_ns
        self.counts["odom"] += 1
        T_odom_base = _pose_msg_to_matrix(msg.pose.pose)
        odom_cov = np.asarray(cov, dtype=float).reshape(6, 6)
        self._odom = (T_odom_base, odom_cov)
        out = PoseWithCovarianceStamped()
        out.header.stamp = msg.header.stamp
        out.header.frame_id = self.cfg.map_frame
        T_map_base = self.system.pose_map_odom @ planar(T_odom_base)
        T_map_base[2, 3] = T_odom_base[2, 3]
        _fill_pose(out.pose.pose, T_map_base)
        out.pose.covariance = [float(v) for v in
                               self.system.pose_covariance(T_odom_base, odom_cov).ravel()]
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
        T_odom_base = self._odom[0] if self._odom is not None else None
        if T_odom_base is None:
            try:
                xyz, quat = transform_to_xyz_quat(
                    self._tf.lookup(self.cfg.odom_frame, self.cfg.base_frame))
                T_odom_base = se3.from_quaternion(quat, xyz)
            except (TransformError, AttributeError):
                T_odom_base = np.eye(4)  # no odometry yet: it starts at its origin
        self.system.set_initial_pose(_pose_msg_to_matrix(msg.pose.pose), T_odom_base)
        T = planar(_pose_msg_to_matrix(msg.pose.pose))
        self.get_logger().info(
            f"initial pose ({T[0, 3]:.2f}, {T[1, 3]:.2f}, "
            f"{np.arctan2(T[1, 0], T[0, 0]):.2f} rad): map->odom set")

    def _publish_map_odom(self) -> None:
        T = self.system.pose_map_odom
        yaw = float(np.arctan2(T[1, 0], T[0, 0]))
        self._frames.send(make_transform(self.cfg.map_frame, self.cfg.odom_frame,
                                         self.get_clock().now(), float(T[0, 3]),
                                         float(T[1, 3]), 0.0, yaw))
        self._handle_events()

    # ------------------------------------------------------------------ map outputs
    def _publish_map_outputs(self) -> None:
        stamp = self.get_clock().now().to_msg()
        changed = self.system.update_occupancy()
        if self.map_pub is not None and (changed or self.counts["maps_published"] == 0):
            self._publish_occupancy(stamp)
        ids, poses, loops = self.system.keyframe_graph()
        if len(ids):
            self.keyframes_pub.publish(self._graph_markers(stamp, ids, poses, loops))
            self.landmarks_pub.publish(self._cloud(stamp, self.system.landmarks_map()))

    def _publish_occupancy(self, stamp) -> None:
        grid = self.system.occupancy_grid()
        if grid is None:
            return
        if self.count_publishers("/map") > 1:
            self.get_logger().warning(
                "another node publishes /map (the global planner with a map_yaml?): the ToF "
                "map is not published; give the planner map_yaml:='' to use it",
                throttle_duration_sec=30.0)
            return
        data, (x0, y0), res = grid
        msg = OccupancyGrid()
        msg.header.stamp = stamp
        msg.header.frame_id = self.cfg.map_frame
        msg.info.map_load_time = stamp
        msg.info.resolution = float(res)
        msg.info.height, msg.info.width = int(data.shape[0]), int(data.shape[1])
        msg.info.origin.position.x, msg.info.origin.position.y = float(x0), float(y0)
        msg.info.origin.orientation.w = 1.0
        msg.data = data.ravel().tolist()
        self.map_pub.publish(msg)
        self.counts["maps_published"] += 1

    def _graph_markers(self, stamp, ids, poses, loops) -> MarkerArray:
        index = {int(k): n for n, k in enumerate(ids.tolist())}

        def marker(ns: str, kind: int, rgba: tuple, width: float) -> Marker:
            m = Marker()
            m.header.stamp = stamp
            m.header.frame_id = self.cfg.map_frame
            m.ns, m.id, m.type, m.action = ns, 0, kind, Marker.ADD
            m.pose.orientation.w = 1.0
            m.scale.x = m.scale.y = m.scale.z = width
            m.color = ColorRGBA(r=rgba[0], g=rgba[1], b=rgba[2], a=rgba[3])
            return m

        def point(T: np.ndarray) -> Point:
            return Point(x=float(T[0, 3]), y=float(T[1, 3]), z=float(T[2, 3]))

        nodes = marker("keyframes", Marker.SPHERE_LIST, (0.2, 0.6, 1.0, 1.0), 0.06)
        nodes.points = [point(T) for T in poses]
        chain = marker("odometry_edges", Marker.LINE_STRIP, (0.5, 0.5, 0.5, 0.8), 0.015)
        chain.points = [point(T) for T in poses]
        loop = marker("loop_edges", Marker.LINE_LIST, (1.0, 0.2, 0.2, 1.0), 0.025)
        for a, b in loops:
            if int(a) in index and int(b) in index:
                loop.points += [point(poses[index[int(a)]]), point(poses[index[int(b)]])]
        out = MarkerArray()
        out.markers = [nodes, chain] + ([loop] if loop.points else [])
        return out

    def _cloud(self, stamp, points_map: np.ndarray) -> PointCloud2:
        pts = np.asarray(points_map, dtype=np.float32).reshape(-1, 3)
        msg = PointCloud2()
        msg.header.stamp = stamp
        msg.header.frame_id = self.cfg.map_frame
        msg.height, msg.width = 1, len(pts)
        msg.fields = [PointField(name=n, offset=4 * k, datatype=PointField.FLOAT32, count=1)
                      for k, n in enumerate("xyz")]
        msg.is_bigendian = sys.byteorder == "big"
        msg.point_step, msg.row_step = 12, 12 * len(pts)
        msg.is_dense = True
        msg.data = pts.tobytes()
        return msg

    # ------------------------------------------------------------------ the map file
    def _save_map(self) -> tuple[bool, str]:
        path = self.map_path
        if path is None:
            return False, "map_dir is empty: maps are not saved"
        if not self.system.has_map:
            return False, "no map yet: nothing saved"
        try:  # thread-safe: the graph is exported on the back end's thread
            size, counts = self.system.save_map(path)
        except (MapFileError, OSError, TimeoutError) as exc:
            return False, f"map not saved: {exc}"
        return True, (f"map saved to {path} ({size / 1e6:.1f} MB, {counts['keyframes']} "
                      f"keyframes, {counts['landmarks']} landmarks)")

    def _on_save_map(self, request: Trigger.Request, response: Trigger.Response
                     ) -> Trigger.Response:
        ok, message = self._save_map()
        (self.get_logger().info if ok else self.get_logger().warning)(message)
        response.success, response.message = ok, message
        return response


def main(args=None):
    sys.exit(run_node(SlamNode, "slam", args))


if __name__ == "__main__":
    main()
