"""The safety node's configuration: defaults, the YAML file, the robot's limits, clear errors."""

from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_description.robot_model import load_robot_params
from hearth_safety.config import SafetyConfig, guard_limits

YAML = Path(__file__).resolve().parents[1] / "config" / "safety.yaml"
ROBOT_KEYS = ("wheel_radius_m", "wheel_separation_m", "max_linear_speed_mps",
              "max_angular_speed_radps", "max_linear_accel_mps2", "max_angular_accel_radps2")


def test_defaults():
    cfg = load_config(SafetyConfig)
    assert (cfg.cmd_timeout_s, cfg.odom_timeout_s, cfg.output_rate_hz) == (0.3, 0.2, 20.0)
    assert (cfg.emergency_decel_mps2, cfg.emergency_angular_decel_radps2) == (3.0, 12.0)
    assert cfg.robot_params_file == ""  # hearth_description's robot.yaml


def test_the_robot_is_not_duplicated_here():
    names = {f.name for f in config_fields(SafetyConfig)}
    assert not names & set(ROBOT_KEYS)
    assert not set(read_params_file(YAML, "safety")) & set(ROBOT_KEYS)


def test_yaml_declares_only_known_keys_and_loads():
    values = read_params_file(YAML, "safety")
    assert set(values) == {f.name for f in config_fields(SafetyConfig)}
    assert load_config(SafetyConfig, values) == load_config(SafetyConfig)


def test_every_parameter_has_a_description():
    for f in config_fields(SafetyConfig):
        assert f.spec.description, f.name


def test_guard_limits_are_the_robots_with_the_nodes_tuning():
    robot = load_robot_params().limits
    cfg = load_config(SafetyConfig, {"cmd_timeout_s": 0.4, "output_rate_hz": 10.0})
    lim = guard_limits(cfg, robot)
    assert lim.max_linear_speed_mps == robot.max_linear_speed_mps
    assert lim.max_angular_speed_radps == robot.max_angular_speed_radps
    assert lim.max_linear_accel_mps2 == robot.max_linear_accel_mps2
    assert lim.max_angular_accel_radps2 == robot.max_angular_accel_radps2
    assert (lim.emergency_decel_mps2, lim.emergency_angular_decel_radps2) == (3.0, 12.0)
    assert (lim.cmd_timeout_s, lim.odom_timeout_s) == (0.4, 0.2)
    assert lim.max_step_s == pytest.approx(0.2)  # two output periods


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"emergency_decel_mps2": 0.5}, "emergency_decel_mps2"),  # robot: 1.0 m/s²
        ({"emergency_angular_decel_radps2": 3.0}, "emergency_angular_decel_radps2"),  # robot: 4
    ],
)
def test_an_emergency_stop_gentler_than_the_robots_limits_is_a_config_error(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'.*below the robot's.*robot.yaml"):
        guard_limits(load_config(SafetyConfig, values), load_robot_params().limits)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"output_rate_hz": 1.0}, "output_rate_hz"),
        ({"cmd_timeout_s": -0.3}, "cmd_timeout_s"),
        ({"odom_timeout_s": float("inf")}, "odom_timeout_s"),
        ({"emergency_decel_mps2": "fast"}, "emergency_decel_mps2"),
        ({"robot_params_file": 3}, "robot_params_file"),
        ({"max_linear_speed_mps": 1.0}, "max_linear_speed_mps"),  # robot.yaml's, not ours
        ({"cmd_timeout": 0.3}, "cmd_timeout"),
    ],
)
def test_bad_parameter_raises_config_error_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(SafetyConfig, values)
