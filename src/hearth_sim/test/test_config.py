"""The sim's parameters: defaults, the shipped file, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_sim.config import SimConfig

SIM_YAML = Path(__file__).resolve().parents[1] / "config" / "sim.yaml"


def test_the_shipped_params_file_is_valid_and_complete():
    values = read_params_file(SIM_YAML, "sim")
    cfg = load_config(SimConfig, values)
    assert cfg.physics_rate_hz == 200.0 and cfg.imu_rate_hz == 200.0
    assert cfg.wheel_rate_hz == 50.0 and cfg.ground_truth_rate_hz == 50.0
    assert cfg.cmd_timeout_s == 0.5 and cfg.power_mode == "normal"
    assert set(values) == {f.name for f in config_fields(SimConfig)}


@pytest.mark.parametrize("key", ["physics_rate_hz", "imu_rate_hz", "wheel_rate_hz",
                                 "ground_truth_rate_hz", "real_time_factor", "cmd_timeout_s"])
def test_a_negative_rate_or_duration_is_refused_by_name(key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(SimConfig, {key: -1.0})


def test_a_sensor_rate_must_divide_the_physics_rate():
    with pytest.raises(ConfigError, match="'wheel_rate_hz' = 30 must divide physics_rate_hz"):
        load_config(SimConfig, {"wheel_rate_hz": 30.0})
    with pytest.raises(ConfigError, match="'imu_rate_hz' = 400 must divide"):
        load_config(SimConfig, {"imu_rate_hz": 400.0})


def test_unknown_power_mode_and_negative_seed_are_refused():
    with pytest.raises(ConfigError, match="'power_mode'"):
        load_config(SimConfig, {"power_mode": "turbo"})
    with pytest.raises(ConfigError, match="'seed'"):
        load_config(SimConfig, {"seed": -3})


def test_step_length_is_integer_nanoseconds():
    assert load_config(SimConfig).step_ns == 5_000_000
    assert load_config(SimConfig).steps_per_sample(50.0) == 4
