"""The command guard: the specification of hearth_safety.command_guard."""

import dataclasses
import itertools
import math
import random

import pytest

from hearth_safety.command_guard import CommandGuard, GuardLimits, Mode

DT_NS = 50_000_000  # 20 Hz
DT = DT_NS / 1e9
T0 = 10_000_000_000
# The robot's limits are plain numbers here (the node passes robot.yaml's); emergency 3.0 m/s².
ROBOT = {
    "max_linear_speed_mps": 1.0,
    "max_angular_speed_radps": 2.5,
    "max_linear_accel_mps2": 1.0,
    "max_angular_accel_radps2": 4.0,
}
LIMITS = GuardLimits(**ROBOT)


class Sim:
    """Ticks a guard at 20 Hz with fresh odometry unless told otherwise."""

    def __init__(self, limits: GuardLimits = LIMITS) -> None:
        self.guard = CommandGuard(limits)
        self.t = T0

    def tick(self, cmd=None, odom=True):
        self.t += DT_NS
        if odom:
            self.guard.set_odom_time(self.t)
        if cmd is not None:
            self.guard.set_command(cmd[0], cmd[1], self.t)
        return self.guard.tick(self.t)

    def run(self, n, cmd=None, odom=True):
        return [self.tick(cmd, odom) for _ in range(n)]


def test_at_start_without_inputs_the_output_is_zero_and_stale():
    out = CommandGuard(LIMITS).tick(T0)
    assert (out.linear_mps, out.angular_radps) == (0.0, 0.0)
    assert out.mode is Mode.STALE
    assert out.reason == "no odom received"
    sim = Sim()
    out = sim.tick()
    assert out.mode is Mode.STALE and out.reason == "no cmd_vel_nav received"


def test_a_finite_command_passes_through_after_the_ramp():
    sim = Sim()
    outs = sim.run(30, cmd=(0.5, 1.0))
    # The first tick has no interval to ramp over; then 0.5 m/s at 1 m/s² takes 0.5 s
    # = 10 ticks, and 1 rad/s at 4 rad/s² takes 5 ticks.
    assert (outs[0].linear_mps, outs[0].angular_radps) == (0.0, 0.0)
    assert outs[10].linear_mps == pytest.approx(0.5)
    assert outs[9].linear_mps < 0.5
    assert outs[5].angular_radps == pytest.approx(1.0)
    assert (outs[-1].linear_mps, outs[-1].angular_radps) == (0.5, 1.0)  # exactly
    assert all(o.mode is Mode.NOMINAL for o in outs)


def test_acceleration_limit_is_respected_for_any_command_sequence():
    rng = random.Random(7)
    sim = Sim()
    prev = (0.0, 0.0)
    for _ in range(400):
        cmd = (rng.uniform(-3.0, 3.0), rng.uniform(-8.0, 8.0)) if rng.random() < 0.3 else None
        out = sim.tick(cmd)
        assert abs(out.linear_mps - prev[0]) <= LIMITS.max_linear_accel_mps2 * DT + 1e-12
        assert abs(out.angular_radps - prev[1]) <= LIMITS.max_angular_accel_radps2 * DT + 1e-12
        assert abs(out.linear_mps) <= LIMITS.max_linear_speed_mps
        assert abs(out.angular_radps) <= LIMITS.max_angular_speed_radps
        prev = (out.linear_mps, out.angular_radps)


def test_reversal_ramps_through_zero():
    sim = Sim()
    sim.run(30, cmd=(0.5, 0.0))
    outs = sim.run(30, cmd=(-0.5, 0.0))
    speeds = [0.5] + [o.linear_mps for o in outs]
    assert all(b < a for a, b in itertools.pairwise(speeds[:21]))
    assert outs[-1].linear_mps == -0.5


