"""Predicting tracked people over the planning horizon, with uncertainty that grows (ROS-free).

:func:`predict_constant_velocity` is the predictor the planner uses: each person keeps their
velocity; the covariance is propagated through the CV model (``hearth_perception.cv_model``)
with white-acceleration process noise, in closed form for every step at once::

    mean(t) = p + v t
    Σ_pp(t) = P_pp + t (P_pv + P_vp) + t² P_vv + q t³/3 I

``q`` (:data:`PEOPLE_ACCEL_PSD_M2PS3`), the intent uncertainty and the position noise of the
window filter were fitted on the training-only ETH/UCY scenes (crowds_zara03, uni_examples)
by ``./hearth eval prediction`` (maximum likelihood of the 12 predicted positions), never on
its test scenes; the fitted values are rounded here.

:func:`intent_covariance` adds what the people themselves may change (speed along their walk,
heading across it) to a state's covariance; hearth's prediction of a track is
``predict_constant_velocity(p, v, P_track + intent_covariance(v))``.

For evaluation on recorded trajectories two ways of getting (p, v, P) from an observed window:

- :func:`estimate_from_window`: the tracker's own Kalman filter run over the window (what the
  robot's tracker would report);
- :func:`last_step_velocity`: plain constant velocity, the last displacement over the last
  step (the literature's CV baseline, the peer).
"""

from __future__ import annotations

import numpy as np

from hearth_perception.cv_model import (
    initial_covariance,
    kf_predict,
    kf_update,
)

#: White-acceleration spectral density of walking people (m²/s³ per axis), fitted on the
#: training-only ETH/UCY scenes (crowds_zara03, uni_examples) by ``./hearth eval prediction``.
PEOPLE_ACCEL_PSD_M2PS3 = 0.03
#: Position noise of annotated/tracked positions in the window filter (m), fitted likewise.
PEOPLE_POSITION_NOISE_M = 0.003
#: Intent uncertainty of walking people, fitted likewise (:func:`intent_covariance`): the
#: speed along the walking direction (m/s) and the heading (rad) may change.
PEOPLE_SPEED_STD_MPS = 0.047
PEOPLE_HEADING_STD_RAD = 0.074
#: Prior speed uncertainty of a new track (m/s per axis): people walk at up to about 2 m/s.
PRIOR_SPEED_STD_MPS = 2.0


def _check_finite(name: str, a: np.ndarray) -> None:
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has non-finite values")


