"""Rigid transforms as (translation, quaternion) tuples; pure Python, no ROS, no numpy.

A transform ``T_a_b`` maps coordinates in frame ``b`` into frame ``a``. Quaternions are
(x, y, z, w), as in geometry_msgs.
"""

from __future__ import annotations

import math

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Transform = tuple[Vec3, Quat]

IDENTITY: Transform = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))


def quat_multiply(a: Quat, b: Quat) -> Quat:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def quat_conjugate(q: Quat) -> Quat:
    return (-q[0], -q[1], -q[2], q[3])


def quat_norm(q: Quat) -> float:
    return math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])


def quat_normalize(q: Quat) -> Quat:
    n = quat_norm(q)
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


def quat_rotate(q: Quat, v: Vec3) -> Vec3:
    """Rotate vector ``v`` by unit quaternion ``q``."""
    qx, qy, qz, qw = q
    vx, vy, vz = v
    # t = 2 * (q_vec x v); v' = v + w * t + q_vec x t
    tx = 2.0 * (qy * vz - qz * vy)
    ty = 2.0 * (qz * vx - qx * vz)
    tz = 2.0 * (qx * vy - qy * vx)
    return (
        vx + qw * tx + (qy * tz - qz * ty),
        vy + qw * ty + (qz * tx - qx * tz),
        vz + qw * tz + (qx * ty - qy * tx),
    )


def compose(a: Transform, b: Transform) -> Transform:
    """``T_x_z = T_x_y * T_y_z`` for ``a = T_x_y`` and ``b = T_y_z``."""
    ta, qa = a
    tb, qb = b
    r = quat_rotate(qa, tb)
    return (
        (ta[0] + r[0], ta[1] + r[1], ta[2] + r[2]),
        quat_normalize(quat_multiply(qa, qb)),
    )


def invert(a: Transform) -> Transform:
    """``T_b_a`` from ``T_a_b``."""
    t, q = a
    qi = quat_conjugate(q)
    r = quat_rotate(qi, t)
    return ((-r[0], -r[1], -r[2]), qi)


def slerp(q0: Quat, q1: Quat, ratio: float) -> Quat:
    """Spherical linear interpolation along the shorter arc; ``ratio`` in [0, 1]."""
    dot = q0[0] * q1[0] + q0[1] * q1[1] + q0[2] * q1[2] + q0[3] * q1[3]
    if dot < 0.0:  # q and -q are the same rotation: take the short way round
        q1 = (-q1[0], -q1[1], -q1[2], -q1[3])
        dot = -dot
    if dot > 0.9995:  # nearly parallel: normalised lerp is exact to rounding
        out = tuple(a + ratio * (b - a) for a, b in zip(q0, q1, strict=True))
        return quat_normalize(out)  # type: ignore[arg-type]
    theta = math.acos(min(1.0, dot))
    sin_theta = math.sin(theta)
    w0 = math.sin((1.0 - ratio) * theta) / sin_theta
    w1 = math.sin(ratio * theta) / sin_theta
    return quat_normalize(tuple(w0 * a + w1 * b for a, b in zip(q0, q1, strict=True)))  # type: ignore[arg-type]


def interpolate(a: Transform, b: Transform, ratio: float) -> Transform:
    """Linear in translation, slerp in rotation; ``ratio`` 0 gives ``a``, 1 gives ``b``."""
    ta, qa = a
    tb, qb = b
    t = (
        ta[0] + ratio * (tb[0] - ta[0]),
        ta[1] + ratio * (tb[1] - ta[1]),
        ta[2] + ratio * (tb[2] - ta[2]),
    )
    return (t, slerp(qa, qb, ratio))
