"""The constant-velocity (CV) motion model and its Kalman filter, batched over tracks (ROS-free).

State ``x = [px, py, vx, vy]`` (m, m/s) in one planar frame (odom for the tracker). Between
two instants ``dt`` apart the velocity is constant up to white acceleration noise of spectral
density ``q`` (m²/s³, per axis)::

    x(t+dt) = F(dt) x(t) + w,    F(dt) = [[I, dt I], [0, I]],
    w ~ N(0, Q(dt)),             Q(dt) = q [[dt³/3 I, dt²/2 I], [dt²/2 I, dt I]].

Positions are measured: ``z = H x + v``, ``H = [I 0]``, ``v ~ N(0, R)``. Every function here
works on a batch: ``x`` (N, 4), ``P`` (N, 4, 4); no Python loop over tracks.
"""

from __future__ import annotations

import numpy as np

STATE_DIM = 4
MEAS_DIM = 2


def transition(dt_s: float | np.ndarray) -> np.ndarray:
    """``F(dt)``: (4, 4), or (..., 4, 4) for an array of ``dt_s``."""
    dt = np.asarray(dt_s, dtype=float)
    F = np.broadcast_to(np.eye(STATE_DIM), (*dt.shape, STATE_DIM, STATE_DIM)).copy()
    F[..., 0, 2] = dt
    F[..., 1, 3] = dt
    return F


def process_noise(dt_s: float | np.ndarray, accel_psd_m2ps3: float) -> np.ndarray:
    """``Q(dt)`` of white acceleration with spectral density ``accel_psd_m2ps3`` per axis:
    (4, 4), or (..., 4, 4) for an array of ``dt_s``. Exact for any ``dt`` (not a step sum)."""
    dt = np.asarray(dt_s, dtype=float)
    q = float(accel_psd_m2ps3)
    Q = np.zeros((*dt.shape, STATE_DIM, STATE_DIM))
    pp, pv, vv = q * dt**3 / 3.0, q * dt**2 / 2.0, q * dt
    for a in (0, 1):
        Q[..., a, a] = pp
        Q[..., a, a + 2] = pv
        Q[..., a + 2, a] = pv
        Q[..., a + 2, a + 2] = vv
    return Q


def kf_predict(
    x: np.ndarray, P: np.ndarray, dt_s: float | np.ndarray, accel_psd_m2ps3: float
) -> tuple[np.ndarray, np.ndarray]:
    """Propagate states (N, 4) and covariances (N, 4, 4) by ``dt_s`` (scalar or (N,))."""
    dt = np.broadcast_to(np.asarray(dt_s, dtype=float), x.shape[:1])
    F = transition(dt)
    x_new = np.einsum("nij,nj->ni", F, x)
    P_new = F @ P @ np.swapaxes(F, -1, -2) + process_noise(dt, accel_psd_m2ps3)
    return x_new, P_new


def innovation_covariance(P: np.ndarray, R: np.ndarray) -> np.ndarray:
    """``S = H P H' + R``: (N, 2, 2) for covariances (N, 4, 4) and ``R`` (2, 2) or (N, 2, 2)."""
    return P[..., :2, :2] + R


def mahalanobis_sq(x: np.ndarray, P: np.ndarray, z: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of every measurement to every track's predicted position.

    ``x`` (T, 4), ``P`` (T, 4, 4), ``z`` (D, 2), ``R`` (2, 2) -> (T, D).
    """
    S_inv = np.linalg.inv(innovation_covariance(P, R))  # (T, 2, 2)
    e = z[None, :, :] - x[:, None, :2]  # (T, D, 2)
    return np.einsum("tdi,tij,tdj->td", e, S_inv, e)


def kf_update(
    x: np.ndarray, P: np.ndarray, z: np.ndarray, R: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse position measurements ``z`` (N, 2) into states (N, 4) / covariances (N, 4, 4).

    Joseph form, so the covariance stays symmetric positive definite.
    """
    S = innovation_covariance(P, R)
    PHt = P[..., :, :2]  # P H'
    K = np.swapaxes(np.linalg.solve(S, np.swapaxes(PHt, -1, -2)), -1, -2)  # (N, 4, 2)
    y = z - x[..., :2]
    x_new = x + np.einsum("nij,nj->ni", K, y)
    I_KH = np.broadcast_to(np.eye(STATE_DIM), P.shape).copy()
    I_KH[..., :, :2] -= K
    P_new = I_KH @ P @ np.swapaxes(I_KH, -1, -2) + K @ R @ np.swapaxes(K, -1, -2)
    return x_new, 0.5 * (P_new + np.swapaxes(P_new, -1, -2))


def initial_covariance(n: int, position_std_m: float, speed_std_mps: float) -> np.ndarray:
    """(n, 4, 4) diagonal covariance of a new track: position known to ``position_std_m``,
    velocity unknown up to ``speed_std_mps`` per axis."""
    diag = np.array([position_std_m**2] * 2 + [speed_std_mps**2] * 2)
    return np.broadcast_to(np.diag(diag), (n, STATE_DIM, STATE_DIM)).copy()
