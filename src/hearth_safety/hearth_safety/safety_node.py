"""The safety node: the last layer between the planners and the wheels, at sensor rate.

Subscribes /tof/depth/image_raw + /tof/camera_info, /odom, /local_plan and /cmd_vel_nav;
publishes /cmd_vel and /safety/state once per depth frame (the
:class:`~hearth_safety.controller.SafetyController` decides), plus /safety/markers (the
local map and the footprint sweep) at ``markers_rate_hz``. A watchdog timer at
``watchdog_rate_hz`` publishes while an input is stale, so a stale input stops the robot
within one watchdog period even when the depth frames themselves stopped.

Reception times are the node clock's (``use_sim_time`` from the launch file), so a producer's
clock cannot make a silent input look fresh; a depth frame's age is from its capture stamp
(a frame delayed in transit is old).

The footprint (robot.yaml's ``base.radius_m``), the speed, acceleration and jerk limits and
the ToF's mounting (the URDF's ``tof_optical`` in base_link) are the robot's, read once at
start from ``robot_params_file``; a bad robot file stops the node with one line.
"""

from __future__ import annotations

import itertools
import math
import sys
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, Twist
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import (
    all_finite,
    ns_to_stamp,
    quaternion_msg_to_yaw,
    stamp_to_ns,
)
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import SENSOR
from hearth_description.robot_model import (
    RobotParams,
    default_robot_yaml,
    expand_xacro,
    load_robot_params,
)
from hearth_safety.config import SafetyConfig, controller_params
from hearth_safety.controller import Mode, SafetyController, SafetyOutput
from hearth_safety.depth_projection import PinholeCamera
from hearth_safety.mounting import frame_in_base

NODE_CONFIG = SafetyConfig

DEPTH_ENCODING = "32FC1"
BASE_FRAME = "base_link"

_LEVELS = {
    Mode.NOMINAL: DiagnosticStatus.OK,
    Mode.SLOWING: DiagnosticStatus.OK,
    Mode.STOPPED: DiagnosticStatus.WARN,
    Mode.STALE: DiagnosticStatus.WARN,
}


def depth_image_to_array(msg: Image) -> np.ndarray:
    """A 32FC1 sensor_msgs/Image as an (H, W) float32 array (a view of the message's bytes
    where possible). Raises ValueError for another encoding or inconsistent sizes."""
    if msg.encoding != DEPTH_ENCODING:
        raise ValueError(f"encoding {msg.encoding!r}, expected {DEPTH_ENCODING!r}")
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h < 1 or w < 1 or step < 4 * w or step % 4 or len(msg.data) != h * step:
        raise ValueError(f"size {w}x{h}, step {step}, {len(msg.data)} bytes do not agree")
    dtype = np.dtype(">f4" if msg.is_bigendian else "<f4")
    img = np.frombuffer(msg.data, dtype=dtype).reshape(h, step // 4)[:, :w]
    return img if dtype.isnative else img.astype(np.float32)


class SafetyNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("safety", **node_kwargs)
        self.config: SafetyConfig = declare_config(self, SafetyConfig)
        cfg = self.config
        # The robot's one source of truth; raises ConfigError (one line) for a bad file.
        robot_yaml = cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)
        params = controller_params(cfg, self.robot, source=str(robot_yaml))
        try:
            mounting = frame_in_base(expand_xacro(robot_yaml=robot_yaml), cfg.tof_frame)
        except ValueError as exc:
            raise ConfigError(f"parameter 'tof_frame' = {cfg.tof_frame!r}: {exc}") from exc
        self.controller = SafetyController(params, mounting=mounting)
        self.counts = {"depth_wrong_frame": 0, "depth_unreadable": 0, "plan_wrong_frame": 0,
                       "callback_errors": 0}
        self._mode: Mode | None = None
        self._processing_ms = math.nan
        self._last_markers_ns: int | None = None
        self._markers_period_ns = (round(1e9 / cfg.markers_rate_hz)
                                   if cfg.markers_rate_hz > 0 else None)

        self.cmd_pub = self.create_publisher(Twist, "/cmd_vel", 10)
        self.state_pub = self.create_publisher(DiagnosticArray, "/safety/state", 10)
        self.marker_pub = self.create_publisher(MarkerArray, "/safety/markers", 10)
        self.create_subscription(Image, "/tof/depth/image_raw", self._on_depth, SENSOR)
        self.create_subscription(CameraInfo, "/tof/camera_info", self._on_camera_info, SENSOR)
        self.create_subscription(Twist, "/cmd_vel_nav", self._on_cmd, 10)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(Path, "/local_plan", self._on_plan, 10)
        self.create_timer(1.0 / cfg.watchdog_rate_hz, self._on_watchdog)
        lim = params.law
        self.get_logger().info(
            f"robot from {robot_yaml}: footprint radius {params.footprint_radius_m:g} m "
            f"(+{params.footprint_padding_m:g}), {lim.max_linear_speed_mps:g} m/s, "
            f"{lim.max_linear_accel_mps2:g} m/s², {lim.max_linear_jerk_mps3:g} m/s³; ToF at "
            f"{np.round(mounting.translation_m, 3).tolist()} m in {BASE_FRAME}")

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _warn(self, text: str) -> None:
        self.get_logger().warning(text, throttle_duration_sec=1.0)

    # -------------------------------------------------------------- inputs
    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            camera = PinholeCamera.from_k(msg.width, msg.height, list(msg.k))
        except ValueError as exc:
            self.controller.reject_camera_info()
            self._warn(f"/tof/camera_info rejected: {exc}")
            return
        self.controller.set_camera(camera)

    def _on_cmd(self, msg: Twist) -> None:
        lin, ang = msg.linear, msg.angular
        if all_finite(lin.y, lin.z, ang.x, ang.y):  # fields a differential drive ignores
            if self.controller.set_command(lin.x, ang.z, self._now_ns()):
                return
        else:
            self.controller.reject_command()
        self._warn(f"/cmd_vel_nav with a non-finite field dropped "
                   f"({self.controller.counts['cmd_nonfinite']} so far)")

    def _on_odom(self, msg: Odometry) -> None:
        p, q, v = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
        ok = all_finite(p.x, p.y, q.x, q.y, q.z, q.w, v.linear.x, v.angular.z) and \
            (q.x, q.y, q.z, q.w) != (0.0, 0.0, 0.0, 0.0)
        if ok and self.controller.add_odom(stamp_to_ns(msg.header.stamp), p.x, p.y,
                                           quaternion_msg_to_yaw(q), v.linear.x, v.angular.z,
                                           self._now_ns()):
            return
        if not ok:
            self.controller.counts["odom_rejected"] += 1
        self._warn(f"/odom ignored: non-finite, zero quaternion or stamp not newer "
                   f"({self.controller.counts['odom_rejected']} so far)")

    def _on_plan(self, msg: Path) -> None:
        frame = msg.header.frame_id
        if frame and frame != self.config.odom_frame:
            self.counts["plan_wrong_frame"] += 1
            self._warn(f"/local_plan in frame '{frame}', expected '{self.config.odom_frame}': "
                       "ignored")
            return
        n = len(msg.poses)
        stamps = np.empty(n, dtype=np.int64)
        poses = np.empty((n, 3))
        for k, ps in enumerate(msg.poses):
            stamps[k] = stamp_to_ns(ps.header.stamp)
            pos, q = ps.pose.position, ps.pose.orientation
            poses[k] = (pos.x, pos.y, quaternion_msg_to_yaw(q))
        problem = self.controller.set_plan(stamps, poses, self._now_ns())
        if problem is not None:
            self._warn(f"/local_plan rejected: {problem} "
                       f"({self.controller.counts['plan_rejected']} so far)")

    def _on_depth(self, msg: Image) -> None:
        t0 = time.perf_counter()
        now_ns = self._now_ns()
        frame = msg.header.frame_id
        if frame and frame != self.config.tof_frame:
            self.counts["depth_wrong_frame"] += 1
            self._warn(f"depth frame in '{frame}', expected '{self.config.tof_frame}': ignored")
            return
        try:
            depth = depth_image_to_array(msg)
        except ValueError as exc:
            self.counts["depth_unreadable"] += 1
            self._warn(f"/tof/depth/image_raw ignored: {exc}")
            return
        try:
            out = self.controller.process_depth(stamp_to_ns(msg.header.stamp), depth, now_ns)
        except Exception as exc:  # never let a bug leave the wheels on the last command
            self._internal_error(exc)
            return
        self._processing_ms = (time.perf_counter() - t0) * 1e3
        self._publish(out)

    def _on_watchdog(self) -> None:
        try:
            out = self.controller.tick(self._now_ns())
        except Exception as exc:
            self._internal_error(exc)
            return
        if out is not None:
            self._publish(out)

    def _internal_error(self, exc: Exception) -> None:
        self.counts["callback_errors"] += 1
        self.get_logger().error(f"internal error, stopping: {exc!r}", throttle_duration_sec=1.0)
        self.cmd_pub.publish(Twist())

    # -------------------------------------------------------------- outputs
    def _publish(self, out: SafetyOutput) -> None:
        cmd = Twist()
        cmd.linear.x, cmd.angular.z = out.linear_mps, out.angular_radps
        if not (math.isfinite(cmd.linear.x) and math.isfinite(cmd.angular.z)):
            cmd = Twist()  # unreachable by construction; never forward NaN
        self.cmd_pub.publish(cmd)
        self.state_pub.publish(self._state_msg(out))
        self._log_mode(out)
        period = self._markers_period_ns
        if period is not None and (self._last_markers_ns is None
                                   or out.t_ns - self._last_markers_ns >= period
                                   or out.t_ns < self._last_markers_ns):
            self._last_markers_ns = out.t_ns
            self.marker_pub.publish(self._markers_msg(out))

    def _log_mode(self, out: SafetyOutput) -> None:
        if out.mode is self._mode:
            return
        first = self._mode is None  # stale at start until the other nodes are up: normal
        self._mode = out.mode
        text = f"safety mode {out.mode.value}: {out.reason}"
        # (rclpy ties a throttled log's severity to its call site: one call per severity)
        if out.mode is Mode.NOMINAL or first:
            self.get_logger().info(text, throttle_duration_sec=1.0)
        else:
            self.get_logger().warning(text, throttle_duration_sec=1.0)

    def _state_msg(self, out: SafetyOutput) -> DiagnosticArray:
        status = DiagnosticStatus()
        status.name = "safety"
        status.hardware_id = "cmd_vel"
        status.level = _LEVELS[out.mode]
        status.message = f"{out.mode.value}: {out.reason}"
        m = self.controller.map
        values = {
            "mode": out.mode.value,
            "reason": out.reason,
            "time_to_collision_s": _num(out.ttc_s),
            "free_distance_m": _num(out.free_distance_m),
            "emergency_stop": str(out.emergency).lower(),
            "output_linear_mps": f"{out.linear_mps:.4f}",
            "output_angular_radps": f"{out.angular_radps:.4f}",
            "target_linear_mps": f"{out.target_linear_mps:.4f}",
            "target_angular_radps": f"{out.target_angular_radps:.4f}",
            "nav_linear_mps": f"{out.nav_linear_mps:.4f}",
            "nav_angular_radps": f"{out.nav_angular_radps:.4f}",
            "depth_age_s": _age(out.ages_s["depth"]),
            "local_plan_age_s": _age(out.ages_s["plan"]),
            "cmd_vel_nav_age_s": _age(out.ages_s["cmd"]),
            "odom_age_s": _age(out.ages_s["odom"]),
            "obstacle_cells_seen": str(m.stats["cells_seen"]),
            "obstacle_cells_remembered": str(m.stats["cells_remembered"]),
            "floor_fitted": str(m.ground.fitted).lower(),
            "processing_ms": _num(self._processing_ms, "{:.3f}"),
        }
        values.update({k: str(v) for k, v in self.controller.counts.items()})
        values.update({k: str(v) for k, v in self.counts.items()})
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = ns_to_stamp(out.t_ns)
        msg.status = [status]
        return msg

    def _markers_msg(self, out: SafetyOutput) -> MarkerArray:
        """The local map (cells: red seen now, orange remembered; its 2x2 m border) and the
        footprint along each checked path (green; red from the first collision on), in
        base_link."""
        stamp = ns_to_stamp(out.t_ns)
        ctl = self.controller
        markers = []

        def marker(ns: str, kind: int, scale: float) -> Marker:
            mk = Marker()
            mk.header.frame_id, mk.header.stamp = BASE_FRAME, stamp
            mk.ns, mk.id, mk.type, mk.action = ns, 0, kind, Marker.ADD
            mk.pose.orientation.w = 1.0
            mk.scale.x = mk.scale.y = scale
            mk.scale.z = 0.02 if kind == Marker.CUBE_LIST else scale
            mk.color.a = 1.0
            return mk

        res = ctl.params.map.resolution_m
        cells = marker("safety/map", Marker.CUBE_LIST, res)
        pose = ctl.odom.pose_at(out.t_ns)
        if pose is not None:
            xy, fresh = ctl.map.cells_base(pose)
            red, orange = ColorRGBA(r=1.0, a=0.9), ColorRGBA(r=1.0, g=0.55, a=0.9)
            cells.points = [Point(x=float(x), y=float(y), z=0.01) for x, y in xy]
            cells.colors = [red if f else orange for f in fresh]
        markers.append(cells)

        border = marker("safety/map_border", Marker.LINE_STRIP, 0.01)
        h = ctl.map.half_m
        border.points = [Point(x=x, y=y) for x, y in ((h, h), (-h, h), (-h, -h), (h, -h), (h, h))]
        border.color = ColorRGBA(r=0.6, g=0.6, b=0.6, a=0.8)
        markers.append(border)

        outline = ctl.footprint.outline(16)
        for k, result in enumerate(out.sweeps):
            sweep_mk = marker("safety/sweep", Marker.LINE_LIST, 0.005)
            sweep_mk.id = k
            poses = result.path.poses
            every = max(1, len(poses) // 12)
            for i in [*list(range(0, len(poses), every)), len(poses) - 1]:
                x, y, yaw = poses[i]
                c, s = math.cos(yaw), math.sin(yaw)
                pts = [Point(x=float(x + c * a - s * b), y=float(y + s * a + c * b), z=0.02)
                       for a, b in outline]
                hit = result.hit_index is not None and i >= result.hit_index
                color = ColorRGBA(r=1.0, a=0.8) if hit else ColorRGBA(g=0.8, a=0.5)
                for a, b in itertools.pairwise(pts):
                    sweep_mk.points += [a, b]
                    sweep_mk.colors += [color, color]
            markers.append(sweep_mk)
        for k in range(len(out.sweeps), 2):  # remove a sweep no longer checked
            gone = marker("safety/sweep", Marker.LINE_LIST, 0.005)
            gone.id, gone.action = k, Marker.DELETE
            markers.append(gone)

        # the mode as text above the robot: rviz has no display for /safety/state itself
        text = marker("safety/state", Marker.TEXT_VIEW_FACING, 0.12)
        text.pose.position.z = 0.6
        text.text = out.mode.value + (f": {out.reason}" if out.reason else "")
        text.color = _STATE_COLORS.get(out.mode.value, ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0))
        markers.append(text)
        return MarkerArray(markers=markers)


_STATE_COLORS = {  # the text of /safety/markers' "safety/state" per mode
    "nominal": ColorRGBA(r=0.2, g=0.8, b=0.2, a=1.0),
    "slowing": ColorRGBA(r=1.0, g=0.8, b=0.0, a=1.0),
    "stopped": ColorRGBA(r=1.0, g=0.1, b=0.1, a=1.0),
    "stale": ColorRGBA(r=0.6, g=0.6, b=0.6, a=1.0),
}


def _num(value: float, fmt: str = "{:.3f}") -> str:
    return fmt.format(value) if math.isfinite(value) else ("inf" if value > 0 else "nan")


def _age(age_s: float | None) -> str:
    return "never" if age_s is None or not math.isfinite(age_s) else f"{age_s:.6f}"


def main(args=None):
    sys.exit(run_node(SafetyNode, "safety", args))


if __name__ == "__main__":
    main()
