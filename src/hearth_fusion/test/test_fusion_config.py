"""The fusion node's configuration: defaults, the YAML file, and clear errors."""

from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_fusion.config import FusionConfig

YAML = Path(__file__).resolve().parents[1] / "config" / "fusion.yaml"
ROBOT_KEYS = ("wheel_radius_m", "wheel_separation_m", "max_linear_speed_mps",
              "max_angular_speed_radps", "max_linear_accel_mps2", "max_angular_accel_radps2")


def test_defaults_are_valid():
    cfg = load_config(FusionConfig)
    assert cfg.robot_params_file == ""  # hearth_description's robot.yaml
    assert cfg.implausible_speed_factor == 3.0
    assert cfg.publish_rate_hz == 100.0
    assert cfg.max_extrapolation_s <= 0.1


def test_the_robot_is_not_duplicated_here():
    names = {f.name for f in config_fields(FusionConfig)}
    assert not names & set(ROBOT_KEYS)
    assert not set(read_params_file(YAML, "fusion")) & set(ROBOT_KEYS)


def test_yaml_declares_only_known_keys_and_loads():
    values = read_params_file(YAML, "fusion")
    assert set(values) == {f.name for f in config_fields(FusionConfig)}
    assert load_config(FusionConfig, values) == load_config(FusionConfig)


def test_every_parameter_has_a_description():
    for f in config_fields(FusionConfig):
        assert f.spec.description, f.name


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"publish_rate_hz": 1000.0}, "publish_rate_hz"),
        ({"publish_rate_hz": 5}, "publish_rate_hz"),
        ({"implausible_speed_factor": 1.0}, "implausible_speed_factor"),
        ({"wheel_speed_noise_fraction": float("nan")}, "wheel_speed_noise_fraction"),
        ({"max_extrapolation_s": 0.5}, "max_extrapolation_s"),
        ({"publish_tf": "yes"}, "publish_tf"),
        ({"robot_params_file": 3}, "robot_params_file"),
        ({"left_wheel_joint": "w", "right_wheel_joint": "w"}, "right_wheel_joint"),
        ({"base_frame": ""}, "base_frame"),
        ({"wheel_radius_m": 0.035}, "wheel_radius_m"),  # robot.yaml's, not ours
    ],
)
def test_bad_parameter_raises_config_error_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(FusionConfig, values)
