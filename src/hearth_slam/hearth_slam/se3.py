"""Rigid transforms as 4x4 homogeneous matrices (numpy only).

Naming: ``T_a_b`` is the pose of frame b in frame a, so ``p_a = T_a_b @ p_b`` and
``T_a_c = T_a_b @ T_b_c``. Tangent vectors are ``xi = (rho, phi)``: translation part first
(metres), rotation vector second (radians); ``exp(xi)`` perturbs on the right,
``T' = T @ exp(xi)``, i.e. in the frame of T's child.
"""

from __future__ import annotations

import numpy as np


def make(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The 4x4 transform of rotation ``R`` (3, 3) and translation ``t`` (3,)."""
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(t, dtype=float).reshape(3)
    return T


def inverse(T: np.ndarray) -> np.ndarray:
    """``T⁻¹`` of a rigid transform (no general matrix inverse)."""
    R, t = T[:3, :3], T[:3, 3]
    return make(R.T, -R.T @ t)


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 3) of frame b expressed in frame a, for ``T = T_a_b``."""
    return np.asarray(points, dtype=float) @ T[:3, :3].T + T[:3, 3]


def hat(v: np.ndarray) -> np.ndarray:
    """The skew matrix ``[v]x`` with ``[v]x @ u = v x u``."""
    x, y, z = v
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def so3_exp(phi: np.ndarray) -> np.ndarray:
    """Rotation matrix of a rotation vector (rad), Rodrigues' formula."""
    phi = np.asarray(phi, dtype=float)
    theta = float(np.linalg.norm(phi))
    K = hat(phi)
    if theta < 1e-8:
        return np.eye(3) + K + 0.5 * K @ K
    return (np.eye(3) + (np.sin(theta) / theta) * K
            + ((1.0 - np.cos(theta)) / theta**2) * K @ K)


def so3_log(R: np.ndarray) -> np.ndarray:
    """Rotation vector (rad) of a rotation matrix, accurate near 0 and near pi."""
    cos_theta = np.clip(0.5 * (np.trace(R) - 1.0), -1.0, 1.0)
    theta = float(np.arccos(cos_theta))
    w = 0.5 * np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    if theta < 1e-6:
        return w  # sin(theta) ~ theta
    if np.pi - theta < 1e-4:
        # near pi the antisymmetric part vanishes: take the axis from R + I
        B = 0.5 * (R + np.eye(3))
        axis = np.sqrt(np.clip(np.diag(B), 0.0, None))
        k = int(np.argmax(axis))
        axis[k] = np.sqrt(B[k, k])
        for j in range(3):
            if j != k:
                axis[j] = B[k, j] / axis[k]
        axis /= np.linalg.norm(axis)
        if np.dot(axis, w) < 0.0:
            axis = -axis
        return theta * axis
    return (theta / np.sin(theta)) * w


def _left_jacobian(phi: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(phi))
    K = hat(phi)
    if theta < 1e-6:
        return np.eye(3) + 0.5 * K
    return (np.eye(3) + ((1.0 - np.cos(theta)) / theta**2) * K
            + ((theta - np.sin(theta)) / theta**3) * K @ K)


def exp(xi: np.ndarray) -> np.ndarray:
    """The transform of a twist ``xi = (rho, phi)`` (6,)."""
    xi = np.asarray(xi, dtype=float)
    rho, phi = xi[:3], xi[3:]
    return make(so3_exp(phi), _left_jacobian(phi) @ rho)


def log(T: np.ndarray) -> np.ndarray:
    """The twist ``(rho, phi)`` (6,) with ``exp(log(T)) == T``."""
    phi = so3_log(T[:3, :3])
    rho = np.linalg.solve(_left_jacobian(phi), T[:3, 3])
    return np.concatenate([rho, phi])


def adjoint(T: np.ndarray) -> np.ndarray:
    """The 6x6 adjoint for our (rho, phi) ordering: ``T exp(xi) T⁻¹ = exp(Ad_T xi)``."""
    R, t = T[:3, :3], T[:3, 3]
    A = np.zeros((6, 6))
    A[:3, :3] = R
    A[:3, 3:] = hat(t) @ R
    A[3:, 3:] = R
    return A


def rotation_angle_rad(T_or_R: np.ndarray) -> float:
    """The angle (rad) of the rotation part."""
    R = T_or_R[:3, :3]
    return float(np.arccos(np.clip(0.5 * (np.trace(R) - 1.0), -1.0, 1.0)))


def is_rigid(T: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether ``T`` is a finite 4x4 rigid transform (orthonormal rotation, det +1)."""
    T = np.asarray(T)
    if T.shape != (4, 4) or not np.isfinite(T).all():
        return False
    R = T[:3, :3]
    return (np.allclose(R @ R.T, np.eye(3), atol=tol) and abs(np.linalg.det(R) - 1.0) < tol
            and np.allclose(T[3], [0.0, 0.0, 0.0, 1.0], atol=tol))


def from_quaternion(q_xyzw, t) -> np.ndarray:
    """The transform of a quaternion (x, y, z, w; normalised here) and a translation."""
    x, y, z, w = np.asarray(q_xyzw, dtype=float) / np.linalg.norm(q_xyzw)
    R = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    return make(R, t)


def to_quaternion(T: np.ndarray) -> np.ndarray:
    """The rotation part as a unit quaternion (x, y, z, w) with w >= 0."""
    R = T[:3, :3]
    tr = np.trace(R)
    if tr > 0.0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = np.array([(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s,
                      (R[1, 0] - R[0, 1]) / s, 0.25 * s])
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + R[i, i] - R[j, j] - R[k, k])
        q = np.zeros(4)
        q[i] = 0.25 * s
        q[j] = (R[j, i] + R[i, j]) / s
        q[k] = (R[k, i] + R[i, k]) / s
        q[3] = (R[k, j] - R[j, k]) / s
    q /= np.linalg.norm(q)
    return -q if q[3] < 0.0 else q
