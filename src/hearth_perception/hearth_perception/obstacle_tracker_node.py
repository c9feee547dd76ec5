"""The obstacle tracker node: ToF depth in, tracked dynamic obstacles and their predictions out.

Per depth frame (/tof/depth/image_raw with /tof/camera_info, sensor-data QoS): the image
becomes points in the odom frame (TF odom <- the image's optical frame at its stamp; a frame
waits, up to ``tf_wait_s``, until TF covers its stamp), the
points neither /map nor the robot's own chassis (TF odom <- base_link) explains become
detections (``obstacle_detection``), and the tracker
(``obstacle_tracker``) fuses them at the image's stamp. At ``publish_rate_hz`` (10 Hz) the
node deletes tracks unseen for too long (so a silent sensor lets them die) and publishes the
confirmed tracks on /obstacles/tracks (hearth_msgs/ObstacleTrackArray, odom frame, stamped
with the time the states refer to) and their constant-velocity predictions on
/obstacles/predictions (visualization_msgs/MarkerArray: mean paths and 1-sigma ellipses; the
track's covariance plus the people's intent uncertainty, propagated with white acceleration).

/map (transient local) is placed in odom with TF map->odom; without either, every point in
the height band counts as unexplained. With ``align_to_map`` each frame's walls are first
aligned to the map's (``map_alignment``), so that the localization's error (0.1 m and a few
degrees in a dim room) does not turn door jambs and furniture into tracks. Bad input (wrong
encoding, a buffer of the wrong size, no camera_info yet, no transform at the stamp within
``tf_wait_s``, stamps going back) is rejected, counted and logged at most once a second; NaN
pixels are simply no points.
"""

from __future__ import annotations

import math
import sys
from collections import deque

import numpy as np
from geometry_msgs.msg import Point
from nav_msgs.msg import OccupancyGrid
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.frames import FrameBuffer, TransformError
from hearth_common.msg_conversions import ns_to_stamp, quaternion_msg_to_yaw, stamp_to_ns
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED, SENSOR
from hearth_description.robot_model import RobotParams, default_robot_yaml, load_robot_params
from hearth_msgs.msg import ObstacleTrack, ObstacleTrackArray
from hearth_perception.config import (
    ObstacleTrackerConfig,
    alignment_params,
    detection_params,
    robot_height_m,
    tracker_params,
)
from hearth_perception.depth_points import (
    DepthProjector,
    decode_depth_image,
    intrinsics_from_k,
    transform_matrix,
)
from hearth_perception.local_costmap import LocalCostmap, StaticMap
from hearth_perception.map_alignment import MapAligner
from hearth_perception.obstacle_detection import Detections, detect_obstacles
from hearth_perception.obstacle_tracker import ObstacleTracker, SensorView, TrackArrays
from hearth_perception.prediction import (
    intent_covariance,
    predict_constant_velocity,
    sigma_ellipses,
)

NODE_CONFIG = ObstacleTrackerConfig

ELLIPSE_POINTS = 24
PENDING_FRAMES = 4  # depth frames waiting for TF at their stamps
TF_RETRY_PERIOD_S = 0.02


class ObstacleTrackerNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("obstacle_tracker", **node_kwargs)
        self.config: ObstacleTrackerConfig = declare_config(self, ObstacleTrackerConfig)
        cfg = self.config
        robot_yaml = cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)
        self.detection = detection_params(cfg, robot_height_m(self.robot),
                                          self.robot.base.radius_m)
        self.tracker = ObstacleTracker(tracker_params(cfg))
        self.static_window = LocalCostmap(cfg.static_window_m, cfg.static_resolution_m)
        self.frames = FrameBuffer(self)
        self.projector: DepthProjector | None = None
        self.camera_frame = ""
        self.static_map: StaticMap | None = None
        align = alignment_params(cfg)
        self.aligner = MapAligner(align) if align is not None else None
        self.last_detections = Detections.empty()
        self._pending: deque[Image] = deque(maxlen=PENDING_FRAMES)
        self.counts = {
            "depth_frames": 0,
            "depth_rejected": 0,
            "depth_before_camera_info": 0,
            "camera_info_rejected": 0,
            "map_rejected": 0,
            "depth_backlog": 0,
            "no_transform": 0,
            "no_map_transform": 0,
        }

        self.tracks_pub = self.create_publisher(ObstacleTrackArray, "/obstacles/tracks", 10)
        self.predictions_pub = self.create_publisher(MarkerArray, "/obstacles/predictions", 10)
        self.create_subscription(Image, "/tof/depth/image_raw", self._on_depth, SENSOR)
        self.create_subscription(CameraInfo, "/tof/camera_info", self._on_info, SENSOR)
        self.create_subscription(OccupancyGrid, "/map", self._on_map, LATCHED)
        self.create_timer(1.0 / cfg.publish_rate_hz, self._tick)
        self.create_timer(TF_RETRY_PERIOD_S, self._drain)
        self.get_logger().info(
            f"obstacles between {self.detection.min_z_m:g} and {self.detection.max_z_m:g} m "
            f"high (robot from {robot_yaml}), depth pixel stride {cfg.pixel_stride}"
        )

    def _reject(self, key: str, why: str) -> None:
        self.counts[key] += 1
        self.get_logger().warning(f"{why} ({self.counts[key]} so far)",
                                  throttle_duration_sec=1.0)

    # -------------------------------------------------------------- callbacks
    def _on_info(self, msg: CameraInfo) -> None:
        try:
            K = intrinsics_from_k(msg.k)
            p = self.projector
            if (p is None or p.width_px != msg.width or p.height_px != msg.height
                    or not np.array_equal(p.K, K)):
                tof = self.robot.tof
                self.projector = DepthProjector(
                    K, msg.width, msg.height, stride_px=self.config.pixel_stride,
                    min_range_m=tof.min_range_m, max_range_m=tof.max_range_m,
                )
            self.camera_frame = msg.header.frame_id
        except ValueError as exc:
            self._reject("camera_info_rejected", f"/tof/camera_info rejected: {exc}")

    def _on_map(self, msg: OccupancyGrid) -> None:
        try:
            frame = msg.header.frame_id
            if frame and frame != self.config.map_frame:
                raise ValueError(f"in frame '{frame}', expected '{self.config.map_frame}'")
            info = msg.info
            if len(msg.data) != info.width * info.height:
                raise ValueError(f"{len(msg.data)} cells for {info.width}x{info.height}")
            o = info.origin
            origin = (o.position.x, o.position.y, quaternion_msg_to_yaw(o.orientation))
            grid = np.asarray(msg.data, dtype=np.int8).reshape(info.height, info.width)
            self.static_map = StaticMap(grid, info.resolution, origin)
        except ValueError as exc:
            self._reject("map_rejected", f"/map rejected: {exc}")

    def _on_depth(self, msg: Image) -> None:
        self.counts["depth_frames"] += 1
        if self.projector is None:
            self._reject("depth_before_camera_info",
                         "depth frame dropped: no valid /tof/camera_info yet")
            return
        if len(self._pending) == self._pending.maxlen:
            self._reject("depth_backlog", "depth frame dropped: still waiting for TF for "
                         f"{len(self._pending)} older frames")
        self._pending.append(msg)
        self._drain()

    def _drain(self) -> None:
        """Process the waiting frames, oldest first, as soon as TF covers their stamps (the
        pose at the stamp, never a stale one); drop a frame waited on for ``tf_wait_s``."""
        odom, base = self.config.odom_frame, self.config.base_frame
        while self._pending:
            msg = self._pending[0]
            frame = msg.header.frame_id or self.camera_frame
            try:
                T_odom_cam = self._transform(odom, frame, msg.header.stamp)
                T_odom_base = self._transform(odom, base, msg.header.stamp)
            except TransformError as exc:
                age_s = (self.get_clock().now().nanoseconds
                         - stamp_to_ns(msg.header.stamp)) * 1e-9
                if frame and age_s <= self.config.tf_wait_s:
                    return  # TF may still come: try again on the next frame or timer tick
                self._pending.popleft()
                self._reject("no_transform", f"depth frame dropped: no transform {odom} <- "
                             f"{frame or '(no frame id)'} at its stamp: {exc}")
                continue
            self._pending.popleft()
            self._process(msg, T_odom_cam, T_odom_base)

    def _process(self, msg: Image, T_odom_cam: np.ndarray, T_odom_base: np.ndarray) -> None:
        try:
            depth = decode_depth_image(msg.data, msg.height, msg.width, msg.step,
                                       msg.encoding, bool(msg.is_bigendian))
            points = self.projector.points_in(depth, T_odom_cam)
            sensor_xy = T_odom_cam[:2, 3]
            static = self._static_distance(sensor_xy)
            if static is not None and self.aligner is not None:
                d = self.detection
                static = self.aligner.align(points, static, sensor_xy, d.min_z_m,
                                            d.max_z_m).explain(static)
            detections = detect_obstacles(points, sensor_xy, self.detection, static,
                                          robot_xy=T_odom_base[:2, 3],
                                          on_side_border=self.projector.side_border(depth))
            p = self.projector
            view = SensorView.of_camera(T_odom_cam, p.half_fov_rad, p.min_range_m,
                                        p.max_range_m)
            self.tracker.update(stamp_to_ns(msg.header.stamp) * 1e-9,
                                detections.positions, detections.radii, view,
                                detections.cut)
            self.last_detections = detections
        except ValueError as exc:
            self._reject("depth_rejected", f"depth frame rejected: {exc}")

    def _transform(self, target: str, source: str, stamp) -> np.ndarray:
        """T_target_source (4, 4) at ``stamp``; raises TransformError."""
        if not source:
            raise TransformError("the frame has no frame id")
        tf = self.frames.lookup(target, source, stamp)
        t, q = tf.transform.translation, tf.transform.rotation
        return transform_matrix((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))

    def _static_distance(self, sensor_xy: np.ndarray):
        """The static map's distance function around the sensor, or None (no map / TF)."""
        if self.static_map is None:
            return None
        try:
            pose = self.frames.lookup_pose2d(self.config.odom_frame, self.config.map_frame)
        except TransformError as exc:
            self._reject("no_map_transform", f"/map not used: no transform "
                         f"{self.config.odom_frame} <- {self.config.map_frame}: {exc}")
            return None
        self.static_window.update(sensor_xy, None, self.static_map.in_odom(pose))
        return self.static_window.distance_at

    # ------------------------------------------------------------------ tick
    def _tick(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        if self.tracker.t_s is not None:
            self.tracker.prune(now_ns * 1e-9)
        tracks = self.tracker.arrays()
        t_s = self.tracker.t_s  # the time the track states refer to
        stamp = ns_to_stamp(now_ns if t_s is None else round(t_s * 1e9))
        self.tracks_pub.publish(self._tracks_msg(tracks, stamp))
        self.predictions_pub.publish(self._predictions_msg(tracks, stamp))

    def _tracks_msg(self, a: TrackArrays, stamp) -> ObstacleTrackArray:
        msg = ObstacleTrackArray()
        msg.header.stamp = stamp
        msg.header.frame_id = self.config.odom_frame
        for k in range(len(a)):
            t = ObstacleTrack()
            t.id = int(a.ids[k])
            t.position = Point(x=float(a.positions[k, 0]), y=float(a.positions[k, 1]), z=0.0)
            t.velocity.x, t.velocity.y = float(a.velocities[k, 0]), float(a.velocities[k, 1])
            t.covariance = [float(v) for v in a.covariances[k].ravel()]
            t.radius = float(a.radii[k])
            t.age = float(a.ages[k])
            t.hits = int(a.hits[k])
            msg.tracks.append(t)
        return msg

    def _predictions_msg(self, a: TrackArrays, stamp) -> MarkerArray:
        cfg = self.config
        out = MarkerArray()
        clear = Marker()
        clear.action = Marker.DELETEALL
        out.markers.append(clear)
        if not len(a):
            return out
        steps = max(1, math.floor(cfg.prediction_horizon_s / cfg.prediction_step_s + 1e-9))
        # the tracker's uncertainty plus what the people may change (hearth's predictor)
        P0 = a.covariances + intent_covariance(
            a.velocities, speed_std_mps=cfg.prediction_speed_std_mps,
            heading_std_rad=cfg.prediction_heading_std_rad)
        means, covs = predict_constant_velocity(
            a.positions, a.velocities, P0, steps, cfg.prediction_step_s,
            accel_psd_m2ps3=cfg.prediction_accel_psd_m2ps3,
        )
        rings = sigma_ellipses(means, covs, ELLIPSE_POINTS)  # (K, T, n+1, 2)
        for k in range(len(a)):
            track_id = int(a.ids[k])
            path = self._marker("prediction_mean", track_id, stamp, (0.1, 0.4, 1.0, 0.9))
            path.points = [Point(x=float(x), y=float(y), z=0.05)
                           for x, y in np.vstack([a.positions[k], means[k]])]
            out.markers.append(path)
            for s in range(steps):
                fade = 0.8 * (1.0 - 0.7 * s / steps)
                ring = self._marker("prediction_sigma", track_id * 1000 + s, stamp,
                                    (1.0, 0.5, 0.0, fade))
                ring.points = [Point(x=float(x), y=float(y), z=0.05) for x, y in rings[k, s]]
                out.markers.append(ring)
        return out

    def _marker(self, ns: str, marker_id: int, stamp, rgba) -> Marker:
        m = Marker()
        m.header.stamp = stamp
        m.header.frame_id = self.config.odom_frame
        m.ns = ns
        m.id = int(marker_id % 2**31)
        m.type = Marker.LINE_STRIP
        m.action = Marker.ADD
        m.pose.orientation.w = 1.0
        m.scale.x = 0.03
        m.color.r, m.color.g, m.color.b, m.color.a = (float(c) for c in rgba)
        return m


def main(args=None):
    sys.exit(run_node(ObstacleTrackerNode, "obstacle_tracker", args))


if __name__ == "__main__":
    main()
