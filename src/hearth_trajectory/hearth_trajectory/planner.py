"""The local planner's cycle (ROS-free): from inputs to a committed trajectory and a command.

:class:`LocalPlanner` ``.plan(PlanningInput) -> PlanResult`` once per cycle (10 Hz):

1. **When the plan takes effect.** ``t_eff = now + compute time + actuation delay`` (the
   compute time is the 90th percentile of recent cycles), moved to the committed
   trajectory's step grid so a warm start reproduces it exactly.
2. **Where the robot will be then.** The velocity state at ``t_eff`` is the committed
   trajectory's (the splice: the command stays continuous), unless the measured velocity has
   left what the plans in force at its stamp asked for (a bump, the safety layer) and the
   measurement takes over. The pose is the latest /odom pose driven forward along those
   plans' velocities (:class:`PlanHistory`) from its stamp to ``t_eff``: the message age is
   compensated too.
3. **Where the people will be then**, and at every step after: a constant-velocity forecast
   from the tracks' stamp (:mod:`people_forecast`); for the collision risk its uncertainty
   grows until ``people_reaction_s`` after ``t_eff`` and is held after that (what people do
   later, a later plan sees and answers).
4. **Multistage optimisation.** Stage 1: Sobol samples of the target knots, the structured
   seeds and the previous best, time-shifted. Stages 2+: cross-entropy refinement around the
   best few. Every candidate respects the limits by construction
   (:mod:`trajectory_space`); the critics (:mod:`critics`) score them all at once.
5. **Commit** the best (a new one replaces the warm start only when better by
   ``switch_margin``, so equal options do not flicker), and command the velocity it has
   ``command_lead_s`` after ``t_eff``.

With ``latency_compensation`` off (the ablation), the plan starts now from the /odom pose
as it was measured, with the people where the tracks last saw them.

Bad input never raises: no /odom or a stale one, no path, a lost follow target give a stop
(the quickest the limits allow, from the committed state) and a status; NaN fields are
rejected by the node before they get here, and a NaN track is dropped here.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from hearth_trajectory.blind_spots import phantom_distance
from hearth_trajectory.critics import (
    Critic,
    Evaluation,
    FollowGoal,
    PathGoal,
    Scene,
    evaluate,
)
from hearth_trajectory.fields import (
    GridField,
    path_cost_to_go,
    resample_path,
    without_cells_under,
)
from hearth_trajectory.floor_transitions import FloorTransitions
from hearth_trajectory.objectives import build_critics
from hearth_trajectory.people_forecast import DEFAULT_ACCEL_PSD, Forecast, Tracks, forecast
from hearth_trajectory.sampling import KnotSpace, SobolSource, refine
from hearth_trajectory.trajectory_space import (
    MotionLimits,
    Rollouts,
    StartState,
    advance_pose,
    project_to_viable,
    rollout,
    state_at,
)


class Kind(Enum):
    ACTIVE = "active"  # driving towards the goal or the followed person
    ARRIVED = "arrived"  # at the end of the path: stopped there
    BLOCKED = "blocked"  # the chosen trajectory makes no progress (for blocked_after_s:
    # the signal): nothing can, or nothing can safely
    IDLE = "idle"  # nothing to do: no path, or an empty one
    FAULT = "fault"  # an input is missing, stale or bad: stopping


@dataclass(frozen=True)
class PlannerParams:
    """Tuning of the planner core (the node's config maps onto it)."""

    horizon_s: float = 3.0
    dt_s: float = 0.1
    candidates: int = 2000  # evaluated per cycle, all stages together
    refine_iterations: int = 2
    refine_fraction: float = 0.3  # of the candidates, spent on the refinement stages
    knots: int = 4
    elite_fraction: float = 0.05
    refine_centres: int = 3
    refine_shrink: float = 0.7
    min_std_fraction: float = 0.03
    switch_margin: float = 0.02  # cost units a newcomer must win by to replace the warm start
    robot_radius_m: float = 0.175
    # latency
    latency_compensation: bool = True
    actuation_delay_s: float = 0.05
    command_lead_s: float = 0.05
    odom_timeout_s: float = 0.5
    velocity_reset_mps: float = 0.25
    velocity_reset_radps: float = 0.8
    # The wheels follow the commands up to this late (the safety node's jerk-limited ramp,
    # the motors): a velocity the plans asked for within it is no departure from them.
    follow_lag_s: float = 0.3
    # inputs
    min_pose_sigma_m: float = 0.02
    max_pose_sigma_m: float = 0.05
    # > 0: each step's halting point (the safety controller's stopping distance with this
    # reaction time and the base's deceleration limit) must be clear too. Off (0): on six
    # suite episodes it gave 3 object contacts against 1 and one person contact against 0.
    braking_reaction_s: float = 0.0
    person_accel_psd: float = DEFAULT_ACCEL_PSD
    # How much a contact counts when a person walks into a robot that is not closing in on
    # them (Evaluation._people): people give way to a robot they see.
    passive_contact_weight: float = 1.0
    people_reaction_s: float = 0.5  # deviations seen this long before a step are answered
    tracks_timeout_s: float = 1.0
    # goal and progress
    goal_tolerance_m: float = 0.15
    path_window_m: float = 4.5
    path_spacing_m: float = 0.1
    cost_to_go_resolution_m: float = 0.1
    # The way to go (the cost-to-go's detours around obstacles) passes only where the robot
    # fits with this many pose sigmas to spare: about where the collision term stops it.
    route_clearance_sigmas: float = 2.5
    follow_distance_m: float = 1.2
    follow_min_speed_mps: float = 0.2
    blocked_progress_m: float = 0.05
    blocked_after_s: float = 2.0
    # Only people in the way (the map alone leaves a way open): they move on; the global
    # planner hears of it later, or it marks a doorway shut for someone standing in it.
    people_blocked_after_s: float = 10.0
    people_near_m: float = 1.0  # ... as they are with anyone this close (gap between discs)
    # Whatever the plans show, the robot must get this much further along the path within
    # this long, or it is blocked too (Nav2's progress checker): a robot dithering in front
    # of a gap plans a few centimetres of progress every few cycles, and the plans' timer
    # above never runs out.
    stall_progress_m: float = 0.25
    stall_after_s: float = 10.0
    # A cycle this long after the one before restarts that clock: nobody drove the robot
    # in between (the first cycle's JIT compilation, a process that was stopped).
    stall_pause_s: float = 1.0
    pan_lookahead_s: float = 1.2
    # critics
    progress_weight: float = 1.0
    progress_discount: float = 0.97
    collision_weight: float = 70.0
    jerk_weight: float = 0.05
    comfort_weight: float = 0.5  # per metre driven in personal space: < 1, or no pass pays
    comfort_sigma_m: float = 0.45
    heading_weight: float = 0.3
    heading_fade_m: float = 0.5
    # Door sills and rug edges (PlanningInput.floor): crossed within these, or it costs.
    # Off (0) by default: the suite's success needs more first (README).
    floor_weight: float = 0.0
    floor_speed_mps: float = 0.3
    floor_turn_radps: float = 0.4
    # The robot's floor contacts (wheels, casters), body frame (m): what meets a sill.
    floor_contacts_m: tuple[tuple[float, float], ...] = ((0.0, 0.14), (0.0, -0.14),
                                                         (0.13, 0.0), (-0.13, 0.0))
    # Blind spots (hearth_trajectory.blind_spots, critics.BlindSpotCritic): slow enough to
    # stop (this reaction, this deceleration) short of where an unseen person could stand.
    blind_spot_weight: float = 0.0
    blind_spot_reaction_s: float = 0.3
    blind_spot_decel_mps2: float = 1.0
    blind_spot_creep_mps: float = 0.3  # always allowed (a doorway: the hidden room is beside)
    # ablations (issue 9; objectives.py, docs/planner.md)
    objective: str = "survival"  # "survival" | "chance_constraint" | "weighted_sum"
    risk_threshold: float = 0.01  # chance_constraint: the largest collision risk allowed
    predict_people: bool = True  # False: people frozen where last seen
    # shedding: a cycle over overrun_fraction of the period sheds candidates
    period_s: float = 0.1
    overrun_fraction: float = 0.8
    min_candidates: int = 200
    seed: int = 0

    @property
    def steps(self) -> int:
        return round(self.horizon_s / self.dt_s)


@dataclass(frozen=True)
class Odometry:
    """The latest /odom (odom frame): pose, body twist and position covariance (2, 2)."""

    stamp_s: float
    x_m: float
    y_m: float
    yaw_rad: float
    v_mps: float
    w_radps: float
    pose_cov_xy: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))


