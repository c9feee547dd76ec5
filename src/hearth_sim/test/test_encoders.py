"""Wheel encoders count whole ticks, as real ones do."""

from __future__ import annotations

import math

import pytest

from hearth_sim.encoders import WheelEncoders

TPR = 1024
TICK = 2 * math.pi / TPR


def test_positions_are_whole_ticks():
    enc = WheelEncoders(TPR)
    r = enc.sample(0, 10.3 * TICK, -10.3 * TICK)
    assert r.ticks == (10, -11)  # counts down below zero
    assert r.positions_rad == pytest.approx((10 * TICK, -11 * TICK))
    assert enc.ticks(2 * math.pi + 0.5 * TICK) == TPR


def test_quantization_error_stays_within_one_tick():
    enc = WheelEncoders(TPR)
    for i in range(1000):
        angle = -3.0 + i * 0.00731
        r = enc.sample(i * 20_000_000, angle, angle)
        assert 0.0 <= angle - r.positions_rad[0] < TICK


def test_velocity_is_the_tick_difference_over_the_interval():
    enc = WheelEncoders(TPR)
    first = enc.sample(1_000_000_000, 0.0, 0.0)
    assert first.velocities_radps == (0.0, 0.0)
    r = enc.sample(1_020_000_000, 5.5 * TICK, -3.2 * TICK)  # 20 ms later
    assert r.velocities_radps == pytest.approx((5 * TICK / 0.02, -4 * TICK / 0.02))


def test_a_wheel_turning_slower_than_a_tick_per_sample_reads_in_steps():
    enc = WheelEncoders(TPR)
    speeds = [enc.sample(k * 20_000_000, k * 0.3 * TICK, 0.0).velocities_radps[0]
              for k in range(100)]
    assert {round(s / (TICK / 0.02)) for s in speeds} == {0, 1}
    assert sum(speeds[1:]) / 99 == pytest.approx(0.3 * TICK / 0.02, rel=0.05)
