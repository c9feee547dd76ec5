"""The space of trajectories the planner samples: jerk-limited tracking of velocity targets.

A candidate is a sequence of velocity targets ``(v, w)``, one per planning step of ``dt_s``
(usually made from a few knots, :mod:`hearth_trajectory.sampling`). The trajectory is what a
jerk-limited drive does to follow them: per step, a constant jerk (linear and angular)
moves the acceleration, which is continuous, and the velocity, which is smooth. Each step
picks the acceleration at its end so that

* the velocity gets as close to the target as it can without overshooting it, and
* the state stays *viable*: from it, the acceleration can still be brought back to zero
  within the jerk limit without the velocity leaving its limits.

Within a step the acceleration moves linearly and the velocity quadratically; both are
checked in continuous time (see ``docs/planner.md``: the within-step extremum of the
velocity is covered by the viability condition). So every candidate respects every limit
(velocity, acceleration, jerk, linear and angular) *by construction*, whatever its targets:
nothing is rejected, and a target outside the limits is simply not reached. A target of zero
from full speed is the quickest stop the limits allow; ``v = 0, w = +-w_max`` turns in place.

Arrays: an axis index comes first, 0 = linear (m, m/s, m/s^2, m/s^3), 1 = angular (rad,
rad/s, ...); then candidates, then steps. Poses are in the odom frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, vectorize

LINEAR, ANGULAR = 0, 1


@dataclass(frozen=True)
class AxisLimits:
    """Limits of one axis. Velocities: ``min_velocity <= 0 <= max_velocity``."""

    min_velocity: float
    max_velocity: float
    max_accel: float
    max_jerk: float

    def __post_init__(self) -> None:
        vals = (self.min_velocity, self.max_velocity, self.max_accel, self.max_jerk)
        if not all(math.isfinite(x) for x in vals):
            raise ValueError(f"limits must be finite, got {self}")
        if not (self.min_velocity <= 0.0 <= self.max_velocity and self.max_velocity > 0.0):
            raise ValueError(f"need min_velocity <= 0 < max_velocity, got {self}")
        if not (self.max_accel > 0.0 and self.max_jerk > 0.0):
            raise ValueError(f"max_accel and max_jerk must be positive, got {self}")


@dataclass(frozen=True)
class MotionLimits:
    """Linear (m/s, m/s^2, m/s^3) and angular (rad/s, ...) limits of the base."""

    linear: AxisLimits
    angular: AxisLimits

    def column(self, field: str) -> np.ndarray:
        """``field`` of both axes as a (2, 1) array that broadcasts over (2, N)."""
        return np.array([[getattr(self.linear, field)], [getattr(self.angular, field)]])


@dataclass
class Rollouts:
    """N trajectories of T steps from one start state, at times ``k * dt_s`` (k = 0..T).

    ``vel``/``acc``: (2, N, T+1), ``jerk``: (2, N, T) (constant over step k, from k to k+1);
    ``x``/``y``/``yaw``: (N, T+1) odom-frame poses (yaw unwrapped). Index 0 is the start.
    """

    dt_s: float
    vel: np.ndarray
    acc: np.ndarray
    jerk: np.ndarray
    x: np.ndarray
    y: np.ndarray
    yaw: np.ndarray

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def steps(self) -> int:
        return self.x.shape[1] - 1

    def take(self, idx: np.ndarray | int) -> Rollouts:
        """The rollouts at ``idx`` (keeps the candidate axis)."""
        idx = np.atleast_1d(idx)
        return Rollouts(
            self.dt_s, self.vel[:, idx], self.acc[:, idx], self.jerk[:, idx],
            self.x[idx], self.y[idx], self.yaw[idx],
        )  # fmt: skip


@dataclass(frozen=True)
class StartState:
    """Where a plan starts: pose (odom frame) and, per axis, velocity and acceleration."""

    x_m: float
    y_m: float
    yaw_rad: float
    v_mps: float
    w_radps: float
    a_mps2: float = 0.0
    alpha_radps2: float = 0.0


# --- the discrete braking profile ------------------------------------------------------------


# Scalar formulas, compiled twice from the same source: as numpy ufuncs (numba.vectorize)
# for arrays, and as inlined functions for the compiled rollout loop below.
_SIG = ["float64(float64, float64, float64)"]


def braking_dv(acc: float, jerk_max: float, dt_s: float) -> float:
    """Velocity change while the acceleration is brought to zero as fast as the discrete jerk
    limit allows: steps of ``-jerk_max`` while ``|a| >= jerk_max * dt``, then one step that
    lands on zero. Signed like ``acc``."""
    m = abs(acc)
    jd = jerk_max * dt_s
    n = math.floor(m / jd)
    dv = m * dt_s * (n + 0.5) - 0.5 * jd * dt_s * n * (n + 1.0)
    return dv if acc >= 0.0 else -dv


def max_accel_within(margin: float, jerk_max: float, dt_s: float) -> float:
    """The largest end-of-step acceleration ``a1`` for which the step's velocity gain plus the
    braking that follows stays within ``margin``: ``a1 * dt / 2 + braking_dv(max(a1, 0)) <=
    margin`` (margin counted from ``v + a0 * dt / 2``). Monotone in ``margin``; piecewise
    linear."""
    if margin < 0.0:
        return 2.0 * margin / dt_s
    jd2 = jerk_max * dt_s * dt_s
    n = math.floor(0.5 * (math.sqrt(1.0 + 8.0 * margin / jd2) - 1.0))
    return (margin + 0.5 * jd2 * n * (n + 1.0)) / (dt_s * (n + 1.0))


def max_viable_accel(headroom: float, jerk_max: float, dt_s: float) -> float:
    """The largest acceleration ``a >= 0`` with ``braking_dv(a) <= headroom`` (headroom >= 0)."""
    jd2 = jerk_max * dt_s * dt_s
    p = max(headroom, 0.0)
    n = math.floor(math.sqrt(2.0 * p / jd2))
    return (p + 0.5 * jd2 * n * (n + 1.0)) / (dt_s * (n + 0.5))


_braking_dv = njit(inline="always", cache=True)(braking_dv)
_max_accel_within = njit(inline="always", cache=True)(max_accel_within)
braking_dv = vectorize(_SIG, cache=True)(braking_dv)
max_accel_within = vectorize(_SIG, cache=True)(max_accel_within)
max_viable_accel = vectorize(_SIG, cache=True)(max_viable_accel)


def viable(vel: np.ndarray, acc: np.ndarray, limits: MotionLimits, dt_s: float,
           tol: float = 1e-9) -> np.ndarray:
    """Whether states (arrays shaped (2, ...)) lie in the viable set (within ``tol``)."""
    shape = (2,) + (1,) * (np.ndim(vel) - 1)
    lo, hi = (limits.column(f).reshape(shape) for f in ("min_velocity", "max_velocity"))
    amax = limits.column("max_accel").reshape(shape)
    stop = vel + braking_dv(acc, limits.column("max_jerk").reshape(shape), dt_s)
    return (
        (vel >= lo - tol) & (vel <= hi + tol) & (np.abs(acc) <= amax + tol)
        & (stop >= lo - tol) & (stop <= hi + tol)
    )  # fmt: skip


def project_to_viable(vel: np.ndarray, acc: np.ndarray, limits: MotionLimits,
                      dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The nearest viable state: velocity clipped to its limits, then the acceleration to what
    can still be braked within them. Arrays shaped (2,) or (2, N)."""
    vel = np.asarray(vel, dtype=float)
    acc = np.asarray(acc, dtype=float)
    shape = (2,) + (1,) * (vel.ndim - 1)
    lo, hi = (limits.column(f).reshape(shape) for f in ("min_velocity", "max_velocity"))
    amax = limits.column("max_accel").reshape(shape)
    jmax = limits.column("max_jerk").reshape(shape)
    v = np.clip(vel, lo, hi)
    a_hi = np.minimum(amax, max_viable_accel(hi - v, jmax, dt_s))
    a_lo = -np.minimum(amax, max_viable_accel(v - lo, jmax, dt_s))
    # The inverse is exact up to rounding: shave a hair so the result tests viable.
    a = np.clip(acc, a_lo * (1.0 - 1e-12), a_hi * (1.0 - 1e-12))
    return v, a