@dataclass
class PlanningInput:
    now_s: float
    odom: Odometry | None
    path_xy: np.ndarray | None = None  # (M, 2) odom frame; None or empty: nothing to follow
    path_version: int = 0  # changes when a new /plan arrives (progress restarts)
    distance: GridField | None = None  # distance to the nearest obstacle, odom frame
    distance_cell_m: float = 0.05
    tracks: Tracks = field(default_factory=Tracks.empty)
    follow_id: int | None = None
    fault: str | None = None  # the caller found an input unusable: stop, with this status
    prep_s: float = 0.0  # compute time the caller spent on this cycle before plan()
    floor: FloorTransitions | None = None  # sills and rug edges to cross slowly, odom frame


@dataclass
class CommittedPlan:
    """The trajectory being executed: steps at ``t0_s + k * dt`` (absolute seconds)."""

    t0_s: float
    roll: Rollouts  # one candidate
    targets: np.ndarray  # (T, 2) the per-step targets that made it

    def state(self, t_s: float) -> StartState:
        return state_at(self.roll, 0, t_s - self.t0_s)

    def velocity(self, t_s: float) -> tuple[float, float]:
        s = self.state(t_s)
        return s.v_mps, s.w_radps


@dataclass
class PlanResult:
    kind: Kind
    status: str
    cmd_v_mps: float = 0.0
    cmd_w_radps: float = 0.0
    plan: CommittedPlan | None = None
    blocked: bool = False
    pan_target_rad: float | None = None  # robot frame; None: face forward
    max_progress_m: float = 0.0
    evaluated: int = 0
    candidates_x: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    candidates_y: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    candidates_rank: np.ndarray = field(default_factory=lambda: np.zeros(0))  # 0 best, 1 worst
    people: Forecast | None = None  # at the plan's steps 0..T
    best_terms: dict[str, float] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    compute_s: float = 0.0


