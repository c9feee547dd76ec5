"""The local planner's limits: the robot's (robot.yaml), with the planner's speed_fraction."""

import pytest

from hearth_common.config import ConfigError, load_config
from hearth_description.robot_model import load_robot_params
from hearth_trajectory.config import LocalPlannerConfig, follower_limits, pan_limits

ROBOT = load_robot_params()


def test_the_limits_are_the_robots():
    limits = follower_limits(load_config(LocalPlannerConfig), ROBOT.limits)
    assert limits.max_linear_mps == ROBOT.limits.max_linear_speed_mps
    assert limits.max_angular_radps == ROBOT.limits.max_angular_speed_radps
    assert limits.max_linear_accel_mps2 == ROBOT.limits.max_linear_accel_mps2
    assert limits.max_angular_accel_radps2 == ROBOT.limits.max_angular_accel_radps2
    pan = pan_limits(ROBOT.screen)
    assert pan.limit_rad == ROBOT.screen.pan_limit_rad
    assert pan.max_speed_radps == ROBOT.screen.max_pan_speed_radps


def test_speed_fraction_scales_the_top_speeds_not_the_accelerations():
    cfg = load_config(LocalPlannerConfig, {"speed_fraction": 0.5})
    limits = follower_limits(cfg, ROBOT.limits)
    assert limits.max_linear_mps == pytest.approx(0.5 * ROBOT.limits.max_linear_speed_mps)
    assert limits.max_angular_radps == pytest.approx(0.5 * ROBOT.limits.max_angular_speed_radps)
    assert limits.max_linear_accel_mps2 == ROBOT.limits.max_linear_accel_mps2
    assert limits.max_angular_accel_radps2 == ROBOT.limits.max_angular_accel_radps2


@pytest.mark.parametrize("fraction", [0.0, 1.5, -0.2])
def test_speed_fraction_is_a_fraction(fraction):
    with pytest.raises(ConfigError, match="'speed_fraction'"):
        load_config(LocalPlannerConfig, {"speed_fraction": fraction})


@pytest.mark.parametrize(
    "key",
    [
        "max_linear_speed_mps", "max_angular_speed_radps", "max_linear_accel_mps2",
        "max_angular_accel_radps2", "pan_min_rad", "pan_max_rad",
    ],
)  # fmt: skip
def test_the_robots_limits_are_not_parameters_of_the_planner(key):
    with pytest.raises(ConfigError, match=f"unknown parameter '{key}'"):
        load_config(LocalPlannerConfig, {key: 1.0})
