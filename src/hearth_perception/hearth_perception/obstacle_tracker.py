"""Multi-target tracking of dynamic obstacles: a constant-velocity Kalman filter per track,
Hungarian association with a Mahalanobis gate, births and deaths (ROS-free).

Each :meth:`ObstacleTracker.update` with the detections of one frame at ``t_s``:

1. predicts every track to ``t_s`` (``hearth_perception.cv_model``: CV model, white
   acceleration of spectral density ``accel_psd_m2ps3``);
2. associates detections to tracks by minimum total squared Mahalanobis distance
   (``scipy.optimize.linear_sum_assignment``), pairs beyond the gate ``gate_chi2`` excluded;
   confirmed tracks choose first, tentative ones take what is left (a matching cascade, so
   a new clutter track never steals a person's detection);
3. updates the matched tracks with their detections (measurement noise
   ``measurement_noise_m``) and smooths their radius;
4. starts a tentative track at each unmatched detection (velocity 0, uncertain by
   ``initial_speed_std_mps``); a track is confirmed after ``confirm_hits`` hits;
5. deletes a confirmed track not hit for ``max_missing_s`` and a tentative one not hit for
   ``tentative_max_missing_s``.

Ids count up from 1 and are never reused. All per-track work is on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from hearth_perception.cv_model import (
    initial_covariance,
    kf_predict,
    kf_update,
    mahalanobis_sq,
)

_UNASSIGNABLE = 1.0e9


@dataclass(frozen=True)
class TrackerParams:
    accel_psd_m2ps3: float = 0.2
    measurement_noise_m: float = 0.06
    initial_speed_std_mps: float = 1.0
    gate_chi2: float = 13.8  # 99.9 % of a 2-dof chi-square
    confirm_hits: int = 3
    max_missing_s: float = 1.0
    tentative_max_missing_s: float = 0.3
    radius_smoothing: float = 0.3  # weight of a new radius measurement

    def __post_init__(self) -> None:
        if not (self.accel_psd_m2ps3 >= 0.0 and self.measurement_noise_m > 0.0
                and self.initial_speed_std_mps > 0.0 and self.gate_chi2 > 0.0
                and self.confirm_hits >= 1 and self.max_missing_s > 0.0
                and self.tentative_max_missing_s > 0.0 and 0.0 < self.radius_smoothing <= 1.0):
            raise ValueError(f"inconsistent tracker parameters: {self}")


@dataclass(frozen=True)
class Track:
    """One tracked obstacle at the tracker's time: ``position`` (2,) m, ``velocity`` (2,)
    m/s, ``covariance`` (4, 4) over (x, y, vx, vy), ``radius`` m, ``age`` s since birth,
    ``hits`` measurements associated since birth."""

    id: int
    position: np.ndarray
    velocity: np.ndarray
    covariance: np.ndarray
    radius: float
    age: float
    hits: int
    confirmed: bool


@dataclass(frozen=True)
class TrackArrays:
    """The same as arrays over K tracks: ids (K,), positions (K, 2), velocities (K, 2),
    covariances (K, 4, 4), radii (K,), ages (K,), hits (K,)."""

    ids: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    covariances: np.ndarray
    radii: np.ndarray
    ages: np.ndarray
    hits: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


class ObstacleTracker:
    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        self._R = np.eye(2) * self.params.measurement_noise_m**2
        self._next_id = 1
        self.t_s: float | None = None  # time of the last update
        self._x = np.zeros((0, 4))
        self._P = np.zeros((0, 4, 4))
        self._ids = np.zeros(0, dtype=np.int64)
        self._born_s = np.zeros(0)
        self._last_hit_s = np.zeros(0)
        self._hits = np.zeros(0, dtype=np.int64)
        self._radius = np.zeros(0)
        self.births = 0
        self.deaths = 0

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def confirmed(self) -> np.ndarray:
        return self._hits >= self.params.confirm_hits

    # ---------------------------------------------------------------------- update
    def update(self, t_s: float, positions: np.ndarray, radii: np.ndarray | None = None) -> None:
        """Fuse the detections of one frame: ``positions`` (D, 2), ``radii`` (D,), at ``t_s``.

        Raises ValueError when ``t_s`` is not after the last update, or for non-finite or
        misshapen detections (the tracker is then unchanged).
        """
        z = np.asarray(positions, dtype=float).reshape(-1, 2)
        r = np.zeros(len(z)) if radii is None else np.asarray(radii, dtype=float).reshape(-1)
        if len(r) != len(z):
            raise ValueError(f"{len(z)} positions but {len(r)} radii")
        if not (np.isfinite(t_s) and np.all(np.isfinite(z)) and np.all(np.isfinite(r))):
            raise ValueError("non-finite time or detection")
        if self.t_s is not None and not t_s > self.t_s:
            raise ValueError(f"time {t_s:.6f} s is not after the last update {self.t_s:.6f} s")
        if self.t_s is not None and len(self._ids):
            self._x, self._P = kf_predict(self._x, self._P, t_s - self.t_s,
                                          self.params.accel_psd_m2ps3)
        self.t_s = float(t_s)

        track_of_det = self._associate(z)
        matched = track_of_det >= 0
        if matched.any():
            ti, di = track_of_det[matched], np.nonzero(matched)[0]
            self._x[ti], self._P[ti] = kf_update(self._x[ti], self._P[ti], z[di], self._R)
            w = self.params.radius_smoothing
            self._radius[ti] = (1.0 - w) * self._radius[ti] + w * r[di]
            self._hits[ti] += 1
            self._last_hit_s[ti] = t_s
        self._birth(z[~matched], r[~matched], t_s)
        self.prune(t_s)

    def _associate(self, z: np.ndarray) -> np.ndarray:
        """For each detection, the index of its track, or -1."""
        out = np.full(len(z), -1, dtype=np.int64)
        if len(z) == 0 or len(self._ids) == 0:
            return out
        d2 = mahalanobis_sq(self._x, self._P, z, self._R)  # (T, D)
        confirmed = self.confirmed
        for group in (np.nonzero(confirmed)[0], np.nonzero(~confirmed)[0]):
            free = np.nonzero(out < 0)[0]
            if len(group) == 0 or len(free) == 0:
                continue
            cost = d2[np.ix_(group, free)]
            cost = np.where(cost <= self.params.gate_chi2, cost, _UNASSIGNABLE)
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] <= self.params.gate_chi2
            out[free[cols[ok]]] = group[rows[ok]]
        return out

    def _birth(self, z: np.ndarray, r: np.ndarray, t_s: float) -> None:
        n = len(z)
        if n == 0:
            return
        x = np.zeros((n, 4))
        x[:, :2] = z
        P = initial_covariance(n, self.params.measurement_noise_m,
                               self.params.initial_speed_std_mps)
        ids = np.arange(self._next_id, self._next_id + n)
        self._next_id += n
        self.births += n
        self._x = np.concatenate([self._x, x])
        self._P = np.concatenate([self._P, P])
        self._ids = np.concatenate([self._ids, ids])
        self._born_s = np.concatenate([self._born_s, np.full(n, t_s)])
        self._last_hit_s = np.concatenate([self._last_hit_s, np.full(n, t_s)])
        self._hits = np.concatenate([self._hits, np.ones(n, dtype=np.int64)])
        self._radius = np.concatenate([self._radius, r])

    def prune(self, t_s: float) -> int:
        """Delete tracks missed for too long as of ``t_s`` (also when no frame comes: a
        silent sensor lets every track die). Returns how many were deleted."""
        if not len(self._ids) or not np.isfinite(t_s):
            return 0
        missing = t_s - self._last_hit_s
        limit = np.where(self.confirmed, self.params.max_missing_s,
                         self.params.tentative_max_missing_s)
        keep = missing <= limit
        dropped = int((~keep).sum())
        if dropped:
            self.deaths += dropped
            for name in ("_x", "_P", "_ids", "_born_s", "_last_hit_s", "_hits", "_radius"):
                setattr(self, name, getattr(self, name)[keep])
        return dropped

    # ---------------------------------------------------------------------- output
    def arrays(self, confirmed_only: bool = True) -> TrackArrays:
        """The tracks (confirmed only by default) at the time of the last update."""
        m = self.confirmed if confirmed_only else np.ones(len(self._ids), dtype=bool)
        t = self.t_s if self.t_s is not None else 0.0
        return TrackArrays(
            ids=self._ids[m].copy(),
            positions=self._x[m, :2].copy(),
            velocities=self._x[m, 2:].copy(),
            covariances=self._P[m].copy(),
            radii=self._radius[m].copy(),
            ages=t - self._born_s[m],
            hits=self._hits[m].copy(),
        )

    def tracks(self, confirmed_only: bool = True) -> list[Track]:
        a = self.arrays(confirmed_only)
        conf = a.hits >= self.params.confirm_hits
        return [
            Track(int(a.ids[k]), a.positions[k], a.velocities[k], a.covariances[k],
                  float(a.radii[k]), float(a.ages[k]), int(a.hits[k]), bool(conf[k]))
            for k in range(len(a))
        ]