class PlanHistory:
    """The plans committed over the last ``keep_s``: what the wheels were asked to do at any
    recent time (each plan from its ``t0_s`` until the next one took effect). An /odom
    measurement, its message age old, is compared with, and driven forward along, these,
    not the latest plan alone (which starts only when it takes effect)."""

    def __init__(self, keep_s: float = 3.0):
        self.keep_s = keep_s
        self._plans: deque[CommittedPlan] = deque()

    def add(self, plan: CommittedPlan) -> None:
        while self._plans and self._plans[-1].t0_s >= plan.t0_s - 1e-9:
            self._plans.pop()  # replaced before it took effect
        self._plans.append(plan)
        while len(self._plans) > 1 and self._plans[1].t0_s < plan.t0_s - self.keep_s:
            self._plans.popleft()

    def __len__(self) -> int:
        return len(self._plans)

    def plan_at(self, t_s: float) -> CommittedPlan | None:
        """The plan in force at ``t_s`` (before the oldest: the oldest)."""
        for plan in reversed(self._plans):
            if plan.t0_s <= t_s + 1e-9:
                return plan
        return self._plans[0] if self._plans else None

    def velocity(self, t_s: float) -> tuple[float, float] | None:
        plan = self.plan_at(t_s)
        return None if plan is None else plan.velocity(t_s)


