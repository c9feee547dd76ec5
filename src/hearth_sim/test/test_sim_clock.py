"""The simulation clock keeps pace with wall time and is never faster."""

from __future__ import annotations

import pytest

from hearth_sim.sim_clock import SimClock

STEP_NS = 5_000_000  # 200 Hz
MS = 1_000_000


def drive(clock: SimClock, wall_times_ns) -> list[int]:
    taken = []
    for wall in wall_times_ns:
        n = clock.steps_due(wall)
        for _ in range(n):
            clock.advance()
        taken.append(n)
    return taken


def test_time_is_whole_steps_in_integer_nanoseconds():
    clock = SimClock(STEP_NS)
    assert clock.now_ns == 0
    assert clock.advance() == STEP_NS and isinstance(clock.now_ns, int)


def test_keeps_real_time_and_never_runs_ahead():
    clock = SimClock(STEP_NS, real_time_factor=1.0)
    start = 10_000 * MS
    clock.start(start)
    walls = [start + k * 3 * MS for k in range(1000)]  # ticks every 3 ms, jitter-free
    drive(clock, walls)
    assert clock.now_ns <= walls[-1] - start
    assert clock.now_ns >= walls[-1] - start - STEP_NS


def test_sim_time_is_at_most_factor_times_wall_time_at_every_tick():
    clock = SimClock(STEP_NS, real_time_factor=2.0)
    start = 0
    clock.start(start)
    for k in range(1, 500):
        wall = start + k * 7 * MS
        for _ in range(clock.steps_due(wall)):
            clock.advance()
        assert clock.now_ns <= 2.0 * (wall - start)
    assert clock.now_ns == pytest.approx(2.0 * (wall - start), abs=STEP_NS)


def test_when_it_falls_behind_it_drops_the_debt_instead_of_bursting():
    clock = SimClock(STEP_NS, real_time_factor=1.0, max_steps_per_call=4)
    assert clock.steps_due(0) == 0
    assert clock.steps_due(1000 * MS) == 4  # a 1 s stall: only 4 steps, not 200
    for _ in range(4):
        clock.advance()
    # From there it paces on; it does not try to make up the lost second.
    assert clock.steps_due(1000 * MS + 5 * MS) == 1


def test_reports_the_achieved_factor():
    clock = SimClock(STEP_NS, real_time_factor=1.0, max_steps_per_call=2)
    clock.start(0)
    # A slow machine: one tick every 20 ms, at most 2 steps (10 ms) each.
    drive(clock, [k * 20 * MS for k in range(1, 101)])
    assert clock.achieved_factor(2000 * MS) == pytest.approx(0.5, abs=0.01)
    drive(clock, [2000 * MS + k * 5 * MS for k in range(1, 201)])
    assert clock.achieved_factor(3000 * MS) == pytest.approx(1.0, abs=0.01)
