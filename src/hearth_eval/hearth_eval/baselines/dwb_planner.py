"""A dynamic-window sampler with Nav2 DWB's default critics and sampling (issue 9, variant f).

:class:`DwbPlanner` is hearth's ``LocalPlanner`` with only the choice of the trajectory
replaced (``_optimise``), so the start state, latency compensation, arrival and stopping are
the same as hearth's; what it commands is what DWB commands: the (v, w) of its best sample,
held, which the robot's motor board ramps to within its acceleration limits.

What DWB does each cycle (nav2_dwb_controller, the defaults of nav2_bringup's
``nav2_params.yaml`` and of the plugins' code):

* **Samples** (``XYThetaIterator``): ``vx_samples`` = 20 linear and ``vtheta_samples`` = 20
  angular velocities spread evenly over the window reachable from the current velocity
  within the acceleration limits, zero added where the window straddles it, every pair
  except (0, 0) (``KinematicParameters::isValidSpeed``).
* **Rollouts** over ``sim_time`` = 1.7 s, Euler steps no longer than
  ``linear_granularity`` = 0.05 m / ``angular_granularity`` = 0.025 rad. The window and the
  rollouts depend on the trajectory generator:

  - ``"limited_accel"`` (``LimitedAccelGenerator``, the default here: a *dynamic window*):
    the window is what the acceleration limits reach in one control period (hearth's
    0.1 s; Nav2's controller runs at 20 Hz) and each sample is rolled out at constant
    velocity;
  - ``"standard"`` (``StandardTrajectoryGenerator``, Nav2's default plugin): the window is
    what they reach in ``sim_time`` (so nearly all speeds), and each rollout ramps to its
    sample at the acceleration limits.

* **Critics**, each ``scale`` times a raw score, summed; the lowest total wins, and a
  trajectory any critic finds illegal is out (:class:`DwbParams` has the scales):

  - ``BaseObstacle``: the inflated costmap's cost (0..252) at the last pose; a pose on a
    lethal or inscribed cell, or off the grid, is illegal. The costmap: hearth's local
    costmap (depth + /map) inflated as Nav2's ``InflationLayer`` does (``inflation_radius``
    0.55 m, ``cost_scaling_factor`` 3, inscribed radius = the robot's), with the tracked
    people as discs where the tracks last saw them (a costmap does not predict);
  - ``PathDist`` / ``GoalDist``: Manhattan distance in cells from the last pose to the
    nearest cell of the (pruned) global plan / to its last cell on the costmap;
  - ``PathAlign`` / ``GoalAlign``: the same for the point ``forward_point_distance`` (0.1 m)
    ahead of the last pose (GoalAlign's target is moved that far towards the goal;
    PathAlign is off within that distance of the goal); these four weigh
    ``scale * resolution / 2`` per cell (``MapGridCritic::getScale``);
  - ``Oscillation``: a command reversing the sign of v (or of w, when v ~ 0) before the
    robot has moved 0.05 m or turned 0.2 rad since the last reversal is illegal;
  - ``RotateToGoal``: within ``xy_goal_tolerance`` (0.25 m) of the goal: slow down, then
    only turn in place towards the goal's heading.

* The global plan given to the critics is pruned as ``DWBLocalPlanner::transformGlobalPlan``
  does (``prune_distance`` = ``forward_prune_distance`` = 2 m), resampled to the costmap's
  resolution (``adjustPlanResolution``).

What had to be adapted, and why: the robot's own limits replace the example's turtlebot
ones (so backing off at up to ``reverse_speed_mps`` is sampled, as hearth may); hearth's
10 Hz replaces Nav2's 20 Hz; the goal's heading (hearth's paths have none) is the path's
last segment's; when no trajectory is legal DWB raises and the controller server stops the
robot (then the behaviour tree recovers): here the robot stops for that cycle and DWB tries
again the next; Nav2's goal checker is hearth's (the shared arrival logic); there is no
progress checker or recovery behaviour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from hearth_trajectory.critics import Scene
from hearth_trajectory.fields import GridField, resample_path
from hearth_trajectory.planner import LocalPlanner, PlannerParams, PlanningInput, PlanResult
from hearth_trajectory.trajectory_space import MotionLimits, Rollouts, StartState

LETHAL, INSCRIBED = 254, 253  # nav2_costmap_2d/cost_values.hpp
EPSILON = 1e-5  # OneDVelocityIterator's


@dataclass(frozen=True)
class DwbParams:
    """Nav2 DWB's defaults (nav2_bringup ``nav2_params.yaml``, else the plugins' code)."""

    generator: str = "limited_accel"  # or "standard" (see the module docstring)
    vx_samples: int = 20
    vtheta_samples: int = 20
    sim_time_s: float = 1.7
    linear_granularity_m: float = 0.05
    angular_granularity_rad: float = 0.025
    prune_distance_m: float = 2.0
    forward_prune_distance_m: float = 2.0
    # critics
    base_obstacle_scale: float = 0.02
    path_align_scale: float = 32.0
    path_align_forward_point_m: float = 0.1
    goal_align_scale: float = 24.0
    goal_align_forward_point_m: float = 0.1
    path_dist_scale: float = 32.0
    goal_dist_scale: float = 24.0
    rotate_to_goal_scale: float = 32.0
    rotate_to_goal_slowing_factor: float = 5.0
    xy_goal_tolerance_m: float = 0.25
    trans_stopped_velocity_mps: float = 0.25
    oscillation_reset_dist_m: float = 0.05
    oscillation_reset_angle_rad: float = 0.2
    x_only_threshold_mps: float = 0.05
    # the local costmap's inflation layer
    inflation_radius_m: float = 0.55
    cost_scaling_factor: float = 3.0

    def __post_init__(self) -> None:
        if self.generator not in ("limited_accel", "standard"):
            raise ValueError(f"generator must be limited_accel or standard, got "
                             f"{self.generator!r}")


# -- sampling and rollouts ----------------------------------------------------------------------


def project_velocity(v0: np.ndarray, accel: float, decel: float, dt_s: np.ndarray | float,
                     target: np.ndarray | float) -> np.ndarray:
    """DWB's ``projectVelocity``: from ``v0`` towards ``target`` within ``accel`` (up) and
    ``decel`` (down, negative) over ``dt_s``, not past the target."""
    v0 = np.asarray(v0, dtype=float)
    return np.where(v0 < target, np.minimum(target, v0 + accel * dt_s),
                    np.maximum(target, v0 + decel * dt_s))


def window_samples(current: float, lo: float, hi: float, accel: float, acc_time_s: float,
                   n: int) -> np.ndarray:
    """One axis of DWB's samples (``OneDVelocityIterator``): ``n`` values spread evenly over
    what ``accel`` reaches from ``current`` (clamped to [lo, hi]) in ``acc_time_s``, with 0
    added where the window straddles it."""
    c = min(max(current, lo), hi)
    top = float(project_velocity(c, accel, -accel, acc_time_s, hi))
    bottom = float(project_velocity(c, accel, -accel, acc_time_s, lo))
    if abs(top - bottom) < EPSILON:
        return np.array([bottom])
    vals = bottom + np.arange(max(2, n)) * (top - bottom) / (max(2, n) - 1)
    if bottom < 0.0 < top and not np.any(vals == 0.0):
        vals = np.sort(np.append(vals, 0.0))
    return vals


def dynamic_window(start: StartState, limits: MotionLimits, acc_time_s: float, nv: int,
                   nw: int) -> np.ndarray:
    """(N, 2) (v, w) samples in DWB's order (v outer, w inner), without (0, 0)."""
    lin, ang = limits.linear, limits.angular
    vs = window_samples(start.v_mps, lin.min_velocity, lin.max_velocity, lin.max_accel,
                        acc_time_s, nv)
    ws = window_samples(start.w_radps, ang.min_velocity, ang.max_velocity, ang.max_accel,
                        acc_time_s, nw)
    v, w = np.meshgrid(vs, ws, indexing="ij")
    pairs = np.column_stack([v.ravel(), w.ravel()])
    speed_ok = np.abs(pairs[:, 0]) <= max(lin.max_velocity, -lin.min_velocity)
    return pairs[speed_ok & ~((pairs[:, 0] == 0.0) & (pairs[:, 1] == 0.0))]