# --- rollouts --------------------------------------------------------------------------------


def rollout_arrays(start: StartState, targets: np.ndarray, limits: MotionLimits,
                   dt_s: float) -> tuple[np.ndarray, ...]:
    """``vel``, ``acc`` (2, N, T+1), ``jerk`` (2, N, T) and ``x``, ``y``, ``yaw`` (N, T+1) of
    the jerk-limited tracking of ``targets`` (N, T, 2) from the viable ``start``."""
    n, steps, _ = targets.shape
    # Step-major while computing (the candidates of a step are contiguous), then transposed.
    vel = np.empty((2, steps + 1, n))
    acc = np.empty((2, steps + 1, n))
    pose = np.empty((3, steps + 1, n))
    lim = np.stack([limits.column(f)[:, 0] for f in
                    ("min_velocity", "max_velocity", "max_accel", "max_jerk")], axis=1)
    s0 = np.array([start.x_m, start.y_m, start.yaw_rad, start.v_mps, start.w_radps,
                   start.a_mps2, start.alpha_radps2])
    _rollout(s0, np.ascontiguousarray(np.transpose(targets, (2, 1, 0)), dtype=float), lim,
             float(dt_s), vel, acc, pose)
    vel = np.ascontiguousarray(vel.transpose(0, 2, 1))
    acc = np.ascontiguousarray(acc.transpose(0, 2, 1))
    pose = np.ascontiguousarray(pose.transpose(0, 2, 1))
    jerk = np.diff(acc, axis=2) / dt_s
    return vel, acc, jerk, pose[0], pose[1], pose[2]


