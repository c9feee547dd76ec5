"""Metrics of one navigation run from its recorded arrays (ROS-free: numpy only).

An :class:`Episode` holds what a run recorded, as arrays on simulated time (seconds): the
simulator's ground truth (the robot's pose and body twist in the world frame, the people),
the stack's estimate (fusion's /odom in the odom frame and V-SLAM's map->odom), the local
planner's cycle times, the commands, the contacts, and the goals with when each was sent and
how it ended. The demo fills one per run; the scenario suite fills one per episode.

Definitions (per goal: from the moment the goal was sent to its result):

- **time**: simulated seconds from sending the goal to its result.
- **clearance to people**: body to body: the distance between the robot's centre and a
  person's, less both radii (0: touching). The minimum over the goal, and the time spent
  within ``personal_space_m`` (0.5 m).
- **jerk**: the second derivative of the robot's true forward speed (m/s³) and of its true
  yaw rate (rad/s³), after averaging over ``smooth_s`` (0.1 s) blocks: MuJoCo's contact
  chatter is no jerk a passenger feels; the same definition as the planner's closed loop
  (``planner_loop``). Reported as the RMS over the goal.
- **ATE**: the stack's pose estimate map->base_link (fusion's odom->base_link composed with
  V-SLAM's map->odom) against the true pose, position error RMS, with no alignment: the map
  frame is the world frame by construction (V-SLAM starts its map at the start pose the
  simulator announces). Also the error over time, for the report.
- **planner cycle p95**: the 95th percentile of /local_planner/cycle_time_ms over the goal:
  the wall time of the node's whole cycle (plan, markers, publishing). With the simulator
  and the whole stack sharing a small machine (the real-time factor well below 1), it is
  long in wall time while the planner still keeps its rate on the simulated clock.
- **contacts**: the simulator's robot contacts (people, objects) that began during the goal,
  a grinding contact that flickers counted once (``merge_contacts``). The floor, a rug or a
  threshold (``SURFACE_KINDS``) is what the robot drives on: the chassis touching it (a rug's
  edge, the sill's bump) is no collision and is not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PERSONAL_SPACE_M = 0.5
# What the robot drives on: a contact with one of these is no collision.
SURFACE_KINDS = ("floor", "rug", "threshold")
JERK_SMOOTH_S = 0.1


@dataclass
class GoalRun:
    """One goal of a run: where, when it was sent, when it ended and how."""

    name: str
    x_m: float
    y_m: float
    t_start_s: float
    t_end_s: float | None = None  # None: no result (the run ended first)
    status: str = "not finished"  # reached, aborted, canceled, rejected, timeout, not finished
    message: str = ""

    @property
    def reached(self) -> bool:
        return self.status == "reached"


@dataclass
class Contact:
    """A contact of the robot with a person or an object (the simulator's)."""

    t_start_s: float
    t_end_s: float | None
    other: str
    other_kind: str
    max_normal_force_n: float
    touches: int = 1  # the simulator's contacts merged into this one (see merge_contacts)

    @property
    def with_person(self) -> bool:
        return self.other_kind == "person"

    @property
    def with_surface(self) -> bool:
        """With the floor, a rug or a threshold: what the robot drives on, no collision."""
        return self.other_kind in SURFACE_KINDS


def merge_contacts(contacts: list[Contact], gap_s: float = 1.0) -> list[Contact]:
    """One contact per touching episode: the simulator reports a new contact each time a
    grinding contact flickers (it lets go for a physics step), so contacts with the same
    body that begin within ``gap_s`` of the previous one's end are merged. Sorted by start."""
    merged: list[Contact] = []
    last: dict[str, Contact] = {}
    for c in sorted(contacts, key=lambda c: c.t_start_s):
        prev = last.get(c.other)
        if prev is not None and (prev.t_end_s is None or c.t_start_s <= prev.t_end_s + gap_s):
            ends = [prev.t_end_s, c.t_end_s]
            prev.t_end_s = None if None in ends else max(ends)
            prev.max_normal_force_n = max(prev.max_normal_force_n, c.max_normal_force_n)
            prev.touches += c.touches
            continue
        copy = Contact(c.t_start_s, c.t_end_s, c.other, c.other_kind, c.max_normal_force_n,
                       c.touches)
        merged.append(copy)
        last[c.other] = copy
    return merged


@dataclass
class FanSnapshot:
    """The local planner's candidate fan at one moment (/local_planner/candidates): the
    drawn candidates' paths (each (K, 2), in ``frame``), their colours (green best .. red
    worst, RGBA), the chosen one, and the obstacle tracks (/obstacles/tracks: odom frame)."""

    t_s: float
    frame: str
    strips: list[np.ndarray]
    colors: np.ndarray  # (len(strips), 4)
    chosen: np.ndarray | None
    tracks_xy: np.ndarray  # (T, 2)
    tracks_radius_m: np.ndarray  # (T,)


@dataclass
class Episode:
    """The arrays of one run (see the module docstring). Times are simulated seconds, each
    series sorted by time; poses are (x_m, y_m, yaw_rad)."""

    robot_radius_m: float
    truth_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    truth_pose: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # world
    truth_v_mps: np.ndarray = field(default_factory=lambda: np.zeros(0))  # forward, base_link
    truth_w_radps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    odom_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    odom_pose: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # odom->base_link
    map_odom_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    map_odom_pose: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # map->odom
    people_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    people_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 2)))  # NaN: absent
    people_radius_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cycle_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cycle_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cmd_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cmd_v_mps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cmd_w_radps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    safety_t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    safety_level: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # 0..3
    contacts: list[Contact] = field(default_factory=list)
    goals: list[GoalRun] = field(default_factory=list)
    plans: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (t_s, (K, 2) map)
    fans: list[FanSnapshot] = field(default_factory=list)

    def window(self, t0_s: float, t1_s: float, t_s: np.ndarray) -> np.ndarray:
        """Boolean mask of the samples ``t_s`` within [t0_s, t1_s]."""
        return (t_s >= t0_s) & (t_s <= t1_s)


