"""The kinematic world: deterministic, sensors at their rates, commands time out."""

from __future__ import annotations

import numpy as np
import pytest

from hearth_common.config import load_config
from hearth_sim.config import SimConfig
from hearth_sim.simulator import CommandWatchdog, KinematicSimulator


def commands(n: int) -> list[tuple[float, float]]:
    """A wandering command sequence: speed up, turn, reverse."""
    return [(0.6 * np.sin(k / 150), 1.5 * np.cos(k / 90)) for k in range(n)]


def record(robot, cfg: SimConfig, n: int = 1200):
    sim = KinematicSimulator(robot, cfg)
    out = []
    for v, w in commands(n):
        o = sim.step(v, w)
        out.append((
            o.t_ns,
            None if o.imu is None else (tuple(o.imu.accel_mps2), tuple(o.imu.gyro_radps)),
            None if o.wheels is None else o.wheels.positions_rad,
            None if o.ground_truth is None else (o.ground_truth.x_m, o.ground_truth.y_m,
                                                 o.ground_truth.yaw_rad),
        ))
    return out


def test_same_seed_and_commands_give_the_same_run(robot):
    cfg = load_config(SimConfig, {"seed": 42})
    assert record(robot, cfg) == record(robot, cfg)


def test_another_seed_changes_the_noise_not_the_motion(robot):
    a = record(robot, load_config(SimConfig, {"seed": 1}))
    b = record(robot, load_config(SimConfig, {"seed": 2}))
    assert [x[3] for x in a] == [x[3] for x in b]  # same trajectory
    assert [x[1] for x in a] != [x[1] for x in b]  # different IMU noise


def test_sensors_sample_at_their_rates_in_sim_time(robot):
    cfg = load_config(SimConfig, {"physics_rate_hz": 200.0, "imu_rate_hz": 100.0,
                                  "wheel_rate_hz": 50.0, "ground_truth_rate_hz": 20.0})
    sim = KinematicSimulator(robot, cfg)
    outs = [sim.step(0.2, 0.0) for _ in range(200)]  # 1 s
    assert sim.t_ns == 1_000_000_000
    assert sum(o.imu is not None for o in outs) == 100
    assert sum(o.wheels is not None for o in outs) == 50
    assert sum(o.ground_truth is not None for o in outs) == 20
    assert [o.t_ns for o in outs[:2]] == [5_000_000, 10_000_000]


def test_the_screen_pans_within_its_speed_and_travel(robot):
    sim = KinematicSimulator(robot, load_config(SimConfig))
    assert sim.pan.command(10.0) == pytest.approx(robot.screen.pan_limit_rad)
    positions = [o.pan.position_rad for o in (sim.step(0, 0) for _ in range(400)) if o.pan]
    steps = np.diff([0.0, *positions])
    assert np.all(steps <= robot.screen.max_pan_speed_radps * 0.02 + 1e-12)
    assert positions[-1] == pytest.approx(robot.screen.pan_limit_rad)


def test_a_silent_command_stream_times_out():
    dog = CommandWatchdog(timeout_ns=500_000_000)
    assert dog.command(0) == (0.0, 0.0)  # nothing commanded yet
    dog.set(0.3, 0.1, t_ns=1_000_000_000)
    assert dog.command(1_400_000_000) == (0.3, 0.1)
    assert dog.command(1_500_000_001) == (0.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        dog.set(float("nan"), 0.0, 0)