class LocalPlanner:
    def __init__(self, limits: MotionLimits, params: PlannerParams | None = None):
        self.p = params or PlannerParams()
        self.limits = limits
        self.space = KnotSpace(limits, self.p.steps, self.p.dt_s, self.p.knots)
        self.source = SobolSource(self.space.dims, seed=self.p.seed)
        self.critics: dict[str, Critic] = build_critics(self.p)
        self.committed: CommittedPlan | None = None
        self.history = PlanHistory()
        self.budget = self.p.candidates
        self._compute_s: deque[float] = deque(maxlen=20)  # wall clock
        self._cycle_s: deque[float] = deque(maxlen=20)  # the caller's clock: latency, shedding
        self._path_version: int | None = None
        self._progress_m = 0.0
        self._arrived = False
        self._no_progress_since: float | None = None
        self._people_in_the_way = False  # ... at any time since
        self._advanced_at: float | None = None  # when the robot last got stall_progress_m on
        self._advanced_remaining_m = math.inf  # ... and the path left then
        self._stall_checked_at: float | None = None  # the cycle before

    # -- the cycle -----------------------------------------------------------------------------

    def plan(self, inp: PlanningInput) -> PlanResult:
        t_start = time.perf_counter()
        try:
            result = self._plan(inp)
        except Exception as exc:
            result = self._stop(inp.now_s, Kind.FAULT, f"internal error: {exc!r}")
        result.compute_s = inp.prep_s + time.perf_counter() - t_start
        self._compute_s.append(result.compute_s)
        if not self._cycle_s:  # until the caller reports its cycles: the wall clock sheds
            self._account(result.compute_s)
        return result

    def compute_estimate_s(self) -> float:
        """How long after its start a cycle's command goes out, on the clock of ``now_s``:
        the 90th percentile of recent cycles (:meth:`record_cycle_time`; without those, of
        the compute times on the wall clock)."""
        recent = self._cycle_s or self._compute_s
        if not recent:
            return 0.5 * self.p.period_s
        return float(np.percentile(recent, 90))

    def record_cycle_time(self, seconds: float) -> None:
        """From the start of a cycle to its command going out, on the clock of ``now_s``
        (with simulated time, the compute time as the simulation saw it). An overrun is
        judged on this clock, the one the rate is kept on: a simulation running at a fifth
        of real time gives a cycle five times the wall time it takes, and shedding on the
        wall clock would cut candidates the simulated robot has time for."""
        if math.isfinite(seconds) and seconds >= 0.0:
            self._cycle_s.append(seconds)
            self._account(seconds)

    def _account(self, compute_s: float) -> None:
        """A cycle took ``compute_s`` on the clock of the rate: shed candidates after an
        overrun; win them back slowly while there is room."""
        if compute_s > self.p.overrun_fraction * self.p.period_s:
            self.budget = max(self.p.min_candidates, int(0.75 * self.budget))
        elif compute_s < 0.5 * self.p.period_s and self.budget < self.p.candidates:
            self.budget = min(self.p.candidates, int(self.budget * 1.1) + 1)

    def _plan(self, inp: PlanningInput) -> PlanResult:
        p = self.p
        now = inp.now_s
        odom = inp.odom
        if inp.fault is not None:
            return self._stop(now, Kind.FAULT, inp.fault)
        if odom is None:
            return self._stop(now, Kind.FAULT, "no /odom yet")
        age = now - odom.stamp_s
        if age > p.odom_timeout_s:
            return self._stop(now, Kind.FAULT, f"/odom stale ({age:.2f} s old)")
        have_path = inp.path_xy is not None and len(inp.path_xy) > 0
        if inp.follow_id is None and not have_path:
            self._no_progress_since = None
            return self._stop(now, Kind.IDLE, "no path (/plan empty or not received)")

        t_eff, shift = self._effect_time(now)
        start = self._start_state(odom, t_eff)
        sigma = self._pose_sigma(odom)
        inside = ""
        if inp.distance is not None:  # the robot may always move out of what is under it
            # The cells within 3 sigma of the footprint's edge go too: left in, they read as a
            # likely contact at every step of the way out as well.
            freed = without_cells_under(inp.distance, (start.x_m, start.y_m),
                                        p.robot_radius_m + 0.5 * inp.distance_cell_m + 3.0 * sigma,
                                        within_m=p.robot_radius_m)
            if freed is not inp.distance:
                inp = replace(inp, distance=freed)
                inside = "; obstacle cells under the robot left out (pose estimate off?)"
        tracks = inp.tracks.finite()
        if now - tracks.stamp_s > p.tracks_timeout_s:
            tracks = Tracks.empty(now)  # too old to say where anyone is
        if not p.latency_compensation:
            tracks = Tracks(t_eff, tracks.ids, tracks.positions, tracks.velocities,
                            tracks.covariances, tracks.radii)  # as if seen just now
        times = t_eff + p.dt_s * np.arange(0, p.steps + 1)
        frozen = not p.predict_people  # the ablation: people stay where last seen
        people_all = forecast(tracks, times, p.person_accel_psd, frozen=frozen)  # markers
        # For the risk: a person's deviation from the forecast that the robot sees
        # people_reaction_s before a step is answered by a later plan, so the uncertainty a
        # plan must answer for grows only that long past t_eff (then it is held).
        held = forecast(tracks, times, p.person_accel_psd,
                        growth_until_s=t_eff + p.people_reaction_s, frozen=frozen)
        people = Forecast(held.ids, held.means[:, 1:], held.covs[:, 1:], held.radii)

        # The goal: the followed person, or the path.
        pan_person: np.ndarray | None = None
        comfort = np.ones(len(people))
        if inp.follow_id is not None:
            idx = np.flatnonzero(tracks.ids == inp.follow_id)
            if len(idx) == 0:
                return self._stop(now, Kind.FAULT, f"follow target {inp.follow_id} not tracked",
                                  t_eff=t_eff, start=start, people=people_all)
            goal = self._follow_goal(people_all, int(idx[0]), start)
            comfort[int(idx[0])] = 0.0  # who asked to be followed keeps no personal space
            # Keeping station behind the person is no progress and no blockage either.
            in_place = math.hypot(*(goal.targets_xy[0] - (start.x_m, start.y_m))) < 0.5
            stalled = False
            pan_person = people_all.means[int(idx[0]), 0]
            goal_status = f"following person {inp.follow_id}"
        else:
            in_place = False
            goal, remaining, d_goal = self._path_goal(inp, start)
            if self._arrival(d_goal, remaining, start):
                self._no_progress_since = None
                return self._stop(now, Kind.ARRIVED, "arrived", t_eff=t_eff, start=start,
                                  people=people_all)
            goal_status = f"following the path ({remaining:.2f} m left)"
            stalled = self._update_stall(now, remaining)
            if stalled:
                goal_status += (f"; not {p.stall_progress_m:.2f} m further in "
                                f"{now - self._advanced_at:.0f} s")

        braking = ((p.braking_reaction_s, self.limits.linear.max_accel)
                   if p.braking_reaction_s > 0.0 else None)
        blind = (phantom_distance(inp.distance, (start.x_m, start.y_m), p.robot_radius_m)
                 if p.blind_spot_weight > 0.0 and inp.distance is not None else None)
        scene = Scene(p.dt_s, self.limits, p.robot_radius_m, np.eye(2) * sigma**2,
                      inp.distance, inp.distance_cell_m, people, goal, comfort, braking,
                      p.passive_contact_weight, inp.floor, blind)
        best = self._optimise(scene, start, shift)
        self._commit(CommittedPlan(t_eff, best["roll"], best["targets"]))

        # Blocked is judged on the trajectory chosen, not on the best progress of any
        # candidate: in front of a gap too narrow for the pose uncertainty the risky
        # candidates through it still progress, while the one chosen waits; the global
        # planner must hear of it, or the robot waits there for good.
        progress = math.inf if in_place else best.get("progress", best["max_progress"])
        # People in the way: the map alone leaves a way open that they take progress from,
        # or someone is close enough that a way which looks shut may be theirs (they hide
        # it, and their forecast's spread covers it): a hallway crowd once had its doorway
        # counted shut after 2 s, and the robot sent round the kitchen.
        by_people = (best.get("open_progress", -math.inf)
                     >= max(best["max_progress"], 0.0) + p.blocked_progress_m
                     ) or self._someone_near(people_all, start)
        blocked = self._update_blocked(now, progress, by_people) or stalled
        kind = Kind.BLOCKED if progress < p.blocked_progress_m else Kind.ACTIVE
        status = goal_status
        if kind is Kind.BLOCKED:
            status = ("waiting for people to pass" if by_people
                      else "no candidate makes progress" if best["max_progress"]
                      < p.blocked_progress_m else "no candidate makes progress safely")
        status += inside
        v, w = self._command(now, t_eff)
        return PlanResult(
            kind, status, v, w, self.committed, blocked,
            self._pan_target(start, pan_person), best["max_progress"], best["evaluated"],
            best["vis_x"], best["vis_y"], best["vis_rank"], people_all, best["terms"],
            {"odom_age_s": age, "compute_estimate_s": self.compute_estimate_s(),
             "actuation_delay_s": p.actuation_delay_s, "effect_in_s": t_eff - now},
        )  # fmt: skip

    # -- timing and the start state -------------------------------------------------------------

    def _effect_time(self, now: float) -> tuple[float, int]:
        """When the new plan takes effect, on the committed plan's step grid, and how many of
        its steps that is after its start."""
        p = self.p
        t = now + (self.compute_estimate_s() + p.actuation_delay_s
                   if p.latency_compensation else 0.0)
        c = self.committed
        if c is None:
            return t, 0
        k = math.ceil((t - c.t0_s) / p.dt_s - 1e-6)
        if 0 <= k < p.steps:
            return c.t0_s + k * p.dt_s, k
        return t, -1  # off the committed plan (a pause): no warm start

    def _commit(self, plan: CommittedPlan) -> None:
        self.committed = plan
        self.history.add(plan)

    def _start_state(self, odom: Odometry, t_eff: float) -> StartState:
        """The robot at ``t_eff``: spliced velocity state, compensated pose.

        The measured velocity is compared with what the plans in force asked for at its
        stamp (with compensation; without, as if it were measured now, the naive reading);
        only a real departure (a bump, the safety layer) restarts from the measurement: a
        measurement that is merely old must not (with 0.3 s of latency and 1 m/s², it lags
        the plan by 0.3 m/s while accelerating)."""
        p = self.p
        c = self.committed
        measured = np.array([odom.v_mps, odom.w_radps])
        if c is not None:
            t_check = odom.stamp_s if p.latency_compensation else t_eff
            if self._departed(measured, t_check, c):
                c = None  # reality left the plan: start from the measurement
        if c is not None:
            s = c.state(t_eff)
            vel, acc = np.array([s.v_mps, s.w_radps]), np.array([s.a_mps2, s.alpha_radps2])
        else:
            vel, acc = project_to_viable(measured, np.zeros(2), self.limits, p.dt_s)
            self.committed = None
        x, y, yaw = odom.x_m, odom.y_m, odom.yaw_rad
        if p.latency_compensation:
            x, y, yaw = self._drive_forward(odom, t_eff)
        return StartState(x, y, yaw, float(vel[0]), float(vel[1]), float(acc[0]), float(acc[1]))

    def _departed(self, measured: np.ndarray, t_check: float, c: CommittedPlan) -> bool:
        """Whether the measured (v, w) at ``t_check`` left what the plans asked for: each
        axis off by more than its reset threshold from every velocity the plans asked for in
        the ``follow_lag_s`` up to ``t_check``. The wheels follow late (the safety node ramps
        the 10 Hz steps of the commands within the jerk limit; the motors lag): a robot
        accelerating at 1 m/s² behind its plans by 0.3 s is 0.3 m/s slow, has not left them,
        and a restart from its speed would drop the command, again and again (a saw-tooth,
        stop-and-go). A bump or the safety layer's braking does leave them."""
        p = self.p
        asked = np.array([self.history.velocity(t) or c.velocity(t)
                          for t in t_check - np.linspace(0.0, p.follow_lag_s, 7)])
        off = np.abs(asked - measured)
        return bool(np.min(off[:, 0]) > p.velocity_reset_mps
                    or np.min(off[:, 1]) > p.velocity_reset_radps)

    def _drive_forward(self, odom: Odometry, t_eff: float) -> tuple[float, float, float]:
        """The /odom pose driven from its stamp to ``t_eff`` with the velocities the plans in
        force asked for (the measured ones held, without a committed plan)."""
        x, y, yaw = odom.x_m, odom.y_m, odom.yaw_rad
        dur = t_eff - odom.stamp_s
        if dur <= 0.0:
            return x, y, yaw
        if self.committed is None or not len(self.history):
            return advance_pose(x, y, yaw, np.array([odom.v_mps, odom.w_radps]), np.zeros(2),
                                np.zeros(2), dur)
        n = max(1, math.ceil(dur / 0.02))
        h = dur / n
        for i in range(n):
            t = odom.stamp_s + (i + 0.5) * h
            s = self.history.plan_at(t).state(t)
            x += s.v_mps * math.cos(yaw + 0.5 * s.w_radps * h) * h
            y += s.v_mps * math.sin(yaw + 0.5 * s.w_radps * h) * h
            yaw += s.w_radps * h
        return x, y, yaw

    # -- goals ------------------------------------------------------------------------------

    def _path_goal(self, inp: PlanningInput, start: StartState
                   ) -> tuple[PathGoal, float, float]:
        p = self.p
        pts, arc = resample_path(inp.path_xy, p.path_spacing_m)
        if inp.path_version != self._path_version:
            self._path_version = inp.path_version
            self._progress_m = 0.0
            self._arrived = False
            self._no_progress_since = None  # a new path (a replan) is judged afresh
            self._advanced_at = None
        # Progress along the path is monotone: search ahead of the last projection only.
        lo = self._progress_m - 0.5
        hi = self._progress_m + p.path_window_m
        sel = (arc >= lo) & (arc <= hi)
        d2 = (pts[sel, 0] - start.x_m) ** 2 + (pts[sel, 1] - start.y_m) ** 2
        s_robot = float(arc[sel][int(np.argmin(d2))]) if sel.any() else float(arc[-1])
        self._progress_m = max(self._progress_m, s_robot)
        total = float(arc[-1])
        window = (arc >= self._progress_m - 0.3) & (arc <= self._progress_m + p.path_window_m)
        window[-1] |= arc[-1] <= self._progress_m + p.path_window_m
        half = self.limits.linear.max_velocity * p.horizon_s + 0.5
        # No way round through a gap the collision term would not let the robot through:
        # the field would lead the robot to it, and it would wait there, torn between it and
        # the global path's way round (the apartment's kitchen, between the fridge and a
        # chair, where the global planner's margin sends it by the hallway).
        fits_m = (p.robot_radius_m + 0.5 * inp.distance_cell_m
                  + p.route_clearance_sigmas * self._pose_sigma(inp.odom))
        ctg = path_cost_to_go(pts[window], arc[window], total, (start.x_m, start.y_m), half,
                              p.cost_to_go_resolution_m, inp.distance, fits_m)
        d_goal = math.hypot(pts[-1, 0] - start.x_m, pts[-1, 1] - start.y_m)
        return PathGoal(ctg), total - self._progress_m, d_goal

    def _pose_sigma(self, odom: Odometry) -> float:
        """The position standard deviation in the worst direction, within the limits."""
        sigma = float(np.sqrt(max(np.linalg.eigvalsh(odom.pose_cov_xy)[-1], 0.0)))
        return min(max(sigma, self.p.min_pose_sigma_m), self.p.max_pose_sigma_m)

    def _arrival(self, d_goal: float, remaining: float, start: StartState) -> bool:
        tol = self.p.goal_tolerance_m
        stopped = abs(start.v_mps) < 1e-3 and abs(start.w_radps) < 1e-3
        if self._arrived and stopped and d_goal > tol:
            self._arrived = False  # stopped outside the tolerance (pushed away): go back
        if not self._arrived and d_goal <= 0.6 * tol and remaining <= tol + 0.5:
            self._arrived = True
        return self._arrived

    def _follow_goal(self, people: Forecast, j: int, start: StartState) -> FollowGoal:
        """``follow_distance_m`` behind person ``j`` at each step: opposite their velocity
        when they walk, else on the line from them to the robot."""
        p = self.p
        means = people.means[j]  # (T+1, 2)
        vel = np.gradient(means, p.dt_s, axis=0)
        speed = np.hypot(vel[:, 0], vel[:, 1])
        away = np.array([start.x_m, start.y_m]) - means[0]
        away = away / max(float(np.hypot(*away)), 1e-9)
        walking = speed > p.follow_min_speed_mps
        back = np.where(walking[:, None], -vel / np.maximum(speed, 1e-9)[:, None], away)
        return FollowGoal(means + p.follow_distance_m * back)

    # -- optimisation -------------------------------------------------------------------------

    def _optimise(self, scene: Scene, start: StartState, shift: int) -> dict:
        p = self.p
        space = self.space
        total = max(self.budget, 1)
        n_refine = int(p.refine_fraction * total) if p.refine_iterations > 0 else 0
        per_iter = n_refine // max(p.refine_iterations, 1)

        seeds = space.seeds(start.v_mps, start.w_radps)
        warm_targets = None
        if self.committed is not None and shift >= 0:
            prev = self.committed.targets
            warm_targets = np.concatenate([prev[shift:], np.repeat(prev[-1:], shift, axis=0)])
        n_sobol = max(0, total - n_refine - len(seeds) - (warm_targets is not None))
        knots = np.concatenate([seeds, space.from_unit(self.source.uniform(n_sobol))])
        targets = space.targets(knots)
        if warm_targets is not None:  # exact, not via knots: it reproduces the committed plan
            knots = np.concatenate([space.knots_of(warm_targets[None]), knots])
            targets = np.concatenate([warm_targets[None], targets])

        all_costs, all_knots, all_x, all_y = [], [], [], []
        best: dict = {}
        max_progress = -np.inf
        open_progress = -np.inf  # the best progress apart from people
        evaluated = 0
        for it in range(1 + (p.refine_iterations if per_iter > 0 else 0)):
            if it > 0:
                knots = refine(space, np.concatenate(all_knots), np.concatenate(all_costs),
                               per_iter, self.source, p.elite_fraction, p.refine_centres,
                               p.refine_shrink ** it, p.min_std_fraction)
                targets = space.targets(knots)
            roll = rollout(start, targets, self.limits, p.dt_s)
            ev = Evaluation(roll, scene, comfort_sigma_m=p.comfort_sigma_m)
            costs = evaluate(self.critics, ev)
            evaluated += roll.n
            max_progress = max(max_progress, float(np.max(ev.progress)))
            open_progress = max(open_progress, float(np.max(
                ev.progress_apart_from_people(p.risk_threshold))))
            i = int(np.argmin(costs.total))
            c = float(costs.total[i])
            # The warm start keeps its place unless a newcomer beats it by switch_margin.
            if it == 0 and warm_targets is not None:
                c0 = float(costs.total[0])
                if c > c0 - p.switch_margin:
                    i, c = 0, c0
            if not best or c < best["cost"] - (p.switch_margin if best["warm"] else 0.0):
                best = {"cost": c, "roll": roll.take(i), "targets": targets[i].copy(),
                        "warm": it == 0 and i == 0 and warm_targets is not None,
                        "terms": {k: float(v[i]) for k, v in costs.terms.items()},
                        "progress": float(ev.progress[i])}
            all_costs.append(costs.total)
            all_knots.append(knots)
            all_x.append(roll.x)
            all_y.append(roll.y)

        # About a tenth of the candidates for rviz, ranked from best to worst.
        cost = np.concatenate(all_costs)
        xs, ys = np.concatenate(all_x), np.concatenate(all_y)
        vis = np.linspace(0, len(cost) - 1, max(1, len(cost) // 10)).astype(int)
        order = np.argsort(np.argsort(np.where(np.isfinite(cost[vis]), cost[vis], np.inf)))
        best.update(evaluated=evaluated, max_progress=max_progress,
                    open_progress=open_progress, vis_x=xs[vis],
                    vis_y=ys[vis], vis_rank=order / max(len(vis) - 1, 1))
        return best

    # -- outputs ------------------------------------------------------------------------------

    def _command(self, now: float, t_eff: float) -> tuple[float, float]:
        """The velocity the committed plan has when this command is in force: from when it
        takes effect, ``command_lead_s`` on (without compensation: from now)."""
        p = self.p
        t_cmd = (now + self.compute_estimate_s() + p.actuation_delay_s
                 if p.latency_compensation else now) + p.command_lead_s
        v, w = self.committed.velocity(max(t_cmd, self.committed.t0_s))
        return v, w

    def _pan_target(self, start: StartState, person_xy: np.ndarray | None) -> float:
        """Bearing (robot frame) of the followed person, or of the point of the committed
        plan ``pan_lookahead_s`` ahead (the heading it turns to, when turning in place)."""
        if person_xy is not None:
            tx, ty = float(person_xy[0]), float(person_xy[1])
        else:
            s = self.committed.state(self.committed.t0_s + self.p.pan_lookahead_s)
            tx, ty = s.x_m, s.y_m
            if math.hypot(tx - start.x_m, ty - start.y_m) < 0.05:
                return _wrap(s.yaw_rad - start.yaw_rad)
        return _wrap(math.atan2(ty - start.y_m, tx - start.x_m) - start.yaw_rad)

    def _someone_near(self, people: Forecast, start: StartState) -> bool:
        """Whether anyone is within ``people_near_m`` (gap between the discs) of the robot
        when the plan takes effect."""
        if not len(people):
            return False
        d = np.hypot(people.means[:, 0, 0] - start.x_m, people.means[:, 0, 1] - start.y_m)
        gap = d - people.radii - self.p.robot_radius_m
        return bool(np.any(gap < self.p.people_near_m))

    def _update_stall(self, now: float, remaining_m: float) -> bool:
        """Whether the robot has got less than ``stall_progress_m`` further along the path
        (``remaining_m`` left of it) in the last ``stall_after_s``."""
        p = self.p
        paused = (self._stall_checked_at is not None
                  and now - self._stall_checked_at > p.stall_pause_s)
        self._stall_checked_at = now
        if self._advanced_at is None or paused or (
                remaining_m <= self._advanced_remaining_m - p.stall_progress_m):
            self._advanced_at, self._advanced_remaining_m = now, remaining_m
        return now - self._advanced_at >= p.stall_after_s

    def _update_blocked(self, now: float, progress: float, by_people: bool) -> bool:
        """Whether the chosen trajectory has made no progress for ``blocked_after_s`` (for
        ``people_blocked_after_s`` when people were in the way at any time since it stopped
        progressing: once they have stepped back from a robot that retreated from them, the
        way ahead still looks shut for a while, and it is not)."""
        if progress >= self.p.blocked_progress_m:
            self._no_progress_since = None
            return False
        if self._no_progress_since is None:
            self._no_progress_since, self._people_in_the_way = now, False
        self._people_in_the_way |= by_people
        after = (self.p.people_blocked_after_s if self._people_in_the_way
                 else self.p.blocked_after_s)
        return now - self._no_progress_since >= after

    def _stop(self, now: float, kind: Kind, status: str, t_eff: float | None = None,
              start: StartState | None = None, people: Forecast | None = None) -> PlanResult:
        """The quickest stop the limits allow, spliced onto the committed plan (from rest:
        staying at rest)."""
        p = self.p
        if t_eff is None:
            t_eff, _ = self._effect_time(now)
        c = self.committed
        if start is None:
            if c is None:
                return PlanResult(kind, status, people=people)
            start = c.state(t_eff)
        targets = np.zeros((p.steps, 2))
        roll = rollout(start, targets[None], self.limits, p.dt_s)
        self._commit(CommittedPlan(t_eff, roll, targets))
        v, w = self._command(now, t_eff)
        if abs(start.v_mps) + abs(start.w_radps) < 1e-9:
            v, w = 0.0, 0.0
        return PlanResult(kind, status, v, w, self.committed, False, None, people=people)


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi
