"""Local planner node, issue 2 foundation: pure-pursuit following of /plan.

Every cycle (``rate_hz``, a fixed timer) the node:

1. takes the robot's pose from the latest /odom (odom frame) and /plan (map frame), moved into
   the odom frame with TF map->odom;
2. asks :class:`~hearth_trajectory.path_follower.PathFollower` for a (v, w) command, or commands
   zero when there is no path, /odom is missing or stale, TF is missing, or an input was bad;
3. publishes /cmd_vel_nav, /local_plan (the rollout of that one command over the horizon, a
   stamp per pose), /screen/pan_cmd (bearing of the rollout point ``pan_lookahead_s`` ahead,
   within the pan joint's travel and moved from the previous command no faster than the joint
   turns),
   /local_planner/candidates (that one rollout as a green line strip: there is one candidate
   until the sampling planner of issue 6), /obstacles/tracks (empty: no tracker yet) and
   /local_planner/cycle_time_ms.

/tof/depth/image_raw is subscribed and counted only. Input ages are measured on the node's
clock at reception (``use_sim_time`` aware).

The speed, acceleration and pan limits are the robot's, read once at start from
``robot_params_file`` (hearth_description's robot.yaml by default); ``speed_fraction`` keeps
the commands below the robot's top speeds. A bad robot file stops the node with one line.
"""

from __future__ import annotations

import math
import sys
import time
from enum import Enum

import numpy as np
from geometry_msgs.msg import Point, PoseStamped, Twist
from nav_msgs.msg import Odometry, Path
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Float64
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.frames import FrameBuffer, TransformError
from hearth_common.geometry import wrap_angle
from hearth_common.msg_conversions import (
    all_finite,
    ns_to_stamp,
    quaternion_msg_to_yaw,
    stamp_to_ns,
    yaw_to_quaternion_msg,
)
from hearth_common.node_config import declare_config, run_node
from hearth_description.robot_model import RobotParams, default_robot_yaml, load_robot_params
from hearth_msgs.msg import ObstacleTrackArray
from hearth_trajectory.config import LocalPlannerConfig, follower_limits, pan_limits
from hearth_trajectory.path_follower import PathFollower
from hearth_trajectory.rollout import horizon_times, rollout
from hearth_trajectory.screen_pan import limit_pan, pan_target

NODE_CONFIG = LocalPlannerConfig

START_WARNING = (
    "predictive sampling planner, tracker and prediction not implemented yet (issue 6): "
    "pure-pursuit path following"
)


class _Kind(Enum):
    ACTIVE = "active"  # following, turning, arrived
    IDLE = "idle"  # no path to follow
    FAULT = "fault"  # an input is missing, stale or bad


class LocalPlannerNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("local_planner", **node_kwargs)
        self.cfg: LocalPlannerConfig = declare_config(self, LocalPlannerConfig)
        cfg = self.cfg
        # The robot's one source of truth; raises ConfigError (one line) for a bad file.
        robot_yaml = cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)
        limits = follower_limits(cfg, self.robot.limits)
        self.pan_limits = pan_limits(self.robot.screen)
        self.get_logger().warning(START_WARNING)
        self.follower = PathFollower(
            limits, lookahead_m=cfg.lookahead_m, goal_tolerance_m=cfg.goal_tolerance_m
        )
        self.get_logger().info(
            f"robot limits from {robot_yaml}: {limits.max_linear_mps:g} m/s, "
            f"{limits.max_angular_radps:g} rad/s (speed_fraction {cfg.speed_fraction:g}), "
            f"{limits.max_linear_accel_mps2:g} m/s², {limits.max_angular_accel_radps2:g} rad/s²; "
            f"pan ±{self.pan_limits.limit_rad:g} rad at {self.pan_limits.max_speed_radps:g} rad/s"
        )
        self._period_s = 1.0 / cfg.rate_hz
        self._times = horizon_times(cfg.horizon_s, cfg.dt_s)
        self.counts = {
            "depth_frames": 0,
            "plans": 0,
            "plans_rejected": 0,
            "odom_rejected": 0,
            "tf_failures": 0,
            "cycles": 0,
        }
        self._plan: np.ndarray | None = None  # (N, 2) in self._plan_frame
        self._plan_frame = ""
        self._plan_is_new = False
        self._odom: tuple[float, float, float] | None = None
        self._odom_rx_ns = 0
        self._odom_stamp_ns: int | None = None
        self._cmd = (0.0, 0.0)
        self._pan_cmd = 0.0  # the screen is assumed to start facing forward
        self._last_cycle_ns: int | None = None
        self.status = "starting"
        self._kind: _Kind | None = None

        self._frames = FrameBuffer(self)
        self.cmd_pub = self.create_publisher(Twist, "/cmd_vel_nav", 10)
        self.local_plan_pub = self.create_publisher(Path, "/local_plan", 10)
        self.pan_pub = self.create_publisher(Float64, "/screen/pan_cmd", 10)
        self.candidates_pub = self.create_publisher(MarkerArray, "/local_planner/candidates", 10)
        self.tracks_pub = self.create_publisher(ObstacleTrackArray, "/obstacles/tracks", 10)
        self.cycle_pub = self.create_publisher(Float64, "/local_planner/cycle_time_ms", 10)
        self.create_subscription(Path, "/plan", self._on_plan, 10)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(
            Image, "/tof/depth/image_raw", self._on_depth, qos_profile_sensor_data
        )
        self.create_timer(self._period_s, self._cycle)

    # -- inputs --------------------------------------------------------------------------------

    def _on_depth(self, _msg: Image) -> None:
        self.counts["depth_frames"] += 1

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
            self.counts["plans_rejected"] += 1
            self._plan = None  # never keep following a path its sender has replaced
            self.get_logger().warning(
                f"/plan rejected, stopping: {problem} ({self.counts['plans_rejected']} so far)",
                throttle_duration_sec=1.0,
            )
            return
        self.counts["plans"] += 1
        self._plan, self._plan_frame, self._plan_is_new = pts, msg.header.frame_id, True

    def _on_odom(self, msg: Odometry) -> None:
        p, q, tw = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
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
            self.counts["odom_rejected"] += 1
            self.get_logger().warning(
                f"/odom ignored: {problem} ({self.counts['odom_rejected']} so far)",
                throttle_duration_sec=1.0,
            )
            return
        self._odom_stamp_ns = stamp
        self._odom = (p.x, p.y, quaternion_msg_to_yaw(q))
        self._odom_rx_ns = self._now_ns()

    # -- cycle ---------------------------------------------------------------------------------

    def _cycle(self) -> None:
        t0 = time.perf_counter()
        now_ns = self._now_ns()
        self.counts["cycles"] += 1
        try:
            v, w, status, kind = self._plan_command(now_ns)
        except Exception as exc:  # never let a bug take the robot's commands with it
            v, w, status, kind = 0.0, 0.0, f"internal error: {exc!r}", _Kind.FAULT
        self._cmd = (v, w)
        self._report(status, kind)

        cmd = Twist()
        cmd.linear.x, cmd.angular.z = float(v), float(w)
        self.cmd_pub.publish(cmd)
        pose = self._odom
        poses = None if pose is None else rollout(*pose, v, w, self._times)
        self.local_plan_pub.publish(self._local_plan_msg(poses, now_ns))
        self.pan_pub.publish(Float64(data=self._pan(pose, v, w, now_ns)))
        self.candidates_pub.publish(self._candidates_msg(pose, poses, now_ns))
        tracks = ObstacleTrackArray()
        tracks.header.stamp = ns_to_stamp(now_ns)
        tracks.header.frame_id = self.cfg.odom_frame
        self.tracks_pub.publish(tracks)
        self.cycle_pub.publish(Float64(data=(time.perf_counter() - t0) * 1e3))

    def _plan_command(self, now_ns: int) -> tuple[float, float, str, _Kind]:
        if self._odom is None:
            return 0.0, 0.0, "no /odom yet", _Kind.FAULT
        age = (now_ns - self._odom_rx_ns) * 1e-9
        if age > self.cfg.odom_timeout_s:
            return 0.0, 0.0, f"/odom stale ({age:.2f} s old)", _Kind.FAULT
        if self._plan is None:
            self.follower.set_path(None)
            return 0.0, 0.0, "no path (/plan empty or not received)", _Kind.IDLE
        if self._plan_frame == self.cfg.odom_frame:
            pts = self._plan
        else:
            try:
                tx, ty, tyaw = self._frames.lookup_pose2d(self.cfg.odom_frame, self._plan_frame)
            except TransformError as exc:
                self.counts["tf_failures"] += 1
                return (
                    0.0, 0.0,
                    f"no transform {self._plan_frame} -> {self.cfg.odom_frame}: {exc}",
                    _Kind.FAULT,
                )  # fmt: skip
            c, s = math.cos(tyaw), math.sin(tyaw)
            rot = np.array([[c, -s], [s, c]])
            pts = self._plan @ rot.T + np.array([tx, ty])
        if self._plan_is_new:
            self.follower.set_path(pts)
            self._plan_is_new = False
        else:
            self.follower.update_path_keep_progress(pts)
        x, y, yaw = self._odom
        out = self.follower.command(x, y, yaw, *self._cmd, self._period_s)
        return out.linear_mps, out.angular_radps, out.status.value, _Kind.ACTIVE

    def _report(self, status: str, kind: _Kind) -> None:
        log = self.get_logger()
        if kind is _Kind.FAULT:
            log.warning(f"zero command: {status}", throttle_duration_sec=1.0)
        elif status != self.status:
            log.info(status if kind is _Kind.ACTIVE else f"zero command: {status}")
        self.status, self._kind = status, kind

    # -- outputs -------------------------------------------------------------------------------

    def _local_plan_msg(self, poses: np.ndarray | None, now_ns: int) -> Path:
        msg = Path()
        msg.header.frame_id = self.cfg.odom_frame
        msg.header.stamp = ns_to_stamp(now_ns)
        if poses is None:
            return msg  # no odometry: no honest prediction to give
        for t, x, y, yaw in poses:
            ps = PoseStamped()
            ps.header.frame_id = self.cfg.odom_frame
            ps.header.stamp = ns_to_stamp(now_ns + round(t * 1e9))
            ps.pose.position.x, ps.pose.position.y = float(x), float(y)
            ps.pose.orientation = yaw_to_quaternion_msg(wrap_angle(yaw))
            msg.poses.append(ps)
        return msg

    def _pan(
        self, pose: tuple[float, float, float] | None, v: float, w: float, now_ns: int
    ) -> float:
        """The pan command: towards the bearing of where the rollout is ``pan_lookahead_s``
        ahead (forward without odometry), within the joint's travel, and moved from the
        previous command at most at the joint's speed over the time since the last cycle
        (at most two periods, so a stalled cycle or a clock jump cannot make a leap)."""
        target = 0.0 if pose is None else pan_target(*pose, v, w, self.cfg.pan_lookahead_s)
        if self._last_cycle_ns is None:
            dt = self._period_s
        else:
            dt = min((now_ns - self._last_cycle_ns) * 1e-9, 2.0 * self._period_s)
        self._last_cycle_ns = now_ns
        self._pan_cmd = limit_pan(target, self._pan_cmd, dt, self.pan_limits)
        return self._pan_cmd

    def _candidates_msg(
        self, pose: tuple[float, float, float] | None, poses: np.ndarray | None, now_ns: int
    ) -> MarkerArray:
        marker = Marker()
        marker.header.frame_id = self.cfg.odom_frame
        marker.header.stamp = ns_to_stamp(now_ns)
        marker.ns = "candidates"
        marker.id = 0
        if pose is None or poses is None:
            marker.action = Marker.DELETEALL
            return MarkerArray(markers=[marker])
        marker.type = Marker.LINE_STRIP
        marker.action = Marker.ADD
        marker.pose.orientation.w = 1.0
        marker.scale.x = 0.02
        marker.color.g, marker.color.a = 1.0, 1.0  # green: the command being sent
        marker.lifetime = Duration(seconds=3.0 * self._period_s).to_msg()
        marker.points = [Point(x=float(pose[0]), y=float(pose[1]))] + [
            Point(x=float(x), y=float(y)) for _, x, y, _ in poses
        ]
        return MarkerArray(markers=[marker])

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def destroy_node(self) -> None:
        self._frames.close()
        super().destroy_node()


def main(args=None):
    sys.exit(run_node(LocalPlannerNode, "local_planner", args))


if __name__ == "__main__":
    main()
