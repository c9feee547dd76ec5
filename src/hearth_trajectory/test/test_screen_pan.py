"""Where the screen looks, within the pan joint's travel and speed."""

import math

import pytest

from hearth_trajectory.screen_pan import PanLimits, limit_pan

LIMITS = PanLimits(limit_rad=2.0, max_speed_radps=1.0)


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
