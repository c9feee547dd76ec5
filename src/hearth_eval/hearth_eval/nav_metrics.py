"""The navigation suite's metrics: per episode, and aggregated per variant (ROS-free).

Per episode (:func:`episode_metrics`), from what the closed loop recorded
(:class:`hearth_eval.run_metrics.Episode`, the demo's definitions) and the free-space lower
bound of each goal (:mod:`hearth_eval.nav_route`):

- **success**: every goal reached (the robot's centre within the loop's ``goal_radius_m``,
  0.25 m: the planners' 0.15 m goal tolerance and room to stop) within the scenario's
  ``goal_timeout_s``, before its ``duration_s`` is up. Collisions are counted apart.
- **collisions** with people and with objects (walls, doors, furniture, clutter): the
  simulator's contacts of the robot's bodies, a grinding contact that flickers counted once
  (``run_metrics.merge_contacts``); the wheels and chassis on the floor, a rug or a threshold
  are no collision.
- **time to goal** against the free-space lower bound: for each goal, from sending it until
  the robot stands at it (within the goal radius, slower than 0.05 m/s); its lower bound is
  the time to drive the goal's shortest path on the empty map, less the goal radius, at the
  robot's top speed and acceleration from standstill to standstill. ``time_ratio`` is the sum
  of the times over the sum of the bounds (successful episodes only).
- **path length ratio**: the true distance driven over the shortest path's length (the sum
  over the goals, successful episodes only).
- **minimum distance to people**: body to body (centre distance less both radii; 0:
  touching), and the time spent with someone closer than 0.5 m.
- **jerk**: RMS of the second derivative of the true forward speed (m/s³) and yaw rate
  (rad/s³), averaged over 0.1 s blocks first (``run_metrics.jerk_series``).
- **planner cycle p95**: the 95th percentile of the wall time of the local planner's
  ``plan()`` per 10 Hz cycle (the costmap and tracker, common to every variant, excluded).
  Wall time on a shared machine: compare variants measured in the same run.
- **fusion drift**: hearth_fusion's EKF on the simulated IMU and wheels, end-of-episode
  position error over distance driven (%) (:mod:`hearth_eval.loop_fusion`).
- **ATE**: not measured here (``None``): it needs V-SLAM in the loop, too costly per
  episode; ``./hearth demo`` and ``./hearth eval slam`` measure it.

Aggregates per variant (:func:`aggregate`): the mean of each metric over the episodes with
a 95 % confidence interval from the percentile bootstrap (2000 resamples of the episodes,
seeded); the success rate with its Wilson score interval. Variants are compared on the same
episodes: :func:`paired_difference` bootstraps the mean of per-episode differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

STANDSTILL_MPS = 0.05
BOOTSTRAP_RESAMPLES = 2000
ATE_NOTE = ("ATE needs V-SLAM in the loop, too costly per episode: see ./hearth demo and "
            "./hearth eval slam; fusion drift is measured instead")

# The metrics of an episode, in table order: (key, heading, format, aggregate as mean/sum).
METRICS = (
    ("success", "success %", "pct", "rate"),
    ("collisions_people", "people hits", "int", "sum"),
    ("collisions_objects", "object hits", "int", "sum"),
    ("time_ratio", "time/LB", "2f", "mean"),
    ("path_ratio", "path/LB", "2f", "mean"),
    ("min_clearance_people_m", "min dist m", "2f", "mean"),
    ("time_within_0_5_m_s", "<0.5m s", "1f", "mean"),
    ("jerk_linear_rms_mps3", "jerk m/s3", "2f", "mean"),
    ("jerk_angular_rms_radps3", "jerk rad/s3", "1f", "mean"),
    ("planner_cycle_p95_ms", "cycle p95 ms", "1f", "mean"),
    ("fusion_drift_percent", "drift %", "2f", "mean"),
    ("ate_rms_m", "ATE m", "na", "mean"),
)


@dataclass(frozen=True)
class LegBound:
    """A goal's free-space lower bound (``nav_route``)."""

    length_m: float
    time_s: float


