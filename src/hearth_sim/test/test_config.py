"""The sim's parameters: defaults, the shipped file, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth_common.config import ConfigError, config_fields, load_config, read_params_file
from hearth_sim.config import SimConfig
from hearth_sim.disturbances import parse_schedule

SIM_YAML = Path(__file__).resolve().parents[1] / "config" / "sim.yaml"


def test_the_shipped_params_file_is_valid_and_complete():
    values = read_params_file(SIM_YAML, "sim")
    cfg = load_config(SimConfig, values)
    assert cfg.physics_rate_hz == 1000.0 and cfg.imu_rate_hz == 200.0
    assert cfg.wheel_rate_hz == 50.0 and cfg.ground_truth_rate_hz == 50.0
    assert cfg.cmd_timeout_s == 0.5 and cfg.power_mode == "normal"
    assert cfg.home_file == "apartment" and cfg.start_xy_yaw() is None
    assert set(values) == {f.name for f in config_fields(SimConfig)}
    parse_schedule(cfg.schedule_entries())


@pytest.mark.parametrize("key", ["physics_rate_hz", "imu_rate_hz", "wheel_rate_hz",
                                 "ground_truth_rate_hz", "real_time_factor", "cmd_timeout_s",
                                 "stereo_rate_hz", "tof_latency_s", "imu_drop_probability"])
def test_a_negative_rate_or_duration_is_refused_by_name(key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(SimConfig, {key: -1.0})


def test_a_sensor_rate_must_divide_the_physics_rate():
    with pytest.raises(ConfigError, match="'wheel_rate_hz' = 30 must divide physics_rate_hz"):
        load_config(SimConfig, {"wheel_rate_hz": 30.0})
    with pytest.raises(ConfigError, match="'imu_rate_hz' = 300 must divide"):
        load_config(SimConfig, {"imu_rate_hz": 300.0})
    # cameras take the nearest step: any rate will do
    assert load_config(SimConfig, {"tof_rate_hz": 15.0}).tof_rate_hz == 15.0


def test_unknown_power_mode_and_negative_seed_are_refused():
    with pytest.raises(ConfigError, match="'power_mode'"):
        load_config(SimConfig, {"power_mode": "turbo"})
    with pytest.raises(ConfigError, match="'seed'"):
        load_config(SimConfig, {"seed": -3})


def test_start_pose_is_empty_or_three_numbers():
    assert load_config(SimConfig, {"start_pose": "1 2.5 -0.5"}).start_xy_yaw() == (1, 2.5, -0.5)
    for bad in ("1 2", "1 2 x", "1 2 nan"):
        with pytest.raises(ConfigError, match="'start_pose'"):
            load_config(SimConfig, {"start_pose": bad})


def test_the_screen_camera_size_is_both_or_neither():
    assert load_config(SimConfig, {}).screen_camera_width_px == 0  # robot.yaml's
    cfg = load_config(SimConfig, {"screen_camera_width_px": 320, "screen_camera_height_px": 240})
    assert (cfg.screen_camera_width_px, cfg.screen_camera_height_px) == (320, 240)
    for bad in ({"screen_camera_width_px": 320}, {"screen_camera_height_px": 240},
                {"screen_camera_width_px": 8, "screen_camera_height_px": 6}):
        with pytest.raises(ConfigError, match="'screen_camera_width_px' and "
                                              "'screen_camera_height_px'"):
            load_config(SimConfig, bad)


def test_one_source_of_people():
    with pytest.raises(ConfigError, match="'people' and 'people_replay_file'"):
        load_config(SimConfig, {"people": 2, "people_replay_file": "x.txt"})


def test_step_length_is_integer_nanoseconds():
    assert load_config(SimConfig).step_ns == 1_000_000
    assert load_config(SimConfig).steps_per_sample(50.0) == 20
