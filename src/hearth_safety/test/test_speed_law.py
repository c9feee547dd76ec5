"""The speed law and the jerk-limited ramp."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hearth_safety.speed_law import (
    JerkLimitedRamp,
    SpeedLawParams,
    braking_cap_mps,
    stopping_distance_m,
    ttc_factor,
)

LAW = SpeedLawParams()


def test_the_ttc_factor_is_one_when_far_zero_when_imminent_and_continuous_between():
    assert ttc_factor(math.inf, LAW) == 1.0
    assert ttc_factor(LAW.slow_ttc_s, LAW) == 1.0
    assert ttc_factor(LAW.stop_ttc_s, LAW) == 0.0
    assert ttc_factor(0.0, LAW) == 0.0
    ttc = np.linspace(0.0, 1.5, 3001)
    f = np.array([ttc_factor(t, LAW) for t in ttc])
    assert np.all(np.diff(f) >= 0.0)  # never faster when closer
    slope = np.diff(f) / np.diff(ttc)
    assert slope.max() <= 1.5 / (LAW.slow_ttc_s - LAW.stop_ttc_s) + 1e-6  # smoothstep's
    assert np.abs(np.diff(slope)).max() < 0.01  # and the slope itself has no jump
    assert ttc_factor(math.nan, LAW) == 0.0


def test_the_braking_cap_stops_short_by_the_stop_distance():
    assert braking_cap_mps(math.inf, LAW) == math.inf
    assert braking_cap_mps(LAW.stop_distance_m, LAW) == 0.0
    v = braking_cap_mps(0.5, LAW)
    # From v at slow_decel the robot stops in v² / 2a = exactly the distance left.
    assert v * v / (2 * LAW.slow_decel_mps2) == pytest.approx(0.5 - LAW.stop_distance_m)


def test_the_stopping_distance_counts_the_reaction_and_the_hardest_braking():
    assert stopping_distance_m(0.8, LAW) == pytest.approx(0.8 * 0.1 + 0.64 / 2.0)
    assert stopping_distance_m(-0.8, LAW) == stopping_distance_m(0.8, LAW)


def test_the_ramp_never_exceeds_its_rate_or_jerk_and_settles_on_the_target():
    ramp = JerkLimitedRamp(max_rate=1.0, max_jerk=5.0)
    dt = 1 / 15
    values, rates = [], []
    for target in [0.8] * 40 + [0.2] * 40 + [0.0] * 40:
        values.append(ramp.step(target, dt))
        rates.append(ramp.rate)
    r = np.diff([0.0, *values]) / dt
    assert np.abs(r).max() <= 1.0 + 1e-9
    assert np.abs(np.diff([0.0, *rates])).max() / dt <= 5.0 + 1e-9
    assert (values[39], values[79], values[-1]) == (0.8, 0.2, 0.0)
    assert max(values) <= 0.8 + 1e-3


def test_a_reset_is_the_only_jump():
    ramp = JerkLimitedRamp(1.0, 5.0, value=0.7)
    ramp.reset(0.0)
    assert (ramp.value, ramp.rate) == (0.0, 0.0)
    assert ramp.step(0.5, 0.0) == 0.0  # no time, no change


@pytest.mark.parametrize("bad", [{"stop_ttc_s": 1.0}, {"slow_decel_mps2": 0.0},
                                 {"reaction_time_s": math.nan}])
def test_bad_law_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SpeedLawParams(**bad)
