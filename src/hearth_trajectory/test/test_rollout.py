"""Unicycle rollouts: exact arcs, stamped dt apart over the horizon."""

import math

import numpy as np
import pytest

from hearth_trajectory.rollout import horizon_times, rollout, unicycle_pose


def test_horizon_times_are_dt_apart_and_reach_the_horizon():
    t = horizon_times(3.0, 0.1)
    assert len(t) == 30
    assert t[0] == pytest.approx(0.1) and t[-1] == pytest.approx(3.0)
    assert np.allclose(np.diff(t), 0.1)
    with pytest.raises(ValueError):
        horizon_times(0.05, 0.1)


def test_straight_line_rollout():
    poses = rollout(1.0, 2.0, math.pi / 2, 0.5, 0.0, horizon_times(2.0, 0.5))
    assert poses[:, 0] == pytest.approx([0.5, 1.0, 1.5, 2.0])
    assert poses[:, 1] == pytest.approx([1.0] * 4)
    assert poses[:, 2] == pytest.approx(2.0 + 0.5 * poses[:, 0])
    assert poses[:, 3] == pytest.approx([math.pi / 2] * 4)


def test_arc_rollout_matches_fine_numerical_integration():
    v, w, T = 0.8, 1.3, 3.0
    x, y, yaw = 0.2, -0.4, 0.7
    steps = 30000
    h = T / steps
    for _ in range(steps):  # midpoint rule
        mid = yaw + 0.5 * w * h
        x += v * h * math.cos(mid)
        y += v * h * math.sin(mid)
        yaw += w * h
    assert unicycle_pose(0.2, -0.4, 0.7, v, w, T) == pytest.approx((x, y, yaw), abs=1e-6)


def test_turn_in_place_and_standstill_stay_put():
    poses = rollout(1.0, 1.0, 0.0, 0.0, 2.0, horizon_times(1.0, 0.1))
    assert np.allclose(poses[:, 1:3], [1.0, 1.0])
    assert poses[-1, 3] == pytest.approx(2.0)
    still = rollout(1.0, 1.0, 0.3, 0.0, 0.0, horizon_times(1.0, 0.1))
    assert np.allclose(still[:, 1:], [1.0, 1.0, 0.3])


def test_tiny_yaw_rate_is_continuous_with_the_straight_line():
    a = unicycle_pose(0.0, 0.0, 0.0, 1.0, 1e-12, 3.0)
    b = unicycle_pose(0.0, 0.0, 0.0, 1.0, 0.0, 3.0)
    assert a == pytest.approx(b, abs=1e-9)
