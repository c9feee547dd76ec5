"""Wheel odometry from encoder positions: the specification of hearth_fusion.wheel_odometry."""

import math

import numpy as np
import pytest

from hearth_fusion.wheel_odometry import (
    REJECT_REASONS,
    WheelOdometry,
    arc_step,
    max_wheel_speed_mps,
)

R = 0.035  # wheel radius (m)
B = 0.28  # wheel separation (m)
K = 2.0e-4  # wheel travel variance per metre (m²/m)
T0 = 1_000_000_000  # first stamp (ns)
DT = 20_000_000  # 50 Hz


def make(**kwargs) -> WheelOdometry:
    kwargs.setdefault("travel_variance_m2_per_m", K)
    return WheelOdometry(wheel_radius_m=R, wheel_separation_m=B, **kwargs)


def drive(odo: WheelOdometry, left_m: float, right_m: float, steps: int, t0: int = T0):
    """Feed ``steps`` encoder readings after an anchor at 0, wheels ending at the given travel."""
    assert odo.update(0.0, 0.0, t0) is None
    for i in range(1, steps + 1):
        f = i / steps
        assert odo.update(f * left_m / R, f * right_m / R, t0 + i * DT) is None
    return odo


def test_first_reading_only_anchors():
    odo = make()
    assert not odo.initialised
    assert odo.update(12.3, -4.5, T0) is None  # arbitrary encoder offsets
    assert odo.initialised
    assert (odo.x_m, odo.y_m, odo.yaw_rad) == (0.0, 0.0, 0.0)


def test_straight_line_integrates_wheel_travel():
    odo = drive(make(), 1.0, 1.0, steps=100)  # 1 m in 2 s
    assert odo.x_m == pytest.approx(1.0, abs=1e-12)
    assert odo.y_m == pytest.approx(0.0, abs=1e-12)
    assert odo.yaw_rad == pytest.approx(0.0, abs=1e-12)
    assert odo.linear_mps == pytest.approx(0.5)
    assert odo.angular_radps == pytest.approx(0.0, abs=1e-12)
    assert odo.distance_m == pytest.approx(1.0)


def test_result_does_not_depend_on_the_message_rate():
    coarse = drive(make(), 0.7, 1.3, steps=3)
    fine = drive(make(), 0.7, 1.3, steps=300)
    assert (coarse.x_m, coarse.y_m, coarse.yaw_rad) == pytest.approx(
        (fine.x_m, fine.y_m, fine.yaw_rad), abs=1e-12
    )


def test_turn_in_place():
    quarter = 0.5 * math.pi * B / 2.0  # wheel travel for a quarter turn
    odo = drive(make(), -quarter, quarter, steps=25)
    assert odo.yaw_rad == pytest.approx(math.pi / 2.0, abs=1e-12)
    assert (odo.x_m, odo.y_m) == pytest.approx((0.0, 0.0), abs=1e-12)
    assert odo.linear_mps == pytest.approx(0.0, abs=1e-12)
    assert odo.angular_radps == pytest.approx((math.pi / 2.0) / (25 * DT / 1e9))


def test_circle_is_integrated_exactly():
    radius = 1.0
    # A quarter of a circle of radius 1 m to the left in only 4 updates: the arc step is exact.
    theta = math.pi / 2.0
    odo = drive(make(), (radius - B / 2) * theta, (radius + B / 2) * theta, steps=4)
    assert odo.x_m == pytest.approx(radius, abs=1e-12)
    assert odo.y_m == pytest.approx(radius, abs=1e-12)
    assert odo.yaw_rad == pytest.approx(theta, abs=1e-12)
    assert odo.angular_radps * radius == pytest.approx(odo.linear_mps)


def test_full_circle_returns_to_start():
    theta = 2.0 * math.pi
    odo = drive(make(), (1.0 - B / 2) * theta, (1.0 + B / 2) * theta, steps=7)
    assert (odo.x_m, odo.y_m) == pytest.approx((0.0, 0.0), abs=1e-12)
    assert odo.yaw_rad == pytest.approx(0.0, abs=1e-12)
    assert odo.rotation_rad == pytest.approx(theta)


