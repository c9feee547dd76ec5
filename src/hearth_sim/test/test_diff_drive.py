"""The differential-drive body tracks commands within robot.yaml's limits."""

from __future__ import annotations

import math

import pytest

from hearth_sim.diff_drive import DiffDriveBody, DiffDriveState

DT_S = 0.005


def run(body: DiffDriveBody, seconds: float, v: float, w: float) -> list[DiffDriveState]:
    return [body.step(DT_S, v, w) for _ in range(round(seconds / DT_S))]


def test_speeds_never_exceed_the_limits(robot):
    lim = robot.limits
    states = run(DiffDriveBody(robot), 3.0, 5.0, -10.0)
    assert max(abs(s.v_mps) for s in states) <= lim.max_linear_speed_mps + 1e-12
    assert max(abs(s.w_radps) for s in states) <= lim.max_angular_speed_radps + 1e-12
    assert states[-1].v_mps == pytest.approx(lim.max_linear_speed_mps)
    assert states[-1].w_radps == pytest.approx(-lim.max_angular_speed_radps)


def test_acceleration_is_limited_both_ways(robot):
    lim = robot.limits
    body = DiffDriveBody(robot)
    states = run(body, 2.0, 1.0, 2.0) + run(body, 2.0, -1.0, -2.0)
    previous = DiffDriveState()
    for s in states:
        assert abs(s.v_mps - previous.v_mps) <= lim.max_linear_accel_mps2 * DT_S + 1e-12
        assert abs(s.w_radps - previous.w_radps) <= lim.max_angular_accel_radps2 * DT_S + 1e-12
        assert abs(s.accel_mps2) <= lim.max_linear_accel_mps2 + 1e-9
        previous = s
    # From rest to 1 m/s at 1 m/s² takes 1 s, not less.
    body = DiffDriveBody(robot)
    after_half_s = run(body, 0.5, 1.0, 0.0)[-1]
    assert after_half_s.v_mps == pytest.approx(0.5 * lim.max_linear_accel_mps2)


def test_a_constant_command_drives_a_circle(robot):
    period_s = 8.0  # a whole number of steps
    w = 2 * math.pi / period_s
    v = w * 1.0  # radius 1 m
    body = DiffDriveBody(robot)
    body.state = DiffDriveState(v_mps=v, w_radps=w)
    half = run(body, period_s / 2, v, w)[-1]
    assert (half.x_m, half.y_m) == pytest.approx((0.0, 2.0), abs=1e-9)
    assert abs(half.yaw_rad) == pytest.approx(math.pi, abs=1e-9)
    full = run(body, period_s / 2, v, w)[-1]
    assert (full.x_m, full.y_m, full.yaw_rad) == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)


def test_wheels_turn_with_the_motion(robot):
    r, sep = robot.wheels.radius_m, robot.wheels.separation_m
    body = DiffDriveBody(robot)
    body.state = DiffDriveState(v_mps=0.4)
    s = run(body, 2.0, 0.4, 0.0)[-1]
    assert s.x_m == pytest.approx(0.8)
    assert s.left_wheel_rad == pytest.approx(0.8 / r)
    assert s.right_wheel_rad == pytest.approx(0.8 / r)
    assert s.left_wheel_radps == pytest.approx(0.4 / r)

    body = DiffDriveBody(robot)  # turning on the spot: the wheels turn opposite ways
    body.state = DiffDriveState(w_radps=1.0)
    s = run(body, 1.0, 0.0, 1.0)[-1]
    assert s.right_wheel_rad == pytest.approx(0.5 * sep / r)
    assert s.left_wheel_rad == pytest.approx(-0.5 * sep / r)
    assert (s.x_m, s.y_m) == pytest.approx((0.0, 0.0))


def test_slip_turns_the_wheels_more_than_the_body_moves(robot):
    body = DiffDriveBody(robot, slip_ratio=0.1)
    body.state = DiffDriveState(v_mps=0.5)
    s = run(body, 1.0, 0.5, 0.0)[-1]
    assert s.x_m == pytest.approx(0.5)
    assert s.left_wheel_rad * robot.wheels.radius_m == pytest.approx(0.55)


def test_the_start_pose_is_kept_and_non_finite_input_refused(robot):
    body = DiffDriveBody(robot, 1.0, 2.0, 3.0)
    s = body.step(DT_S, 0.0, 0.0)
    assert (s.x_m, s.y_m, s.yaw_rad) == pytest.approx((1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="finite"):
        body.step(DT_S, math.nan, 0.0)
    with pytest.raises(ValueError, match="dt_s"):
        body.step(0.0, 0.1, 0.0)
