"""The local planner in closed loop on the simulator, in one process (no ROS).

MuJoCo simulates the robot in a home with scripted people (:class:`ScriptedCrowd`); the
robot's own perception runs as the nodes do it, without ROS: the ToF depth becomes points
(hearth_perception's projector, the URDF's mounting), which feed the local costmap (with the
home's map) and the obstacle tracker (hearth_perception's detection and Kalman tracker); the
tracks, never the simulator's people, are the planner's people. The planner
(``hearth_trajectory.planner.LocalPlanner``) runs at 10 Hz on simulated time, its command
reaches the motors ``actuation_delay_s`` later. Ground truth is only measured.

Sensing latency can be injected (``sensing_latency_s``): /odom (the true pose, as a perfect
odometry would give it) and the depth frames reach the planner that much late.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass, field

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
    name: str
    home: str
    start: tuple[float, float, float]  # world x, y, yaw
    route: np.ndarray  # (M, 2) the global path, world = map = odom (true odometry)
    crowd: ScriptedCrowd | None = None
    duration_s: float = 25.0
    goal_radius_m: float = 0.25
    # Pieces added to the home (hearth_sim's HomeChanges.added): in /map too when
    # ``added_mapped`` (known clutter), else only in the world (the ToF finds them).
    added: tuple = ()
    added_mapped: bool = True


@dataclass
class LoopOptions:
    sensing_latency_s: float = 0.0
    latency_compensation: bool = True
    actuation_delay_s: float = 0.05
    candidates: int = 1000
    seed: int = 0
    trace: bool = False  # keep a per-cycle record (LoopResult.trace) for diagnosis
    planner_overrides: dict = field(default_factory=dict)  # LocalPlannerConfig fields
    tracker_overrides: dict = field(default_factory=dict)  # TrackerParams fields


@dataclass
class LoopResult:
    reached: bool
    time_s: float
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
    # Per person (by crowd index): the smallest gap between the discs (m).
    person_gaps_m: dict[int, float] = field(default_factory=dict)
    # The closest the robot came to the goal (m).
    goal_distance_min_m: float = math.inf

    @property
    def solid_contacts(self) -> list[str]:
        """Contacts with people, walls, doors and furniture (not the rug or the floor the
        wheels and the chassis ride on)."""
        return [c for c in self.contacts if not c.endswith(("(rug)", "(floor)", "(threshold)"))]


def _distance_to_polyline(p: np.ndarray, route: np.ndarray) -> float:
    a, b = route[:-1], route[1:]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab),
                                                               1e-12), 0.0, 1.0)
    return float(np.min(np.hypot(*(a + t[:, None] * ab - p).T)))


def run_scenario(scn: Scenario, opt: LoopOptions) -> LoopResult:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from hearth_common.config import load_config
    from hearth_description.robot_model import expand_xacro, load_robot_params
    from hearth_perception.depth_points import DepthProjector
    from hearth_perception.obstacle_detection import DetectionParams, detect_obstacles
    from hearth_perception.obstacle_tracker import ObstacleTracker, SensorView, TrackerParams
    from hearth_planning.map_io import load_map
    from hearth_safety.mounting import frame_in_base
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import apply_changes, maps_dir, resolve_home
    from hearth_sim.home.model import HomeChanges
    from hearth_sim.home.occupancy import rasterize
    from hearth_sim.mujoco_sim import MujocoSim, camera_intrinsics
    from hearth_trajectory.config import LocalPlannerConfig, motion_limits, planner_params
    from hearth_trajectory.local_costmap_input import LocalCostmapInput
    from hearth_trajectory.people_forecast import Tracks
    from hearth_trajectory.planner import LocalPlanner, Odometry, PlanningInput

    robot = load_robot_params()
    home = resolve_home(scn.home)
    if scn.added:
        home = apply_changes(home, HomeChanges(f"{scn.name}: added", added=tuple(scn.added)))
    sim_cfg = load_config(SimConfig, {
        # The ToF at its rate; the other cameras, which the planner does not use, once at
        # the start (their first frame) and then not within any run.
        "render_cameras": True, "stereo_rate_hz": 1e-3, "screen_camera_rate_hz": 1e-3,
        "shadow_map_px": 256, "home_file": scn.home, "seed": opt.seed,
        "start_pose": f"{scn.start[0]} {scn.start[1]} {scn.start[2]}",
        "tof_latency_s": opt.sensing_latency_s,
    })
    sim = MujocoSim(home, robot, sim_cfg, people=scn.crowd)
    cfg = load_config(LocalPlannerConfig, {
        # Simulated time stands still while the planner thinks: no shedding (a wall-clock
        # matter), so a run depends on its seed only, not on the machine's load.
        "candidates": opt.candidates, "min_candidates": opt.candidates,
        "latency_compensation": opt.latency_compensation,
        "actuation_delay_s": opt.actuation_delay_s, **opt.planner_overrides,
    })
    planner = LocalPlanner(motion_limits(cfg, robot), planner_params(cfg, robot))
    intr = camera_intrinsics(robot, sim_cfg)["tof"]
    mount = frame_in_base(expand_xacro(), "tof_optical")
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
    tracker = ObstacleTracker(TrackerParams(**opt.tracker_overrides))
    detection = DetectionParams(self_radius_m=robot.base.radius_m + 0.05)

    period_ns = NS // 10
    delay_ns = round(opt.actuation_delay_s * NS)
    latency_ns = round(opt.sensing_latency_s * NS)
    history: deque = deque()  # (t_ns, truth) for delayed odometry
    pending: deque = deque()  # (t_apply_ns, v, w)
    cmd = (0.0, 0.0)
    route = np.asarray(scn.route, dtype=float)
    goal = route[-1]
    errors, speeds, clearance, contacts, cycles = [], [], math.inf, [], []
    tracking: list[float] = []
    trace: list[dict] = []
    out_people = None
    person_gaps: dict[int, float] = {}
    goal_min = math.inf
    last_plan = None
    with_tracks = 0
    v_hist: list[float] = []
    xy_hist: list[np.ndarray] = []
    reached_at: float | None = None
    next_cycle_ns = 0
    stops, moving = 0, False
    truth = sim.robot_truth()
    end_ns = round(scn.duration_s * NS)
    while sim.t_ns < end_ns:
        out = sim.step(*cmd)
        t = sim.t_ns
        while pending and pending[0][0] <= t:
            _, v, w = pending.popleft()
            cmd = (v, w)
        if out.truth is not None:
            truth = out.truth
            history.append((t, truth))
            p = truth.position_m[:2]
            errors.append(_distance_to_polyline(p, route))
            v_hist.append(float(truth.linear_mps[0]))
            xy_hist.append(p.copy())
            speeds.append(abs(float(truth.linear_mps[0])))
            if moving and speeds[-1] < 0.02 and reached_at is None:
                stops += 1
            moving = speeds[-1] > 0.1 if not moving else speeds[-1] > 0.02
            goal_min = min(goal_min, float(np.hypot(*(p - goal))))
            if reached_at is None and goal_min < scn.goal_radius_m:
                reached_at = t / NS
        if out.people is not None:
            out_people = out.people
        if out.people is not None and len(out.people.ids):
            d = np.hypot(*(out.people.positions_m - truth.position_m[:2]).T)
            gaps = d - out.people.radius_m - robot.base.radius_m
            clearance = min(clearance, float(np.min(gaps)))
            for pid, gap in zip(out.people.ids.tolist(), gaps.tolist(), strict=True):
                person_gaps[pid - 1] = min(person_gaps.get(pid - 1, math.inf), gap)
        if out.contacts:
            contacts += [f"{c.other} ({c.other_kind})" for c in out.contacts
                         if f"{c.other} ({c.other_kind})" not in contacts]
        for frame in out.tof:  # depth, already late by the injected latency
            stamp = history_at(history, frame.t_ns)
            if stamp is None:
                continue
            T = _pose_matrix(stamp) @ mount_matrix(mount)
            pts = projector.points_in(frame.images[0], T)
            rxy = tuple(stamp.position_m[:2])
            costmap.set_depth_points(frame.t_ns / NS, pts, rxy)
            static = _static_window(costmap, rxy)
            det = detect_obstacles(pts, T[:2, 3], detection, static.distance_at, rxy,
                                   projector.side_border(frame.images[0]))
            view = SensorView.of_camera(T, projector.half_fov_rad, projector.min_range_m,
                                        projector.max_range_m)
            tracker.update(frame.t_ns / NS, det.positions, det.radii, view)
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
            res = planner.plan(PlanningInput(t / NS, od, route, 1, distance, 0.05, tracks))
            with_tracks += len(tracks) > 0
            planner.record_cycle_time(0.0)  # simulated time stands still while it plans
            cycles.append(res.compute_s * 1e3)
            last_plan = res.plan
            if opt.trace:
                trace.append(_trace_row(t / NS, truth, out_people, tracks, res))
            pending.append((t + delay_ns, res.cmd_v_mps, res.cmd_w_radps))
            if reached_at is not None and res.kind.value == "arrived" and speeds[-1] < 0.01:
                break
    sim.close()
    jerk = _jerk_rms(np.asarray(v_hist), 1.0 / sim_cfg.ground_truth_rate_hz)
    err = np.asarray(errors)
    trk = np.asarray(tracking) if tracking else np.zeros(1)
    return LoopResult(
        reached_at is not None, reached_at if reached_at is not None else math.inf,
        float(np.sqrt(np.mean(trk**2))), float(np.sqrt(np.mean(err**2))), float(err.max()),
        jerk, clearance, contacts,
        float(max(speeds, default=0.0)), stops, float(np.median(cycles)) if cycles else 0.0,
        with_tracks, trace, np.asarray(v_hist), 1.0 / sim_cfg.ground_truth_rate_hz,
        np.asarray(xy_hist).reshape(-1, 2), person_gaps, goal_min,
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