def test_arc_step_straight_and_in_place():
    assert arc_step(1.0, 2.0, 0.0, 0.5, 0.0) == pytest.approx((1.5, 2.0, 0.0))
    assert arc_step(1.0, 2.0, 0.3, 0.0, 1.0) == pytest.approx((1.0, 2.0, 1.3))


def test_covariance_grows_with_distance_as_documented():
    odo = make()
    assert odo.update(0.0, 0.0, T0) is None
    previous = np.trace(odo.pose_cov)
    for i in range(1, 51):
        odo.update(i * 0.02 / R, i * 0.02 / R, T0 + i * DT)
        assert np.trace(odo.pose_cov) > previous
        previous = np.trace(odo.pose_cov)
    # Straight ahead along x: var(x) = k·D/2, var(yaw) = 2·k·D/b² (each wheel rolled D = 1 m).
    assert odo.pose_cov[0, 0] == pytest.approx(K * 1.0 / 2.0)
    assert odo.pose_cov[2, 2] == pytest.approx(2.0 * K * 1.0 / B**2)
    assert odo.pose_cov[1, 1] > 0.0  # heading uncertainty turns into lateral uncertainty
    assert np.allclose(odo.pose_cov, odo.pose_cov.T)
    assert np.all(np.linalg.eigvalsh(odo.pose_cov) >= -1e-15)


def test_covariance_grows_with_rotation_and_not_at_rest():
    quarter = 0.5 * math.pi * B / 2.0
    odo = drive(make(), -quarter, quarter, steps=10)
    yaw_var = odo.pose_cov[2, 2]
    assert yaw_var == pytest.approx(2.0 * K * quarter / B**2)
    t = T0 + 10 * DT
    for i in range(1, 20):  # standing still: no growth
        odo.update(-quarter / R, quarter / R, t + i * DT)
    assert odo.pose_cov[2, 2] == pytest.approx(yaw_var)
    assert odo.linear_mps == 0.0 and odo.angular_radps == 0.0


def test_twist_covariance_has_a_floor_and_grows_with_speed():
    odo = make(speed_noise_fraction=0.05, speed_noise_floor_mps=0.01)
    at_rest = odo.twist_cov[0, 0]
    assert at_rest == pytest.approx(0.01**2 / 2.0)
    drive(odo, 1.0, 1.0, steps=50)  # 1 m/s
    assert odo.twist_cov[0, 0] == pytest.approx((0.05 * 1.0 + 0.01) ** 2 / 2.0)
    assert odo.twist_cov[2, 2] > 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_position_is_rejected_and_counted(bad):
    odo = make()
    assert odo.update(0.0, 0.0, T0) is None
    assert odo.update(bad, 1.0, T0 + DT) == "nonfinite_position"
    assert odo.update(1.0, bad, T0 + 2 * DT) == "nonfinite_position"
    assert odo.rejected["nonfinite_position"] == 2
    assert (odo.x_m, odo.y_m, odo.yaw_rad) == (0.0, 0.0, 0.0)
    # The next good reading's deltas cover the gap: no travel is lost.
    assert odo.update(0.5 / R, 0.5 / R, T0 + 3 * DT) is None
    assert odo.x_m == pytest.approx(0.5)
    assert np.all(np.isfinite(odo.pose_cov))


def test_nonfinite_first_reading_does_not_anchor():
    odo = make()
    assert odo.update(math.nan, 0.0, T0) == "nonfinite_position"
    assert not odo.initialised


