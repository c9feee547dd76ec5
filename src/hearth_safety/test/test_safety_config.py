"""The safety node's configuration: defaults, the YAML file, the robot's part, clear errors."""

from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_description.robot_model import load_robot_params
from hearth_safety.config import SafetyConfig, controller_params

YAML = Path(__file__).resolve().parents[1] / "config" / "safety.yaml"
ROBOT = load_robot_params()
ROBOT_KEYS = ("radius_m", "wheel_separation_m", "max_linear_speed_mps",
              "max_angular_speed_radps", "max_linear_accel_mps2", "max_angular_accel_radps2",
              "max_linear_jerk_mps3", "pitch_down_rad", "hfov_rad")


def test_defaults_are_those_of_the_issue():
    cfg = load_config(SafetyConfig)
    assert (cfg.depth_timeout_s, cfg.plan_timeout_s, cfg.odom_timeout_s) == (0.15, 0.3, 0.2)
    assert (cfg.map_size_m, cfg.map_resolution_m) == (2.0, 0.025)
    assert cfg.horizon_s == 1.0
    assert cfg.robot_params_file == ""  # hearth_description's robot.yaml


def test_the_robot_is_not_duplicated_here():
    names = {f.name for f in config_fields(SafetyConfig)}
    assert not names & set(ROBOT_KEYS)
    assert not set(read_params_file(YAML, "safety")) & set(ROBOT_KEYS)


def test_yaml_declares_every_key_and_loads_to_the_defaults():
    values = read_params_file(YAML, "safety")
    assert set(values) == {f.name for f in config_fields(SafetyConfig)}
    assert load_config(SafetyConfig, values) == load_config(SafetyConfig)


def test_every_parameter_has_a_description():
    for f in config_fields(SafetyConfig):
        assert f.spec.description, f.name


def test_the_controller_gets_the_robots_footprint_limits_and_tof_range():
    p = controller_params(load_config(SafetyConfig, {"cmd_timeout_s": 0.4}), ROBOT)
    lim = ROBOT.limits
    assert p.footprint_radius_m == ROBOT.base.radius_m
    assert (p.law.max_linear_speed_mps, p.law.max_linear_accel_mps2,
            p.law.max_linear_jerk_mps3) == (lim.max_linear_speed_mps, lim.max_linear_accel_mps2,
                                            lim.max_linear_jerk_mps3)
    assert (p.law.max_angular_accel_radps2, p.law.max_angular_jerk_radps3) == (
        lim.max_angular_accel_radps2, lim.max_angular_jerk_radps3)
    assert (p.min_range_m, p.max_range_m) == (ROBOT.tof.min_range_m, ROBOT.tof.max_range_m)
    assert p.cmd_timeout_s == 0.4
    # Overhead: above the screen's top edge (0.02 + 0.08 + 0.40 + 0.14 m) plus the clearance.
    assert p.map.max_height_m == pytest.approx(0.64 + 0.05)


def test_a_slowdown_harder_than_the_robot_can_brake_is_a_config_error():
    with pytest.raises(ConfigError, match=r"'slow_decel_mps2'.*limits\.max_linear_accel_mps2"):
        controller_params(load_config(SafetyConfig, {"slow_decel_mps2": 2.0}), ROBOT)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"depth_timeout_s": 0.0}, "depth_timeout_s"),
        ({"cmd_timeout_s": -0.3}, "cmd_timeout_s"),
        ({"odom_timeout_s": float("inf")}, "odom_timeout_s"),
        ({"map_resolution_m": "fine"}, "map_resolution_m"),
        ({"stop_ttc_s": 1.2}, "stop_ttc_s"),  # above slow_ttc_s
        ({"slow_ttc_s": 2.0}, "slow_ttc_s"),  # beyond the horizon
        ({"map_size_m": 6.0, "map_resolution_m": 0.005}, "map_size_m"),
        ({"robot_params_file": 3}, "robot_params_file"),
        ({"max_linear_speed_mps": 1.0}, "max_linear_speed_mps"),  # robot.yaml's, not ours
        ({"output_rate_hz": 20.0}, "output_rate_hz"),  # gone: the output is per frame
    ],
)
def test_bad_parameter_raises_config_error_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(SafetyConfig, values)
