"""The local planner in closed loop on the simulator, in one process (no ROS).

MuJoCo simulates the robot in a home with scripted people (:class:`ScriptedCrowd`); the
robot's own perception runs as the nodes do it, without ROS: the ToF depth becomes points
(hearth_perception's projector, the URDF's mounting), which feed the local costmap (with the
home's map) and the obstacle tracker (hearth_perception's detection and Kalman tracker); the
tracks, never the simulator's people, are the planner's people. The planner
(``hearth_trajectory.planner.LocalPlanner``) runs at 10 Hz on simulated time, its command
reaches the motors ``actuation_delay_s`` later. Ground truth is only measured.

Sensing latency can be injected (``sensing_latency_s``): /odom (the true pose, as a perfect
odometry would give it) and the depth frames reach the planner that much late; per sensor
with ``Scenario.latency_s`` (the simulator delays that sensor; /odom is as late as the
wheels or the IMU, whichever is later).

A run has one goal or several: the first along ``Scenario.route`` (a hand-made path) or
each along the path ``Scenario.plan_route`` gives from where the robot stands (the navigation
suite gives hearth_planning's global planner: ``nav_route.GlobalRoute``), asked again, as
``global_planner_node`` does, each time the planner's blocked signal rises. A goal is reached
within ``goal_radius_m``; the next is sent once the planner reports arrival at a standstill
(or ``ARRIVAL_SETTLE_S`` after reaching). Any crowd of hearth_sim's ``Crowd`` interface
walks about; hearth_sim's timed events (``disturbance_schedule``) run; with
``Scenario.fusion`` hearth_fusion's EKF runs on the simulated IMU and wheels
(:mod:`hearth_eval.loop_fusion`). The run is recorded as the demo records its runs
(``LoopResult.episode``: a :class:`hearth_eval.run_metrics.Episode`).
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

NS = 1_000_000_000


class ScriptedCrowd:
    """People walking polylines at constant speeds (hearth_sim's Crowd interface): person i
    waits at the start of ``routes[i]`` until ``starts_s[i]``, walks it at ``speeds[i]``, and
    stays at its end. Deterministic; they do not react to the robot."""

    def __init__(self, routes: list[np.ndarray], speeds_mps: list[float],
                 starts_s: list[float], radius_m: float = 0.25):
        self.routes = [np.asarray(r, dtype=float).reshape(-1, 2) for r in routes]
        self.cum = [np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(r, axis=0).T))])
                    for r in self.routes]
        self.speeds = np.asarray(speeds_mps, dtype=float)
        self.starts = np.asarray(starts_s, dtype=float)
        self._r = np.full(len(routes), radius_m)
        self._t = 0.0

    def __len__(self) -> int:
        return len(self.routes)

    @property
    def time_s(self) -> float:
        return self._t

    @property
    def present(self) -> np.ndarray:
        return np.ones(len(self), dtype=bool)

    @property
    def ids(self) -> np.ndarray:
        return np.arange(1, len(self) + 1, dtype=np.int64)

    def _state(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        pos = np.zeros((len(self), 2))
        vel = np.zeros((len(self), 2))
        for i, (r, cum) in enumerate(zip(self.routes, self.cum, strict=True)):
            s = min(max(t_s - self.starts[i], 0.0) * self.speeds[i], cum[-1])
            pos[i] = (np.interp(s, cum, r[:, 0]), np.interp(s, cum, r[:, 1]))
            if 0.0 < s < cum[-1]:
                k = min(int(np.searchsorted(cum, s, side="right")) - 1, len(r) - 2)
                d = r[k + 1] - r[k]
                vel[i] = self.speeds[i] * d / max(float(np.hypot(*d)), 1e-9)
        return pos, vel

    @property
    def positions_m(self) -> np.ndarray:
        return self._state(self._t)[0]

    @property
    def velocities_mps(self) -> np.ndarray:
        return self._state(self._t)[1]

    @property
    def radius_m(self) -> np.ndarray:
        return self._r

    def step(self, t_s: float, dt_s: float, robot_xy_m: np.ndarray,
             robot_v_mps: np.ndarray) -> None:
        self._t = t_s + dt_s


@dataclass
class Scenario:
    """One closed-loop run. The robot starts at ``start`` and is sent to its goals one after
    another: the first along ``route`` (a hand-made global path whose end is the goal) or,
    with ``route`` None, along the path ``plan_route(start_xy, goal_xy)`` gives (the global
    planner's); each further goal in ``goals`` along ``plan_route`` from where the robot
    stood when it reached the previous one."""

    name: str
    home: str
    start: tuple[float, float, float]  # world x, y, yaw
    route: np.ndarray | None  # (M, 2) the global path to the first goal, world = map = odom
    crowd: object | None = None  # a hearth_sim Crowd (ScriptedCrowd, social force, replay)
    duration_s: float = 25.0
    goal_radius_m: float = 0.25
    # Pieces added to the home (hearth_sim's HomeChanges.added): in /map too when
    # ``added_mapped`` (known clutter), else only in the world (the ToF finds them).
    added: tuple = ()
    added_mapped: bool = True
    goals: tuple[tuple[float, float], ...] = ()  # (after the route's end) world x, y
    goal_names: tuple[str, ...] = ()  # one per goal (route's end first), for the results
    # (start_xy, goal_xy) -> (K, 2) path. As global_planner_node, it is asked again, from
    # the robot's true position, each time the local planner's blocked signal rises.
    plan_route: Callable | None = None
    # (path, robot_xy, t_s) -> region id or None: the global planner's memory hears of the
    # blocked signal first (the region ahead counts as shut for later paths), as the node's.
    report_blocked: Callable | None = None
    goal_timeout_s: float = math.inf  # one goal not reached in this long ends the run
    disturbance_schedule: str = ""  # hearth_sim's timed events ('<t_s> <kind> <args>; ...')
    latency_s: dict = field(default_factory=dict)  # hearth_sim sensor -> injected delay (s)
    fusion: bool = False  # run hearth_fusion's EKF on the IMU and wheels (fusion drift)

    def goal_points(self) -> list[np.ndarray]:
        first = [] if self.route is None else [np.asarray(self.route, dtype=float)[-1]]
        return first + [np.asarray(g, dtype=float) for g in self.goals]


@dataclass
class LoopOptions:
    sensing_latency_s: float = 0.0  # /odom and the depth frames, on top of the scenario's
    latency_compensation: bool = True
    actuation_delay_s: float = 0.05
    candidates: int | None = 1000  # None: the local planner's configured number
    seed: int = 0
    # The local planner's sampling seed (PlannerParams.seed): the same episode with another
    # planner seed shows how much of an outcome is the planner's luck.
    planner_seed: int = 0
    trace: bool = False  # keep a per-cycle record (LoopResult.trace) for diagnosis
    planner_overrides: dict = field(default_factory=dict)  # LocalPlannerConfig fields
    tracker_overrides: dict = field(default_factory=dict)  # TrackerParams fields
    # Builds the planner from (MotionLimits, PlannerParams): a LocalPlanner or a baseline
    # with its interface (plan, record_cycle_time). None: hearth's LocalPlanner.
    planner_factory: Callable | None = None


@dataclass
class GoalLeg:
    """One goal of a run: where it was sent from, the path given, when it ended and how."""

    name: str
    goal_xy: tuple[float, float]
    start_xy: tuple[float, float]  # the robot's true position when the goal was sent
    t_sent_s: float
    route: np.ndarray  # (K, 2) the global path followed
    t_reached_s: float | None = None  # first within goal_radius_m
    t_arrived_s: float | None = None  # first within goal_radius_m and at a standstill
    t_end_s: float | None = None  # when the next goal was sent / the run ended
    status: str = "not finished"  # reached, timeout, not finished, no path
    replans: int = 0  # new paths from where the robot stood, on the blocked signal


@dataclass
class LoopResult:
    reached: bool  # every goal
    time_s: float  # when the last goal was reached (inf: not every goal was)
    tracking_error_rms_m: float  # true position vs where the committed plan said it would be
    route_error_rms_m: float  # true position vs the route (avoiding people leaves it)
    route_error_max_m: float
    jerk_rms_mps3: float
    min_person_clearance_m: float  # between the robot's and the people's discs (inf: none)
    contacts: list[str] = field(default_factory=list)
    max_speed_mps: float = 0.0
    stops: int = 0  # times the robot came to a halt (stop-and-go) before the end
    cycle_ms_median: float = 0.0
    cycles_with_tracks: int = 0  # planning cycles that had at least one tracked obstacle
    trace: list[dict] = field(default_factory=list)  # per cycle, with LoopOptions.trace
    # The true forward speed (m/s) at the ground-truth rate, and its sample period (s).
    speed_mps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    speed_dt_s: float = 0.02
    xy_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # at the same rate
    # Per person (by person id): the smallest gap between the discs (m).
    person_gaps_m: dict[int, float] = field(default_factory=dict)
    # The closest the robot came to the (last) goal (m).
    goal_distance_min_m: float = math.inf
    legs: list[GoalLeg] = field(default_factory=list)
    # What the run recorded, as the demo records its runs (hearth_eval.run_metrics.Episode):
    # truth, people, planner cycles (wall ms of plan()), commands, contacts, goals.
    episode: object | None = None
    fusion_drift: object | None = None  # loop_fusion.FusionDrift, with Scenario.fusion
    wall_s: float = 0.0  # the whole run, simulator construction included

    @property
    def solid_contacts(self) -> list[str]:
        """Contacts with people, walls, doors and furniture (not the rug or the floor the
        wheels and the chassis ride on)."""
        return [c for c in self.contacts if not c.endswith(_NOT_SOLID)]


# The robot's chassis may scrape what the wheels ride over: no collision.
_NOT_SOLID = ("(rug)", "(floor)", "(threshold)")
NOT_SOLID_KINDS = ("rug", "floor", "threshold")
# After reaching a goal, wait this long at most for the planner to report arrival and stop.
ARRIVAL_SETTLE_S = 3.0
STANDSTILL_MPS = 0.05  # arrived: within the goal radius and slower than this


def _distance_to_polyline(p: np.ndarray, route: np.ndarray) -> float:
    if len(route) < 2:
        return float(np.hypot(*(p - route[0])))
    a, b = route[:-1], route[1:]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab),
                                                               1e-12), 0.0, 1.0)
    return float(np.min(np.hypot(*(a + t[:, None] * ab - p).T)))


def run_scenario(scn: Scenario, opt: LoopOptions) -> LoopResult:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from hearth_common.config import load_config
    from hearth_description.robot_model import expand_xacro, load_robot_params
    from hearth_eval.run_metrics import Episode
    from hearth_perception.depth_points import DepthProjector
    from hearth_perception.map_alignment import MapAligner
    from hearth_perception.obstacle_detection import DetectionParams, detect_obstacles
    from hearth_perception.obstacle_tracker import ObstacleTracker, SensorView, TrackerParams
    from hearth_planning.map_io import load_map
    from hearth_safety.mounting import frame_in_base
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import apply_changes, maps_dir, resolve_home
    from hearth_sim.home.model import HomeChanges, Pose2
    from hearth_sim.home.occupancy import rasterize
    from hearth_sim.mujoco_sim import MujocoSim, camera_intrinsics
    from hearth_trajectory.config import LocalPlannerConfig, motion_limits, planner_params
    from hearth_trajectory.floor_transitions import FILE_NAME as FLOOR_FILE
    from hearth_trajectory.floor_transitions import load_floor_transitions
    from hearth_trajectory.local_costmap_input import LocalCostmapInput
    from hearth_trajectory.people_forecast import Tracks
    from hearth_trajectory.planner import LocalPlanner, Odometry, PlanningInput

    wall0 = time.perf_counter()
    robot = load_robot_params()
    home = resolve_home(scn.home)
    if scn.added:  # set down with the robot at its start (hearth_sim checks they are apart)
        home = apply_changes(replace(home, robot_start=Pose2(*map(float, scn.start))),
                             HomeChanges(f"{scn.name}: added", added=tuple(scn.added)))
    latency = {k: float(v) for k, v in scn.latency_s.items()}
    tof_latency_s = opt.sensing_latency_s + latency.pop("tof", 0.0)
    # /odom is as late as the slower of the sensors fusion integrates
    odom_latency_s = opt.sensing_latency_s + max(latency.get("wheels", 0.0),
                                                 latency.get("imu", 0.0))
    sim_cfg = load_config(SimConfig, {
        # The ToF at its rate; the other cameras, which the planner does not use, once at
        # the start (their first frame) and then not within any run.
        "render_cameras": True, "stereo_rate_hz": 1e-3, "screen_camera_rate_hz": 1e-3,
        "shadow_map_px": 256, "home_file": scn.home, "seed": opt.seed,
        "start_pose": f"{scn.start[0]} {scn.start[1]} {scn.start[2]}",
        "tof_latency_s": tof_latency_s, "disturbance_schedule": scn.disturbance_schedule,
        **{f"{k}_latency_s": v for k, v in latency.items()},
    })
    sim = MujocoSim(home, robot, sim_cfg, people=scn.crowd)
    values = {"latency_compensation": opt.latency_compensation,
              "actuation_delay_s": opt.actuation_delay_s, **opt.planner_overrides}
    if opt.candidates is not None:
        values.setdefault("candidates", opt.candidates)
    # Simulated time stands still while the planner thinks: no shedding (a wall-clock
    # matter), so a run depends on its seed only, not on the machine's load.
    values.setdefault("min_candidates",
                      values.get("candidates", load_config(LocalPlannerConfig, {}).candidates))
    cfg = load_config(LocalPlannerConfig, values)
    make = opt.planner_factory or LocalPlanner
    planner = make(motion_limits(cfg, robot),
                   replace(planner_params(cfg, robot), seed=opt.planner_seed))
    intr = camera_intrinsics(robot, sim_cfg)["tof"]
    urdf = expand_xacro()
    mount = frame_in_base(urdf, "tof_optical")
    projector = DepthProjector(intr.K, intr.width_px, intr.height_px, stride_px=2,
                               min_range_m=robot.tof.min_range_m,
                               max_range_m=robot.tof.max_range_m)
    costmap = LocalCostmapInput(6.0, 0.05, 0.5, 0.15, self_radius_m=robot.base.radius_m + 0.05)
    if scn.added and scn.added_mapped:
        raster = rasterize(home)
        costmap.set_map(raster.data, raster.resolution_m, (*raster.origin_xy_m, 0.0))
    else:
        occ = load_map(maps_dir() / scn.home / "map.yaml")
        costmap.set_map(np.asarray(occ.data, dtype=np.int8).reshape(occ.height, occ.width),
                        occ.resolution_m, (occ.origin_x_m, occ.origin_y_m, occ.origin_yaw_rad))
    # The home's sills and rug edges as marked beside its map (map frame = the loop's odom
    # frame: the planner's odometry is the simulator's truth).
    floor_file = maps_dir() / scn.home / FLOOR_FILE
    floor = load_floor_transitions(floor_file) if floor_file.exists() else None
    tracker = ObstacleTracker(TrackerParams(**opt.tracker_overrides))
    detection = DetectionParams(self_radius_m=robot.base.radius_m + 0.05)
    aligner = MapAligner()  # as the tracker node: a frame's walls aligned to the map first
    fusion = None
    if scn.fusion:
        from hearth_eval.loop_fusion import LoopFusion

        fusion = LoopFusion(robot, urdf)

    period_ns = NS // 10
    delay_ns = round(opt.actuation_delay_s * NS)
    latency_ns = round(odom_latency_s * NS)
    history: deque = deque()  # (t_ns, truth) for delayed odometry
    pending: deque = deque()  # (t_apply_ns, v, w)
    cmd = (0.0, 0.0)
    goals = scn.goal_points()
    if not goals:
        raise ValueError(f"scenario {scn.name!r}: no goal (neither a route nor goals)")
    names = list(scn.goal_names) + [f"goal {k + 1}" for k in range(len(scn.goal_names),
                                                                      len(goals))]
    legs: list[GoalLeg] = []
    errors, speeds, clearance, contacts, cycles = [], [], math.inf, [], []
    tracking: list[float] = []
    trace: list[dict] = []
    out_people = None
    person_gaps: dict[int, float] = {}
    last_plan = None
    with_tracks = 0
    rec = _Recorder()
    next_cycle_ns = 0
    stops, moving = 0, False
    truth = sim.robot_truth()
    route = None

    def send(k: int, t_s: float) -> np.ndarray | None:
        xy = truth.position_m[:2].copy()
        if k == 0 and scn.route is not None:
            path = np.asarray(scn.route, dtype=float)
        else:
            try:
                path = np.asarray(scn.plan_route(tuple(xy), tuple(goals[k])), dtype=float)
            except Exception as exc:  # hearth_planning's PlanError: the goal fails
                legs.append(GoalLeg(names[k], tuple(goals[k]), tuple(xy), t_s, np.zeros((0, 2)),
                                    t_end_s=t_s, status=f"no path: {exc}"))
                return None
        legs.append(GoalLeg(names[k], tuple(map(float, goals[k])), tuple(map(float, xy)), t_s,
                            path))
        return path

    route = send(0, 0.0)
    version, was_blocked = 1, False  # the path's version (progress restarts on a new one)
    goal_min = math.inf
    end_ns = round(scn.duration_s * NS)
    while route is not None and sim.t_ns < end_ns:
        out = sim.step(*cmd)
        t = sim.t_ns
        leg = legs[-1]
        while pending and pending[0][0] <= t:
            _, v, w = pending.popleft()
            cmd = (v, w)
        if fusion is not None:
            fusion.add(out)
        if out.truth is not None:
            truth = out.truth
            history.append((t, truth))
            rec.truth(t, truth)
            p = truth.position_m[:2]
            errors.append(_distance_to_polyline(p, route))
            speeds.append(abs(float(truth.linear_mps[0])))
            if moving and speeds[-1] < 0.02 and leg.t_reached_s is None:
                stops += 1
            moving = speeds[-1] > 0.1 if not moving else speeds[-1] > 0.02
            d_goal = float(np.hypot(*(p - goals[len(legs) - 1])))
            goal_min = min(goal_min, d_goal)
            if leg.t_reached_s is None and d_goal < scn.goal_radius_m:
                leg.t_reached_s = t / NS
            if (leg.t_reached_s is not None and leg.t_arrived_s is None
                    and d_goal < scn.goal_radius_m and speeds[-1] < STANDSTILL_MPS):
                leg.t_arrived_s = t / NS
        if out.people is not None:
            out_people = out.people
            rec.people(t, out.people)
        if out.people is not None and len(out.people.ids):
            d = np.hypot(*(out.people.positions_m - truth.position_m[:2]).T)
            gaps = d - out.people.radius_m - robot.base.radius_m
            clearance = min(clearance, float(np.min(gaps)))
            for pid, gap in zip(out.people.ids.tolist(), gaps.tolist(), strict=True):
                person_gaps[pid] = min(person_gaps.get(pid, math.inf), gap)
        if out.contacts:
            rec.contacts(out.contacts)
            contacts += [f"{c.other} ({c.other_kind})" for c in out.contacts
                         if f"{c.other} ({c.other_kind})" not in contacts]
        for frame in out.tof:  # depth, already late by the injected latency
            stamp = history_at(history, frame.t_ns)
            if stamp is None:
                continue
            T = _pose_matrix(stamp) @ mount_matrix(mount)
            pts = projector.points_in(frame.images[0], T)
            rxy = tuple(stamp.position_m[:2])
            costmap.set_depth_points(frame.t_ns / NS, pts, rxy, (float(T[0, 3]), float(T[1, 3])))
            static = _static_window(costmap, rxy).distance_at
            static = aligner.align(pts, static, T[:2, 3], detection.min_z_m,
                                   detection.max_z_m).explain(static)
            det = detect_obstacles(pts, T[:2, 3], detection, static, rxy,
                                   projector.side_border(frame.images[0]))
            view = SensorView.of_camera(T, projector.half_fov_rad, projector.min_range_m,
                                        projector.max_range_m)
            tracker.update(frame.t_ns / NS, det.positions, det.radii, view, det.cut)
        if t >= next_cycle_ns:
            next_cycle_ns += period_ns
            seen = history_at(history, t - latency_ns)
            while history and history[0][0] < t - latency_ns - NS:
                history.popleft()
            if seen is None:
                continue
            if last_plan is not None and t / NS <= last_plan.t0_s + 3.0:
                ps = last_plan.state(t / NS)
                tracking.append(float(np.hypot(ps.x_m - truth.position_m[0],
                                               ps.y_m - truth.position_m[1])))
            od = Odometry(max(t - latency_ns, 0) / NS, float(seen.position_m[0]),
                          float(seen.position_m[1]), seen.yaw_rad, float(seen.linear_mps[0]),
                          float(seen.angular_radps[2]), np.eye(2) * 1e-4)
            tracker.prune(t / NS)
            ta = tracker.arrays()
            tracks = Tracks(tracker.t_s if tracker.t_s is not None else t / NS, ta.ids,
                            ta.positions, ta.velocities, ta.covariances, ta.radii)
            distance = costmap.update(t / NS, (od.x_m, od.y_m), (0.0, 0.0, 0.0),
                                      tracks.positions, tracks.radii)
            tick = time.perf_counter()
            res = planner.plan(PlanningInput(t / NS, od, route, version, distance, 0.05,
                                             tracks, floor=floor))
            took_ms = (time.perf_counter() - tick) * 1e3
            with_tracks += len(tracks) > 0
            planner.record_cycle_time(0.0)  # simulated time stands still while it plans
            cycles.append(res.compute_s * 1e3)
            rec.cycle(t, took_ms, res.cmd_v_mps, res.cmd_w_radps)
            last_plan = res.plan
            if opt.trace:
                trace.append(_trace_row(t / NS, truth, out_people, tracks, res))
            pending.append((t + delay_ns, res.cmd_v_mps, res.cmd_w_radps))
            blocked = bool(getattr(res, "blocked", False))
            if leg.t_reached_s is not None and (
                    (res.kind.value == "arrived" and speeds[-1] < 0.01)
                    or t / NS - leg.t_reached_s > ARRIVAL_SETTLE_S):
                leg.status, leg.t_end_s = "reached", t / NS
                if len(legs) == len(goals):
                    break
                route = send(len(legs), t / NS)
                version, goal_min = version + 1, math.inf
            elif t / NS - leg.t_sent_s > scn.goal_timeout_s:
                leg.status, leg.t_end_s = "timeout", t / NS
                break
            elif blocked and not was_blocked and scn.plan_route is not None:
                if scn.report_blocked is not None:
                    scn.report_blocked(route, tuple(truth.position_m[:2]), t / NS)
                try:  # the global planner's replan_on_blocked
                    route = np.asarray(scn.plan_route(tuple(truth.position_m[:2]),
                                                      tuple(goals[len(legs) - 1])), dtype=float)
                    version, leg.replans = version + 1, leg.replans + 1
                except Exception:  # no path from here now (PlanError): keep the old one
                    pass
            was_blocked = blocked
    sim.close()
    t_last = sim.t_ns / NS
    for leg in legs:
        if leg.t_end_s is None:
            leg.t_end_s = t_last
    drift = None
    if fusion is not None:
        drift = fusion.drift(scn.start, np.asarray(rec.truth_t_ns, dtype=np.int64),
                             np.asarray(rec.truth_pose).reshape(-1, 3))
    episode = rec.episode(Episode, robot.base.radius_m, legs)
    jerk = _jerk_rms(np.asarray(rec.truth_v), 1.0 / sim_cfg.ground_truth_rate_hz)
    err = np.asarray(errors) if errors else np.zeros(1)
    trk = np.asarray(tracking) if tracking else np.zeros(1)
    reached = len(legs) == len(goals) and all(g.status == "reached" for g in legs)
    return LoopResult(
        reached, legs[-1].t_reached_s if reached else math.inf,
        float(np.sqrt(np.mean(trk**2))), float(np.sqrt(np.mean(err**2))), float(err.max()),
        jerk, clearance, contacts,
        float(max(speeds, default=0.0)), stops, float(np.median(cycles)) if cycles else 0.0,
        with_tracks, trace, np.asarray(rec.truth_v), 1.0 / sim_cfg.ground_truth_rate_hz,
        np.asarray(rec.truth_pose).reshape(-1, 3)[:, :2], person_gaps, goal_min, legs,
        episode, drift, time.perf_counter() - wall0,
    )


class _Recorder:
    """What a run records, at the ground-truth rate, for :class:`run_metrics.Episode`."""

    def __init__(self) -> None:
        self.truth_t_ns: list[int] = []
        self.truth_pose: list[tuple[float, float, float]] = []
        self.truth_v: list[float] = []
        self.truth_w: list[float] = []
        self.people_t_ns: list[int] = []
        self.people_rows: list[dict[int, tuple[float, float, float]]] = []  # id -> x, y, r
        self.cycle_t_ns: list[int] = []
        self.cycle_ms: list[float] = []
        self.cmd: list[tuple[float, float]] = []
        self._contacts: dict[tuple, object] = {}  # (start, link, other) -> latest Contact

    def truth(self, t_ns: int, truth) -> None:
        self.truth_t_ns.append(t_ns)
        self.truth_pose.append((float(truth.position_m[0]), float(truth.position_m[1]),
                                truth.yaw_rad))
        self.truth_v.append(float(truth.linear_mps[0]))
        self.truth_w.append(float(truth.angular_radps[2]))

    def people(self, t_ns: int, people) -> None:
        self.people_t_ns.append(t_ns)
        self.people_rows.append({
            int(i): (float(xy[0]), float(xy[1]), float(r))
            for i, xy, r in zip(people.ids, people.positions_m, people.radius_m, strict=True)})

    def cycle(self, t_ns: int, ms: float, v: float, w: float) -> None:
        self.cycle_t_ns.append(t_ns)
        self.cycle_ms.append(ms)
        self.cmd.append((v, w))

    def contacts(self, contacts) -> None:
        for c in contacts:  # the simulator repeats a lasting contact in every message
            self._contacts[(c.start_ns, c.robot_link, c.other)] = c

    def episode(self, episode_cls, robot_radius_m: float, legs: list[GoalLeg]):
        from hearth_eval.run_metrics import Contact, GoalRun, merge_contacts

        ids = sorted({i for row in self.people_rows for i in row})
        col = {i: k for k, i in enumerate(ids)}
        xy = np.full((len(self.people_rows), len(ids), 2), np.nan)
        radius = np.full((len(self.people_rows), len(ids)), np.nan)
        for n, row in enumerate(self.people_rows):
            for i, (x, y, r) in row.items():
                xy[n, col[i]] = (x, y)
                radius[n, col[i]] = r
        contacts = [Contact(c.start_ns / NS, None if c.end_ns is None else c.end_ns / NS,
                            c.other, c.other_kind, float(c.max_normal_force_n))
                    for c in self._contacts.values() if c.other_kind not in NOT_SOLID_KINDS]
        cmd = np.asarray(self.cmd, dtype=float).reshape(-1, 2)
        # a goal's run ends when the robot stands at it (arrived), else when it ended
        goals = [GoalRun(g.name, g.goal_xy[0], g.goal_xy[1], g.t_sent_s,
                         g.t_arrived_s if g.t_arrived_s is not None else g.t_end_s, g.status)
                 for g in legs]
        return episode_cls(
            robot_radius_m=robot_radius_m,
            truth_t_s=np.asarray(self.truth_t_ns, dtype=float) / NS,
            truth_pose=np.asarray(self.truth_pose, dtype=float).reshape(-1, 3),
            truth_v_mps=np.asarray(self.truth_v, dtype=float),
            truth_w_radps=np.asarray(self.truth_w, dtype=float),
            people_t_s=np.asarray(self.people_t_ns, dtype=float) / NS,
            people_xy=xy, people_radius_m=radius,
            cycle_t_s=np.asarray(self.cycle_t_ns, dtype=float) / NS,
            cycle_ms=np.asarray(self.cycle_ms, dtype=float),
            cmd_t_s=np.asarray(self.cycle_t_ns, dtype=float) / NS,
            cmd_v_mps=cmd[:, 0], cmd_w_radps=cmd[:, 1],
            contacts=merge_contacts(contacts), goals=goals,
            plans=[(g.t_sent_s, g.route) for g in legs],
        )


def _trace_row(t_s: float, truth, people, tracks, res) -> dict:
    row = {"t": t_s, "xy": truth.position_m[:2].copy(), "yaw": truth.yaw_rad,
           "v": float(truth.linear_mps[0]), "w": float(truth.angular_radps[2]),
           "kind": res.kind.value, "cmd": (res.cmd_v_mps, res.cmd_w_radps),
           "terms": dict(res.best_terms), "tracks_xy": tracks.positions.copy(),
           "tracks_v": tracks.velocities.copy(), "tracks_id": tracks.ids.copy()}
    if people is not None:
        row["people_xy"] = people.positions_m.copy()
    if res.plan is not None:
        row["plan_x"] = res.plan.roll.x[0].copy()
        row["plan_y"] = res.plan.roll.y[0].copy()
    return row


def history_at(history: deque, t_ns: int):
    """The latest ground-truth sample at or before ``t_ns`` (None before the first)."""
    best = None
    for ts, truth in history:
        if ts > t_ns:
            break
        best = truth
    return best


def _pose_matrix(truth) -> np.ndarray:
    w, x, y, z = truth.quat_wxyz
    T = np.eye(4)
    T[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    T[:3, 3] = truth.position_m
    return T


def mount_matrix(mount) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = mount.rotation
    T[:3, 3] = mount.translation_m
    return T


def _static_window(costmap, centre_xy):
    """The home's map around ``centre_xy`` with its distance field, for the detector: what
    the map explains is no obstacle to track."""
    from hearth_perception.local_costmap import LocalCostmap

    window = LocalCostmap(10.0, 0.05)
    window.update(np.asarray(centre_xy, dtype=float), None,
                  costmap.static_map.in_odom((0.0, 0.0, 0.0)))
    return window


def _jerk_rms(v: np.ndarray, dt_s: float, smooth_s: float = 0.1) -> float:
    """RMS of the second derivative of the true forward speed, smoothed over ``smooth_s``
    (the physics' contact chatter is no jerk a passenger feels)."""
    if len(v) < 5:
        return 0.0
    n = max(1, round(smooth_s / dt_s))
    vs = np.convolve(v, np.ones(n) / n, mode="valid")[::n]
    h = n * dt_s
    j = np.diff(vs, 2) / h**2
    return float(np.sqrt(np.mean(j**2))) if len(j) else 0.0