def test_repeated_and_old_stamps_are_never_integrated_twice():
    odo = make()
    assert odo.update(0.0, 0.0, T0) is None
    assert odo.update(0.2 / R, 0.2 / R, T0 + DT) is None
    assert odo.x_m == pytest.approx(0.2)
    # The same measurement again, and a newer position with a repeated or older stamp.
    assert odo.update(0.2 / R, 0.2 / R, T0 + DT) == "duplicate_stamp"
    assert odo.update(0.4 / R, 0.4 / R, T0 + DT) == "duplicate_stamp"
    assert odo.update(0.4 / R, 0.4 / R, T0) == "stamp_backwards"
    assert odo.x_m == pytest.approx(0.2)
    assert odo.rejected["duplicate_stamp"] == 2
    assert odo.rejected["stamp_backwards"] == 1
    assert odo.accepted == 2
    # The next accepted reading moves from the last accepted one, once.
    assert odo.update(0.4 / R, 0.4 / R, T0 + 2 * DT) is None
    assert odo.x_m == pytest.approx(0.4)


def test_zero_stamp_is_rejected():
    odo = make()
    assert odo.update(0.0, 0.0, 0) == "zero_stamp"
    assert not odo.initialised


def test_joint_state_lookup_by_name():
    odo = make(left_joint="wl", right_joint="wr")
    assert odo.update_joint_state(["pan", "wr", "wl"], [9.0, 0.0, 0.0], T0) is None
    assert odo.update_joint_state(["pan", "wr", "wl"], [9.0, 0.1 / R, 0.1 / R], T0 + DT) is None
    assert odo.x_m == pytest.approx(0.1)
    assert odo.update_joint_state(["wl"], [0.3 / R], T0 + 2 * DT) == "missing_joint"
    assert odo.update_joint_state(["wl", "wr"], [], T0 + 2 * DT) == "malformed"
    assert odo.rejected["missing_joint"] == 1
    assert odo.rejected["malformed"] == 1
    assert odo.x_m == pytest.approx(0.1)


def test_encoder_reset_is_not_integrated_but_re_anchors():
    odo = make(max_wheel_speed_mps=3.0)
    assert odo.update(100.0, 100.0, T0) is None
    assert odo.update(0.0, 0.0, T0 + DT) == "implausible_jump"  # driver restarted at 0
    assert (odo.x_m, odo.y_m, odo.yaw_rad) == (0.0, 0.0, 0.0)
    assert odo.update(0.1 / R, 0.1 / R, T0 + 12 * DT) is None  # 0.1 m in 0.22 s from 0
    assert odo.x_m == pytest.approx(0.1)
    assert odo.rejected["implausible_jump"] == 1


def test_top_wheel_speed_is_full_speed_plus_full_turn():
    # 1 m/s forward while turning at 2.5 rad/s: the outer wheel, 0.14 m out, adds 0.35 m/s.
    assert max_wheel_speed_mps(1.0, 2.5, B) == pytest.approx(1.0 + 0.14 * 2.5)
    assert max_wheel_speed_mps(1.0, 0.0, B) == 1.0


def test_every_reason_is_counted_from_zero():
    odo = make()
    assert set(odo.rejected) == set(REJECT_REASONS)
    assert all(n == 0 for n in odo.rejected.values())


def test_prediction_extrapolates_within_the_bound_only():
    odo = drive(make(), 1.0, 1.0, steps=50)  # 1 m/s, last stamp T0 + 50 DT
    last = T0 + 50 * DT
    assert make().predict(last, 0.1) is None  # no data yet
    p = odo.predict(last + 50_000_000, 0.1)
    assert p.x_m == pytest.approx(1.05)
    assert p.stamp_ns == last + 50_000_000
    assert odo.predict(last + 150_000_000, 0.1) is None  # stale
    assert odo.predict(last - 10_000_000, 0.1).x_m == pytest.approx(1.0)  # never backwards
    assert odo.predict(last - 150_000_000, 0.1) is None  # stamps from another clock
    assert odo.x_m == pytest.approx(1.0)  # prediction leaves the state alone


def test_forget_anchor_keeps_the_pose_and_re_anchors():
    odo = drive(make(), 0.5, 0.5, steps=10)
    odo.forget_anchor()
    assert not odo.initialised
    assert odo.update(3.0, 3.0, 5) is None  # an earlier clock after a reset
    assert odo.update(3.0 + 0.1 / R, 3.0 + 0.1 / R, 5 + DT) is None
    assert odo.x_m == pytest.approx(0.6)
