"""An IMU on a body moving on a flat floor (ROS-free).

The accelerometer measures specific force (acceleration minus gravity) at imu_link, in
imu_link's axes (aligned with base_link): +g on z at rest; along x the body's tangential
acceleration dv/dt, along y its centripetal acceleration v·w, plus the lever-arm terms of an
IMU away from the rotation axis (α × r and w × (w × r)). The gyroscope measures the body rate
(0, 0, w).

Each reading adds a constant bias per axis (drawn once) and white noise (density × √rate),
from a seeded generator, then goes through the part's ADC exactly as a real part does:
quantized to full_scale / 2^(bits-1) and clipped to [-2^(bits-1), 2^(bits-1) - 1] counts,
so a reading pinned at either end means the part saturated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hearth_description.robot_model import STANDARD_GRAVITY_MPS2, ImuParams


@dataclass(frozen=True)
class ImuNoise:
    accel_noise_density: float = 0.0  # m/s²/√Hz
    gyro_noise_density: float = 0.0  # rad/s/√Hz
    accel_bias_std_mps2: float = 0.0
    gyro_bias_std_radps: float = 0.0


@dataclass(frozen=True)
class ImuSample:
    accel_mps2: np.ndarray  # (3,) specific force in imu_link
    gyro_radps: np.ndarray  # (3,) angular rate in imu_link
    accel_saturated: bool
    gyro_saturated: bool


def specific_force_mps2(lever_arm_m: np.ndarray, v_mps: float, w_radps: float,
                        accel_mps2: float, alpha_radps2: float,
                        gravity_mps2: float = STANDARD_GRAVITY_MPS2) -> np.ndarray:
    """True specific force at a point ``lever_arm_m`` from base_link, in base_link axes.

    Planar motion: forward speed ``v_mps`` (no sideways slip), yaw rate ``w_radps``, and their
    rates of change ``accel_mps2`` and ``alpha_radps2``.
    """
    rx, ry, _ = lever_arm_m
    w2 = w_radps * w_radps
    return np.array([
        accel_mps2 - alpha_radps2 * ry - w2 * rx,
        v_mps * w_radps + alpha_radps2 * rx - w2 * ry,
        gravity_mps2,
    ])


def adc(values: np.ndarray, full_scale: float, bits: int) -> tuple[np.ndarray, bool]:
    """Quantize and clip to a ``bits``-bit two's-complement ADC spanning ±``full_scale``.

    Returns the readings and whether any axis hit either end of the range.
    """
    lsb = full_scale / 2 ** (bits - 1)
    lowest, highest = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    counts = np.rint(np.asarray(values, dtype=float) / lsb)
    saturated = bool(np.any(counts <= lowest) or np.any(counts >= highest))
    return np.clip(counts, lowest, highest) * lsb, saturated


class ImuModel:
    """A consumer 6-axis IMU; ``measure`` gives one sample."""

    def __init__(self, params: ImuParams, rate_hz: float, noise: ImuNoise,
                 rng: np.random.Generator):
        self.lever_arm_m = np.array(params.xyz_m, dtype=float)
        self.accel_full_scale_mps2 = params.accel_full_scale_mps2
        self.gyro_full_scale_radps = params.gyro_full_scale_radps
        self.adc_bits = params.adc_bits
        self.accel_noise_std_mps2 = noise.accel_noise_density * np.sqrt(rate_hz)
        self.gyro_noise_std_radps = noise.gyro_noise_density * np.sqrt(rate_hz)
        self.rng = rng
        self.accel_bias_mps2 = rng.normal(0.0, noise.accel_bias_std_mps2, 3)
        self.gyro_bias_radps = rng.normal(0.0, noise.gyro_bias_std_radps, 3)

    def measure(self, v_mps: float, w_radps: float, accel_mps2: float,
                alpha_radps2: float) -> ImuSample:
        true_accel = specific_force_mps2(self.lever_arm_m, v_mps, w_radps, accel_mps2,
                                         alpha_radps2)
        true_gyro = np.array([0.0, 0.0, w_radps])
        accel = (true_accel + self.accel_bias_mps2
                 + self.rng.normal(0.0, self.accel_noise_std_mps2, 3))
        gyro = (true_gyro + self.gyro_bias_radps
                + self.rng.normal(0.0, self.gyro_noise_std_radps, 3))
        accel, accel_sat = adc(accel, self.accel_full_scale_mps2, self.adc_bits)
        gyro, gyro_sat = adc(gyro, self.gyro_full_scale_radps, self.adc_bits)
        return ImuSample(accel, gyro, accel_sat, gyro_sat)