@dataclass
class DwbRollouts:
    """Poses (N, K+1) of each sample's trajectory; a sample with fewer steps than K holds its
    last pose (as ``include_last_point`` repeats it)."""

    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray


def dwb_rollouts(start: StartState, samples: np.ndarray, limits: MotionLimits,
                 d: DwbParams) -> DwbRollouts:
    """DWB's trajectories of ``samples`` from ``start`` (``generateTrajectory``): each in
    ``ceil(max(|v| T / lin_gran, |w| T / ang_gran))`` Euler steps of equal length over
    ``T = sim_time``; the velocity ramps to the sample within the acceleration limits
    (``standard``) or is the sample throughout (``limited_accel``)."""
    vt, wt = samples[:, 0], samples[:, 1]
    steps = np.ceil(np.maximum(np.abs(vt) * d.sim_time_s / d.linear_granularity_m,
                               np.abs(wt) * d.sim_time_s / d.angular_granularity_rad))
    steps = np.maximum(steps, 1).astype(int)
    dt = d.sim_time_s / steps
    n, k_max = len(samples), int(steps.max())
    x, y, yaw = (np.empty((n, k_max + 1)) for _ in range(3))
    x[:, 0], y[:, 0], yaw[:, 0] = start.x_m, start.y_m, start.yaw_rad
    v = np.full(n, start.v_mps)
    w = np.full(n, start.w_radps)
    ramp = d.generator == "standard"
    lin, ang = limits.linear, limits.angular
    for k in range(k_max):
        if ramp:
            v = project_velocity(v, lin.max_accel, -lin.max_accel, dt, vt)
            w = project_velocity(w, ang.max_accel, -ang.max_accel, dt, wt)
        else:
            v, w = vt, wt
        on = k < steps
        th = yaw[:, k]
        x[:, k + 1] = np.where(on, x[:, k] + v * np.cos(th) * dt, x[:, k])
        y[:, k + 1] = np.where(on, y[:, k] + v * np.sin(th) * dt, y[:, k])
        yaw[:, k + 1] = np.where(on, th + w * dt, th)
    return DwbRollouts(x, y, yaw)