def test_a_stalled_tick_still_ramps_by_one_bounded_step():
    sim = Sim()
    sim.guard.set_odom_time(T0)
    sim.guard.set_command(1.0, 0.0, T0)
    sim.guard.tick(T0)
    t = T0 + 500_000_000  # 0.5 s later, inputs still fresh
    sim.guard.set_odom_time(t)
    sim.guard.set_command(1.0, 0.0, t)
    out = sim.guard.tick(t)
    assert out.linear_mps == pytest.approx(LIMITS.max_step_s * LIMITS.max_linear_accel_mps2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_commands_are_never_forwarded(bad):
    sim = Sim()
    for out in sim.run(20, cmd=(bad, 0.0)) + sim.run(20, cmd=(0.2, bad)):
        assert math.isfinite(out.linear_mps) and math.isfinite(out.angular_radps)
        assert (out.linear_mps, out.angular_radps) == (0.0, 0.0)
        assert out.mode is Mode.STALE
    assert sim.guard.counts["cmd_nonfinite"] == 40
    assert sim.guard.set_command(bad, 0.0, sim.t) is False


def test_a_nonfinite_command_is_dropped_and_the_last_valid_one_ages_out():
    sim = Sim()
    sim.run(20, cmd=(0.5, 0.0))
    outs = sim.run(4, cmd=(math.nan, 0.0))  # within cmd_timeout_s: keep the valid command
    assert all(o.linear_mps == 0.5 and o.mode is Mode.NOMINAL for o in outs)
    outs = sim.run(20, cmd=(math.nan, 0.0))
    assert outs[-1].mode is Mode.STALE
    assert "cmd_vel_nav stale" in outs[-1].reason
    assert "non-finite" in outs[-1].reason
    assert outs[-1].linear_mps == 0.0
    assert sim.guard.counts["cmd_nonfinite"] == 24


def test_stale_command_ramps_to_zero_at_the_normal_deceleration():
    sim = Sim()
    sim.run(20, cmd=(0.5, 1.0))
    outs = sim.run(20)  # no more commands; odometry still fresh
    # Fresh for cmd_timeout_s (0.3 s = 6 ticks after the last command), then a controlled stop.
    assert all(o.mode is Mode.NOMINAL for o in outs[:5])
    stale = [o for o in outs if o.mode is Mode.STALE]
    assert stale and stale[0].reason.startswith("cmd_vel_nav stale")
    assert not any(o.emergency for o in outs)
    first = stale[0]
    assert first.linear_mps == pytest.approx(0.5 - LIMITS.max_linear_accel_mps2 * DT)
    assert first.angular_radps == pytest.approx(1.0 - LIMITS.max_angular_accel_radps2 * DT)
    assert (outs[-1].linear_mps, outs[-1].angular_radps) == (0.0, 0.0)
    assert outs[-1].mode is Mode.STALE


def test_odom_silence_is_detected_within_one_cycle_and_brakes_as_an_emergency():
    sim = Sim()
    sim.run(20, cmd=(0.5, 1.0))
    last_odom = sim.t
    outs = sim.run(12, cmd=(0.5, 1.0), odom=False)
    ages = [(sim.t - (len(outs) - 1 - i) * DT_NS - last_odom) / 1e9 for i in range(len(outs))]
    for out, age in zip(outs, ages, strict=True):
        if age <= LIMITS.odom_timeout_s:
            assert out.mode is Mode.NOMINAL
        else:
            # The first tick past the timeout already brakes at the emergency rate.
            assert out.mode is Mode.STALE and out.emergency
            assert out.reason.startswith("odom silent")
    first = next(o for o in outs if o.emergency)
    assert first.linear_mps == pytest.approx(0.5 - LIMITS.emergency_decel_mps2 * DT)
    assert first.angular_radps == pytest.approx(max(0.0, 1.0 - 12.0 * DT))
    # Stopped after ceil(0.5 / (3 m/s² · 0.05 s)) = 4 emergency ticks.
    emergency = [o for o in outs if o.emergency]
    assert emergency[3].linear_mps == 0.0 and emergency[2].linear_mps > 0.0


def test_odom_silence_stops_in_one_cycle_when_the_emergency_deceleration_allows():
    sim = Sim(dataclasses.replace(LIMITS, emergency_decel_mps2=20.0,
                                  emergency_angular_decel_radps2=50.0))
    sim.run(20, cmd=(0.5, 1.0))
    outs = sim.run(6, cmd=(0.5, 1.0), odom=False)
    first = next(o for o in outs if o.emergency)
    assert (first.linear_mps, first.angular_radps) == (0.0, 0.0)


def test_the_output_follows_again_when_odometry_returns():
    sim = Sim()
    sim.run(20, cmd=(0.5, 0.0))
    sim.run(20, cmd=(0.5, 0.0), odom=False)
    outs = sim.run(20, cmd=(0.5, 0.0))
    assert outs[0].mode is Mode.NOMINAL
    assert outs[0].linear_mps == pytest.approx(LIMITS.max_linear_accel_mps2 * DT)  # ramps up
    assert outs[-1].linear_mps == 0.5


def test_commands_above_the_limits_are_scaled_keeping_the_curvature():
    sim = Sim()
    outs = sim.run(60, cmd=(2.0, 1.0))
    out = outs[-1]
    assert out.mode is Mode.SLOWING
    assert "linear 2.00 m/s above max 1.00" in out.reason
    assert (out.linear_mps, out.angular_radps) == pytest.approx((1.0, 0.5))
    out = sim.run(60, cmd=(0.5, -5.0))[-1]
    assert "angular" in out.reason
    assert (out.linear_mps, out.angular_radps) == pytest.approx((0.25, -2.5))


def test_a_zero_command_is_nominal():
    out = Sim().run(5, cmd=(0.0, 0.0))[-1]
    assert out.mode is Mode.NOMINAL
    assert (out.linear_mps, out.angular_radps) == (0.0, 0.0)


def test_a_clock_jumping_back_forgets_the_inputs_and_stops():
    sim = Sim()
    sim.run(20, cmd=(0.5, 0.0))
    out = sim.guard.tick(T0)  # earlier than the inputs
    assert out.mode is Mode.STALE and out.reason == "no odom received"
    assert sim.guard.counts["clock_jumps_back"] == 1
    assert out.linear_mps == 0.5  # no time has passed: no jump in the output either
    sim.t = T0
    outs = sim.run(5)  # odometry fresh again, no command
    assert outs[-1].reason == "no cmd_vel_nav received"
    assert outs[-1].linear_mps < 0.5


def test_plan_age_is_reported():
    sim = Sim()
    assert sim.tick().plan_age_s is None
    sim.guard.set_plan_time(sim.t)
    assert sim.tick().plan_age_s == pytest.approx(DT)


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="cmd_timeout_s"):
        GuardLimits(**ROBOT, cmd_timeout_s=0.0)


def test_the_robot_limits_given_are_the_ones_enforced():
    slow = dataclasses.replace(LIMITS, max_linear_speed_mps=0.4, max_angular_speed_radps=1.0)
    out = Sim(slow).run(60, cmd=(0.8, 0.5))[-1]
    assert out.mode is Mode.SLOWING
    assert "linear 0.80 m/s above max 0.40" in out.reason
    assert (out.linear_mps, out.angular_radps) == pytest.approx((0.4, 0.25))


def test_robot_limits_are_required_and_must_be_positive():
    with pytest.raises(TypeError):
        GuardLimits()  # no built-in robot: its limits come from robot.yaml through the node
    with pytest.raises(ValueError, match="max_linear_speed_mps"):
        GuardLimits(**{**ROBOT, "max_linear_speed_mps": 0.0})
