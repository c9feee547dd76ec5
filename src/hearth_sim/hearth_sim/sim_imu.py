"""The IMU as a real part reads it, fed by MuJoCo's accelerometer and gyro (ROS-free).

MuJoCo gives the true specific force (acceleration minus gravity: +9.81 on z at rest) and
angular rate at the IMU site, in imu_link's axes, at every physics step. The part:

1. senses each physics-step sample with its constant bias (drawn once per axis, seeded)
   and white noise;
2. decimates to the output rate by averaging the samples of each output period (its
   digital low-pass filter), so a shock shorter than a period is smeared, as on a real part;
3. converts to ``adc_bits`` two's complement at the configured full scale
   (``accel_full_scale_g``, ``gyro_full_scale_dps`` of robot.yaml): quantized to
   full_scale / 2^(bits-1) and clipped to [-2^(bits-1), 2^(bits-1) - 1] counts. A reading at
   either end of the range means the part saturated.

The clipping happens at the output, as on a MEMS part whose full scale is a setting: the
sensing element and its ADC span the part's widest range, and the selected range is where
the filtered output register saturates.

The white noise of one output sample has the standard deviation ``density * sqrt(rate)``
(the noise density in units/√Hz over the output bandwidth); each physics-step sample gets
``sqrt(n)`` times that, n samples per output, so the average has the stated figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hearth_description.robot_model import ImuParams


@dataclass(frozen=True)
class ImuNoise:
    accel_noise_density: float = 0.0  # m/s²/√Hz
    gyro_noise_density: float = 0.0  # rad/s/√Hz
    accel_bias_std_mps2: float = 0.0
    gyro_bias_std_radps: float = 0.0


@dataclass(frozen=True)
class ImuSample:
    t_ns: int
    accel_mps2: np.ndarray  # (3,) specific force in imu_link
    gyro_radps: np.ndarray  # (3,) angular rate in imu_link
    accel_saturated: bool
    gyro_saturated: bool
    # Evaluation only: the noise-free signal the sample measures (true mean + bias, before the
    # noise and the ADC), so that "near full scale" can be judged without the sensor's noise.
    accel_signal_mps2: np.ndarray | None = None
    gyro_signal_radps: np.ndarray | None = None


def adc(values: np.ndarray, full_scale: float, bits: int) -> tuple[np.ndarray, bool]:
    """Quantize and clip to a ``bits``-bit two's-complement ADC spanning ±``full_scale``.

    Returns the readings and whether any axis is at either end of the range.
    """
    lsb = full_scale / 2 ** (bits - 1)
    lowest, highest = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    counts = np.rint(np.asarray(values, dtype=float) / lsb)
    saturated = bool(np.any(counts <= lowest) or np.any(counts >= highest))
    return np.clip(counts, lowest, highest) * lsb, saturated


class SimImu:
    """Feed it every physics step (``add``); ``read`` gives one output sample from the
    samples added since the last read."""

    def __init__(self, params: ImuParams, rate_hz: float, steps_per_sample: int,
                 noise: ImuNoise, rng: np.random.Generator):
        self.accel_full_scale_mps2 = params.accel_full_scale_mps2
        self.gyro_full_scale_radps = params.gyro_full_scale_radps
        self.adc_bits = params.adc_bits
        self.n = steps_per_sample
        self.accel_noise_std_mps2 = noise.accel_noise_density * np.sqrt(rate_hz)
        self.gyro_noise_std_radps = noise.gyro_noise_density * np.sqrt(rate_hz)
        self.rng = rng
        self.accel_bias_mps2 = rng.normal(0.0, noise.accel_bias_std_mps2, 3)
        self.gyro_bias_radps = rng.normal(0.0, noise.gyro_bias_std_radps, 3)
        self._accel = np.zeros((steps_per_sample, 3))
        self._gyro = np.zeros((steps_per_sample, 3))
        self._k = 0

    def add(self, accel_mps2: np.ndarray, gyro_radps: np.ndarray) -> None:
        """One physics-step sample of the true specific force and angular rate."""
        k = self._k % self.n
        self._accel[k] = accel_mps2
        self._gyro[k] = gyro_radps
        self._k += 1

    def read(self, t_ns: int) -> ImuSample:
        """The output sample of the period that ends now."""
        k = min(self._k, self.n)
        if k == 0:
            raise RuntimeError("SimImu.read before any sample was added")
        noise = self.rng.normal(0.0, 1.0, (2, k, 3)) * np.sqrt(k)
        accel_signal = self._accel[:k].mean(axis=0) + self.accel_bias_mps2
        gyro_signal = self._gyro[:k].mean(axis=0) + self.gyro_bias_radps
        accel = accel_signal + (noise[0] * self.accel_noise_std_mps2).mean(axis=0)
        gyro = gyro_signal + (noise[1] * self.gyro_noise_std_radps).mean(axis=0)
        self._k = 0
        accel, accel_sat = adc(accel, self.accel_full_scale_mps2, self.adc_bits)
        gyro, gyro_sat = adc(gyro, self.gyro_full_scale_radps, self.adc_bits)
        return ImuSample(t_ns, accel, gyro, accel_sat, gyro_sat, accel_signal, gyro_signal)
