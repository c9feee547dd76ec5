"""How candidates are drawn: velocity-target knots, quasi-random and refined (ROS-free).

A candidate's parameters are ``K`` knots of (v, w) targets at ``knot_times`` spread evenly
over the horizon (the first at t = 0); the target at the end of each step is their linear
interpolation. The trajectory is then the limits-respecting tracking of those targets
(:mod:`hearth_trajectory.trajectory_space`).

* Stage 1 covers the whole box of targets with a scrambled Sobol sequence (quasi-random,
  low discrepancy, no lattice), plus structured seeds: the previous best time-shifted, the
  quickest stop, turns in place, keeping the current velocity, and arcs.
* Stages 2+ (cross-entropy): around each of the best few candidates, Gaussian samples
  (again from a Sobol sequence, through the normal quantile) with the spread of the elite
  set, shrinking with each iteration.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from hearth_trajectory.trajectory_space import MotionLimits


class KnotSpace:
    """The map from knots (N, K, 2) to per-step targets (N, T, 2), and the box of knots."""

    def __init__(self, limits: MotionLimits, steps: int, dt_s: float, knots: int = 4):
        if knots < 2:
            raise ValueError("need at least 2 knots")
        self.limits = limits
        self.steps = steps
        self.dt_s = dt_s
        self.knots = knots
        self.knot_times = np.linspace(0.0, steps * dt_s, knots)
        t = dt_s * np.arange(1, steps + 1)  # the target holds at the end of each step
        basis = np.zeros((steps, knots))
        for j in range(knots):
            e = np.zeros(knots)
            e[j] = 1.0
            basis[:, j] = np.interp(t, self.knot_times, e)
        self.basis = basis  # (T, K)
        self.low = np.array([limits.linear.min_velocity, limits.angular.min_velocity])
        self.high = np.array([limits.linear.max_velocity, limits.angular.max_velocity])

    @property
    def dims(self) -> int:
        return 2 * self.knots

    def targets(self, knots: np.ndarray) -> np.ndarray:
        """(N, K, 2) knots -> (N, T, 2) per-step targets."""
        return np.matmul(self.basis, knots)

    def clip(self, knots: np.ndarray) -> np.ndarray:
        return np.clip(knots, self.low, self.high)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Points of the unit cube (N, 2K) -> knots (N, K, 2) filling the box."""
        u = u.reshape(-1, self.knots, 2)
        return self.low + u * (self.high - self.low)

    def knots_of(self, targets: np.ndarray) -> np.ndarray:
        """Knots that approximate per-step ``targets`` (N, T, 2): their values at the knot
        times (the first knot takes the first step's target)."""
        t = self.dt_s * np.arange(1, self.steps + 1)
        out = np.empty((targets.shape[0], self.knots, 2))
        for c in range(2):
            for j, tk in enumerate(self.knot_times):
                out[:, j, c] = _interp_rows(tk, t, targets[:, :, c])
        return out

    def seeds(self, v_now: float, w_now: float) -> np.ndarray:
        """Structured candidates: stop, turns in place, hold the current velocity, arcs."""
        lin, ang = self.limits.linear, self.limits.angular
        rows = [
            (0.0, 0.0),
            (0.0, ang.max_velocity), (0.0, ang.min_velocity),
            (0.0, 0.5 * ang.max_velocity), (0.0, 0.5 * ang.min_velocity),
            (v_now, w_now),
        ]
        for v in (lin.max_velocity, 0.5 * lin.max_velocity):
            for frac in (-0.5, -0.2, 0.0, 0.2, 0.5):
                rows.append((v, frac * ang.max_velocity))
        const = np.array(rows)
        return self.clip(np.repeat(const[:, None, :], self.knots, axis=1))


def _interp_rows(tk: float, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (N, T) over times ``t`` (T,) at ``tk`` (held beyond the ends)."""
    if tk <= t[0]:
        return values[:, 0].copy()
    if tk >= t[-1]:
        return values[:, -1].copy()
    i = int(np.searchsorted(t, tk)) - 1
    f = (tk - t[i]) / (t[i + 1] - t[i])
    return values[:, i] + f * (values[:, i + 1] - values[:, i])


class SobolSource:
    """Randomised quasi-random points: one scrambled Sobol sequence, drawn at start, given a
    fresh random shift (modulo 1, a Cranley-Patterson rotation) per call, so that every
    cycle's points are new and still evenly spread. Seeded: runs are reproducible."""

    def __init__(self, dims: int, seed: int = 0, size: int = 4096):
        self.dims = dims
        self.rng = np.random.default_rng(seed)
        m = int(np.ceil(np.log2(max(size, 2))))
        self.points = qmc.Sobol(dims, scramble=True, seed=self.rng).random_base2(m)

    def uniform(self, n: int) -> np.ndarray:
        """(n, dims) points in [0, 1)."""
        if n <= 0:
            return np.zeros((0, self.dims))
        reps = -(-n // len(self.points))
        pts = np.tile(self.points, (reps, 1))[:n] if reps > 1 else self.points[:n]
        return (pts + self.rng.random(self.dims)) % 1.0

    def normal(self, n: int) -> np.ndarray:
        """(n, dims) standard normal points (through the normal quantile)."""
        u = np.clip(self.uniform(n), 1e-6, 1.0 - 1e-6)
        return ndtri(u)


def refine(space: KnotSpace, knots: np.ndarray, costs: np.ndarray, n_new: int,
           source: SobolSource, elite_fraction: float, centres: int, shrink: float,
           min_std_fraction: float) -> np.ndarray:
    """One cross-entropy step: ``n_new`` knots around the ``centres`` best candidates, with
    the per-coordinate spread of the elite set (the best ``elite_fraction``) times
    ``shrink``, floored at ``min_std_fraction`` of the box."""
    finite = np.isfinite(costs)
    if not finite.any() or n_new <= 0:
        return np.zeros((0, space.knots, 2))
    order = np.argsort(np.where(finite, costs, np.inf))
    n_elite = max(2, round(elite_fraction * len(costs)))
    elite = knots[order[:n_elite]]
    std = shrink * elite.std(axis=0) + min_std_fraction * (space.high - space.low)
    centre_idx = order[: max(1, min(centres, len(order)))]
    z = source.normal(n_new).reshape(n_new, space.knots, 2)
    which = np.arange(n_new) % len(centre_idx)
    return space.clip(knots[centre_idx[which]] + z * std)
