"""Config dataclasses: defaults, types, ranges, choices and params files, without rclpy."""

from dataclasses import dataclass

import pytest

from hearth_common.config import (
    ConfigError,
    config_fields,
    load_config,
    param,
    read_params_file,
)


@dataclass(frozen=True)
class ExampleConfig:
    rate_hz: float = param(10.0, "Cycle rate", min=1.0, max=100.0)
    window: int = param(5, "Samples kept", min=1)
    frame_id: str = param("odom", "Output frame")
    mode: str = param("normal", "Operating mode", choices=("normal", "low"))
    enabled: bool = param(True, "Whether to publish")
    gains: list[float] = param([1.0, 0.5], "Controller gains", min=0.0)

    def __post_init__(self):
        if self.mode == "low" and self.rate_hz > 50.0:
            raise ConfigError("parameter 'rate_hz' must be <= 50 in low mode")


def test_defaults_fill_missing_keys():
    cfg = load_config(ExampleConfig, {})
    assert cfg == ExampleConfig()


def test_integers_are_accepted_for_floats():
    assert load_config(ExampleConfig, {"rate_hz": 20}).rate_hz == 20.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rate_hz": 0.5}, "'rate_hz' = 0.5 is below its minimum 1.0"),
        ({"rate_hz": 500.0}, "'rate_hz' = 500.0 is above its maximum 100.0"),
        ({"rate_hz": float("nan")}, "'rate_hz': must be finite"),
        ({"rate_hz": "fast"}, "'rate_hz': expected a number"),
        ({"window": 2.5}, "'window': expected an integer"),
        ({"enabled": 1}, "'enabled': expected a bool"),
        ({"mode": "turbo"}, "'mode' = 'turbo' is not one of 'normal', 'low'"),
        ({"gains": [1.0, -1.0]}, "'gains[1]' = -1.0 is below its minimum 0.0"),
        ({"gains": 3.0}, "'gains': expected a list"),
        ({"rate_hx": 10.0}, "unknown parameter 'rate_hx'"),
        ({"mode": "low", "rate_hz": 80.0}, "must be <= 50 in low mode"),
    ],
)
def test_bad_values_name_the_key_and_the_reason(values, message):
    with pytest.raises(ConfigError, match=None) as err:
        load_config(ExampleConfig, values)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_use_sim_time_is_always_allowed():
    load_config(ExampleConfig, {"use_sim_time": True})


def test_fields_carry_descriptions_and_ranges():
    rate = next(f for f in config_fields(ExampleConfig) if f.name == "rate_hz")
    assert rate.spec.description == "Cycle rate"
    assert (rate.spec.min, rate.spec.max) == (1.0, 100.0)


def test_params_file_sections_merge_wildcard_then_node(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "/**:\n  ros__parameters:\n    use_sim_time: true\n    rate_hz: 5.0\n"
        "fusion:\n  ros__parameters:\n    rate_hz: 50.0\n    nested:\n      key: 1\n"
    )
    assert read_params_file(f, "fusion") == {"use_sim_time": True, "rate_hz": 50.0, "nested.key": 1}


@pytest.mark.parametrize(
    "text", ["fusion: [1, 2", "- a\n- b\n", "fusion:\n  parameters: {}\n"]
)
def test_corrupt_params_files_are_rejected(tmp_path, text):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError):
        read_params_file(f, "fusion")
