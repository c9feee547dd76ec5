"""The safety node's configuration: defaults, the YAML file, and clear errors."""

from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_safety.config import SafetyConfig

YAML = Path(__file__).resolve().parents[1] / "config" / "safety.yaml"


def test_defaults():
    cfg = load_config(SafetyConfig)
    assert (cfg.cmd_timeout_s, cfg.odom_timeout_s, cfg.output_rate_hz) == (0.3, 0.2, 20.0)
    assert cfg.max_linear_speed_mps == 1.0 and cfg.max_angular_speed_radps == 2.5
    assert cfg.max_linear_accel_mps2 == 1.0 and cfg.max_angular_accel_radps2 == 4.0


def test_yaml_declares_only_known_keys_and_loads():
    values = read_params_file(YAML, "safety")
    assert set(values) == {f.name for f in config_fields(SafetyConfig)}
    assert load_config(SafetyConfig, values) == load_config(SafetyConfig)


def test_every_parameter_has_a_description():
    for f in config_fields(SafetyConfig):
        assert f.spec.description, f.name


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"output_rate_hz": 1.0}, "output_rate_hz"),
        ({"cmd_timeout_s": -0.3}, "cmd_timeout_s"),
        ({"odom_timeout_s": float("inf")}, "odom_timeout_s"),
        ({"max_linear_speed_mps": "fast"}, "max_linear_speed_mps"),
        ({"emergency_decel_mps2": 0.5}, "emergency_decel_mps2"),
        ({"max_angular_accel_radps2": 20.0}, "emergency_angular_decel_radps2"),
        ({"cmd_timeout": 0.3}, "cmd_timeout"),
    ],
)
def test_bad_parameter_raises_config_error_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(SafetyConfig, values)
