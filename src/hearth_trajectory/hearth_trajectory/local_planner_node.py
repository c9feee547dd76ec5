"""Local planner node: the predictive, uncertainty-aware sampling planner at a fixed rate.

Every cycle (``rate_hz``, a fixed timer) the node converts its inputs, calls
:class:`~hearth_trajectory.planner.LocalPlanner` and publishes what it decided:

- in: /plan (map frame, moved into odom with TF map->odom), /odom, /obstacles/tracks (odom
  frame), /tof/depth/image_raw + /tof/camera_info and /map (for the local costmap, through
  hearth_perception), /follow_target (std_msgs/Int64: a track id; 0 or negative: off);
- out: /cmd_vel_nav, /local_plan (the committed trajectory, odom frame, a stamp per pose),
  /screen/pan_cmd (within the pan joint's travel and speed), /local_planner/candidates
  (about 10 % of the candidates as line strips, green best to red worst),
  /local_planner/predictions (the people as the planner forecast them: paths and the
  position when the plan takes effect), /local_planner/blocked (std_msgs/Bool, every cycle),
  /local_planner/status (std_msgs/String), /local_planner/cycle_time_ms.

The cycle time is measured and fed back: an overrun sheds candidates for the next cycles.
Callbacks never raise: bad messages are rejected, counted and logged at most once a second.
The limits are the robot's, read once at start from ``robot_params_file``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time

import numpy as np
from geometry_msgs.msg import Point, PoseStamped, Twist
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Bool, Float64, Int64, String
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.config import ConfigError
from hearth_common.frames import FrameBuffer, TransformError
from hearth_common.msg_conversions import (
    all_finite,
    ns_to_stamp,
    quaternion_msg_to_yaw,
    stamp_to_ns,
    yaw_to_quaternion_msg,
)
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED, SENSOR
from hearth_description.robot_model import RobotParams, default_robot_yaml, load_robot_params
from hearth_msgs.msg import ObstacleTrackArray
from hearth_trajectory.config import (
    LocalPlannerConfig,
    motion_limits,
    pan_limits,
    planner_params,
)
from hearth_trajectory.floor_transitions import (
    FloorTransitions,
    FloorTransitionsError,
    load_floor_transitions,
)
from hearth_trajectory.local_costmap_input import LocalCostmapInput, perception_available
from hearth_trajectory.people_forecast import Tracks
from hearth_trajectory.planner import Kind, LocalPlanner, PlanningInput
from hearth_trajectory.planner import Odometry as OdomState
from hearth_trajectory.screen_pan import limit_pan

NODE_CONFIG = LocalPlannerConfig


class LocalPlannerNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("local_planner", **node_kwargs)
        self.cfg: LocalPlannerConfig = declare_config(self, LocalPlannerConfig)
        cfg = self.cfg
        robot_yaml = cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)  # ConfigError: one line
        self.limits = motion_limits(cfg, self.robot)
        self.pan_limits = pan_limits(self.robot.screen)
        self.planner = LocalPlanner(self.limits, planner_params(cfg, self.robot))
        lin, ang = self.limits.linear, self.limits.angular
        self.get_logger().info(
            f"robot limits from {robot_yaml}: v [{lin.min_velocity:g}, {lin.max_velocity:g}] "
            f"m/s, {lin.max_accel:g} m/s², {lin.max_jerk:g} m/s³; w ±{ang.max_velocity:g} "
            f"rad/s, {ang.max_accel:g} rad/s², {ang.max_jerk:g} rad/s³; {cfg.candidates} "
            f"candidates x {self.planner.p.steps} steps"
        )
        self.costmap: LocalCostmapInput | None = None
        self._projector = None
        if perception_available():
            from hearth_perception.config import robot_height_m

            self.costmap = LocalCostmapInput(
                cfg.costmap_size_m, cfg.costmap_resolution_m, cfg.depth_timeout_s,
                cfg.track_clearance_m, self_radius_m=self.robot.base.radius_m + 0.05,
                max_obstacle_z_m=robot_height_m(self.robot),  # higher: it passes under
                align_to_map=cfg.align_map_to_depth,
            )
        else:
            self.get_logger().warning(
                "hearth_perception is not installed: no local costmap (depth, /map); "
                "planning around tracked people only"
            )
        self.floor = self._load_floor(cfg.floor_transitions_file)
        self._period_s = 1.0 / cfg.rate_hz
        self.counts = dict.fromkeys((
            "plans", "plans_rejected", "odom_rejected", "tracks_rejected", "depth_frames",
            "depth_rejected", "map_rejected", "tf_failures", "cycles", "overruns",
        ), 0)
        self._plan: np.ndarray | None = None
        self._plan_frame = ""
        self._plan_version = 0
        self._odom: OdomState | None = None
        self._odom_stamp_ns: int | None = None
        self._tracks = Tracks.empty(-1e9)
        self._follow_id: int | None = None
        self._camera_frame = ""
        self._pan_cmd = 0.0
        self._last_cycle_ns: int | None = None
        self.status = "starting"
        self.last_result = None

        self._frames = FrameBuffer(self)
        self.cmd_pub = self.create_publisher(Twist, "/cmd_vel_nav", 10)
        self.local_plan_pub = self.create_publisher(Path, "/local_plan", 10)
        self.pan_pub = self.create_publisher(Float64, "/screen/pan_cmd", 10)
        self.candidates_pub = self.create_publisher(MarkerArray, "/local_planner/candidates", 10)
        self.predictions_pub = self.create_publisher(
            MarkerArray, "/local_planner/predictions", 10
        )
        self.blocked_pub = self.create_publisher(Bool, "/local_planner/blocked", 10)
        self.status_pub = self.create_publisher(String, "/local_planner/status", 10)
        self.cycle_pub = self.create_publisher(Float64, "/local_planner/cycle_time_ms", 10)
        self.create_subscription(Path, "/plan", self._on_plan, 10)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(ObstacleTrackArray, "/obstacles/tracks", self._on_tracks, 10)
        self.create_subscription(Int64, "/follow_target", self._on_follow, 10)
        self.create_subscription(Image, "/tof/depth/image_raw", self._on_depth, SENSOR)
        self.create_subscription(CameraInfo, "/tof/camera_info", self._on_info, SENSOR)
        self.create_subscription(OccupancyGrid, "/map", self._on_map, LATCHED)
        self.create_timer(self._period_s, self._cycle)

    # -- inputs --------------------------------------------------------------------------------

    def _reject(self, key: str, why: str) -> None:
        self.counts[key] += 1
        self.get_logger().warning(f"{why} ({self.counts[key]} so far)",
                                  throttle_duration_sec=1.0)

    def _on_plan(self, msg: Path) -> None:
        if not msg.poses:
            if self._plan is not None:
                self.get_logger().info("empty /plan: stopping")
            self._plan = None
            return
        pts = np.array([(p.pose.position.x, p.pose.position.y) for p in msg.poses], dtype=float)
        problem = None
        if not np.all(np.isfinite(pts)):
            problem = "a pose has a non-finite position"
        elif not msg.header.frame_id:
            problem = "no header.frame_id"
        if problem is not None:
            self._plan = None  # never keep following a path its sender has replaced
            self._reject("plans_rejected", f"/plan rejected, stopping: {problem}")
            return
        self.counts["plans"] += 1
        self._plan, self._plan_frame = pts, msg.header.frame_id
        self._plan_version += 1

    def _on_odom(self, msg: Odometry) -> None:
        p, q, tw = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
        cov = np.asarray(msg.pose.covariance, dtype=float).reshape(6, 6)[:2, :2]
        problem = None
        if not all_finite(p.x, p.y, q.x, q.y, q.z, q.w, tw.linear.x, tw.angular.z):
            problem = "non-finite pose or twist"
        elif q.x == q.y == q.z == q.w == 0.0:
            problem = "zero quaternion"
        elif msg.header.frame_id and msg.header.frame_id != self.cfg.odom_frame:
            problem = f"frame '{msg.header.frame_id}', expected '{self.cfg.odom_frame}'"
        else:
            stamp = stamp_to_ns(msg.header.stamp)
            if self._odom_stamp_ns is not None and stamp < self._odom_stamp_ns:
                problem = "stamp older than the previous /odom"
        if problem is not None:
            self._reject("odom_rejected", f"/odom ignored: {problem}")
            return
        if not np.all(np.isfinite(cov)):
            cov = np.zeros((2, 2))  # the pose is fine; its uncertainty falls back to the floor
        self._odom_stamp_ns = stamp
        self._odom = OdomState(stamp * 1e-9, p.x, p.y, quaternion_msg_to_yaw(q), tw.linear.x,
                               tw.angular.z, cov)

    def _on_tracks(self, msg: ObstacleTrackArray) -> None:
        if msg.header.frame_id and msg.header.frame_id != self.cfg.odom_frame:
            self._reject("tracks_rejected", f"/obstacles/tracks in frame "
                         f"'{msg.header.frame_id}', expected '{self.cfg.odom_frame}'")
            return
        n = len(msg.tracks)
        tr = msg.tracks
        self._tracks = Tracks(
            stamp_to_ns(msg.header.stamp) * 1e-9,
            np.array([t.id for t in tr], dtype=np.int64),
            np.array([(t.position.x, t.position.y) for t in tr], dtype=float).reshape(n, 2),
            np.array([(t.velocity.x, t.velocity.y) for t in tr], dtype=float).reshape(n, 2),
            np.array([t.covariance for t in tr], dtype=float).reshape(n, 4, 4),
            np.array([t.radius for t in tr], dtype=float),
        )
        dropped = n - len(self._tracks.finite())
        if dropped:
            self._reject("tracks_rejected", f"{dropped} track(s) with non-finite fields ignored")

    def _on_follow(self, msg: Int64) -> None:
        self._follow_id = int(msg.data) if msg.data > 0 else None

    def _on_info(self, msg: CameraInfo) -> None:
        if self.costmap is None:
            return
        from hearth_perception.depth_points import DepthProjector, intrinsics_from_k

        try:
            K = intrinsics_from_k(msg.k)
            p = self._projector
            if (p is None or p.width_px != msg.width or p.height_px != msg.height
                    or not np.array_equal(p.K, K)):
                tof = self.robot.tof
                self._projector = DepthProjector(
                    K, msg.width, msg.height, stride_px=self.cfg.depth_pixel_stride,
                    min_range_m=tof.min_range_m, max_range_m=tof.max_range_m,
                )
            self._camera_frame = msg.header.frame_id
        except ValueError as exc:
            self._reject("depth_rejected", f"/tof/camera_info rejected: {exc}")

    def _on_depth(self, msg: Image) -> None:
        self.counts["depth_frames"] += 1
        if self.costmap is None or self._projector is None:
            return
        from hearth_perception.depth_points import decode_depth_image, transform_matrix

        try:
            depth = decode_depth_image(msg.data, msg.height, msg.width, msg.step, msg.encoding,
                                       bool(msg.is_bigendian))
            frame = msg.header.frame_id or self._camera_frame
            try:
                tf = self._frames.lookup(self.cfg.odom_frame, frame, msg.header.stamp)
            except TransformError:
                tf = self._frames.lookup(self.cfg.odom_frame, frame)
            t, q = tf.transform.translation, tf.transform.rotation
            T = transform_matrix((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))
            try:
                base = self._frames.lookup(self.cfg.odom_frame, "base_link", tf.header.stamp)
                robot_xy = (base.transform.translation.x, base.transform.translation.y)
            except TransformError:
                robot_xy = None
            # An empty or all-NaN image gives no points: nothing seen, not an error.
            self.costmap.set_depth_points(stamp_to_ns(msg.header.stamp) * 1e-9,
                                          self._projector.points_in(depth, T), robot_xy,
                                          (float(T[0, 3]), float(T[1, 3])))
        except (ValueError, TransformError) as exc:
            self._reject("depth_rejected", f"depth frame rejected: {exc}")

    def _on_map(self, msg: OccupancyGrid) -> None:
        if self.costmap is None:
            return
        try:
            if msg.header.frame_id and msg.header.frame_id != self.cfg.map_frame:
                raise ValueError(f"in frame '{msg.header.frame_id}', expected "
                                 f"'{self.cfg.map_frame}'")
            info = msg.info
            if len(msg.data) != info.width * info.height:
                raise ValueError(f"{len(msg.data)} cells for {info.width}x{info.height}")
            o = info.origin
            grid = np.asarray(msg.data, dtype=np.int8).reshape(info.height, info.width)
            self.costmap.set_map(grid, info.resolution,
                                 (o.position.x, o.position.y, quaternion_msg_to_yaw(o.orientation)))
        except ValueError as exc:
            self._reject("map_rejected", f"/map rejected: {exc}")

    # -- cycle ---------------------------------------------------------------------------------

    def _cycle(self) -> None:
        t0 = time.perf_counter()
        now_ns = self._now_ns()
        self.counts["cycles"] += 1
        try:
            inp = self._planning_input(now_ns * 1e-9)
            inp.prep_s = time.perf_counter() - t0
            result = self.planner.plan(inp)
        except Exception as exc:
            result = self.planner.plan(PlanningInput(now_ns * 1e-9, None))
            result.status = f"internal error: {exc!r}"
        self.last_result = result
        self._report(result)
        cmd = Twist()
        cmd.linear.x, cmd.angular.z = float(result.cmd_v_mps), float(result.cmd_w_radps)
        self.cmd_pub.publish(cmd)
        self.local_plan_pub.publish(self._local_plan_msg(result, now_ns))
        self.pan_pub.publish(Float64(data=self._pan(result, now_ns)))
        self.candidates_pub.publish(self._candidates_msg(result, now_ns))
        self.predictions_pub.publish(self._predictions_msg(result, now_ns))
        self.blocked_pub.publish(Bool(data=bool(result.blocked)))
        self.status_pub.publish(String(data=f"{result.kind.value}: {result.status}"))
        self.planner.record_cycle_time((self._now_ns() - now_ns) * 1e-9)  # node clock
        cycle_s = time.perf_counter() - t0
        if cycle_s > self._period_s:
            self.counts["overruns"] += 1
        self.cycle_pub.publish(Float64(data=cycle_s * 1e3))

    def _load_floor(self, path: str) -> FloorTransitions | None:
        """The home's floor transitions (map frame); None when no file is named or it does
        not exist (a warning). A file that is there but unusable stops the node: a typo
        must not silently drop every sill (ConfigError, one line)."""
        log = self.get_logger()
        if not path.strip():
            return None
        try:
            floor = load_floor_transitions(path)
        except FloorTransitionsError as exc:
            if not os.path.exists(path):
                log.warning(f"no floor transitions file {path}: none marked")
                return None
            raise ConfigError(f"parameter 'floor_transitions_file': {exc}") from None
        if floor.frame_id != self.cfg.map_frame:
            raise ConfigError(f"parameter 'floor_transitions_file': {path} is in frame "
                              f"'{floor.frame_id}', expected '{self.cfg.map_frame}'")
        log.info(f"{len(floor)} floor transitions (sills, rug edges) from {path}")
        return floor

    def _planning_input(self, now_s: float) -> PlanningInput:
        cfg = self.cfg
        odom = self._odom
        pose_odom_map = None
        with contextlib.suppress(TransformError):
            pose_odom_map = self._frames.lookup_pose2d(cfg.odom_frame, cfg.map_frame)
        path = None
        if self._plan is not None:
            if self._plan_frame == cfg.odom_frame:
                path = self._plan
            elif self._plan_frame == cfg.map_frame and pose_odom_map is not None:
                path = _transform(self._plan, pose_odom_map)
            else:
                self.counts["tf_failures"] += 1
                return PlanningInput(now_s, odom, fault=(
                    f"no transform {self._plan_frame} -> {cfg.odom_frame}"))
        distance = None
        if self.costmap is not None and odom is not None:
            tr = self._tracks.finite()
            distance = self.costmap.update(now_s, (odom.x_m, odom.y_m), pose_odom_map,
                                           tr.positions, tr.radii)
        floor = None
        if self.floor is not None and pose_odom_map is not None:
            floor = self.floor.transformed(pose_odom_map, cfg.odom_frame)
        return PlanningInput(
            now_s, odom, path, self._plan_version, distance,
            self.costmap.resolution_m if self.costmap is not None else 0.05,
            self._tracks, self._follow_id, floor=floor,
        )

    def _report(self, result) -> None:
        status = result.status
        if status != self.status:
            log = self.get_logger()
            if result.kind is Kind.FAULT:
                log.warning(f"stopping: {status}", throttle_duration_sec=1.0)
            elif result.kind is not Kind.ACTIVE or not self.status.startswith("following"):
                log.info(status)
        self.status = status

    # -- outputs -------------------------------------------------------------------------------

    def _local_plan_msg(self, result, now_ns: int) -> Path:
        msg = Path()
        msg.header.frame_id = self.cfg.odom_frame
        plan = result.plan
        if plan is None:
            msg.header.stamp = ns_to_stamp(now_ns)
            return msg
        t0_ns = round(plan.t0_s * 1e9)
        msg.header.stamp = ns_to_stamp(t0_ns)
        dt_ns = round(self.planner.p.dt_s * 1e9)
        r = plan.roll
        for k in range(1, r.steps + 1):
            ps = PoseStamped()
            ps.header.frame_id = self.cfg.odom_frame
            ps.header.stamp = ns_to_stamp(t0_ns + k * dt_ns)
            ps.pose.position.x = float(r.x[0, k])
            ps.pose.position.y = float(r.y[0, k])
            ps.pose.orientation = yaw_to_quaternion_msg(float(r.yaw[0, k]))
            msg.poses.append(ps)
        return msg

    def _pan(self, result, now_ns: int) -> float:
        """Towards the planner's target, no faster than the joint turns (at most two periods
        since the last cycle), within its travel; forward without a target."""
        last = self._last_cycle_ns
        dt = self._period_s if last is None else (now_ns - last) * 1e-9
        self._last_cycle_ns = now_ns
        dt = min(max(dt, 0.0), 2.0 * self._period_s)
        target = result.pan_target_rad if result.pan_target_rad is not None else 0.0
        if result.kind in (Kind.IDLE, Kind.FAULT) and result.pan_target_rad is None:
            target = self._pan_cmd  # nothing to look at: stay
        self._pan_cmd = limit_pan(target, self._pan_cmd, dt, self.pan_limits)
        return self._pan_cmd

    def _candidates_msg(self, result, now_ns: int) -> MarkerArray:
        clear = Marker()
        clear.header.frame_id = self.cfg.odom_frame
        clear.header.stamp = ns_to_stamp(now_ns)
        clear.ns = "candidates"
        clear.action = Marker.DELETEALL
        markers = [clear]
        lifetime = Duration(seconds=3.0 * self._period_s).to_msg()
        for i in range(len(result.candidates_rank)):
            m = Marker()
            m.header = clear.header
            m.ns = "candidates"
            m.id = i
            m.type = Marker.LINE_STRIP
            m.action = Marker.ADD
            m.pose.orientation.w = 1.0
            m.scale.x = 0.01
            rank = float(result.candidates_rank[i])  # 0 best (green) .. 1 worst (red)
            m.color.r, m.color.g, m.color.a = rank, 1.0 - rank, 0.6
            m.lifetime = lifetime
            m.points = [Point(x=float(x), y=float(y)) for x, y in
                        zip(result.candidates_x[i], result.candidates_y[i], strict=True)]
            markers.append(m)
        if result.plan is not None and result.kind is not Kind.IDLE:
            m = Marker()
            m.header = clear.header
            m.ns, m.id, m.type, m.action = "chosen", 0, Marker.LINE_STRIP, Marker.ADD
            m.pose.orientation.w = 1.0
            m.scale.x = 0.03
            m.color.g, m.color.b, m.color.a = 1.0, 0.3, 1.0
            m.lifetime = lifetime
            r = result.plan.roll
            m.points = [Point(x=float(x), y=float(y)) for x, y in zip(r.x[0], r.y[0],
                                                                         strict=True)]
            markers.append(m)
        return MarkerArray(markers=markers)

    def _predictions_msg(self, result, now_ns: int) -> MarkerArray:
        clear = Marker()
        clear.header.frame_id = self.cfg.odom_frame
        clear.header.stamp = ns_to_stamp(now_ns)
        clear.ns = "predictions"
        clear.action = Marker.DELETEALL
        markers = [clear]
        ppl = result.people
        if ppl is None:
            return MarkerArray(markers=markers)
        lifetime = Duration(seconds=3.0 * self._period_s).to_msg()
        for j in range(len(ppl)):
            path = Marker()
            path.header, path.ns, path.id = clear.header, "predictions", 2 * j
            path.type, path.action = Marker.LINE_STRIP, Marker.ADD
            path.pose.orientation.w = 1.0
            path.scale.x = 0.02
            path.color.b, path.color.r, path.color.a = 1.0, 0.6, 0.8
            path.lifetime = lifetime
            path.points = [Point(x=float(x), y=float(y)) for x, y in ppl.means[j]]
            now = Marker()
            now.header, now.ns, now.id = clear.header, "predictions", 2 * j + 1
            now.type, now.action = Marker.CYLINDER, Marker.ADD
            now.pose.position.x = float(ppl.means[j, 0, 0])
            now.pose.position.y = float(ppl.means[j, 0, 1])
            now.pose.orientation.w = 1.0
            d = 2.0 * float(ppl.radii[j])
            now.scale.x = now.scale.y = d
            now.scale.z = 0.05
            now.color.b, now.color.r, now.color.a = 1.0, 0.6, 0.5
            now.lifetime = lifetime
            markers += [path, now]
        return MarkerArray(markers=markers)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def destroy_node(self) -> None:
        self._frames.close()
        super().destroy_node()


def _transform(points: np.ndarray, pose: tuple[float, float, float]) -> np.ndarray:
    """``points`` (N, 2) of a frame whose pose in the target frame is ``pose``."""
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return points @ np.array([[c, s], [-s, c]]) + np.array(pose[:2])


def main(args=None):
    sys.exit(run_node(LocalPlannerNode, "local_planner", args))


if __name__ == "__main__":
    main()
