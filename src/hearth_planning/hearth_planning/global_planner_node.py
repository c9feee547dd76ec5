"""Global planner node: cost-aware A* on the whole home, with a navigability memory.

Inputs: the map (``map_yaml`` file, republished on /map, or /map from V-SLAM), goals from the
``navigate_to_pose`` action or /goal_pose (rviz), the robot's pose from TF
``global_frame -> robot_frame``, and /local_planner/blocked (std_msgs/Bool, true while the
local planner makes no progress). Outputs: /plan (nav_msgs/Path in the map frame; an empty path
means "stop"), action feedback and results, and ``compute_path_to_pose`` for path queries.

The node converts and calls the ROS-free cores: :mod:`~hearth_planning.costmap` (built once per
map), :mod:`~hearth_planning.grid_astar` (the search; one planner per costmap and memory
state, keeping its search trees for replans), :mod:`~hearth_planning.regions` and
:mod:`~hearth_planning.navigability` (the memory, saved to ``<memory_dir>/<home>.json`` after
each change).

The ``navigate_to_pose`` execute callback is a coroutine that waits on a future completed by
the node's progress timer, so navigation never blocks an executor thread: the node works under
``rclpy.spin`` (single-threaded) as well as under a MultiThreadedExecutor. It replans when
/local_planner/blocked rises, when a /map update changes the cost of a cell of the path or
the memory of a region on it, and every ``replan_period_s`` if that is set; feedback's
``number_of_recoveries`` counts the replans.
"""

from __future__ import annotations

import array
import math
import os
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
from std_msgs.msg import Bool

from hearth_common.config import ConfigError
from hearth_common.frames import FrameBuffer, TransformError
from hearth_common.geometry import wrap_angle
from hearth_common.msg_conversions import all_finite, quaternion_msg_to_yaw, yaw_to_quaternion_msg
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED
from hearth_description.robot_model import RobotParams, default_robot_yaml, load_robot_params
from hearth_planning.config import (
    GlobalPlannerConfig,
    configured_regions,
    cost_params,
    inflation_radius_m,
    memory_file,
    memory_params,
)
from hearth_planning.costmap import Costmap
from hearth_planning.grid_astar import GridPlanner, PlanError, PlanResult, warm_up
from hearth_planning.heuristic import Landmarks, build_landmarks
from hearth_planning.map_io import MapError, OccupancyMap, load_map
from hearth_planning.navigability import MemoryFileError, NavigabilityMemory
from hearth_planning.paths import remaining_length, resample
from hearth_planning.regions import Region, detect_regions, region_ahead, region_passable

NODE_CONFIG = GlobalPlannerConfig

BLOCKED_TOPIC = "/local_planner/blocked"

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
    path: np.ndarray | None = None  # (N, 2) corners of the current plan
    target_xy: tuple[float, float] | None = None  # the goal planned to (moved if substituted)
    note: str = ""  # why the goal was moved, if it was
    planned_ns: int = 0
    pose_ok_ns: int = 0
    last_tf_error: str = ""
    replans: int = 0
    replan_reason: str = ""  # set by callbacks; the progress step replans
    region_id: str | None = None  # the region the robot is in


class GlobalPlannerNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("global_planner", **node_kwargs)
        self.cfg: GlobalPlannerConfig = declare_config(self, GlobalPlannerConfig)
        # The robot's one source of truth; raises ConfigError (one line) for a bad file.
        robot_yaml = self.cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)
        self.inflation_radius_m = inflation_radius_m(self.cfg, self.robot.base)
        self.cost_params = cost_params(self.cfg, self.inflation_radius_m)
        self.get_logger().info(
            f"robot centre kept {self.inflation_radius_m:g} m from obstacles: the robot's "
            f"radius {self.robot.base.radius_m:g} m ({robot_yaml}) + inflation_margin_m "
            f"{self.cfg.inflation_margin_m:g} m; extra cost decays to 0 at "
            f"{self.cfg.cost_inflation_radius_m:g} m"
        )
        warm_up()  # compile or load the search kernels now, not at the first goal
        self._lock = threading.RLock()
        self._step_lock = threading.Lock()
        self._costmap: Costmap | None = None
        self._planner: GridPlanner | None = None
        self._planner_key: tuple | None = None
        self._landmarks: tuple[Costmap, Landmarks] | None = None
        self._closing = False
        self._nav: _Navigation | None = None
        self._blocked = False
        self.rejected_maps = 0
        self.rejected_goals = 0
        self.callback_errors = 0
        self.blocked_reports = 0
        self.memory_error = ""  # why the memory file could not be used, if it could not

        self._memory_path = memory_file(self.cfg)
        self.memory = self._load_memory()
        for region in configured_regions(self.cfg):
            self.memory.add_configured(region)

        self._frames = FrameBuffer(self)
        self._plan_pub = self.create_publisher(Path, "/plan", 10)
        self._map_pub = None
        if self.cfg.map_yaml:
            try:
                occ_map = load_map(self.cfg.map_yaml)
            except MapError as exc:
                raise ConfigError(f"parameter 'map_yaml': {exc}") from exc
            # A map file is not an observation of today's doors: detect regions only.
            self._set_map(occ_map, observe=False)
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
        self.create_subscription(Bool, BLOCKED_TOPIC, self._on_blocked, 10)
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

    # -- navigability memory -------------------------------------------------------------------

    def _load_memory(self) -> NavigabilityMemory:
        params = memory_params(self.cfg)
        path = self._memory_path
        home = path.stem if path is not None else ""
        if path is None or not path.exists():
            return NavigabilityMemory(params, home)
        try:
            memory = NavigabilityMemory.load(path, params)
        except MemoryFileError as exc:
            kept = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            try:
                os.replace(path, kept)
                where = f"the bad file is kept as {kept}"
            except OSError as move_exc:
                where = f"the bad file could not be moved aside ({move_exc})"
            self.memory_error = str(exc)
            self.get_logger().error(
                f"navigability memory unusable: {exc}; starting a fresh memory, {where}"
            )
            return NavigabilityMemory(params, home)
        memory.home = home
        n_obs = sum(len(e.observations) for e in memory.entries.values())
        self.get_logger().info(
            f"navigability memory {path}: {len(memory.entries)} regions, {n_obs} observations"
        )
        return memory

    def _save_memory(self) -> None:
        if self._memory_path is None:
            return
        try:
            with self._lock:
                self.memory.save(self._memory_path, time.time())
        except OSError as exc:
            self.get_logger().warning(
                f"navigability memory not saved to {self._memory_path}: {exc}",
                throttle_duration_sec=1.0,
            )

    def _observe(self, region: Region, passable: bool, source: str) -> bool:
        with self._lock:
            recorded = self.memory.observe(region.id, passable, time.time(), source)
        if recorded:
            self.get_logger().info(
                f"memory: {region.id} {'passable' if passable else 'NOT passable'} ({source}), "
                f"p_passable now {self.memory.p_passable(region.id, time.time()):.2f}"
            )
        return recorded

    # -- map -----------------------------------------------------------------------------------

    def _set_map(self, occ_map: OccupancyMap, observe: bool) -> None:
        costmap = Costmap(occ_map, self.cost_params)
        changed: list[Region] = []
        with self._lock:
            added = []
            if self.cfg.detect_regions:
                added = self.memory.merge_detected(
                    detect_regions(costmap, self.cfg.region_max_width_m)
                )
            regions = self.memory.regions
        recorded = False
        if observe:
            for region in regions:
                passable = region_passable(costmap, region)
                if passable is None:
                    continue
                with self._lock:
                    history = self.memory.entries[region.id].observations
                    before = history[-1].passable if history else None
                if self._observe(region, passable, "map"):
                    recorded = True
                    if before is not None and before != passable:
                        changed.append(region)  # it opened or closed
        if added or recorded:
            self._save_memory()
        with self._lock:
            old, self._costmap = self._costmap, costmap
            self._planner = None
            nav = self._nav
        if self.cfg.heuristic_landmarks > 0:
            threading.Thread(
                target=self._build_landmarks, args=(costmap,), name="landmarks", daemon=True
            ).start()
        if added:
            self.get_logger().info(f"{len(added)} new doorways/narrow passages in the memory")
        if nav is not None and nav.path is not None and not nav.done.done():
            reason = _path_change(old, costmap, nav.path, changed)
            if reason:
                nav.replan_reason = reason

    def _build_landmarks(self, costmap: Costmap) -> None:
        """The map's cached heuristic, built beside the executor; given up when a newer map
        arrives or the node closes."""
        try:
            t0 = time.perf_counter()
            landmarks = build_landmarks(
                costmap,
                self.cfg.heuristic_landmarks,
                should_stop=lambda: self._closing or self._costmap is not costmap,
            )
            if landmarks is None:
                return
            with self._lock:
                if self._costmap is not costmap:
                    return
                self._landmarks = (costmap, landmarks)
                self._planner = None  # the next plan uses them
            self.get_logger().info(
                f"heuristic: {len(landmarks.cells)} landmarks in "
                f"{(time.perf_counter() - t0) * 1e3:.0f} ms"
            )
        except Exception as exc:  # a thread never raises: plans go on with the octile distance
            self._callback_error("landmark heuristic", exc)

    def _on_map(self, msg: OccupancyGrid) -> None:
        try:
            frame = msg.header.frame_id
            if frame and frame != self.cfg.global_frame:
                raise MapError(f"map is in frame '{frame}', expected '{self.cfg.global_frame}'")
            occ_map = occupancy_map_from_msg(msg)
            self._set_map(occ_map, observe=True)
        except (MapError, ValueError) as exc:
            self.rejected_maps += 1
            self.get_logger().warning(
                f"/map rejected ({self.rejected_maps} so far): {exc}", throttle_duration_sec=1.0
            )
            return
        except Exception as exc:  # a callback never raises
            self._callback_error("/map", exc)
            return
        self.get_logger().info(
            f"/map received: {occ_map.width}x{occ_map.height} cells at {occ_map.resolution_m:.3g} m"
        )

    def _current_planner(self) -> GridPlanner | None:
        """The planner for the current costmap and memory penalties (rebuilt when either
        changes, so that replans towards one goal reuse its search tree otherwise)."""
        with self._lock:
            costmap = self._costmap
            if costmap is None:
                return None
            penalties = {
                rid: round(p, 2) for rid, p in self.memory.penalties_m(time.time()).items()
            }
            key = tuple(sorted(penalties.items()))
            if (
                self._planner is None
                or self._planner.costmap is not costmap
                or self._planner_key != key
            ):
                layer = self.memory.penalty_layer(costmap, penalties)
                landmarks = None
                if self._landmarks is not None and self._landmarks[0] is costmap:
                    landmarks = self._landmarks[1]
                self._planner = GridPlanner(
                    costmap,
                    layer if layer.any() else None,
                    smooth=self.cfg.smooth_path,
                    landmarks=landmarks,
                )
                self._planner_key = key
            return self._planner

    # -- the local planner's blocked signal ----------------------------------------------------

    def _on_blocked(self, msg: Bool) -> None:
        try:
            rising = bool(msg.data) and not self._blocked
            self._blocked = bool(msg.data)
            if not rising:
                return
            self.blocked_reports += 1
            with self._lock:
                nav = self._nav
            if nav is None or nav.done.done() or nav.path is None:
                return
            region = None
            try:
                rx, ry, _ = self._robot_pose()
                with self._lock:
                    regions = self.memory.regions
                region = region_ahead(regions, nav.path, rx, ry,
                                      self.cfg.blocked_region_range_m)
            except TransformError:
                pass
            if region is not None and self._observe(region, False, "blocked"):
                self._save_memory()
            if self.cfg.replan_on_blocked:
                nav.replan_reason = "the local planner reported it is blocked" + (
                    f" at {region.id}" if region is not None else ""
                )
        except Exception as exc:  # a callback never raises
            self._callback_error(BLOCKED_TOPIC, exc)

    # -- goals ---------------------------------------------------------------------------------

    def _on_goal_pose(self, msg: PoseStamped) -> None:
        try:
            if not self._self_client.server_is_ready():
                self.get_logger().warning(
                    "/goal_pose ignored: navigate_to_pose server not ready yet",
                    throttle_duration_sec=1.0,
                )
                return
            self.get_logger().info(
                f"/goal_pose: navigating to ({msg.pose.position.x:.2f}, "
                f"{msg.pose.position.y:.2f}) in '{msg.header.frame_id}'"
            )
            self._self_client.send_goal_async(NavigateToPose.Goal(pose=msg))
        except Exception as exc:  # a callback never raises
            self._callback_error("/goal_pose", exc)

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
        """The robot's pose on the map; when the localization has fallen behind (its last
        map -> odom older than the buffered odometry), its last correction on the latest
        odometry, said once a second: navigating on odometry beats aborting."""
        cfg = self.cfg
        try:
            return self._frames.lookup_pose2d(cfg.global_frame, cfg.robot_frame)
        except TransformError as exc:
            if not cfg.odom_frame:
                raise
            pose = self._frames.lookup_pose2d_via(cfg.global_frame, cfg.odom_frame,
                                                  cfg.robot_frame)
            self.get_logger().warning(
                f"no common time for {cfg.global_frame} -> {cfg.robot_frame} ({exc}); using "
                f"the latest {cfg.global_frame} -> {cfg.odom_frame} on the latest odometry",
                throttle_duration_sec=1.0)
            return pose

    def _plan(self, start_xy: tuple[float, float], goal: PoseStamped,
              from_robot: bool = True) -> PlanResult:
        """Plan on the current map and memory; PlanError or _RequestError(UNKNOWN). From the
        robot's own pose estimate (``from_robot``) a start in a wall is taken as the
        estimate's error (``start_substitute_radius_m``); a start the caller gave is not."""
        planner = self._current_planner()
        if planner is None:
            raise _RequestError(_CPP.UNKNOWN, "no map yet (nothing received on /map)")
        return planner.plan(
            start_xy,
            (goal.pose.position.x, goal.pose.position.y),
            self.cfg.goal_substitute_radius_m,
            self.cfg.start_substitute_radius_m if from_robot else 0.0,
        )

    def _path_msg(self, plan: PlanResult, goal: PoseStamped) -> Path:
        end = PoseStamped()
        end.header = goal.header
        end.pose.position.x, end.pose.position.y = plan.goal_xy
        end.pose.orientation = goal.pose.orientation
        return path_msg(resample(plan.points, self.cfg.plan_spacing_m), end, self._now_msg())

    # -- compute_path_to_pose ------------------------------------------------------------------

    def _execute_compute_path(self, handle) -> ComputePathToPose.Result:
        t0 = time.perf_counter()
        req = handle.request
        result = ComputePathToPose.Result()
        plan = None
        try:
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
            plan = self._plan(start_xy, goal, from_robot=not req.use_start)
            result.path = self._path_msg(plan, goal)
            result.error_msg = plan.goal_note
        except PlanError as exc:
            result.error_code, result.error_msg = getattr(_CPP, exc.code), str(exc)
        except _RequestError as exc:
            result.error_code, result.error_msg = exc.code, str(exc)
        except Exception as exc:  # no exception escapes the node
            self.callback_errors += 1
            result.error_code, result.error_msg = _CPP.UNKNOWN, f"internal error: {exc!r}"
        elapsed = time.perf_counter() - t0
        result.planning_time = _duration(elapsed)
        try:
            if result.error_code == _CPP.NONE:
                handle.succeed()
                self.get_logger().info(
                    f"compute_path_to_pose: {len(result.path.poses)} poses, "
                    f"{plan.length_m:.2f} m, in {elapsed * 1e3:.1f} ms"
                    + (f" ({plan.goal_note})" if plan.goal_note else "")
                )
            else:
                handle.abort()
                self.get_logger().warning(
                    f"compute_path_to_pose failed ({result.error_code}): {result.error_msg}"
                )
        except Exception as exc:  # e.g. the goal was already terminal
            self._callback_error("compute_path_to_pose", exc)
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
            self._note_traversal(nav, rx, ry)
            replan_due = self.cfg.replan_period_s > 0.0 and (
                (now - nav.planned_ns) * 1e-9 >= self.cfg.replan_period_s
            )
            if nav.path is None or nav.replan_reason or replan_due:
                reason = nav.replan_reason or "replan_period_s elapsed"
                nav.replan_reason = ""
                try:
                    plan = self._plan((rx, ry), nav.goal)
                except PlanError as exc:
                    # nav2's bt_navigator passes the planner's error code through likewise.
                    self._finish(nav, "abort", getattr(_CPP, exc.code), str(exc))
                    return
                except _RequestError as exc:
                    self._finish(nav, "abort", _NAV.UNKNOWN, str(exc))
                    return
                if nav.path is not None:
                    nav.replans += 1
                    self.get_logger().info(
                        f"navigate_to_pose: replan {nav.replans} ({reason}): "
                        f"{plan.length_m:.2f} m"
                    )
                elif plan.goal_note:
                    self.get_logger().info(f"navigate_to_pose: {plan.goal_note}")
                nav.path, nav.planned_ns = plan.points, now
                nav.target_xy, nav.note = plan.goal_xy, plan.goal_note
                self._plan_pub.publish(self._path_msg(plan, nav.goal))
            gx, gy = nav.target_xy
            dist = math.hypot(gx - rx, gy - ry)
            if dist <= self.cfg.goal_tolerance_m:
                self._finish(nav, "succeed", _NAV.NONE, nav.note)
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
            fb.number_of_recoveries = min(nav.replans, 32767)
            fb.distance_remaining = float(remaining)
            nav.handle.publish_feedback(fb)
        except Exception as exc:  # never let a navigation hang on an unexpected error
            self.callback_errors += 1
            self.get_logger().error(f"navigate_to_pose: unexpected error: {exc!r}")
            self._finish(nav, "abort", _NAV.UNKNOWN, f"internal error: {exc!r}")

    def _note_traversal(self, nav: _Navigation, rx: float, ry: float) -> None:
        """The robot inside a region is an observation that the region is passable."""
        with self._lock:
            region = self.memory.region_at(rx, ry)
        rid = region.id if region is not None else None
        if rid is not None and rid != nav.region_id and self._observe(region, True, "traversed"):
            self._save_memory()
        nav.region_id = rid

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

    def _callback_error(self, where: str, exc: Exception) -> None:
        self.callback_errors += 1
        self.get_logger().error(
            f"{where}: unexpected error ({self.callback_errors} so far): {exc!r}",
            throttle_duration_sec=1.0,
        )

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _now_msg(self):
        return self.get_clock().now().to_msg()

    def destroy_node(self) -> None:
        self._closing = True
        self._nav_server.destroy()
        self._path_server.destroy()
        self._self_client.destroy()
        self._frames.close()
        super().destroy_node()


def _path_change(
    old: Costmap | None, new: Costmap, path: np.ndarray, changed_regions: list[Region]
) -> str:
    """Why a new map calls for a replan of ``path`` (empty: it does not)."""
    if old is None or not old.same_grid(new):
        return "the map's grid changed"
    pts = resample(path, 0.5 * new.resolution_m)
    rc = np.floor(new.world_to_grid(pts)).astype(int)
    h, w = new.shape
    rc[:, 0] = np.clip(rc[:, 0], 0, h - 1)
    rc[:, 1] = np.clip(rc[:, 1], 0, w - 1)
    before = old.multiplier[rc[:, 0], rc[:, 1]]
    after = new.multiplier[rc[:, 0], rc[:, 1]]
    # (the distance transform is float32: equal maps may differ in the last digits far away)
    if not np.allclose(before, after, rtol=1e-4, atol=0.0):
        return "the map changed on the path"
    for region in changed_regions:
        if any(region.contains(x, y) for x, y in pts):
            return f"the memory of {region.id} changed"
    return ""


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
