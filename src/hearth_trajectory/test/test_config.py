"""The local planner's limits: the robot's (robot.yaml), with the planner's own tuning."""

import pytest

from hearth_common.config import ConfigError, load_config, read_params_file
from hearth_description.robot_model import load_robot_params
from hearth_trajectory.config import LocalPlannerConfig, motion_limits, pan_limits, planner_params

ROBOT = load_robot_params()


def test_the_limits_are_the_robots():
    limits = motion_limits(load_config(LocalPlannerConfig), ROBOT)
    lim = ROBOT.limits
    assert limits.linear.max_velocity == lim.max_linear_speed_mps
    # backwards only slowly, to back off and yield (the depth camera looks forward)
    assert limits.linear.min_velocity == -0.25
    assert limits.angular.max_velocity == lim.max_angular_speed_radps
    assert limits.angular.min_velocity == -lim.max_angular_speed_radps
    assert limits.linear.max_accel == lim.max_linear_accel_mps2
    assert limits.angular.max_accel == lim.max_angular_accel_radps2
    assert limits.linear.max_jerk == lim.max_linear_jerk_mps3
    assert limits.angular.max_jerk == lim.max_angular_jerk_radps3
    pan = pan_limits(ROBOT.screen)
    assert pan.limit_rad == ROBOT.screen.pan_limit_rad
    assert pan.max_speed_radps == ROBOT.screen.max_pan_speed_radps
    assert planner_params(load_config(LocalPlannerConfig), ROBOT).robot_radius_m == (
        ROBOT.base.radius_m)


def test_speed_fraction_scales_the_top_speeds_not_the_accelerations_or_jerks():
    cfg = load_config(LocalPlannerConfig, {"speed_fraction": 0.5, "reverse_speed_mps": 0.2})
    limits = motion_limits(cfg, ROBOT)
    assert limits.linear.max_velocity == pytest.approx(0.5 * ROBOT.limits.max_linear_speed_mps)
    assert limits.linear.min_velocity == -0.2
    assert limits.angular.max_velocity == pytest.approx(0.5 * ROBOT.limits.max_angular_speed_radps)
    assert limits.linear.max_accel == ROBOT.limits.max_linear_accel_mps2
    assert limits.linear.max_jerk == ROBOT.limits.max_linear_jerk_mps3


def test_the_params_file_is_valid_and_at_least_1000_candidates():
    from pathlib import Path

    yaml = Path(__file__).resolve().parents[1] / "config" / "local_planner.yaml"
    cfg = load_config(LocalPlannerConfig, read_params_file(yaml, "local_planner"))
    assert cfg.candidates >= 1000 and cfg.rate_hz == 10.0 and cfg.horizon_s == 3.0


@pytest.mark.parametrize("fraction", [0.0, 1.5, -0.2])
def test_speed_fraction_is_a_fraction(fraction):
    with pytest.raises(ConfigError, match="'speed_fraction'"):
        load_config(LocalPlannerConfig, {"speed_fraction": fraction})


@pytest.mark.parametrize(
    ("values", "key"),
    [({"min_candidates": 3000}, "min_candidates"), ({"horizon_s": 3.05}, "horizon_s"),
     ({"min_pose_sigma_m": 0.5, "max_pose_sigma_m": 0.1}, "min_pose_sigma_m"),
     ({"odom_frame": " "}, "odom_frame"), ({"braking_reaction_s": -0.1}, "braking_reaction_s"),
     ({"braking_reaction_s": float("nan")}, "braking_reaction_s"),
     ({"passive_contact_weight": 1.5}, "passive_contact_weight"),
     ({"passive_contact_weight": float("nan")}, "passive_contact_weight"),
     ({"stall_after_s": 0.0}, "stall_after_s"),
     ({"stall_progress_m": float("nan")}, "stall_progress_m"),
     ({"people_near_m": -1.0}, "people_near_m"),
     ({"floor_weight": -1.0}, "floor_weight"), ({"floor_speed_mps": float("nan")},
                                                 "floor_speed_mps"),
     ({"floor_turn_radps": -0.1}, "floor_turn_radps"),
     ({"blind_spot_weight": float("nan")}, "blind_spot_weight"),
     ({"blind_spot_decel_mps2": 0.0}, "blind_spot_decel_mps2"),
     ({"blind_spot_reaction_s": 3.0}, "blind_spot_reaction_s")],
)
def test_inconsistent_parameters_are_rejected_by_name(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(LocalPlannerConfig, values)


@pytest.mark.parametrize(
    "key",
    [
        "max_linear_speed_mps", "max_angular_speed_radps", "max_linear_accel_mps2",
        "max_angular_accel_radps2", "max_linear_jerk_mps3", "pan_min_rad", "pan_max_rad",
    ],
)  # fmt: skip
def test_the_robots_limits_are_not_parameters_of_the_planner(key):
    with pytest.raises(ConfigError, match=f"unknown parameter '{key}'"):
        load_config(LocalPlannerConfig, {key: 1.0})
