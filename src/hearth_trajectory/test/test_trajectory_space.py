"""The trajectory space: every candidate respects every limit, by construction."""

import numpy as np
import pytest

from hearth_description.robot_model import load_robot_params
from hearth_trajectory.sampling import KnotSpace, SobolSource
from hearth_trajectory.trajectory_space import (
    ANGULAR,
    LINEAR,
    AxisLimits,
    MotionLimits,
    StartState,
    braking_dv,
    max_accel_within,
    project_to_viable,
    rollout,
    state_at,
    stop_targets,
    viable,
)

ROBOT = load_robot_params().limits
LIMITS = MotionLimits(
    AxisLimits(0.0, ROBOT.max_linear_speed_mps, ROBOT.max_linear_accel_mps2,
               ROBOT.max_linear_jerk_mps3),
    AxisLimits(-ROBOT.max_angular_speed_radps, ROBOT.max_angular_speed_radps,
               ROBOT.max_angular_accel_radps2, ROBOT.max_angular_jerk_radps3),
)
DT = 0.1
STEPS = 30
TOL = 1e-9


def continuous_profiles(roll, axis, samples=11):
    """Velocity and acceleration inside every step (the cubic and quadratic of each step)."""
    tau = np.linspace(0.0, DT, samples)
    v0 = roll.vel[axis][:, :-1, None]
    a0 = roll.acc[axis][:, :-1, None]
    j = roll.jerk[axis][:, :, None]
    return v0 + a0 * tau + 0.5 * j * tau**2, a0 + j * tau


def assert_within_limits(roll, limits=LIMITS):
    for axis, lim in ((LINEAR, limits.linear), (ANGULAR, limits.angular)):
        v, a = continuous_profiles(roll, axis)
        assert v.min() >= lim.min_velocity - TOL and v.max() <= lim.max_velocity + TOL
        assert np.abs(a).max() <= lim.max_accel + TOL
        assert np.abs(roll.jerk[axis]).max() <= lim.max_jerk + TOL
        # The acceleration is continuous: each step starts where the last one ended.
        ends = roll.acc[axis][:, :-1] + roll.jerk[axis] * DT
        np.testing.assert_allclose(ends, roll.acc[axis][:, 1:], atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_every_sampled_trajectory_respects_every_limit(seed):
    rng = np.random.default_rng(seed)
    space = KnotSpace(LIMITS, STEPS, DT)
    knots = space.from_unit(SobolSource(space.dims, seed=seed).uniform(1024))
    # Viable starts anywhere in the state space, including at the limits.
    for _ in range(5):
        v, a = project_to_viable(
            np.array([rng.uniform(-0.2, 1.2), rng.uniform(-3.0, 3.0)]),
            np.array([rng.uniform(-1.5, 1.5), rng.uniform(-5.0, 5.0)]), LIMITS, DT,
        )
        start = StartState(0.0, 0.0, 0.0, v[0], v[1], a[0], a[1])
        roll = rollout(start, space.targets(knots), LIMITS, DT)
        assert_within_limits(roll)


def test_targets_outside_the_limits_are_not_reached_rather_than_rejected():
    rng = np.random.default_rng(7)
    wild = np.stack([rng.uniform(-5, 5, (500, STEPS)), rng.uniform(-20, 20, (500, STEPS))], -1)
    roll = rollout(StartState(0, 0, 0, 0.5, 0.0), wild, LIMITS, DT)
    assert roll.n == 500
    assert_within_limits(roll)


def test_a_start_state_outside_the_limits_is_projected_back_inside():
    roll = rollout(StartState(0, 0, 0, 1.3, -3.1, 2.0, 9.0), np.zeros((3, STEPS, 2)), LIMITS, DT)
    assert_within_limits(roll)
    assert viable(roll.vel[:, :, 0], roll.acc[:, :, 0], LIMITS, DT).all()


def test_the_space_contains_the_quickest_stop_from_full_speed():
    roll = rollout(StartState(0, 0, 0, 1.0, 0.0), stop_targets(STEPS), LIMITS, DT)
    v = roll.vel[LINEAR, 0]
    assert v[-1] == 0.0 and roll.acc[LINEAR, 0, -1] == 0.0
    t_stop = DT * int(np.argmax(v <= 0.0))
    # Jerk-limited bang-bang: a/j to reach full deceleration, v/a at it, a/j back: 1.2 s.
    a, j = ROBOT.max_linear_accel_mps2, ROBOT.max_linear_jerk_mps3
    assert t_stop == pytest.approx(1.0 / a + a / j, abs=DT + 1e-9)
    distance = roll.x[0, -1]
    assert distance == pytest.approx(1.0**2 / (2 * a) + 1.0 * a / (2 * j), abs=0.02)  # 0.6 m
    assert roll.y[0, -1] == 0.0 and np.all(np.diff(roll.x[0]) >= 0.0)


def test_the_space_contains_turning_in_place_at_full_rate():
    w_max = ROBOT.max_angular_speed_radps
    roll = rollout(StartState(0, 0, 0, 0.0, 0.0), np.tile([0.0, w_max], (1, STEPS, 1)),
                   LIMITS, DT)
    assert np.all(roll.x == 0.0) and np.all(roll.y == 0.0)  # in place
    assert roll.vel[ANGULAR, 0, -1] == pytest.approx(w_max)
    assert roll.yaw[0, -1] > 0.8 * w_max * STEPS * DT


def test_the_knot_space_puts_the_stop_and_the_turns_among_the_seeds():
    space = KnotSpace(LIMITS, STEPS, DT)
    seeds = space.targets(space.seeds(0.7, 0.3))
    assert np.any(np.all(seeds == 0.0, axis=(1, 2)))  # stop
    for w in (ROBOT.max_angular_speed_radps, -ROBOT.max_angular_speed_radps):
        assert np.any(np.all(seeds == [0.0, w], axis=(1, 2)))  # turn in place


def test_the_braking_bound_matches_braking_step_by_step():
    for a0 in (0.05, 0.3, 0.5, 0.77, 1.0):
        v, a = 0.0, a0
        while a > 0.0:
            a1 = max(a - ROBOT.max_linear_jerk_mps3 * DT, 0.0)
            v += 0.5 * (a + a1) * DT
            a = a1
        assert braking_dv(a0, ROBOT.max_linear_jerk_mps3, DT) == pytest.approx(v, abs=1e-12)
        # max_accel_within inverts "one step, then brake".
        margin = 0.5 * a0 * DT + v
        assert max_accel_within(margin, ROBOT.max_linear_jerk_mps3, DT) == pytest.approx(a0)


def test_state_at_interpolates_the_steps_exactly():
    roll = rollout(StartState(1.0, 2.0, 0.5, 0.2, 0.1),
                   np.tile([0.8, -1.0], (1, STEPS, 1)), LIMITS, DT)
    for k in (0, 3, 17, STEPS):
        s = state_at(roll, 0, k * DT)
        assert (s.v_mps, s.w_radps) == pytest.approx((roll.vel[0, 0, k], roll.vel[1, 0, k]))
        assert (s.x_m, s.y_m, s.yaw_rad) == pytest.approx(
            (roll.x[0, k], roll.y[0, k], roll.yaw[0, k]), abs=1e-4)
    mid = state_at(roll, 0, 0.35)
    lo, hi = sorted((roll.vel[0, 0, 3], roll.vel[0, 0, 4]))
    assert lo - 1e-12 <= mid.v_mps <= hi + 1e-12