def predict_constant_velocity(
    positions: np.ndarray,
    velocities: np.ndarray,
    covariances: np.ndarray,
    horizon_steps: int,
    dt_s: float,
    *,
    accel_psd_m2ps3: float = PEOPLE_ACCEL_PSD_M2PS3,
    start_s: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted positions and their covariances, step by step.

    Args:
        positions: (P, 2) m, velocities: (P, 2) m/s, covariances: (P, 4, 4) over
            (x, y, vx, vy), all at the state's time t0 in one frame.
        horizon_steps: T, the number of predicted steps.
        dt_s: the step.
        accel_psd_m2ps3: white-acceleration spectral density ``q`` of the process noise.
        start_s: the first step is at ``t0 + start_s + dt_s`` (latency compensation: predict
            from when the plan takes effect).

    Returns:
        ``means`` (P, T, 2) and ``covs`` (P, T, 2, 2): step k (0-based) at
        ``t0 + start_s + (k + 1) dt_s``. Raises ValueError for bad shapes or values.
    """
    p = np.asarray(positions, dtype=float)
    v = np.asarray(velocities, dtype=float)
    P = np.asarray(covariances, dtype=float)
    n = p.shape[0] if p.ndim == 2 else -1
    if p.shape != (n, 2) or v.shape != (n, 2) or P.shape != (n, 4, 4):
        raise ValueError(
            f"expected positions (P, 2), velocities (P, 2), covariances (P, 4, 4); got "
            f"{p.shape}, {v.shape}, {P.shape}"
        )
    if int(horizon_steps) < 1 or not (np.isfinite(dt_s) and dt_s > 0.0):
        raise ValueError(f"need horizon_steps >= 1 and dt_s > 0, got {horizon_steps}, {dt_s}")
    if not (np.isfinite(start_s) and start_s >= 0.0) or not accel_psd_m2ps3 >= 0.0:
        raise ValueError(f"need start_s >= 0 and accel_psd >= 0, got {start_s}, {accel_psd_m2ps3}")
    for name, a in (("positions", p), ("velocities", v), ("covariances", P)):
        _check_finite(name, a)
    t = start_s + dt_s * np.arange(1, int(horizon_steps) + 1)  # (T,)
    means = p[:, None, :] + v[:, None, :] * t[None, :, None]
    tt = t[None, :, None, None]
    P_pp, P_pv, P_vv = P[:, None, :2, :2], P[:, None, :2, 2:], P[:, None, 2:, 2:]
    covs = (
        P_pp
        + tt * (P_pv + np.swapaxes(P_pv, -1, -2))
        + tt**2 * P_vv
        + (accel_psd_m2ps3 * tt**3 / 3.0) * np.eye(2)
    )
    return means, covs


def intent_covariance(
    velocities: np.ndarray,
    *,
    speed_std_mps: float = PEOPLE_SPEED_STD_MPS,
    heading_std_rad: float = PEOPLE_HEADING_STD_RAD,
) -> np.ndarray:
    """(P, 4, 4) covariance of where walking people mean to go: their speed may change by
    ``speed_std_mps`` along their walking direction u and their heading by
    ``heading_std_rad``, i.e. ``|v| heading_std_rad`` across it (n)::

        P_vv = speed_std² u u' + (|v| heading_std)² n n'     (zero elsewhere)

    Added to a state's covariance before :func:`predict_constant_velocity`, it makes the
    prediction's uncertainty grow with t² along and across the walk, faster for faster
    people. A person standing still (|v| < 1 cm/s) gets ``speed_std`` in every direction.
    """
    v = np.asarray(velocities, dtype=float).reshape(-1, 2)
    speed = np.linalg.norm(v, axis=1)
    moving = speed > 0.01
    u = np.where(moving[:, None], v / np.where(moving, speed, 1.0)[:, None], (1.0, 0.0))
    n = np.column_stack([-u[:, 1], u[:, 0]])
    across = np.where(moving, speed * heading_std_rad, speed_std_mps)
    P = np.zeros((len(v), 4, 4))
    P[:, 2:, 2:] = (speed_std_mps**2 * u[:, :, None] * u[:, None, :]
                    + across[:, None, None] ** 2 * n[:, :, None] * n[:, None, :])
    return P


def estimate_from_window(
    observed: np.ndarray,
    dt_s: float,
    *,
    accel_psd_m2ps3: float = PEOPLE_ACCEL_PSD_M2PS3,
    position_noise_m: float = PEOPLE_POSITION_NOISE_M,
    prior_speed_std_mps: float = PRIOR_SPEED_STD_MPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CV Kalman filter run over observed windows: (positions, velocities, covariances)
    at the last observation, shapes (P, 2), (P, 2), (P, 4, 4).

    ``observed`` (P, O, 2): O >= 1 positions ``dt_s`` apart. The loop runs over the O steps,
    every window at once.
    """
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 3 or obs.shape[2] != 2 or obs.shape[1] < 1:
        raise ValueError(f"expected observed positions (P, O>=1, 2), got {obs.shape}")
    _check_finite("observed", obs)
    n = obs.shape[0]
    x = np.zeros((n, 4))
    x[:, :2] = obs[:, 0]
    P = initial_covariance(n, position_noise_m, prior_speed_std_mps)
    R = np.eye(2) * position_noise_m**2
    for k in range(1, obs.shape[1]):
        x, P = kf_predict(x, P, dt_s, accel_psd_m2ps3)
        x, P = kf_update(x, P, obs[:, k], R)
    return x[:, :2], x[:, 2:], P


def last_step_velocity(observed: np.ndarray, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Plain constant velocity: (last positions (P, 2), last displacement / dt (P, 2))."""
    obs = np.asarray(observed, dtype=float)
    if obs.ndim != 3 or obs.shape[2] != 2 or obs.shape[1] < 2:
        raise ValueError(f"expected observed positions (P, O>=2, 2), got {obs.shape}")
    return obs[:, -1].copy(), (obs[:, -1] - obs[:, -2]) / dt_s


def sigma_ellipses(
    means: np.ndarray, covs: np.ndarray, n_points: int = 24, n_sigma: float = 1.0
) -> np.ndarray:
    """Closed outlines of the ``n_sigma`` ellipses: means (..., 2), covs (..., 2, 2) ->
    (..., n_points + 1, 2) (first point repeated at the end, for a line strip)."""
    w, V = np.linalg.eigh(np.asarray(covs, dtype=float))
    axes = V * (n_sigma * np.sqrt(np.clip(w, 0.0, None)))[..., None, :]  # columns scaled
    a = np.linspace(0.0, 2.0 * np.pi, n_points + 1)
    unit = np.stack([np.cos(a), np.sin(a)], axis=0)  # (2, n+1)
    return np.asarray(means)[..., None, :] + np.swapaxes(axes @ unit, -1, -2)


def mahalanobis_sq_2d(errors: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """``e' Σ⁻¹ e`` for errors (..., 2) and covariances (..., 2, 2)."""
    e = np.asarray(errors, dtype=float)
    return np.einsum("...i,...ij,...j->...", e, np.linalg.inv(covs), e)