def episode_metrics(result, bounds: list[LegBound]) -> dict[str, Any]:
    """The metrics (module docstring) of one closed-loop run (``planner_loop.LoopResult``)
    given each goal's lower bound, as a plain dict (None where undefined)."""
    from hearth_eval.run_metrics import episode_metrics as run_episode_metrics

    ep = result.episode
    m = run_episode_metrics(ep)
    legs = result.legs
    reached = sum(leg.status == "reached" for leg in legs)
    n_goals = max(len(bounds), len(legs))
    success = bool(result.reached)
    time_s = lb_s = path_m = lb_m = None
    if result.reached and len(bounds) == len(legs):
        time_s = sum(_arrival(leg) - leg.t_sent_s for leg in legs)
        lb_s = sum(b.time_s for b in bounds)
        lb_m = sum(b.length_m for b in bounds)
        path_m = m.path_length_m
    drift = result.fusion_drift
    return {
        "success": success,
        "goals": n_goals, "goals_reached": reached,
        "status": "; ".join(f"{leg.name}: {leg.status}" for leg in legs),
        "collisions_people": int(m.contacts_people),
        "collisions_objects": int(m.contacts_objects),
        "contacts": sorted({f"{c.other} ({c.other_kind})" for c in ep.contacts}),
        "time_s": _round(time_s), "lower_bound_s": _round(lb_s),
        "time_ratio": _ratio(time_s, lb_s),
        "path_length_m": _round(path_m), "lower_bound_length_m": _round(lb_m),
        "path_ratio": _ratio(path_m, lb_m),
        "min_clearance_people_m": _round(m.min_clearance_people_m),
        "time_within_0_5_m_s": _round(m.time_within_personal_space_s),
        "jerk_linear_rms_mps3": _round(m.jerk_linear_rms_mps3),
        "jerk_angular_rms_radps3": _round(m.jerk_angular_rms_radps3),
        "planner_cycle_p95_ms": _round(m.planner_cycle_p95_ms),
        "fusion_drift_percent": None if drift is None else _round(drift.drift_percent),
        "fusion_position_error_m": None if drift is None else _round(drift.position_error_m),
        "fusion_heading_error_deg": None if drift is None else _round(drift.heading_error_deg),
        "fusion_rejected": {} if drift is None else dict(drift.rejected),
        "ate_rms_m": None,
        "sim_time_s": _round(float(ep.truth_t_s[-1]) if len(ep.truth_t_s) else 0.0),
        "wall_s": _round(result.wall_s),
    }


def _arrival(leg) -> float:
    """When the robot stood at the goal (the run's end of the goal when it never stood)."""
    if leg.t_arrived_s is not None:
        return leg.t_arrived_s
    return leg.t_end_s if leg.t_end_s is not None else math.inf


def _round(x: float | None, nd: int = 4) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b > 0.0:
        return None
    return _round(a / b)


# ----------------------------------------------------------------------------- aggregates


@dataclass(frozen=True)
class Estimate:
    """A mean (or a rate, or a total) over episodes, with its 95 % interval."""

    value: float | None
    lo: float | None
    hi: float | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {"value": _round(self.value), "lo": _round(self.lo), "hi": _round(self.hi),
                "n": self.n}


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default)."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    d = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_mean(values: np.ndarray, seed: int = 0,
                   resamples: int = BOOTSTRAP_RESAMPLES) -> Estimate:
    """The mean with its 95 % percentile-bootstrap interval."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(x) == 0:
        return Estimate(None, None, None, 0)
    if len(x) == 1:
        return Estimate(float(x[0]), None, None, 1)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (resamples, len(x)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return Estimate(float(x.mean()), float(lo), float(hi), len(x))


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Estimate]:
    """Each metric of ``METRICS`` over ``rows`` (one variant's episodes): success as a rate
    (%) with the Wilson interval, collisions as totals (interval of the per-episode mean
    times n), the rest as bootstrapped means."""
    out: dict[str, Estimate] = {}
    n = len(rows)
    for key, _head, _fmt, how in METRICS:
        if how == "rate":
            k = sum(bool(r.get(key)) for r in rows)
            lo, hi = wilson_interval(k, n)
            out[key] = Estimate(100.0 * k / n if n else None, 100.0 * lo if n else None,
                                100.0 * hi if n else None, n)
        elif how == "sum":
            est = bootstrap_mean(np.asarray([float(r.get(key) or 0) for r in rows]))
            out[key] = Estimate(*(None if v is None else v * n for v in
                                  (est.value, est.lo, est.hi)), n)
        else:
            out[key] = bootstrap_mean(np.asarray([r.get(key) for r in rows], dtype=object))
    return out


def paired_difference(rows_a: list[dict], rows_b: list[dict], key: str,
                      seed: int = 0) -> Estimate:
    """Mean of ``a - b`` over the episodes both have a value for (matched by scenario, seed
    and planner seed: :func:`episode_key`), with its bootstrap interval: a's advantage is a
    negative difference for a cost."""
    b_by = {episode_key(r): r.get(key) for r in rows_b}
    diffs = [r.get(key) - b_by[episode_key(r)] for r in rows_a
             if r.get(key) is not None and b_by.get(episode_key(r)) is not None]
    return bootstrap_mean(np.asarray(diffs, dtype=float), seed)


def episode_key(row: dict) -> tuple[str, int, int]:
    """What makes a run the same episode for every variant: the scenario, its seed and the
    planner's seed (0 in results written before there was a choice)."""
    return row["scenario"], row["seed"], row.get("planner_seed", 0)


def format_estimate(est: Estimate, fmt: str) -> str:
    """``mean ±half-width`` of the interval (``n/a`` without a value)."""
    if fmt == "na" or est.value is None:
        return "n/a"
    digits = 0 if fmt in ("pct", "int") else int(fmt[0])
    text = f"{est.value:.{digits}f}"
    if est.lo is None or est.hi is None or fmt == "int":
        return text
    half = 0.5 * (est.hi - est.lo)
    return f"{text}±{half:.{digits}f}"