def ramp_rollout(start: StartState, target_vw: tuple[float, float], limits: MotionLimits,
                 horizon_s: float, dt_s: float = 0.02) -> Rollouts:
    """The motion a held (v, w) command makes: each axis ramps from the start's velocity to
    the target at its acceleration limit, then holds (the motor board's behaviour, and
    DWB's model of it). As one :class:`Rollouts` on a fine grid, for the committed plan."""
    n = round(horizon_s / dt_s)
    t = dt_s * np.arange(n + 1)
    vel, acc = np.empty((2, 1, n + 1)), np.empty((2, 1, n + 1))
    for ax, (v0, r, a_max) in enumerate(((start.v_mps, target_vw[0], limits.linear.max_accel),
                                         (start.w_radps, target_vw[1],
                                          limits.angular.max_accel))):
        s = math.copysign(1.0, r - v0)
        t_reach = abs(r - v0) / a_max
        vel[ax, 0] = np.where(t < t_reach, v0 + s * a_max * t, r)
        acc[ax, 0] = np.where(t < t_reach - 1e-12, s * a_max, 0.0)
    jerk = np.diff(acc, axis=2) / dt_s
    x, y, yaw = np.empty((1, n + 1)), np.empty((1, n + 1)), np.empty((1, n + 1))
    x[0, 0], y[0, 0], yaw[0, 0] = start.x_m, start.y_m, start.yaw_rad
    h = dt_s
    for k in range(n):  # the within-step polynomials, as trajectory_space's rollout integrates
        v0, a0, jv = vel[0, 0, k], acc[0, 0, k], jerk[0, 0, k]
        w0, al0, jw = vel[1, 0, k], acc[1, 0, k], jerk[1, 0, k]
        yaw_mid = yaw[0, k] + 0.5 * w0 * h + 0.125 * al0 * h * h + jw * h**3 / 48.0
        ds = (v0 + 0.5 * a0 * h + 0.125 * jv * h * h) * h
        x[0, k + 1] = x[0, k] + ds * math.cos(yaw_mid)
        y[0, k + 1] = y[0, k] + ds * math.sin(yaw_mid)
        yaw[0, k + 1] = yaw[0, k] + w0 * h + 0.5 * al0 * h * h + jw * h**3 / 6.0
    return Rollouts(dt_s, vel, acc, jerk, x, y, yaw)


