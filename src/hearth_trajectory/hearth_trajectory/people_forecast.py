"""Where the tracked people will be: a constant-velocity forecast at arbitrary times.

The planner needs people at the instants its trajectory passes, counted from the tracks'
stamp (``t_eff - t_tracks + k * dt``, with a latency offset), so it forecasts at any times.
The model is ``hearth_perception.prediction``'s, the one evaluated on ETH/UCY: constant
velocity, the tracks' covariance plus the people's intent uncertainty, white acceleration
noise of spectral density ``accel_psd`` (m^2/s^3, fitted there); the position covariance
grows as
``P_pp + t (P_pv + P_vp) + t^2 P_vv + accel_psd t^3 / 3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tracks:
    """Tracked people at ``stamp_s`` (odom frame): ids (P,), positions and velocities (P, 2),
    covariances (P, 4, 4) over (x, y, vx, vy), radii (P,)."""

    stamp_s: float
    ids: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    covariances: np.ndarray
    radii: np.ndarray

    @staticmethod
    def empty(stamp_s: float = 0.0) -> Tracks:
        return Tracks(stamp_s, np.zeros(0, dtype=np.int64), np.zeros((0, 2)), np.zeros((0, 2)),
                      np.zeros((0, 4, 4)), np.zeros(0))

    def __len__(self) -> int:
        return len(self.ids)

    def finite(self) -> Tracks:
        """The tracks whose every field is finite (a NaN track is dropped, not propagated)."""
        ok = (
            np.all(np.isfinite(self.positions), axis=1)
            & np.all(np.isfinite(self.velocities), axis=1)
            & np.all(np.isfinite(self.covariances.reshape(len(self), 16)), axis=1)
            & np.isfinite(self.radii) & (self.radii >= 0.0)
        )  # fmt: skip
        if ok.all():
            return self
        return Tracks(self.stamp_s, self.ids[ok], self.positions[ok], self.velocities[ok],
                      self.covariances[ok], self.radii[ok])


@dataclass(frozen=True)
class Forecast:
    """People at given times: means (P, T, 2) and position covariances (P, T, 2, 2)."""

    ids: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    radii: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def _perception_prediction():
    """hearth_perception's fitted constants and intent covariance, when it is installed."""
    try:
        from hearth_perception import prediction
    except ImportError:  # the planner still runs on its own CV model
        return None
    return prediction


DEFAULT_ACCEL_PSD = 0.03  # m^2/s^3, hearth_perception.prediction.PEOPLE_ACCEL_PSD_M2PS3


def forecast(tracks: Tracks, times_s: np.ndarray, accel_psd: float,
             intent: bool = True, growth_until_s: float | None = None,
             frozen: bool = False) -> Forecast:
    """Constant-velocity forecast of ``tracks`` at absolute ``times_s`` (T,) (a time before
    the tracks' stamp counts as the stamp: no back-propagation). With ``intent`` (and
    hearth_perception installed), the people's intent uncertainty
    (``hearth_perception.prediction.intent_covariance``: speed and heading may change) is
    added to the tracks' covariance first, as hearth's prediction does.

    ``growth_until_s`` (absolute time): the covariance grows up to that time and is held
    after it, while the means go on (the planner's reaction horizon: a deviation later than
    that will be seen, and answered by a later plan, before it matters).

    ``frozen`` (prediction off, issue 9's ablation (c)): everyone stays where the tracks last
    saw them, with the tracks' position covariance at every time: no velocity, and no
    uncertainty growing with it."""
    if frozen:
        n_t = len(np.atleast_1d(times_s))
        means = np.repeat(tracks.positions[:, None, :], n_t, axis=1)
        covs = np.repeat(tracks.covariances[:, None, :2, :2], n_t, axis=1)
        return Forecast(tracks.ids, means, covs, tracks.radii)
    dt = np.maximum(np.asarray(times_s, dtype=float) - tracks.stamp_s, 0.0)  # (T,)
    p, v, c = tracks.positions, tracks.velocities, tracks.covariances
    pred = _perception_prediction() if intent and len(tracks) else None
    if pred is not None:
        c = c + pred.intent_covariance(v)
    means = p[:, None, :] + v[:, None, :] * dt[None, :, None]
    tc = dt if growth_until_s is None else np.minimum(
        dt, max(growth_until_s - tracks.stamp_s, 0.0))
    pp, pv, vv = c[:, None, :2, :2], c[:, None, :2, 2:], c[:, None, 2:, 2:]
    t = tc[None, :, None, None]
    covs = pp + t * (pv + np.swapaxes(pv, -1, -2)) + t * t * vv
    covs = covs + (accel_psd * tc**3 / 3.0)[None, :, None, None] * np.eye(2)
    return Forecast(tracks.ids, means, covs, tracks.radii)