# ----------------------------------------------------------------------------- poses


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    return (np.asarray(a) + math.pi) % (2.0 * math.pi) - math.pi


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SE(2) poses (..., 3): a ∘ b (b expressed in a's frame)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    c, s = np.cos(a[..., 2]), np.sin(a[..., 2])
    x = a[..., 0] + c * b[..., 0] - s * b[..., 1]
    y = a[..., 1] + s * b[..., 0] + c * b[..., 1]
    return np.stack([x, y, wrap_angle(a[..., 2] + b[..., 2])], axis=-1)


def held_at(t_s: np.ndarray, sample_t_s: np.ndarray, values: np.ndarray,
            before_first: np.ndarray | None = None) -> np.ndarray:
    """``values`` as they stood at each of ``t_s``: the latest sample at or before it (a
    transform holds until the next). Before the first sample: ``before_first`` (default
    the first sample)."""
    values = np.asarray(values, dtype=float)
    t_s = np.asarray(t_s, dtype=float)
    if len(sample_t_s) == 0:
        if before_first is None:
            raise ValueError("no samples to hold")
        return np.broadcast_to(before_first, (len(t_s), *np.shape(before_first))).copy()
    k = np.searchsorted(sample_t_s, t_s, side="right") - 1
    out = values[np.clip(k, 0, None)]
    if before_first is not None:
        out[k < 0] = before_first
    return out


def estimate_map_base(ep: Episode) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, poses) of the stack's map->base_link estimate: each /odom pose composed with the
    map->odom that stood at its stamp. Before V-SLAM's first map->odom the stack has no pose
    on the map: those samples are left out (all of them when map->odom never came)."""
    if len(ep.odom_t_s) == 0 or len(ep.map_odom_t_s) == 0:
        return np.zeros(0), np.zeros((0, 3))
    known = ep.odom_t_s >= ep.map_odom_t_s[0]
    t_s = ep.odom_t_s[known]
    map_odom = held_at(t_s, ep.map_odom_t_s, ep.map_odom_pose)
    return t_s, compose(map_odom, ep.odom_pose[known])


def interpolate_pose(t_s: np.ndarray, sample_t_s: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """Poses at ``t_s``, linear in x, y and in the unwrapped yaw; NaN outside the samples."""
    out = np.full((len(t_s), 3), np.nan)
    if len(sample_t_s) < 2:
        return out
    inside = (t_s >= sample_t_s[0]) & (t_s <= sample_t_s[-1])
    for k, series in enumerate((poses[:, 0], poses[:, 1], np.unwrap(poses[:, 2]))):
        out[inside, k] = np.interp(t_s[inside], sample_t_s, series)
    out[:, 2] = np.where(np.isnan(out[:, 2]), np.nan, wrap_angle(out[:, 2]))
    return out


def position_error_series(ep: Episode) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, error_m): distance between the estimate and the truth at the truth's samples."""
    est_t, est = estimate_map_base(ep)
    if len(ep.truth_t_s) == 0 or len(est_t) < 2:
        return np.zeros(0), np.zeros(0)
    at = interpolate_pose(ep.truth_t_s, est_t, est)
    err = np.hypot(at[:, 0] - ep.truth_pose[:, 0], at[:, 1] - ep.truth_pose[:, 1])
    ok = np.isfinite(err)
    return ep.truth_t_s[ok], err[ok]


