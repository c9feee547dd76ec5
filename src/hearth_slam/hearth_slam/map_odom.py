"""The map -> odom correction and SE(2) pose algebra (ROS-free).

Poses are ``(x, y, yaw)`` tuples: metres and radians, yaw wrapped to [-pi, pi). ``compose(a, b)``
is ``a ∘ b``: the pose ``b`` (given in frame A, whose pose is ``a``) expressed in a's parent
frame. So ``map_T_base = compose(map_T_odom, odom_T_base)``.

Until V-SLAM exists (issue 8) nothing corrects odometry: :class:`MapOdom` holds the initial
map -> odom transform and only :meth:`MapOdom.set` (a future localizer) changes it.
"""

from __future__ import annotations

import math

import numpy as np

from hearth_common.geometry import wrap_angle

Pose2D = tuple[float, float, float]
IDENTITY: Pose2D = (0.0, 0.0, 0.0)


def compose(a: Pose2D, b: Pose2D) -> Pose2D:
    """``a ∘ b``: b (relative to frame a) in a's parent frame."""
    ax, ay, ayaw = a
    bx, by, byaw = b
    c, s = math.cos(ayaw), math.sin(ayaw)
    return (ax + c * bx - s * by, ay + s * bx + c * by, wrap_angle(ayaw + byaw))


def inverse(a: Pose2D) -> Pose2D:
    """``a⁻¹``, so that ``compose(a, inverse(a)) == IDENTITY``."""
    ax, ay, ayaw = a
    c, s = math.cos(ayaw), math.sin(ayaw)
    return (-(c * ax + s * ay), s * ax - c * ay, wrap_angle(-ayaw))


def relative(a: Pose2D, b: Pose2D) -> Pose2D:
    """``a⁻¹ ∘ b``: pose b expressed in frame a (both given in the same parent frame)."""
    return compose(inverse(a), b)


def _checked(pose: Pose2D, what: str) -> Pose2D:
    if len(pose) != 3 or not all(math.isfinite(v) for v in pose):
        raise ValueError(f"{what} must be three finite numbers (x, y, yaw), got {pose!r}")
    return (float(pose[0]), float(pose[1]), wrap_angle(float(pose[2])))


class MapOdom:
    """The current map -> odom transform (identity or a configured initial pose until a
    localizer sets it)."""

    def __init__(self, initial: Pose2D = IDENTITY) -> None:
        self._map_T_odom = _checked(initial, "initial map->odom")

    @property
    def map_T_odom(self) -> Pose2D:
        return self._map_T_odom

    def set(self, map_T_odom: Pose2D) -> None:
        """Replace the correction (the localizer's job; unused until issue 8)."""
        self._map_T_odom = _checked(map_T_odom, "map->odom")

    def set_from_map_pose(self, map_T_base: Pose2D, odom_T_base: Pose2D) -> None:
        """Set the correction so that the robot at ``odom_T_base`` is at ``map_T_base``."""
        self.set(compose(map_T_base, inverse(odom_T_base)))

    def map_pose(self, odom_T_base: Pose2D) -> Pose2D:
        """map -> base_link from odom -> base_link."""
        return compose(self._map_T_odom, odom_T_base)


def rotate_covariance_6x6(cov, yaw: float) -> np.ndarray:
    """A row-major 6x6 pose covariance (x, y, z, roll, pitch, yaw) re-expressed in a frame
    rotated by ``yaw`` about z: ``J Σ Jᵀ`` with ``J = diag(Rz, Rz)``. Returns a flat array."""
    c, s = math.cos(yaw), math.sin(yaw)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    j = np.zeros((6, 6))
    j[:3, :3] = rz
    j[3:, 3:] = rz
    m = np.asarray(cov, dtype=float).reshape(6, 6)
    return (j @ m @ j.T).ravel()


def rotate_quaternion_by_yaw(
    q: tuple[float, float, float, float], yaw: float
) -> tuple[float, float, float, float]:
    """``q_yaw ⊗ q`` for quaternions (x, y, z, w): an orientation re-expressed in a frame
    rotated by ``yaw`` about z (keeps roll and pitch)."""
    x, y, z, w = q
    hz, hw = math.sin(0.5 * yaw), math.cos(0.5 * yaw)
    return (
        hw * x - hz * y,
        hw * y + hz * x,
        hw * z + hz * w,
        hw * w - hz * z,
    )
