"""Global planner node: plain 8-connected A* on the inflated map (issue 2 foundation).

Inputs: the map (``map_yaml`` file, republished on /map, or /map from V-SLAM), goals from the
``navigate_to_pose`` action or /goal_pose (rviz), the robot's pose from TF
``global_frame -> robot_frame``. Outputs: /plan (nav_msgs/Path in the map frame; an empty path
means "stop"), action feedback and results, and ``compute_path_to_pose`` for path queries.

The ``navigate_to_pose`` execute callback is a coroutine that waits on a future completed by
the node's progress timer, so navigation never blocks an executor thread: the node works under
``rclpy.spin`` (single-threaded) as well as under a MultiThreadedExecutor.

Obstacles are inflated by the robot's radius (``base.radius_m``, read once at start from
``robot_params_file``, hearth_description's robot.yaml by default) plus the planner's
``inflation_margin_m``. A bad robot file stops the node with one line.
"""

from __future__ import annotations

import array
import math
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Pose, PoseStamped
from nav2_msgs.action import ComputePathToPose, NavigateToPose
from nav_msgs.msg import OccupancyGrid, Path
from rclpy.action import ActionClient, ActionServer, CancelResponse, GoalResponse
from rclpy.node import Node
from rclpy.task import Future

from hearth_common.config import ConfigError
from hearth_common.frames import FrameBuffer, TransformError
from hearth_common.geometry import wrap_angle
from hearth_common.msg_conversions import all_finite, quaternion_msg_to_yaw, yaw_to_quaternion_msg
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED
from hearth_description.robot_model import RobotParams, default_robot_yaml, load_robot_params
from hearth_planning.config import GlobalPlannerConfig, inflation_radius_m
from hearth_planning.grid_astar import GridPlanner, PlanError
from hearth_planning.map_io import MapError, OccupancyMap, load_map
from hearth_planning.paths import remaining_length

NODE_CONFIG = GlobalPlannerConfig

START_WARNING = (
    "cost-aware planning, smoothing and navigability memory not implemented yet (issue 5): "
    "plain 8-connected A* on the inflated map"
)

_NAV = NavigateToPose.Result
_CPP = ComputePathToPose.Result