# ----------------------------------------------------------------------------- people


def clearance_series(ep: Episode) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, clearance_m): at each truth sample, the body-to-body distance to the nearest
    person (the people's sample at or before it); inf when nobody is present."""
    if len(ep.truth_t_s) == 0:
        return np.zeros(0), np.zeros(0)
    if len(ep.people_t_s) == 0 or ep.people_xy.shape[1] == 0:
        return ep.truth_t_s, np.full(len(ep.truth_t_s), np.inf)
    k = np.clip(np.searchsorted(ep.people_t_s, ep.truth_t_s, side="right") - 1, 0, None)
    xy = ep.people_xy[k]  # (N, P, 2)
    gap = (np.linalg.norm(xy - ep.truth_pose[:, None, :2], axis=-1)
           - ep.people_radius_m[k] - ep.robot_radius_m)
    gap = np.where(np.isfinite(gap), gap, np.inf)
    return ep.truth_t_s, gap.min(axis=1)


# ----------------------------------------------------------------------------- motion


def jerk_series(t_s: np.ndarray, rate: np.ndarray, smooth_s: float = JERK_SMOOTH_S
                ) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, jerk) of a speed or a yaw rate sampled at ``t_s``: averaged over ``smooth_s``
    blocks on a uniform grid (resampled at the median sample interval), then differentiated
    twice. Empty when there are too few samples."""
    t_s, rate = np.asarray(t_s, dtype=float), np.asarray(rate, dtype=float)
    if len(t_s) < 5:
        return np.zeros(0), np.zeros(0)
    dt = float(np.median(np.diff(t_s)))
    if not dt > 0.0:
        return np.zeros(0), np.zeros(0)
    grid = np.arange(t_s[0], t_s[-1] + 0.5 * dt, dt)
    v = np.interp(grid, t_s, rate)
    n = max(1, round(smooth_s / dt))
    m = len(v) // n
    if m < 3:
        return np.zeros(0), np.zeros(0)
    vs = v[: m * n].reshape(m, n).mean(axis=1)
    ts = grid[: m * n].reshape(m, n).mean(axis=1)
    h = n * dt
    return ts[1:-1], np.diff(vs, 2) / h**2


def rms(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.sqrt(np.mean(values**2))) if len(values) else float("nan")


def path_length_m(xy: np.ndarray) -> float:
    xy = np.asarray(xy, dtype=float)
    return float(np.sum(np.hypot(*np.diff(xy, axis=0).T))) if len(xy) > 1 else 0.0


# ----------------------------------------------------------------------------- per goal


@dataclass(frozen=True)
class GoalMetrics:
    name: str
    reached: bool
    status: str
    time_s: float
    path_length_m: float
    min_clearance_people_m: float  # inf: nobody about
    time_within_personal_space_s: float
    jerk_linear_rms_mps3: float
    jerk_angular_rms_radps3: float
    ate_rms_m: float
    ate_max_m: float
    planner_cycle_p95_ms: float
    contacts_people: int
    contacts_objects: int

    def as_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in self.__dict__.items()}


def _segment_metrics(ep: Episode, name: str, status: str, t0: float, t1: float,
                     series: dict[str, tuple[np.ndarray, np.ndarray]]) -> GoalMetrics:
    m_truth = ep.window(t0, t1, ep.truth_t_s)
    ct, clear = series["clearance"]
    m_clear = ep.window(t0, t1, ct)
    dt_truth = float(np.median(np.diff(ep.truth_t_s))) if len(ep.truth_t_s) > 1 else 0.0
    close = clear[m_clear] < PERSONAL_SPACE_M
    jt, jv = series["jerk_v"]
    wt, jw = series["jerk_w"]
    et, err = series["error"]
    m_err = ep.window(t0, t1, et)
    cycles = ep.cycle_ms[ep.window(t0, t1, ep.cycle_t_s)]
    contacts = [c for c in ep.contacts if t0 <= c.t_start_s <= t1 and not c.with_surface]
    return GoalMetrics(
        name=name, reached=status == "reached", status=status, time_s=t1 - t0,
        path_length_m=path_length_m(ep.truth_pose[m_truth, :2]),
        min_clearance_people_m=float(clear[m_clear].min()) if m_clear.any() else math.inf,
        time_within_personal_space_s=float(np.count_nonzero(close) * dt_truth),
        jerk_linear_rms_mps3=rms(jv[ep.window(t0, t1, jt)]),
        jerk_angular_rms_radps3=rms(jw[ep.window(t0, t1, wt)]),
        ate_rms_m=rms(err[m_err]),
        ate_max_m=float(err[m_err].max()) if m_err.any() else float("nan"),
        planner_cycle_p95_ms=(float(np.percentile(cycles, 95)) if len(cycles)
                              else float("nan")),
        contacts_people=sum(c.with_person for c in contacts),
        contacts_objects=sum(not c.with_person for c in contacts),
    )


def time_series(ep: Episode) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The series the metrics and the report's plots are made of: clearance (m), position
    error (m), linear jerk (m/s³), angular jerk (rad/s³), each as (t_s, values)."""
    return {
        "clearance": clearance_series(ep),
        "error": position_error_series(ep),
        "jerk_v": jerk_series(ep.truth_t_s, ep.truth_v_mps),
        "jerk_w": jerk_series(ep.truth_t_s, ep.truth_w_radps),
    }