@njit(cache=True)
def _rollout(s0, targets, lim, dt_s, vel, acc, pose):  # pragma: no cover - compiled
    """The per-step rule (module docstring) for every candidate and axis, then the pose: the
    heading exactly, the position by the midpoint rule. ``lim`` rows (linear, angular):
    (min_velocity, max_velocity, max_accel, max_jerk). Steps outside, candidates inside:
    the candidates' independent chains of arithmetic overlap in the processor."""
    half_dt = 0.5 * dt_s
    dt2 = dt_s * dt_s
    dt3 = dt2 * dt_s
    n = targets.shape[2]
    # Margins beyond which the acceleration limit binds anyway (the functions are monotone):
    # past them the exact bound needs no evaluating.
    saturate = np.empty(2)
    for ax in range(2):
        saturate[ax] = lim[ax, 2] * half_dt + _braking_dv(lim[ax, 2], lim[ax, 3], dt_s)
    for i in range(n):
        pose[0, 0, i], pose[1, 0, i], pose[2, 0, i] = s0[0], s0[1], s0[2]
        for ax in range(2):
            vel[ax, 0, i], acc[ax, 0, i] = s0[3 + ax], s0[5 + ax]
    for k in range(targets.shape[1]):
        for ax in range(2):
            lo, hi, amax, jmax = lim[ax, 0], lim[ax, 1], lim[ax, 2], lim[ax, 3]
            jd = jmax * dt_s
            sat = saturate[ax]
            for i in range(n):
                v, a = vel[ax, k, i], acc[ax, k, i]
                r = min(max(targets[ax, k, i], lo), hi)
                base = v + half_dt * a  # the end-of-step velocity is base + a1 * dt / 2
                # Accelerate towards the target if braking now would end below it, else
                # decelerate; in both cases as hard as possible without overshooting it.
                # Then clamp to the admissible interval: jerk, acceleration, and viability
                # towards both velocity limits (it holds the braking choice: never empty).
                # The viability towards the limit on the target's side is implied (the
                # target lies within the limits): only the other side needs computing.
                a_hi = min(a + jd, amax)
                a_lo = max(a - jd, -amax)
                if r >= v + _braking_dv(a, jmax, dt_s):
                    m = r - base
                    a1 = amax if m >= sat else _max_accel_within(m, jmax, dt_s)
                    m = base - lo
                    if m < sat:
                        a_lo = max(a_lo, -_max_accel_within(m, jmax, dt_s))
                else:
                    m = base - r
                    a1 = -amax if m >= sat else -_max_accel_within(m, jmax, dt_s)
                    m = hi - base
                    if m < sat:
                        a_hi = min(a_hi, _max_accel_within(m, jmax, dt_s))
                a1 = min(max(a1, a_lo), a_hi)
                vel[ax, k + 1, i] = base + half_dt * a1
                acc[ax, k + 1, i] = a1
        for i in range(n):
            v0, a0 = vel[0, k, i], acc[0, k, i]
            w0, al0 = vel[1, k, i], acc[1, k, i]
            jv = (acc[0, k + 1, i] - a0) / dt_s
            jw = (acc[1, k + 1, i] - al0) / dt_s
            yaw = pose[2, k, i]
            yaw_mid = yaw + 0.5 * w0 * dt_s + 0.125 * al0 * dt2 + jw * dt3 / 48.0
            ds = (v0 + 0.5 * a0 * dt_s + 0.125 * jv * dt2) * dt_s
            pose[0, k + 1, i] = pose[0, k, i] + ds * math.cos(yaw_mid)
            pose[1, k + 1, i] = pose[1, k, i] + ds * math.sin(yaw_mid)
            pose[2, k + 1, i] = yaw + w0 * dt_s + 0.5 * al0 * dt2 + jw * dt3 / 6.0


