"""The footprint swept along a path against obstacle cells."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hearth_safety import sweep
from hearth_safety.footprint import Footprint

CIRCLE = Footprint.circle(0.175)
PAD = 0.03


def test_densify_keeps_poses_close_and_interpolates_times():
    path = sweep.densify(np.array([[0, 0, 0], [0.5, 0, 0], [0.5, 0, 1.0]]),
                         np.array([0.0, 1.0, 2.0]), step_m=0.02, step_rad=0.05)
    steps = np.hypot(*np.diff(path.poses[:, :2], axis=0).T)
    assert steps.max() <= 0.02 + 1e-12
    assert np.abs(np.diff(path.poses[:, 2])).max() <= 0.05 + 1e-12
    assert path.length_m[-1] == pytest.approx(0.5)
    assert path.turn_rad[-1] == pytest.approx(1.0)
    assert np.all(np.diff(path.times_s) >= 0.0) and path.times_s[-1] == 2.0


def test_a_constant_command_sweeps_an_exact_arc():
    p = sweep.arc(0.5, 0.5, 1.0, 0.0, 0.02, 0.05)  # radius 1 m, 0.5 m of it
    assert p.length_m[-1] == pytest.approx(0.5)
    x, y, yaw = p.poses[-1]
    assert (x, y, yaw) == pytest.approx((math.sin(0.5), 1 - math.cos(0.5), 0.5))
    assert p.times_s[-1] == pytest.approx(1.0)
    back = sweep.arc(-0.5, 0.0, 1.0, 0.8, 0.02, 0.05)  # at least the stopping distance
    assert back.poses[-1, 0] == pytest.approx(-0.8) and back.times_s[-1] == pytest.approx(1.6)
    spin = sweep.arc(0.0, 1.0, 1.0, 0.5, 0.02, 0.05)
    assert spin.poses[-1].tolist() == pytest.approx([0.0, 0.0, 1.0])
    assert len(sweep.arc(0.0, 0.0, 1.0, 0.5, 0.02, 0.05)) == 1


def test_an_obstacle_ahead_gives_time_and_distance_to_collision():
    path = sweep.arc(0.5, 0.0, 2.0, 0.0, 0.02, 0.05)
    result = sweep.check(CIRCLE, PAD, path, np.array([[0.8, 0.0], [0.5, 0.9]]))
    free = 0.8 - 0.175 - PAD
    assert result.collides
    assert result.free_distance_m == pytest.approx(free, abs=0.02)
    assert result.ttc_s == pytest.approx(free / 0.5, abs=0.04)


def test_an_obstacle_beside_the_path_is_clear():
    path = sweep.arc(0.5, 0.0, 2.0, 0.0, 0.02, 0.05)
    result = sweep.check(CIRCLE, PAD, path, np.array([[0.5, 0.175 + PAD + 0.01]]))
    assert not result.collides and result.ttc_s == math.inf


def test_touching_an_obstacle_does_not_stop_the_robot_moving_away_from_it():
    touching = np.array([[0.19, 0.0]])  # within the padding in front
    away = sweep.arc(-0.3, 0.0, 1.0, 0.0, 0.02, 0.05)
    toward = sweep.arc(0.3, 0.0, 1.0, 0.0, 0.02, 0.05)
    assert not sweep.check(CIRCLE, PAD, away, touching).collides
    hit = sweep.check(CIRCLE, PAD, toward, touching)
    assert hit.collides and hit.free_distance_m <= 0.02


def test_a_square_robot_turning_in_place_hits_what_a_round_one_would_not():
    square = Footprint.polygon([[0.2, 0.2], [-0.2, 0.2], [-0.2, -0.2], [0.2, -0.2]])
    spin = sweep.arc(0.0, -1.0, 1.0, 0.0, 0.02, 0.05)  # clockwise: the left corner comes round
    cell = np.array([[0.25, 0.1]])  # clear of the square now, inside its turning circle
    result = sweep.check(square, 0.0, spin, cell)
    assert result.collides and 0.0 < result.free_turn_rad < 0.5
    assert not sweep.check(Footprint.circle(0.2), 0.0, spin, cell).collides