# -- the costmap and the critics ----------------------------------------------------------------


@dataclass
class Costmap:
    """The local costmap's grid: distance (m) from each cell centre to the nearest obstacle."""

    grid: GridField

    def cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ix, iy, on_grid) of the cells holding points (``worldToMap``)."""
        g = self.grid
        ix = np.floor((x - g.origin_xy[0]) / g.resolution_m).astype(np.int64)
        iy = np.floor((y - g.origin_xy[1]) / g.resolution_m).astype(np.int64)
        h, w = g.values.shape
        return ix, iy, (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)

    def costs(self, x: np.ndarray, y: np.ndarray, people_xy: np.ndarray,
              people_r: np.ndarray, robot_radius_m: float, d: DwbParams
              ) -> tuple[np.ndarray, np.ndarray]:
        """Nav2's inflated cost (0..254) of the cells holding points, and whether they are
        on the grid. People are discs of their radius (their cells occupied)."""
        g = self.grid
        ix, iy, on = self.cells(x, y)
        h, w = g.values.shape
        dist = g.values[np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)].astype(float)
        if len(people_xy):
            cx = g.origin_xy[0] + (ix + 0.5) * g.resolution_m
            cy = g.origin_xy[1] + (iy + 0.5) * g.resolution_m
            gap = (np.hypot(cx[..., None] - people_xy[:, 0], cy[..., None] - people_xy[:, 1])
                   - people_r)
            dist = np.minimum(dist, np.maximum(gap, 0.0).min(axis=-1))
        factor = np.exp(-d.cost_scaling_factor * (dist - robot_radius_m))
        cost = np.where(dist <= d.inflation_radius_m, np.floor((INSCRIBED - 1) * factor), 0.0)
        cost = np.where(dist <= robot_radius_m, INSCRIBED, cost)
        cost = np.where(dist <= 1e-9, LETHAL, cost)
        return cost, on


def manhattan_cells(costmap: Costmap, x: np.ndarray, y: np.ndarray,
                    seeds_xy: np.ndarray) -> np.ndarray:
    """The map-grid critics' cell value: Manhattan distance (cells) from the cell of each
    point to the nearest seed cell (``MapGridCritic``'s queue: all cells reachable)."""
    px, py, _ = costmap.cells(x, y)
    sx, sy, _ = costmap.cells(seeds_xy[:, 0], seeds_xy[:, 1])
    return np.min(np.abs(px[..., None] - sx) + np.abs(py[..., None] - sy), axis=-1)


class CommandTrend:
    """OscillationCritic's ``CommandTrend`` for one axis."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sign = 0
        self.positive_only = False
        self.negative_only = False

    def update(self, velocity: float) -> bool:
        flag_set = False
        if velocity < 0.0:
            if self.sign > 0:
                self.negative_only = flag_set = True
            self.sign = -1
        elif velocity > 0.0:
            if self.sign < 0:
                self.positive_only = flag_set = True
            self.sign = 1
        return flag_set

    def oscillating(self, velocity: np.ndarray) -> np.ndarray:
        return (self.positive_only & (velocity < 0.0)) | (self.negative_only & (velocity > 0.0))

    @property
    def flipped(self) -> bool:
        return self.positive_only or self.negative_only


# -- the planner ----------------------------------------------------------------------------------


class DwbPlanner(LocalPlanner):
    """hearth's planning cycle with DWB choosing the command (module docstring). People are
    seen as DWB's costmap holds them: where the tracks last saw them (no prediction)."""

    def __init__(self, limits: MotionLimits, params: PlannerParams | None = None,
                 dwb: DwbParams | None = None):
        super().__init__(limits, replace(params or PlannerParams(), predict_people=False))
        self.dwb = dwb or DwbParams()
        self._input: PlanningInput | None = None
        self._command_vw: tuple[float, float] | None = None
        self._dwb_path_version: int | None = None
        self._plan_xy = np.zeros((0, 2))  # the global plan, pruned as DWB prunes it
        self._x_trend, self._w_trend = CommandTrend(), CommandTrend()
        self._stationary_pose = (0.0, 0.0, 0.0)
        self._in_window = False
        self._rotating = False

    def _plan(self, inp: PlanningInput) -> PlanResult:
        self._input = inp
        self._command_vw = None
        return super()._plan(inp)

    def _command(self, now: float, t_eff: float) -> tuple[float, float]:
        """DWB's command: its best sample, held (a stop goes out as hearth's)."""
        if self._command_vw is not None:
            return self._command_vw
        return super()._command(now, t_eff)

    # -- the global plan as DWB sees it -----------------------------------------------------

    def _set_plan(self, inp: PlanningInput, resolution_m: float) -> None:
        if inp.path_version != self._dwb_path_version:  # setPlan: a new plan resets critics
            self._dwb_path_version = inp.path_version
            pts, _ = resample_path(np.asarray(inp.path_xy, dtype=float), resolution_m)
            self._plan_xy = pts
            self._x_trend.reset()
            self._w_trend.reset()
            self._in_window = self._rotating = False

    def _transformed_plan(self, start: StartState, half_size_m: float) -> np.ndarray:
        """``transformGlobalPlan``: prune what lies behind, keep the part near the robot."""
        d = self.dwb
        pts = self._plan_xy
        if len(pts) == 0:
            return pts
        dist = np.hypot(pts[:, 0] - start.x_m, pts[:, 1] - start.y_m)
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        after = np.flatnonzero(cum > d.prune_distance_m)
        prune_point = int(after[0]) if len(after) else len(pts)
        near = np.flatnonzero(dist[:prune_point] < min(half_size_m, d.prune_distance_m))
        begin = int(near[0]) if len(near) else prune_point
        far = np.flatnonzero(dist[begin:] > min(half_size_m, d.forward_prune_distance_m))
        end = begin + int(far[0]) if len(far) else len(pts)
        self._plan_xy = pts[begin:]
        return pts[begin:end]

    # -- the choice -------------------------------------------------------------------------

    def _optimise(self, scene: Scene, start: StartState, shift: int) -> dict:
        d, lim, p = self.dwb, self.limits, self.p
        inp = self._input
        if inp.path_xy is None or len(inp.path_xy) == 0:
            raise ValueError("the DWB baseline follows a path only (no follow mode)")
        grid = scene.distance
        if grid is None:  # nothing seen: an empty costmap around the robot
            grid = GridField((start.x_m - 3.0, start.y_m - 3.0), 0.05, np.full((120, 120), 1e3))
        costmap = Costmap(grid)
        res = grid.resolution_m
        self._set_plan(inp, res)
        half = max(grid.values.shape) * res / 2.0
        plan = self._transformed_plan(start, half)
        goal = np.asarray(inp.path_xy, dtype=float)[-1]
        tail = np.asarray(inp.path_xy, dtype=float)[-2:]
        goal_yaw = (math.atan2(tail[-1, 1] - tail[0, 1], tail[-1, 0] - tail[0, 0])
                    if len(tail) == 2 else start.yaw_rad)

        acc_time = d.sim_time_s if d.generator == "standard" else p.period_s
        samples = dynamic_window(start, lim, acc_time, d.vx_samples, d.vtheta_samples)
        roll = dwb_rollouts(start, samples, lim, d)
        n = len(samples)
        legal = np.ones(n, dtype=bool)
        raw: dict[str, np.ndarray] = {}
        scale: dict[str, float] = {}

        # BaseObstacle: every pose checked, the last one scored (sum_scores false).
        people = scene.people
        pxy = people.means[:, 0] if len(people) else np.zeros((0, 2))
        cost, on = costmap.costs(roll.x, roll.y, pxy, people.radii, scene.robot_radius_m, d)
        legal &= np.all(on & (cost < INSCRIBED), axis=1)
        raw["BaseObstacle"], scale["BaseObstacle"] = cost[:, -1], d.base_obstacle_scale

        # The map-grid critics on the pruned plan's cells on the costmap.
        _, _, plan_on = costmap.cells(plan[:, 0], plan[:, 1]) if len(plan) else (0, 0,
                                                                                 np.zeros(0))
        first_on = np.flatnonzero(plan_on)
        if len(first_on) == 0:  # "None of the points of the global plan were in the costmap"
            return self._no_trajectory(scene, start, roll, n)
        run = plan[first_on[0]:]
        off = np.flatnonzero(~plan_on[first_on[0]:])
        run = run[:off[0]] if len(off) else run
        grid_scale = 0.5 * res
        xl, yl, yawl = roll.x[:, -1], roll.y[:, -1], roll.yaw[:, -1]
        legal &= np.all(on, axis=1)  # PathDist/GoalDist look at every pose: off grid is out
        raw["PathDist"] = manhattan_cells(costmap, xl, yl, run)
        scale["PathDist"] = d.path_dist_scale * grid_scale
        local_goal = run[-1]
        raw["GoalDist"] = manhattan_cells(costmap, xl, yl, local_goal[None])
        scale["GoalDist"] = d.goal_dist_scale * grid_scale
        fa = d.path_align_forward_point_m
        fx, fy = xl + fa * np.cos(yawl), yl + fa * np.sin(yawl)
        if math.hypot(start.x_m - goal[0], start.y_m - goal[1]) > fa:
            _, _, f_on = costmap.cells(fx, fy)
            legal &= f_on
            raw["PathAlign"] = manhattan_cells(costmap, fx, fy, run)
            scale["PathAlign"] = d.path_align_scale * grid_scale
        fg = d.goal_align_forward_point_m
        to_goal = math.atan2(goal[1] - start.y_m, goal[0] - start.x_m)
        target = local_goal + fg * np.array([math.cos(to_goal), math.sin(to_goal)])
        _, _, t_on = costmap.cells(target[None, 0], target[None, 1])
        if not t_on[0]:
            target = local_goal
        gx, gy = xl + fg * np.cos(yawl), yl + fg * np.sin(yawl)
        _, _, g_on = costmap.cells(gx, gy)
        legal &= g_on
        raw["GoalAlign"] = manhattan_cells(costmap, gx, gy, target[None])
        scale["GoalAlign"] = d.goal_align_scale * grid_scale

        # Oscillation.
        legal &= ~self._x_trend.oscillating(samples[:, 0])
        legal &= ~self._w_trend.oscillating(samples[:, 1])

        # RotateToGoal.
        speed_sq = start.v_mps**2
        self._in_window |= math.hypot(start.x_m - goal[0],
                                      start.y_m - goal[1]) <= d.xy_goal_tolerance_m
        self._rotating |= self._in_window and speed_sq <= d.trans_stopped_velocity_mps**2
        rot = np.zeros(n)
        if self._in_window:
            yaw_err = np.abs((goal_yaw - roll.yaw[:, -1] + math.pi) % (2 * math.pi) - math.pi)
            if self._rotating:
                legal &= samples[:, 0] == 0.0
                rot = yaw_err
            else:
                legal &= samples[:, 0] ** 2 < speed_sq
                rot = samples[:, 0] ** 2 * d.rotate_to_goal_slowing_factor + yaw_err
        raw["RotateToGoal"], scale["RotateToGoal"] = rot, d.rotate_to_goal_scale

        total = sum(scale[k] * raw[k] for k in raw)
        if not legal.any():
            return self._no_trajectory(scene, start, roll, n)
        total = np.where(legal, total, np.inf)
        i = int(np.argmin(total))  # the first of equals, in DWB's order
        cmd = (float(samples[i, 0]), float(samples[i, 1]))
        self._debrief(cmd, start)
        return self._result(scene, start, cmd, float(total[i]),
                            {k: scale[k] * float(raw[k][i]) for k in raw}, roll, total, n)

    def _debrief(self, cmd: tuple[float, float], start: StartState) -> None:
        """OscillationCritic::debrief with the command sent."""
        d = self.dwb
        flag = self._x_trend.update(cmd[0])
        if d.x_only_threshold_mps < 0.0 or abs(cmd[0]) <= d.x_only_threshold_mps:
            flag |= self._w_trend.update(cmd[1])
        pose = (start.x_m, start.y_m, start.yaw_rad)
        if flag:
            self._stationary_pose = pose
        if self._x_trend.flipped or self._w_trend.flipped:
            sx, sy, syaw = self._stationary_pose
            if (math.hypot(pose[0] - sx, pose[1] - sy) > d.oscillation_reset_dist_m
                    or abs(pose[2] - syaw) > d.oscillation_reset_angle_rad):
                self._x_trend.reset()
                self._w_trend.reset()

    def _no_trajectory(self, scene: Scene, start: StartState, roll: DwbRollouts,
                       n: int) -> dict:
        """No legal trajectory: DWB raises, the controller stops the robot this cycle."""
        self._debrief((0.0, 0.0), start)
        return self._result(scene, start, (0.0, 0.0), math.inf, {}, roll, np.full(n, np.inf),
                            n)

    def _result(self, scene: Scene, start: StartState, cmd: tuple[float, float], cost: float,
                terms: dict[str, float], roll: DwbRollouts, total: np.ndarray, n: int) -> dict:
        p = self.p
        self._command_vw = cmd
        committed = ramp_rollout(start, cmd, self.limits, p.horizon_s)
        # Progress along hearth's cost-to-go, for the shared blocked signal.
        goal = scene.goal
        if goal is not None:
            c0 = goal.cost_to_go(np.array([[start.x_m]]), np.array([[start.y_m]]))[0, 0]
            ok = np.isfinite(total)
            ends = goal.cost_to_go(roll.x[ok, -1:], roll.y[ok, -1:])[:, 0]
            max_progress = float(c0 - ends.min()) if ok.any() else 0.0
            chosen = goal.cost_to_go(committed.x[:, -1:], committed.y[:, -1:])[0, 0]
            progress = float(c0 - chosen) if math.isfinite(cost) else 0.0
        else:
            max_progress = progress = math.inf
        vis = np.linspace(0, n - 1, max(1, n // 10)).astype(int)
        order = np.argsort(np.argsort(total[vis]))
        return {"cost": cost, "roll": committed, "targets": np.tile(cmd, (p.steps, 1)),
                "warm": False, "terms": terms, "evaluated": n, "max_progress": max_progress,
                "progress": progress,
                "vis_x": roll.x[vis], "vis_y": roll.y[vis],
                "vis_rank": order / max(len(vis) - 1, 1)}