def rollout(start: StartState, targets: np.ndarray, limits: MotionLimits,
            dt_s: float) -> Rollouts:
    """Roll out ``targets`` ((N, T, 2): per step (v, w) targets) from ``start``.

    The start's velocities and accelerations are first projected onto the viable set (a
    no-op for a state taken from an earlier rollout)."""
    v0, a0 = project_to_viable(
        np.array([start.v_mps, start.w_radps]), np.array([start.a_mps2, start.alpha_radps2]),
        limits, dt_s,
    )
    viable_start = StartState(start.x_m, start.y_m, start.yaw_rad, float(v0[0]), float(v0[1]),
                              float(a0[0]), float(a0[1]))
    vel, acc, jerk, x, y, yaw = rollout_arrays(viable_start, np.asarray(targets, dtype=float),
                                               limits, dt_s)
    return Rollouts(dt_s, vel, acc, jerk, x, y, yaw)


def stop_targets(n_steps: int) -> np.ndarray:
    """Targets (1, T, 2) of the quickest stop the limits allow."""
    return np.zeros((1, n_steps, 2))


# --- states within a rollout ------------------------------------------------------------------


def state_at(roll: Rollouts, index: int, t_s: float) -> StartState:
    """The exact state of rollout ``index`` at ``t_s`` seconds after its start (clamped to
    the horizon; past it, the last state held): velocity and acceleration from the step's
    polynomials, the pose by integrating them in sub-steps."""
    dt = roll.dt_s
    t = min(max(t_s, 0.0), roll.steps * dt)
    k = min(int(t // dt), roll.steps - 1)
    tau = t - k * dt
    v0, a0, j = roll.vel[:, index, k], roll.acc[:, index, k], roll.jerk[:, index, k]
    vel = v0 + a0 * tau + 0.5 * j * tau**2
    acc = a0 + j * tau
    x, y, yaw = advance_pose(
        float(roll.x[index, k]), float(roll.y[index, k]), float(roll.yaw[index, k]),
        roll.vel[:, index, k], roll.acc[:, index, k], roll.jerk[:, index, k], tau,
    )
    return StartState(x, y, yaw, float(vel[0]), float(vel[1]), float(acc[0]), float(acc[1]))


def advance_pose(x: float, y: float, yaw: float, vel: np.ndarray, acc: np.ndarray,
                 jerk: np.ndarray, duration_s: float, max_substep_s: float = 0.02
                 ) -> tuple[float, float, float]:
    """Pose after ``duration_s`` of driving the cubic (v, w) polynomials that start with
    ``vel``/``acc``/``jerk`` (each (2,)): midpoint rule on sub-steps."""
    if duration_s <= 0.0:
        return x, y, yaw
    m = max(1, math.ceil(duration_s / max_substep_s))
    h = duration_s / m
    t_mid = (np.arange(m) + 0.5) * h
    v = vel[0] + acc[0] * t_mid + 0.5 * jerk[0] * t_mid**2
    heading = yaw + vel[1] * t_mid + 0.5 * acc[1] * t_mid**2 + jerk[1] * t_mid**3 / 6.0
    x += float(np.sum(v * np.cos(heading)) * h)
    y += float(np.sum(v * np.sin(heading)) * h)
    yaw += vel[1] * duration_s + 0.5 * acc[1] * duration_s**2 + jerk[1] * duration_s**3 / 6.0
    return x, y, float(yaw)
