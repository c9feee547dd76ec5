"""Synthetic sensor streams of a differential-drive robot on a flat floor (ROS-free).

For the EKF's unit tests and benchmark: a ground-truth trajectory from a body-velocity
profile, an IMU (200 Hz, specific force with +g on z, gyro with a constant bias, white noise,
16-bit quantization and clipping at full scale) and wheel encoders (50 Hz positions in rad,
quantized to ticks), as the simulator produces them. Disturbances are applied by the caller
by editing the streams (``Streams`` is plain lists).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hearth_fusion.detectors import GRAVITY_MPS2, NS_PER_S

GEOMETRY = {
    "wheel_radius_m": 0.035,
    "wheel_separation_m": 0.28,
    "accel_full_scale_mps2": 4.0 * GRAVITY_MPS2,
    "gyro_full_scale_radps": math.radians(500.0),
}
TICKS_PER_REV = 1024


@dataclass
class Streams:
    t_truth_ns: list[int] = field(default_factory=list)
    truth: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    imu: list[tuple[int, list[float], list[float]]] = field(default_factory=list)
    wheels: list[tuple[int, float, float]] = field(default_factory=list)

    def truth_at(self, t_ns: int) -> tuple[float, float, float, float, float]:
        """(x, y, yaw, v, w) at the truth sample nearest ``t_ns``."""
        k = min(range(len(self.t_truth_ns)), key=lambda i: abs(self.t_truth_ns[i] - t_ns))
        return self.truth[k]

    def merged(self) -> list[tuple[int, str, tuple]]:
        """All messages in stamp order (IMU before wheels at equal stamps)."""
        out = [(t, "imu", (a, g)) for t, a, g in self.imu]
        out += [(t, "wheels", (lft, rgt)) for t, lft, rgt in self.wheels]
        out.sort(key=lambda m: (m[0], m[1] != "imu"))
        return out

    def visual_odometry(self, rate_hz: float = 10.0, std_mps: float = 0.005,
                        std_radps: float = 0.005, seed: int = 0
                        ) -> list[tuple[int, float, float, list]]:
        """What a stereo front end reports per frame: (t_ns, v, w, 2x2 covariance), the mean
        body speed and yaw rate over the interval since the previous frame, with noise."""
        rng = np.random.default_rng(seed)
        period = round(NS_PER_S / rate_hz)
        t = np.array(self.t_truth_ns)
        out = []
        prev = None
        for k in range(len(t)):
            if t[k] % period:
                continue
            if prev is not None:
                (x0, y0, a0), (x1, y1, a1) = self.truth[prev][:3], self.truth[k][:3]
                dt = (t[k] - t[prev]) / NS_PER_S
                h = a0 + 0.5 * math.remainder(a1 - a0, 2.0 * math.pi)
                v = ((x1 - x0) * math.cos(h) + (y1 - y0) * math.sin(h)) / dt
                w = math.remainder(a1 - a0, 2.0 * math.pi) / dt
                out.append((int(t[k]), v + rng.normal(0, std_mps), w + rng.normal(0, std_radps),
                            [[std_mps ** 2, 0.0], [0.0, std_radps ** 2]]))
            prev = k
        return out

    def scale_wheel_travel(self, t0_s: float, t1_s: float, factor: float) -> None:
        """Both encoders count ``factor`` times the travel between ``t0_s`` and ``t1_s`` (a
        rug, or wheels spinning against an edge: slip the gyro cannot see)."""
        out, offset, last = [], [0.0, 0.0], None
        for t, lft, rgt in self.wheels:
            if last is not None and t0_s * NS_PER_S < t <= t1_s * NS_PER_S:
                offset[0] += (factor - 1.0) * (lft - last[0])
                offset[1] += (factor - 1.0) * (rgt - last[1])
            last = (lft, rgt)
            out.append((t, lft + offset[0], rgt + offset[1]))
        self.wheels = out


def _adc(value: float, full_scale: float) -> float:
    lsb = full_scale / 32768.0
    return min(max(round(value / lsb), -32768), 32767) * lsb


def generate(duration_s: float, profile: Callable[[float], tuple[float, float]], *,
             gyro_bias_radps: float = 0.0, gyro_noise_std: float = 0.0015,
             accel_noise_std: float = 0.03, seed: int = 0, dt_s: float = 0.001,
             wheel_yaw_rate_gain: float | Callable[[float], float] = 1.0,
             start_s: float = 1.0) -> Streams:
    """Streams from a body-velocity profile ``(v_mps, w_radps) = profile(t_s)``.

    ``wheel_yaw_rate_gain`` (a number or a function of t_s): the wheels report this many
    times the true yaw rate (slip), about the same forward speed.
    """
    rng = np.random.default_rng(seed)
    r, sep = GEOMETRY["wheel_radius_m"], GEOMETRY["wheel_separation_m"]
    fs_a, fs_g = GEOMETRY["accel_full_scale_mps2"], GEOMETRY["gyro_full_scale_radps"]
    tick = 2.0 * math.pi / TICKS_PER_REV
    out = Streams()
    x = y = yaw = 0.0
    left = right = 0.0
    n = round(duration_s / dt_s)
    v_prev = profile(start_s)[0]
    t0_ns = round(start_s * NS_PER_S)
    step_ns = round(dt_s * NS_PER_S)
    for k in range(n + 1):
        t_ns = t0_ns + k * step_ns
        t_s = t_ns / NS_PER_S
        v, w = profile(t_s)
        if k:
            h = yaw + 0.5 * w * dt_s
            x += v * dt_s * math.cos(h)
            y += v * dt_s * math.sin(h)
            yaw = math.remainder(yaw + w * dt_s, 2.0 * math.pi)
            gain = (wheel_yaw_rate_gain(t_s) if callable(wheel_yaw_rate_gain)
                    else wheel_yaw_rate_gain)
            ww = w * gain
            left += (v - 0.5 * sep * ww) * dt_s / r
            right += (v + 0.5 * sep * ww) * dt_s / r
        out.t_truth_ns.append(t_ns)
        out.truth.append((x, y, yaw, v, w))
        if t_ns % 5_000_000 == 0:  # 200 Hz
            dv = (v - v_prev) / dt_s if k else 0.0
            acc = [dv + rng.normal(0, accel_noise_std), v * w + rng.normal(0, accel_noise_std),
                   GRAVITY_MPS2 + rng.normal(0, accel_noise_std)]
            gyro = [rng.normal(0, gyro_noise_std), rng.normal(0, gyro_noise_std),
                    w + gyro_bias_radps + rng.normal(0, gyro_noise_std)]
            out.imu.append((t_ns, [_adc(a, fs_a) for a in acc], [_adc(g, fs_g) for g in gyro]))
        if t_ns % 20_000_000 == 0:  # 50 Hz
            out.wheels.append((t_ns, round(left / tick) * tick, round(right / tick) * tick))
        v_prev = v
    return out


def feed(ekf, messages) -> list[str | None]:
    """Give ``messages`` (from ``Streams.merged()``) to ``ekf``; the results, in order."""
    results = []
    for t_ns, kind, payload in messages:
        if kind == "imu":
            results.append(ekf.add_imu(t_ns, payload[0], payload[1]))
        elif kind == "wheels":
            results.append(ekf.add_wheels(t_ns, payload[0], payload[1]))
        else:
            results.append(ekf.add_visual_odometry(t_ns, *payload))
    return results


def lift_accel_z(t_s: float, t0_s: float) -> float:
    """Vertical acceleration (m/s^2, to add to the specific force) of a hand lifting the robot
    at ``t0_s``, as the simulator does: a smoothstep rise of 0.3 m in 0.8 s, held and carried
    3.5 s, lowered in 0.8 s (lifted from t0_s to t0_s + 5.1 s)."""
    h, rise = 0.3, 0.8

    def acc(u: float) -> float:
        return h * (6.0 - 12.0 * u) / (rise * rise) if 0.0 <= u <= 1.0 else 0.0

    return acc((t_s - t0_s) / rise) - acc((t_s - (t0_s + rise + 3.5)) / rise)
