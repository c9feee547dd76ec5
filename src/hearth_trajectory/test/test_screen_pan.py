"""Where the screen looks, within the pan joint's travel and speed."""

import math

import pytest

from hearth_trajectory.screen_pan import PanLimits, limit_pan, pan_target

LIMITS = PanLimits(limit_rad=2.0, max_speed_radps=1.0)


def test_the_screen_faces_the_rollout_point_ahead():
    assert pan_target(0.0, 0.0, 0.0, 0.5, 0.0, 1.2) == pytest.approx(0.0)
    # Driving a left arc: the point ahead lies to the left, half the heading change (a chord).
    assert pan_target(0.0, 0.0, 0.0, 0.5, 0.5, 1.2) == pytest.approx(0.3)
    # The bearing is in the robot frame, whatever the robot's heading and position.
    assert pan_target(3.0, -1.0, 2.0, 0.5, 0.5, 1.2) == pytest.approx(0.3)


def test_turning_in_place_the_screen_faces_the_heading_it_turns_to():
    assert pan_target(0.0, 0.0, 0.0, 0.0, -1.0, 1.2) == pytest.approx(-1.2)
    assert pan_target(0.0, 0.0, 0.0, 0.0, 3.0, 1.2) == pytest.approx(3.6 - 2.0 * math.pi)


def test_the_command_stays_within_the_travel():
    assert limit_pan(3.0, 1.9, 1.0, LIMITS) == 2.0
    assert limit_pan(-3.0, -1.9, 1.0, LIMITS) == -2.0
    assert limit_pan(0.5, 0.0, 1.0, LIMITS) == 0.5  # reachable within the step: reached


def test_the_command_moves_no_faster_than_the_joint():
    assert limit_pan(1.5, 0.0, 0.1, LIMITS) == pytest.approx(0.1)
    assert limit_pan(-1.5, 0.0, 0.1, LIMITS) == pytest.approx(-0.1)
    pan, steps = 0.0, 0
    while pan != 2.0:  # from forward to the limit at 1 rad/s in 0.1 s cycles: 2 s
        previous, pan = pan, limit_pan(math.pi, pan, 0.1, LIMITS)
        assert abs(pan - previous) <= 0.1 + 1e-12
        steps += 1
    assert steps == 20
    assert limit_pan(1.0, 0.3, 0.0, LIMITS) == 0.3  # no time passed: no move
    assert limit_pan(1.0, 0.3, -0.1, LIMITS) == 0.3  # the clock went back: no move


@pytest.mark.parametrize(
    ("limit", "speed"), [(0.0, 1.0), (4.0, 1.0), (math.nan, 1.0), (1.0, 0.0), (1.0, math.inf)]
)
def test_bad_limits_are_refused(limit, speed):
    with pytest.raises(ValueError):
        PanLimits(limit_rad=limit, max_speed_radps=speed)
