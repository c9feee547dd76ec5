"""The fusion node's configuration: defaults, the YAML file, and clear errors."""

import dataclasses
from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_fusion.config import EKF_DERIVED, EKF_PARAM_NAMES, FusionConfig
from hearth_fusion.ekf import EkfParams

YAML = Path(__file__).resolve().parents[1] / "config" / "fusion.yaml"
ROBOT_KEYS = ("wheel_radius_m", "wheel_separation_m", "max_linear_speed_mps",
              "max_angular_speed_radps", "max_linear_accel_mps2", "max_angular_accel_radps2",
              "accel_full_scale_mps2", "gyro_full_scale_radps", "accel_full_scale_g",
              "gyro_full_scale_dps")


def test_defaults_are_valid():
    cfg = load_config(FusionConfig)
    assert cfg.robot_params_file == ""  # hearth_description's robot.yaml
    assert cfg.implausible_speed_factor == 3.0
    assert cfg.publish_rate_hz == 100.0
    assert cfg.max_extrapolation_s <= 0.1
    assert cfg.gating  # the gates are on by default


def test_the_robot_is_not_duplicated_here():
    names = {f.name for f in config_fields(FusionConfig)}
    assert not names & set(ROBOT_KEYS)
    assert not set(read_params_file(YAML, "fusion")) & set(ROBOT_KEYS)


def test_every_ekf_tunable_is_a_parameter_with_the_cores_default():
    fields = {f.name: f for f in config_fields(FusionConfig)}
    core = {f.name: f.default for f in dataclasses.fields(EkfParams)}
    assert set(EKF_PARAM_NAMES) | set(EKF_DERIVED) == set(core)
    for name in EKF_PARAM_NAMES:
        assert name in fields, name
        assert fields[name].default == core[name], name
    ekf = load_config(FusionConfig).ekf_params(max_wheel_speed_mps=4.0)
    assert ekf == dataclasses.replace(EkfParams(), max_wheel_speed_mps=4.0)


def test_yaml_declares_only_known_keys_and_loads():
    values = read_params_file(YAML, "fusion")
    assert set(values) == {f.name for f in config_fields(FusionConfig)}
    assert load_config(FusionConfig, values) == load_config(FusionConfig)


def test_every_parameter_has_a_description_and_numbers_a_range():
    for f in config_fields(FusionConfig):
        assert f.spec.description, f.name
        if f.type is float:
            assert f.spec.min is not None and f.spec.max is not None, f.name


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"publish_rate_hz": 1000.0}, "publish_rate_hz"),
        ({"publish_rate_hz": 5}, "publish_rate_hz"),
        ({"implausible_speed_factor": 1.0}, "implausible_speed_factor"),
        ({"wheel_speed_noise_fraction": float("nan")}, "wheel_speed_noise_fraction"),
        ({"max_extrapolation_s": 0.5}, "max_extrapolation_s"),
        ({"publish_tf": "yes"}, "publish_tf"),
        ({"gating": 1}, "gating"),
        ({"gate_probability": 1.0}, "gate_probability"),
        ({"gyro_noise_std_radps": 0.0}, "gyro_noise_std_radps"),
        ({"reorder_window_s": -0.01}, "reorder_window_s"),
        ({"slip_off_sigma": 5.0}, "slip_off_sigma"),  # not below slip_on_sigma (4)
        ({"robot_params_file": 3}, "robot_params_file"),
        ({"left_wheel_joint": "w", "right_wheel_joint": "w"}, "right_wheel_joint"),
        ({"base_frame": ""}, "base_frame"),
        ({"wheel_radius_m": 0.035}, "wheel_radius_m"),  # robot.yaml's, not ours
        ({"max_wheel_speed_mps": 3.0}, "max_wheel_speed_mps"),  # derived from robot.yaml
    ],
)
def test_bad_parameter_raises_config_error_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(FusionConfig, values)