class _RequestError(Exception):
    """A request that cannot be served: ``code`` is the action's result code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Navigation:
    """One active navigate_to_pose goal."""

    handle: object  # rclpy ServerGoalHandle
    goal: PoseStamped  # in the global frame
    started_ns: int
    done: Future = field(default_factory=Future)
    path: np.ndarray | None = None
    planned_ns: int = 0
    pose_ok_ns: int = 0
    last_tf_error: str = ""


class GlobalPlannerNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("global_planner", **node_kwargs)
        self.cfg: GlobalPlannerConfig = declare_config(self, GlobalPlannerConfig)
        # The robot's one source of truth; raises ConfigError (one line) for a bad file.
        robot_yaml = self.cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)
        self.inflation_radius_m = inflation_radius_m(self.cfg, self.robot.base)
        self.get_logger().warning(START_WARNING)
        self.get_logger().info(
            f"obstacles inflated by {self.inflation_radius_m:g} m: the robot's radius "
            f"{self.robot.base.radius_m:g} m ({robot_yaml}) + inflation_margin_m "
            f"{self.cfg.inflation_margin_m:g} m"
        )
        self._lock = threading.RLock()
        self._step_lock = threading.Lock()
        self._planner: GridPlanner | None = None
        self._map_msg: OccupancyGrid | None = None
        self._nav: _Navigation | None = None
        self.rejected_maps = 0
        self.rejected_goals = 0

        self._frames = FrameBuffer(self)
        self._plan_pub = self.create_publisher(Path, "/plan", 10)
        self._map_pub = None
        if self.cfg.map_yaml:
            try:
                occ_map = load_map(self.cfg.map_yaml)
            except MapError as exc:
                raise ConfigError(f"parameter 'map_yaml': {exc}") from exc
            self._set_map(occ_map)
            self._map_msg = occupancy_grid_msg(occ_map, self.cfg.global_frame, self._now_msg())
            self._map_pub = self.create_publisher(OccupancyGrid, "/map", LATCHED)
            self._map_pub.publish(self._map_msg)
            self.get_logger().info(
                f"map {self.cfg.map_yaml}: {occ_map.width}x{occ_map.height} cells at "
                f"{occ_map.resolution_m:.3g} m, republished on /map"
            )
        else:
            self.create_subscription(OccupancyGrid, "/map", self._on_map, LATCHED)

        self.create_subscription(PoseStamped, "/goal_pose", self._on_goal_pose, 10)
        self._nav_server = ActionServer(
            self,
            NavigateToPose,
            "navigate_to_pose",
            execute_callback=self._execute_navigate,
            goal_callback=lambda _req: GoalResponse.ACCEPT,
            cancel_callback=lambda _handle: CancelResponse.ACCEPT,
        )
        self._path_server = ActionServer(
            self,
            ComputePathToPose,
            "compute_path_to_pose",
            execute_callback=self._execute_compute_path,
            goal_callback=lambda _req: GoalResponse.ACCEPT,
        )
        # rviz's 2D Goal Pose becomes a navigate_to_pose goal through our own action server,
        # as nav2's bt_navigator does, so that it preempts and is preempted like any other.
        self._self_client = ActionClient(self, NavigateToPose, "navigate_to_pose")
        self.create_timer(1.0 / self.cfg.feedback_rate_hz, self._on_progress_timer)

    # -- map -----------------------------------------------------------------------------------

    def _set_map(self, occ_map: OccupancyMap) -> None:
        planner = GridPlanner(occ_map, self.inflation_radius_m, self.cfg.lethal_occupancy)
        with self._lock:
            self._planner = planner

    def _on_map(self, msg: OccupancyGrid) -> None:
        try:
            frame = msg.header.frame_id
            if frame and frame != self.cfg.global_frame:
                raise MapError(f"map is in frame '{frame}', expected '{self.cfg.global_frame}'")
            occ_map = occupancy_map_from_msg(msg)
            self._set_map(occ_map)
        except (MapError, ValueError) as exc:
            self.rejected_maps += 1
            self.get_logger().warning(
                f"/map rejected ({self.rejected_maps} so far): {exc}", throttle_duration_sec=1.0
            )
            return
        self.get_logger().info(
            f"/map received: {occ_map.width}x{occ_map.height} cells at {occ_map.resolution_m:.3g} m"
        )

    # -- goals ---------------------------------------------------------------------------------

    def _on_goal_pose(self, msg: PoseStamped) -> None:
        if not self._self_client.server_is_ready():
            self.get_logger().warning(
                "/goal_pose ignored: navigate_to_pose server not ready yet",
                throttle_duration_sec=1.0,
            )
            return
        self.get_logger().info(
            f"/goal_pose: navigating to ({msg.pose.position.x:.2f}, {msg.pose.position.y:.2f}) "
            f"in '{msg.header.frame_id}'"
        )
        self._self_client.send_goal_async(NavigateToPose.Goal(pose=msg))

    def _goal_in_global_frame(self, goal: PoseStamped, result_type, what: str) -> PoseStamped:
        """The ``what`` ("goal", "start") pose in the global frame (x, y, yaw); raises _RequestError
        with ``result_type``'s codes."""
        p, q = goal.pose.position, goal.pose.orientation
        if not all_finite(p.x, p.y, p.z, q.x, q.y, q.z, q.w):
            raise _RequestError(result_type.UNKNOWN, f"{what} pose has non-finite values")
        frame = goal.header.frame_id
        yaw = quaternion_msg_to_yaw(q) if (q.x, q.y, q.z, q.w) != (0.0, 0.0, 0.0, 0.0) else 0.0
        x, y = p.x, p.y
        if frame and frame != self.cfg.global_frame:
            try:
                tx, ty, tyaw = self._frames.lookup_pose2d(self.cfg.global_frame, frame)
            except TransformError as exc:
                raise _RequestError(
                    result_type.TF_ERROR,
                    f"{what} pose in frame '{frame}' cannot be "
                    f"transformed to '{self.cfg.global_frame}': {exc}",
                ) from exc
            c, s = math.cos(tyaw), math.sin(tyaw)
            x, y, yaw = tx + c * x - s * y, ty + s * x + c * y, wrap_angle(tyaw + yaw)
        out = PoseStamped()
        out.header.frame_id = self.cfg.global_frame
        out.header.stamp = goal.header.stamp
        out.pose.position.x, out.pose.position.y = float(x), float(y)
        out.pose.orientation = yaw_to_quaternion_msg(yaw)
        return out

    def _robot_pose(self) -> tuple[float, float, float]:
        return self._frames.lookup_pose2d(self.cfg.global_frame, self.cfg.robot_frame)

    # -- compute_path_to_pose ------------------------------------------------------------------

    def _execute_compute_path(self, handle) -> ComputePathToPose.Result:
        t0 = time.perf_counter()
        req = handle.request
        result = ComputePathToPose.Result()
        try:
            with self._lock:
                planner = self._planner
            if planner is None:
                raise _RequestError(_CPP.UNKNOWN, "no map yet (nothing received on /map)")
            goal = self._goal_in_global_frame(req.goal, _CPP, "goal")
            if req.use_start:
                start = self._goal_in_global_frame(req.start, _CPP, "start")
                start_xy = (start.pose.position.x, start.pose.position.y)
            else:
                try:
                    start_xy = self._robot_pose()[:2]
                except TransformError as exc:
                    raise _RequestError(
                        _CPP.TF_ERROR,
                        f"no robot pose ({self.cfg.global_frame} -> {self.cfg.robot_frame}): {exc}",
                    ) from exc
            plan = planner.plan(start_xy, (goal.pose.position.x, goal.pose.position.y))
        except PlanError as exc:
            result.error_code, result.error_msg = getattr(_CPP, exc.code), str(exc)
        except _RequestError as exc:
            result.error_code, result.error_msg = exc.code, str(exc)
        else:
            result.path = path_msg(plan.points, goal, self._now_msg())
        elapsed = time.perf_counter() - t0
        result.planning_time = _duration(elapsed)
        if result.error_code == _CPP.NONE:
            handle.succeed()
            self.get_logger().info(
                f"compute_path_to_pose: {len(result.path.poses)} poses, "
                f"{plan.length_m:.2f} m, in {elapsed * 1e3:.1f} ms"
            )
        else:
            handle.abort()
            self.get_logger().warning(
                f"compute_path_to_pose failed ({result.error_code}): {result.error_msg}"
            )
        return result

    # -- navigate_to_pose ----------------------------------------------------------------------

    async def _execute_navigate(self, handle) -> NavigateToPose.Result:
        now = self._now_ns()
        try:
            goal = self._goal_in_global_frame(handle.request.pose, _NAV, "goal")
        except _RequestError as exc:
            self.rejected_goals += 1
            self.get_logger().warning(f"navigate_to_pose aborted ({exc.code}): {exc}")
            handle.abort()
            return NavigateToPose.Result(error_code=exc.code, error_msg=str(exc))
        nav = _Navigation(handle=handle, goal=goal, started_ns=now, pose_ok_ns=now)
        with self._lock:
            previous, self._nav = self._nav, nav
        if previous is not None:
            self._finish(previous, "abort", _NAV.UNKNOWN, "preempted by a newer goal", clear=False)
        self.get_logger().info(
            f"navigate_to_pose: goal ({goal.pose.position.x:.2f}, {goal.pose.position.y:.2f})"
        )
        self._step(nav)
        outcome, code, message = await nav.done
        try:
            {"succeed": handle.succeed, "abort": handle.abort, "canceled": handle.canceled}[
                outcome
            ]()
        except Exception as exc:  # an invalid transition (the goal is already terminal)
            self.get_logger().warning(f"navigate_to_pose: could not set {outcome}: {exc}")
        with self._lock:
            if self._nav is nav:
                self._nav = None
        return NavigateToPose.Result(error_code=code, error_msg=message)

    def _on_progress_timer(self) -> None:
        with self._lock:
            nav = self._nav
        if nav is not None and not nav.done.done():
            self._step(nav)

    def _step(self, nav: _Navigation) -> None:
        """Check an active navigation: cancel, robot pose, (re)plan, arrival, feedback."""
        with self._step_lock:  # the timer and a new goal's coroutine may both step
            self._step_locked(nav)

    def _step_locked(self, nav: _Navigation) -> None:
        if nav.done.done():
            return
        try:
            if nav.handle.is_cancel_requested:
                self._finish(nav, "canceled", _NAV.NONE, "canceled")
                return
            if not nav.handle.is_active:  # terminated elsewhere: release the coroutine
                self._finish(nav, "abort", _NAV.UNKNOWN, "goal is no longer active")
                return
            now = self._now_ns()
            try:
                rx, ry, ryaw = self._robot_pose()
            except TransformError as exc:
                nav.last_tf_error = str(exc)
                if (now - nav.pose_ok_ns) * 1e-9 > self.cfg.tf_timeout_s:
                    self._finish(
                        nav,
                        "abort",
                        _NAV.TF_ERROR,
                        f"no transform {self.cfg.global_frame} -> {self.cfg.robot_frame} for "
                        f"{self.cfg.tf_timeout_s:.1f} s: {nav.last_tf_error}",
                    )
                return
            nav.pose_ok_ns = now
            gx, gy = nav.goal.pose.position.x, nav.goal.pose.position.y
            replan_due = self.cfg.replan_period_s > 0.0 and (
                (now - nav.planned_ns) * 1e-9 >= self.cfg.replan_period_s
            )
            if nav.path is None or replan_due:
                with self._lock:
                    planner = self._planner
                if planner is None:
                    self._finish(
                        nav, "abort", _NAV.UNKNOWN, "no map yet (nothing received on /map)"
                    )
                    return
                try:
                    plan = planner.plan((rx, ry), (gx, gy))
                except PlanError as exc:
                    # nav2's bt_navigator passes the planner's error code through likewise.
                    self._finish(nav, "abort", getattr(_CPP, exc.code), str(exc))
                    return
                nav.path, nav.planned_ns = plan.points, now
                self._plan_pub.publish(path_msg(plan.points, nav.goal, self._now_msg()))
            dist = math.hypot(gx - rx, gy - ry)
            if dist <= self.cfg.goal_tolerance_m:
                self._finish(nav, "succeed", _NAV.NONE, "")
                self.get_logger().info(f"navigate_to_pose: goal reached ({dist:.3f} m away)")
                return
            remaining = remaining_length(nav.path, (rx, ry))
            fb = NavigateToPose.Feedback()
            fb.current_pose.header.frame_id = self.cfg.global_frame
            fb.current_pose.header.stamp = self._now_msg()
            fb.current_pose.pose.position.x, fb.current_pose.pose.position.y = rx, ry
            fb.current_pose.pose.orientation = yaw_to_quaternion_msg(ryaw)
            fb.navigation_time = _duration((now - nav.started_ns) * 1e-9)
            fb.estimated_time_remaining = _duration(remaining / self.cfg.nominal_speed_mps)
            fb.number_of_recoveries = 0
            fb.distance_remaining = float(remaining)
            nav.handle.publish_feedback(fb)
        except Exception as exc:  # never let a navigation hang on an unexpected error
            self.get_logger().error(f"navigate_to_pose: unexpected error: {exc!r}")
            self._finish(nav, "abort", _NAV.UNKNOWN, f"internal error: {exc!r}")

    def _finish(
        self, nav: _Navigation, outcome: str, code: int, message: str, clear: bool = True
    ) -> None:
        with self._lock:
            if nav.done.done():
                return
            nav.done.set_result((outcome, code, message))
        if clear:  # an empty /plan tells the local planner to stop
            self._publish_empty_plan()
        if outcome == "abort":
            self.get_logger().warning(f"navigate_to_pose aborted ({code}): {message}")
        elif outcome == "canceled":
            self.get_logger().info("navigate_to_pose canceled")

    def _publish_empty_plan(self) -> None:
        msg = Path()
        msg.header.frame_id = self.cfg.global_frame
        msg.header.stamp = self._now_msg()
        self._plan_pub.publish(msg)

    # -- helpers -------------------------------------------------------------------------------

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _now_msg(self):
        return self.get_clock().now().to_msg()

    def destroy_node(self) -> None:
        self._nav_server.destroy()
        self._path_server.destroy()
        self._self_client.destroy()
        self._frames.close()
        super().destroy_node()


