"""Multi-target tracking of dynamic obstacles: a constant-velocity Kalman filter per track,
Hungarian association with a Mahalanobis gate, births and deaths (ROS-free).

Each track runs an interacting-multiple-model (IMM) filter of two constant-velocity models
(``hearth_perception.cv_model``) that differ in their white-acceleration noise: *steady*
(``steady_accel_psd_m2ps3``, people walking on or standing: the value fitted on ETH/UCY)
and *maneuvering* (``accel_psd_m2ps3``: starting, stopping, turning), switching as a Markov
chain (``maneuver_onset_hz``, ``maneuver_end_hz``). One model alone must choose: a small
noise lags every start and stop; a large one reports a velocity uncertainty of about
0.2 m/s for a person standing still or walking straight, which a planner has to treat as
a possible drift of 0.2 m per second. The IMM follows maneuvers as fast as the large noise
and reports the small uncertainty when the person walks on (``steady_accel_psd_m2ps3`` 0:
the single maneuvering model).

Each :meth:`ObstacleTracker.update` with the detections of one frame at ``t_s``:

1. predicts every track to ``t_s`` (IMM mixing, then each model's CV prediction);
2. associates detections to tracks by minimum total squared Mahalanobis distance plus
   ``ln(det S / det R)`` (the negative log-likelihood: a track whose innovation covariance
   ``S`` has grown while it coasted unseen pays for its width)
   (``scipy.optimize.linear_sum_assignment``), pairs beyond the gate ``gate_chi2`` excluded;
   confirmed tracks choose first, tentative ones take what is left (a matching cascade, so
   a new clutter track never steals a person's detection);
3. updates the matched tracks with their detections (measurement noise
   ``measurement_noise_m``), each model, and the models' probabilities by how well each
   predicted the detection; smooths their radius;
4. starts a tentative track at each unmatched detection (velocity 0, uncertain by
   ``initial_speed_std_mps``); a track is confirmed after ``confirm_hits`` hits.
   A body *cut* by the side of the image (``update``'s ``cut``) only updates a track
   that walks (``cut_min_speed_mps``), leaves its radius alone and starts no track: a
   person leaving the view's side stays tracked at their pace, while an unmapped box at
   the image's edge, whose cut centroid slides as the robot turns, is not dragged into a
   walking phantom;
5. deletes a confirmed track missed for ``max_missing_s`` and a tentative one missed for
   ``tentative_max_missing_s`` of frame time (see :meth:`ObstacleTracker.prune`). With a
   :class:`SensorView` given to ``update``, a track counts as missed only while the sensor
   could have seen it (its whole body inside the view): a person the robot turned away
   from, or who stepped out of the view's side, coasts on the CV model, its covariance
   growing, for up to ``max_coast_s`` since their last detection, instead of being forgotten
   after ``max_missing_s``.

Ids count up from 1 and are never reused. All per-track work is on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from hearth_perception.cv_model import (
    initial_covariance,
    innovation_covariance,
    kf_predict,
    kf_update,
    mahalanobis_sq,
)

_UNASSIGNABLE = 1.0e9


@dataclass(frozen=True)
class TrackerParams:
    accel_psd_m2ps3: float = 0.5  # the maneuvering model
    steady_accel_psd_m2ps3: float = 0.03  # the steady model (0: the maneuvering one alone)
    maneuver_onset_hz: float = 0.1  # rate of steady -> maneuvering
    maneuver_end_hz: float = 2.0  # rate of maneuvering -> steady
    measurement_noise_m: float = 0.06
    cut_min_speed_mps: float = 0.3  # a body cut by the image's side updates only walkers
    initial_speed_std_mps: float = 1.0
    gate_chi2: float = 13.8  # 99.9 % of a 2-dof chi-square
    confirm_hits: int = 3
    max_missing_s: float = 1.0  # in view and not detected
    tentative_max_missing_s: float = 0.3
    max_coast_s: float = 3.0  # since the last detection, out of view included
    radius_smoothing: float = 0.3  # weight of a new radius measurement

    def __post_init__(self) -> None:
        if not (self.accel_psd_m2ps3 >= 0.0 and self.measurement_noise_m > 0.0
                and self.initial_speed_std_mps > 0.0 and self.gate_chi2 > 0.0
                and self.confirm_hits >= 1 and self.max_missing_s > 0.0
                and self.tentative_max_missing_s > 0.0 and 0.0 < self.radius_smoothing <= 1.0
                and self.max_coast_s >= self.max_missing_s and self.cut_min_speed_mps >= 0.0
                and 0.0 <= self.steady_accel_psd_m2ps3 <= self.accel_psd_m2ps3
                and self.maneuver_onset_hz > 0.0 and self.maneuver_end_hz > 0.0):
            raise ValueError(f"inconsistent tracker parameters: {self}")


@dataclass(frozen=True)
class SensorView:
    """Where one depth frame could see a body: within ``half_angle_rad`` of the sensor's
    ``heading_rad`` (its optical axis in the tracking frame's plane) from ``origin_xy``, and
    from ``min_range_m`` to ``max_range_m``."""

    origin_xy: tuple[float, float]
    heading_rad: float
    half_angle_rad: float
    min_range_m: float
    max_range_m: float

    @staticmethod
    def of_camera(T_frame_optical: np.ndarray, half_angle_rad: float, min_range_m: float,
                  max_range_m: float) -> SensorView:
        """The view of a camera whose optical frame (z forward) is ``T_frame_optical``."""
        T = np.asarray(T_frame_optical, dtype=float)
        return SensorView((float(T[0, 3]), float(T[1, 3])),
                          float(np.arctan2(T[1, 2], T[0, 2])), float(half_angle_rad),
                          float(min_range_m), float(max_range_m))

    def sees(self, positions: np.ndarray, radii: np.ndarray) -> np.ndarray:
        """(K,) whether the whole body (a disc of ``radii`` at ``positions`` (K, 2)) lies in
        the view, so that a frame that does not detect it has missed it."""
        rel = np.asarray(positions, dtype=float).reshape(-1, 2) - self.origin_xy
        d = np.hypot(rel[:, 0], rel[:, 1])
        bearing = np.abs((np.arctan2(rel[:, 1], rel[:, 0]) - self.heading_rad + np.pi)
                         % (2.0 * np.pi) - np.pi)
        body = np.arcsin(np.clip(np.asarray(radii, dtype=float) / np.maximum(d, 1e-9),
                                 0.0, 1.0))
        return ((bearing + body <= self.half_angle_rad) & (d >= self.min_range_m)
                & (d <= self.max_range_m))


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


def _combine(mu: np.ndarray, xm: np.ndarray, Pm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moment-matched mixture: weights (K, M), states (K, M, 4), covariances (K, M, 4, 4) ->
    (K, 4), (K, 4, 4)."""
    x = np.einsum("km,kmi->ki", mu, xm)
    d = xm - x[:, None, :]
    P = np.einsum("km,kmij->kij", mu, Pm + d[..., :, None] * d[..., None, :])
    return x, P


class ObstacleTracker:
    def __init__(self, params: TrackerParams | None = None) -> None:
        self.params = params or TrackerParams()
        p = self.params
        self._R = np.eye(2) * p.measurement_noise_m**2
        # The models' noise, steady first; with one model the IMM is a plain Kalman filter.
        self._q = ([p.steady_accel_psd_m2ps3, p.accel_psd_m2ps3]
                   if p.steady_accel_psd_m2ps3 > 0.0 else [p.accel_psd_m2ps3])
        a, b = p.maneuver_onset_hz, p.maneuver_end_hz
        self._mu0 = np.array([b, a]) / (a + b) if len(self._q) == 2 else np.ones(1)
        self._next_id = 1
        self.t_s: float | None = None  # time of the last update
        self._x = np.zeros((0, 4))  # the models combined
        self._P = np.zeros((0, 4, 4))
        m = len(self._q)
        self._xm = np.zeros((0, m, 4))  # per model
        self._Pm = np.zeros((0, m, 4, 4))
        self._mu = np.zeros((0, m))  # model probabilities
        self._ids = np.zeros(0, dtype=np.int64)
        self._born_s = np.zeros(0)
        self._last_hit_s = np.zeros(0)
        self._missed_s = np.zeros(0)  # frame time in view without a detection, since a hit
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
    def update(self, t_s: float, positions: np.ndarray, radii: np.ndarray | None = None,
               view: SensorView | None = None, cut: np.ndarray | None = None) -> None:
        """Fuse the detections of one frame: ``positions`` (D, 2), ``radii`` (D,), at ``t_s``;
        ``view``: what the frame could see (None: everything; a track it does not detect is
        missed); ``cut`` (D,): the detections of bodies cut by the side of the image (None:
        none).

        Raises ValueError when ``t_s`` is not after the last update, or for non-finite or
        misshapen detections (the tracker is then unchanged).
        """
        z = np.asarray(positions, dtype=float).reshape(-1, 2)
        r = np.zeros(len(z)) if radii is None else np.asarray(radii, dtype=float).reshape(-1)
        if len(r) != len(z):
            raise ValueError(f"{len(z)} positions but {len(r)} radii")
        c = (np.zeros(len(z), dtype=bool) if cut is None
             else np.asarray(cut, dtype=bool).reshape(-1))
        if len(c) != len(z):
            raise ValueError(f"{len(z)} positions but {len(c)} cut flags")
        if not (np.isfinite(t_s) and np.all(np.isfinite(z)) and np.all(np.isfinite(r))):
            raise ValueError("non-finite time or detection")
        if self.t_s is not None and not t_s > self.t_s:
            raise ValueError(f"time {t_s:.6f} s is not after the last update {self.t_s:.6f} s")
        frame_dt = t_s - self.t_s if self.t_s is not None else 0.0
        if self.t_s is not None and len(self._ids):
            self._predict(frame_dt)
        self.t_s = float(t_s)
        # Since the last frame, a track the sensor could see and did not detect was missed.
        visible = (np.ones(len(self._ids), dtype=bool) if view is None
                   else view.sees(self._x[:, :2], self._radius))
        self._missed_s += np.where(visible, frame_dt, 0.0)

        track_of_det = self._associate(z, c)
        matched = track_of_det >= 0
        if matched.any():
            ti, di = track_of_det[matched], np.nonzero(matched)[0]
            self._correct(ti, z[di])
            w = np.where(c[di], 0.0, self.params.radius_smoothing)  # a cut body is narrower
            self._radius[ti] = (1.0 - w) * self._radius[ti] + w * r[di]
            self._hits[ti] += 1
            self._last_hit_s[ti] = t_s
            self._missed_s[ti] = 0.0
        born = ~matched & ~c
        self._birth(z[born], r[born], t_s)
        self.prune(t_s)

    def _predict(self, dt_s: float) -> None:
        """IMM: mix the models by the switching probabilities over ``dt_s``, predict each."""
        m = len(self._q)
        if m == 2:
            a, b = self.params.maneuver_onset_hz, self.params.maneuver_end_hz
            e = np.exp(-(a + b) * dt_s)
            stay_steady, stay_maneuver = (b + a * e) / (a + b), (a + b * e) / (a + b)
            switch = np.array([[stay_steady, 1.0 - stay_steady],
                               [1.0 - stay_maneuver, stay_maneuver]])  # [from, to]
            c = self._mu @ switch  # (K, M): predicted model probabilities
            w = self._mu[:, :, None] * switch[None] / np.maximum(c[:, None, :], 1e-300)
            x0 = np.einsum("kij,kid->kjd", w, self._xm)
            d = self._xm[:, :, None, :] - x0[:, None, :, :]  # (K, from, to, 4)
            P0 = np.einsum("kij,kiab->kjab", w, self._Pm) + np.einsum(
                "kij,kija,kijb->kjab", w, d, d)
            self._mu = c
        else:
            x0, P0 = self._xm, self._Pm
        for j, q in enumerate(self._q):
            self._xm[:, j], self._Pm[:, j] = kf_predict(x0[:, j], P0[:, j], dt_s, q)
        self._x, self._P = _combine(self._mu, self._xm, self._Pm)

    def _correct(self, ti: np.ndarray, z: np.ndarray) -> None:
        """Update tracks ``ti`` with detections ``z`` (len(ti), 2): each model, then the
        models' probabilities by the likelihood of the detection under each."""
        xm, Pm = self._xm[ti], self._Pm[ti]
        loglik = np.zeros((len(ti), len(self._q)))
        for j in range(len(self._q)):
            S = innovation_covariance(Pm[:, j], self._R)
            e = z - xm[:, j, :2]
            loglik[:, j] = (-0.5 * np.einsum("ni,nij,nj->n", e, np.linalg.inv(S), e)
                            - 0.5 * np.log(np.linalg.det(S)))
            self._xm[ti, j], self._Pm[ti, j] = kf_update(xm[:, j], Pm[:, j], z, self._R)
        mu = self._mu[ti] * np.exp(loglik - loglik.max(axis=1, keepdims=True))
        self._mu[ti] = mu / mu.sum(axis=1, keepdims=True)
        self._x[ti], self._P[ti] = _combine(self._mu[ti], self._xm[ti], self._Pm[ti])

    def _associate(self, z: np.ndarray, cut: np.ndarray) -> np.ndarray:
        """For each detection, the index of its track, or -1; a ``cut`` one only to a
        track walking at ``cut_min_speed_mps`` or faster."""
        out = np.full(len(z), -1, dtype=np.int64)
        if len(z) == 0 or len(self._ids) == 0:
            return out
        # Negative log-likelihood up to a constant: the squared Mahalanobis distance plus
        # how much wider the track's innovation is than a fresh detection's. A track that
        # has coasted unseen for seconds has a wide gate in Mahalanobis terms alone, and would
        # take the detection of someone else walking into view metres away.
        spread = np.log(np.linalg.det(innovation_covariance(self._P, self._R))
                        / np.linalg.det(self._R))
        d2 = mahalanobis_sq(self._x, self._P, z, self._R) + spread[:, None]  # (T, D)
        walking = np.hypot(self._x[:, 2], self._x[:, 3]) >= self.params.cut_min_speed_mps
        d2[np.ix_(~walking, cut)] = _UNASSIGNABLE
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
        m = len(self._q)
        self._xm = np.concatenate([self._xm, np.repeat(x[:, None], m, axis=1)])
        self._Pm = np.concatenate([self._Pm, np.repeat(P[:, None], m, axis=1)])
        self._mu = np.concatenate([self._mu, np.tile(self._mu0, (n, 1))])
        self._ids = np.concatenate([self._ids, ids])
        self._born_s = np.concatenate([self._born_s, np.full(n, t_s)])
        self._last_hit_s = np.concatenate([self._last_hit_s, np.full(n, t_s)])
        self._missed_s = np.concatenate([self._missed_s, np.zeros(n)])
        self._hits = np.concatenate([self._hits, np.ones(n, dtype=np.int64)])
        self._radius = np.concatenate([self._radius, r])

    def prune(self, t_s: float) -> int:
        """Delete tracks missed for too long as of ``t_s``. Returns how many were deleted.

        Missed time counts on the frames' clock (up to the last update), in view only
        (``update``'s ``view``): frames reach the tracker late (their message age), and a
        caller pruning at its own "now" must not kill a track for frames that have not
        arrived yet. A silent sensor still lets every confirmed track die: the time since
        the last frame counts as missed for a confirmed track, and no track outlives
        ``max_coast_s`` since its last detection."""
        if not len(self._ids) or not np.isfinite(t_s):
            return 0
        p = self.params
        silence = max(t_s - self.t_s, 0.0) if self.t_s is not None else 0.0
        confirmed = self.confirmed
        missed = self._missed_s + np.where(confirmed, silence, 0.0)
        limit = np.where(confirmed, p.max_missing_s, p.tentative_max_missing_s)
        keep = (missed <= limit) & (t_s - self._last_hit_s <= p.max_coast_s)
        dropped = int((~keep).sum())
        if dropped:
            self.deaths += dropped
            for name in ("_x", "_P", "_xm", "_Pm", "_mu", "_ids", "_born_s", "_last_hit_s",
                         "_missed_s", "_hits", "_radius"):
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
