"""SE(2) algebra and the map->odom correction."""

import math

import numpy as np
import pytest

from hearth_slam.map_odom import (
    IDENTITY,
    MapOdom,
    compose,
    inverse,
    relative,
    rotate_covariance_6x6,
    rotate_quaternion_by_yaw,
)


def _matrix(p):
    x, y, yaw = p
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, x], [s, c, y], [0.0, 0.0, 1.0]])


def _pose(m):
    return (m[0, 2], m[1, 2], math.atan2(m[1, 0], m[0, 0]))


POSES = [(1.0, 2.0, 0.5), (-3.0, 0.5, -2.9), (0.0, 0.0, math.pi - 1e-3), (4.0, -1.0, 3.0)]


@pytest.mark.parametrize("a", POSES)
@pytest.mark.parametrize("b", POSES)
def test_compose_is_the_product_of_homogeneous_matrices(a, b):
    assert compose(a, b) == pytest.approx(_pose(_matrix(a) @ _matrix(b)))


@pytest.mark.parametrize("a", POSES)
def test_inverse_undoes_compose(a):
    assert compose(a, inverse(a)) == pytest.approx(IDENTITY, abs=1e-12)
    assert compose(inverse(a), a) == pytest.approx(IDENTITY, abs=1e-12)
    assert inverse(inverse(a)) == pytest.approx(a)


def test_compose_is_associative_and_yaw_is_wrapped():
    a, b, c = POSES[:3]
    assert compose(compose(a, b), c) == pytest.approx(compose(a, compose(b, c)))
    assert compose((0, 0, 3.0), (0, 0, 3.0))[2] == pytest.approx(6.0 - 2 * math.pi)
    assert relative(a, compose(a, b)) == pytest.approx(b)


def test_map_odom_is_identity_by_default_and_composes_odometry():
    mo = MapOdom()
    assert mo.map_T_odom == IDENTITY
    assert mo.map_pose((1.0, 2.0, 0.3)) == pytest.approx((1.0, 2.0, 0.3))
    mo = MapOdom((1.0, 0.0, math.pi / 2))
    # a robot 1 m ahead in odom is 1 m along map +y, from the odom origin at (1, 0)
    assert mo.map_pose((1.0, 0.0, 0.0)) == pytest.approx((1.0, 1.0, math.pi / 2))


def test_set_from_map_pose_puts_the_robot_where_the_map_says():
    mo = MapOdom()
    odom_base, map_base = (2.0, 1.0, 0.4), (-1.0, 3.0, -2.0)
    mo.set_from_map_pose(map_base, odom_base)
    assert mo.map_pose(odom_base) == pytest.approx(map_base)


def test_bad_poses_are_rejected():
    with pytest.raises(ValueError, match="finite"):
        MapOdom((math.nan, 0.0, 0.0))
    with pytest.raises(ValueError, match="finite"):
        MapOdom().set((0.0, math.inf, 0.0))


def test_covariance_rotation():
    cov = np.diag([0.04, 0.01, 0.0, 0.0, 0.0, 0.02]).ravel()
    out = rotate_covariance_6x6(cov, math.pi / 2).reshape(6, 6)
    assert out[0, 0] == pytest.approx(0.01) and out[1, 1] == pytest.approx(0.04)
    assert out[5, 5] == pytest.approx(0.02)
    rot = rotate_covariance_6x6(cov, 0.3).reshape(6, 6)
    assert np.allclose(rot, rot.T)
    assert np.trace(rot[:2, :2]) == pytest.approx(0.05)


def test_quaternion_rotation_by_yaw_adds_yaw_and_keeps_tilt():
    half = 0.25
    q = (0.0, 0.0, math.sin(half), math.cos(half))  # yaw 0.5
    x, y, z, w = rotate_quaternion_by_yaw(q, 0.7)
    assert 2 * math.atan2(z, w) == pytest.approx(1.2)
    roll = (math.sin(0.05), 0.0, 0.0, math.cos(0.05))  # roll 0.1
    x, y, z, w = rotate_quaternion_by_yaw(roll, 0.0)
    assert (x, y, z, w) == pytest.approx(roll)
    assert math.isclose(x * x + y * y + z * z + w * w, 1.0)
