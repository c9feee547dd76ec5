"""The fusion node's configuration: defaults, the YAML file, and clear errors."""

from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_fusion.config import FusionConfig

YAML = Path(__file__).resolve().parents[1] / "config" / "fusion.yaml"


def test_defaults_are_valid():
    cfg = load_config(FusionConfig)
    assert cfg.wheel_radius_m == 0.035
    assert cfg.wheel_separation_m == 0.28
    assert cfg.publish_rate_hz == 100.0
    assert cfg.max_extrapolation_s <= 0.1
    assert cfg.max_wheel_speed_mps == pytest.approx(1.0 + 0.14 * 2.5)


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
        ({"wheel_radius_m": -0.035}, "wheel_radius_m"),
        ({"wheel_separation_m": float("nan")}, "wheel_separation_m"),
        ({"max_extrapolation_s": 0.5}, "max_extrapolation_s"),
        ({"publish_tf": "yes"}, "publish_tf"),
        ({"left_wheel_joint": "w", "right_wheel_joint": "w"}, "right_wheel_joint"),
        ({"base_frame": ""}, "base_frame"),
        ({"wheel_raduis_m": 0.03}, "wheel_raduis_m"),
    ],
)
def test_bad_parameter_raises_config_error_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(FusionConfig, values)