def goal_metrics(ep: Episode) -> list[GoalMetrics]:
    """One :class:`GoalMetrics` per goal of the episode, over the time from sending it to
    its result (to the end of the recording for a goal with no result)."""
    series = time_series(ep)
    t_last = float(ep.truth_t_s[-1]) if len(ep.truth_t_s) else 0.0
    return [_segment_metrics(ep, g.name, g.status, g.t_start_s,
                             g.t_end_s if g.t_end_s is not None else max(t_last, g.t_start_s),
                             series)
            for g in ep.goals]


def episode_metrics(ep: Episode) -> GoalMetrics:
    """The same metrics over the whole run (from the first goal sent to the last result):
    ``reached`` is true when every goal was."""
    if not ep.goals:
        raise ValueError("the episode has no goals")
    series = time_series(ep)
    t_last = float(ep.truth_t_s[-1]) if len(ep.truth_t_s) else 0.0
    t0 = ep.goals[0].t_start_s
    t1 = ep.goals[-1].t_end_s if ep.goals[-1].t_end_s is not None else max(t_last, t0)
    n_reached = sum(g.reached for g in ep.goals)
    status = "reached" if n_reached == len(ep.goals) else f"{n_reached}/{len(ep.goals)} reached"
    return _segment_metrics(ep, "tour", status, t0, t1, series)


def crossings(ep: Episode, areas: dict[str, np.ndarray]) -> dict[str, float | None]:
    """For each named area (a polygon (K, 2) in the world frame: a rug, a threshold), the
    first time the robot's true centre was inside it (None: never)."""
    out: dict[str, float | None] = {}
    xy = ep.truth_pose[:, :2]
    for name, poly in areas.items():
        inside = points_in_polygon(xy, np.asarray(poly, dtype=float))
        out[name] = float(ep.truth_t_s[np.argmax(inside)]) if inside.any() else None
    return out


def points_in_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule: which points (N, 2) lie inside the polygon (K, 2)."""
    x, y = xy[:, 0][:, None], xy[:, 1][:, None]
    x1, y1 = poly[:, 0][None, :], poly[:, 1][None, :]
    x2, y2 = np.roll(poly[:, 0], -1)[None, :], np.roll(poly[:, 1], -1)[None, :]
    straddles = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    return np.count_nonzero(straddles & (x < x_cross), axis=1) % 2 == 1


def rectangle(center_m: tuple[float, float], size_m: tuple[float, float],
              yaw_rad: float = 0.0) -> np.ndarray:
    """The corners (4, 2) of a rectangle of ``size_m`` (along its yaw, across) at
    ``center_m``."""
    hx, hy = 0.5 * size_m[0], 0.5 * size_m[1]
    corners = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return corners @ np.array([[c, s], [-s, c]]) + np.asarray(center_m, dtype=float)