def _duration(seconds: float) -> Duration:
    seconds = max(0.0, seconds) if math.isfinite(seconds) else 0.0
    ns = round(seconds * 1e9)
    return Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def path_msg(points: np.ndarray, goal: PoseStamped, stamp) -> Path:
    """A nav_msgs/Path through ``points``: each pose faces the next, the last takes the goal's
    orientation."""
    msg = Path()
    msg.header.frame_id = goal.header.frame_id
    msg.header.stamp = stamp
    n = len(points)
    for i, (x, y) in enumerate(points):
        ps = PoseStamped()
        ps.header = msg.header
        ps.pose.position.x, ps.pose.position.y = float(x), float(y)
        if i + 1 < n:
            dx, dy = points[i + 1] - points[i]
            ps.pose.orientation = yaw_to_quaternion_msg(math.atan2(dy, dx))
        else:
            ps.pose.orientation = goal.pose.orientation
        msg.poses.append(ps)
    return msg


def occupancy_grid_msg(occ_map: OccupancyMap, frame_id: str, stamp) -> OccupancyGrid:
    msg = OccupancyGrid()
    msg.header.frame_id = frame_id
    msg.header.stamp = stamp
    msg.info.map_load_time = stamp
    msg.info.resolution = float(occ_map.resolution_m)
    msg.info.width, msg.info.height = occ_map.width, occ_map.height
    msg.info.origin = Pose()
    msg.info.origin.position.x = occ_map.origin_x_m
    msg.info.origin.position.y = occ_map.origin_y_m
    msg.info.origin.orientation = yaw_to_quaternion_msg(occ_map.origin_yaw_rad)
    msg.data = array.array("b", occ_map.data.astype(np.int8).tobytes())
    return msg


def occupancy_map_from_msg(msg: OccupancyGrid) -> OccupancyMap:
    """An OccupancyMap from a nav_msgs/OccupancyGrid; MapError when it is inconsistent."""
    info = msg.info
    w, h = int(info.width), int(info.height)
    if w * h != len(msg.data):
        raise MapError(f"{w}x{h} cells announced but {len(msg.data)} values given")
    o = info.origin
    if not all_finite(
        o.position.x,
        o.position.y,
        o.orientation.x,
        o.orientation.y,
        o.orientation.z,
        o.orientation.w,
    ):
        raise MapError("map origin has non-finite values")
    data = np.asarray(msg.data, dtype=np.int8).reshape(h, w)
    return OccupancyMap(
        data=data,
        resolution_m=float(info.resolution),
        origin_x_m=float(o.position.x),
        origin_y_m=float(o.position.y),
        origin_yaw_rad=quaternion_msg_to_yaw(o.orientation),
    )


def main(args=None):
    sys.exit(run_node(GlobalPlannerNode, "global_planner", args))


if __name__ == "__main__":
    main()
