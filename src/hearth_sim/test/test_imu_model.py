"""The IMU reads specific force and body rate, with bias and noise, and clips like a real part."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hearth_description.robot_model import STANDARD_GRAVITY_MPS2
from hearth_sim.imu_model import ImuModel, ImuNoise, adc, specific_force_mps2

RATE_HZ = 200.0


def quiet(robot) -> ImuModel:
    return ImuModel(robot.imu, RATE_HZ, ImuNoise(), np.random.default_rng(0))


def test_reads_plus_g_on_z_at_rest(robot):
    s = quiet(robot).measure(0.0, 0.0, 0.0, 0.0)
    lsb = robot.imu.accel_full_scale_mps2 / 2 ** 15
    assert s.accel_mps2 == pytest.approx([0.0, 0.0, STANDARD_GRAVITY_MPS2], abs=lsb)
    assert s.gyro_radps == pytest.approx([0.0, 0.0, 0.0])
    assert not s.accel_saturated and not s.gyro_saturated


def test_reads_tangential_and_centripetal_acceleration_and_yaw_rate(robot):
    imu = quiet(robot)
    s = imu.measure(v_mps=0.5, w_radps=1.0, accel_mps2=0.8, alpha_radps2=0.0)
    rx, ry, _ = robot.imu.xyz_m
    lsb = robot.imu.accel_full_scale_mps2 / 2 ** 15
    assert s.accel_mps2[0] == pytest.approx(0.8 - 1.0 * rx, abs=lsb)  # dv/dt - w² rx
    assert s.accel_mps2[1] == pytest.approx(0.5 * 1.0 - 1.0 * ry, abs=lsb)  # v w - w² ry
    assert s.gyro_radps[2] == pytest.approx(1.0, abs=robot.imu.gyro_full_scale_radps / 2 ** 15)


def test_an_imu_off_the_axis_feels_the_yaw_acceleration():
    f = specific_force_mps2(np.array([0.1, 0.0, 0.0]), 0.0, 0.0, 0.0, alpha_radps2=2.0)
    assert f == pytest.approx([0.0, 0.2, STANDARD_GRAVITY_MPS2])


def test_clips_at_full_scale_on_a_large_acceleration(robot):
    fs = robot.imu.accel_full_scale_mps2  # 4 g
    imu = quiet(robot)
    s = imu.measure(0.0, 0.0, accel_mps2=10 * STANDARD_GRAVITY_MPS2, alpha_radps2=0.0)
    assert s.accel_saturated
    assert s.accel_mps2[0] == pytest.approx(fs * (2 ** 15 - 1) / 2 ** 15)  # top code
    assert s.accel_mps2[2] == pytest.approx(STANDARD_GRAVITY_MPS2, abs=fs / 2 ** 15)
    s = imu.measure(0.0, 0.0, accel_mps2=-10 * STANDARD_GRAVITY_MPS2, alpha_radps2=0.0)
    assert s.accel_mps2[0] == pytest.approx(-fs)  # bottom code


def test_gyro_clips_at_its_full_scale(robot):
    s = quiet(robot).measure(0.0, w_radps=20.0, accel_mps2=0.0, alpha_radps2=0.0)
    assert s.gyro_saturated
    assert s.gyro_radps[2] == pytest.approx(math.radians(500) * (2 ** 15 - 1) / 2 ** 15)


def test_adc_rounds_to_the_lsb():
    values, saturated = adc(np.array([0.26, -0.74, 1.0]), full_scale=1.0, bits=3)  # lsb 0.25
    assert values == pytest.approx([0.25, -0.75, 0.75])
    assert saturated


def test_noise_and_bias_have_the_configured_size(robot):
    noise = ImuNoise(accel_noise_density=2e-3, gyro_noise_density=1e-4,
                     accel_bias_std_mps2=0.05, gyro_bias_std_radps=0.003)
    imu = ImuModel(robot.imu, RATE_HZ, noise, np.random.default_rng(7))
    samples = [imu.measure(0.0, 0.0, 0.0, 0.0) for _ in range(4000)]
    accel = np.array([s.accel_mps2 for s in samples])
    gyro = np.array([s.gyro_radps for s in samples])
    assert accel.std(axis=0) == pytest.approx([2e-3 * math.sqrt(RATE_HZ)] * 3, rel=0.1)
    assert gyro.std(axis=0) == pytest.approx([1e-4 * math.sqrt(RATE_HZ)] * 3, rel=0.1)
    # The mean is the truth plus the constant bias drawn at start.
    truth = np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2])
    assert accel.mean(axis=0) - truth == pytest.approx(imu.accel_bias_mps2, abs=5e-3)
    assert np.all(imu.accel_bias_mps2 != 0.0)
