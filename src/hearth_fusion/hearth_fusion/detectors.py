"""Failure detectors of the odometry EKF (ROS-free, plain Python on scalars).

Each detector is fed samples in time order by ``OdometryEKF`` and keeps a ``FlagState``; the
EKF decides what a flag does to the filter. See ``docs/model.md`` for the reasoning behind
every threshold.

- ``SaturationDetector``: any axis of the accelerometer (of the gyro) within a margin of its
  full scale -> that sensor's reading is rejected, and so is every reading of it for a
  hold-off after its last saturated one.
- ``SlipDetector``: normalized disagreements (wheel yaw rate - gyro, wheel speed - visual
  odometry) are low-pass filtered per channel; beyond ``on`` (in units of the filtered
  statistic's own standard deviation) for ``window_s`` -> slip; below ``off`` on every channel
  for ``clear_s`` -> cleared (hysteresis).
- ``LiftDetector``: a sustained upward specific-force pulse (or a sustained tilt) -> lifted;
  then a downward pulse, an upward landing pulse and the accelerometer settling at 1 g ->
  put down.
- ``StillDetector``: low accelerometer and gyro variance for a while (plus the wheels at rest,
  judged by the EKF) -> the robot is at rest: a zero-velocity pseudo-measurement is applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NS_PER_S = 1_000_000_000
GRAVITY_MPS2 = 9.80665


@dataclass(frozen=True)
class Flag:
    """A detector's state."""

    active: bool
    since_ns: int | None  # when it last became active (None if never)
    count: int  # how many times it became active


class FlagState:
    """Mutable flag with the time it became active and how often it did."""

    __slots__ = ("active", "count", "since_ns")

    def __init__(self) -> None:
        self.active = False
        self.since_ns: int | None = None
        self.count = 0

    def set(self, t_ns: int) -> bool:
        """Activate at ``t_ns``; True when it was not active before."""
        if self.active:
            return False
        self.active = True
        self.since_ns = int(t_ns)
        self.count += 1
        return True

    def clear(self) -> bool:
        """Deactivate; True when it was active. ``since_ns`` keeps the last start time."""
        was = self.active
        self.active = False
        return was

    def snapshot(self) -> Flag:
        return Flag(self.active, self.since_ns, self.count)


def _alpha(dt_s: float, tau_s: float) -> float:
    """Weight of the old value of a first-order low-pass after ``dt_s``."""
    if dt_s <= 0.0:
        return 1.0
    return math.exp(-dt_s / tau_s)


class SaturationDetector:
    """Per sensor of the IMU: a triad with any axis within ``margin`` of its full scale is
    rejected, and so is that triad for a hold-off after its last saturated sample.

    The accelerometer and the gyro are separate sensors with their own full scales: a bump
    that clips the accelerometer (the usual case, a 2 cm sill gives > 4 g) leaves the gyro's
    reading valid, and the gyro is what keeps the heading through the jolt.
    """

    def __init__(self, accel_full_scale_mps2: float, gyro_full_scale_radps: float,
                 margin: float, holdoff_s: float) -> None:
        self.accel_limit = (1.0 - margin) * accel_full_scale_mps2
        self.gyro_limit = (1.0 - margin) * gyro_full_scale_radps
        self.holdoff_ns = round(holdoff_s * NS_PER_S)
        self.flag = FlagState()
        self._last_ns = [None, None]  # last saturated sample of (accel, gyro)

    def _triad(self, k: int, t_ns: int, saturated: bool) -> str | None:
        if saturated:
            self._last_ns[k] = t_ns
            return "saturated"
        last = self._last_ns[k]
        if last is not None and t_ns - last < self.holdoff_ns:
            return "saturation_holdoff"
        return None

    def update(self, t_ns: int, ax: float, ay: float, az: float,
               gx: float, gy: float, gz: float) -> tuple[str | None, str | None]:
        """(accel reason, gyro reason): None where that triad is usable, else "saturated" or
        "saturation_holdoff"."""
        la, lg = self.accel_limit, self.gyro_limit
        accel = self._triad(0, t_ns, abs(ax) >= la or abs(ay) >= la or abs(az) >= la)
        gyro = self._triad(1, t_ns, abs(gx) >= lg or abs(gy) >= lg or abs(gz) >= lg)
        if "saturated" in (accel, gyro):
            self.flag.set(t_ns)
        elif accel is None and gyro is None and self.flag.active:
            self.flag.clear()
        return accel, gyro


class _Channel:
    __slots__ = ("above_since", "last_ns", "z")

    def __init__(self) -> None:
        self.z = 0.0
        self.last_ns: int | None = None
        self.above_since: int | None = None


class SlipDetector:
    """Sustained wheel disagreement with the gyro (and with visual odometry) -> slip."""

    def __init__(self, tau_s: float, on: float, off: float, window_s: float, clear_s: float,
                 stale_s: float = 0.5) -> None:
        self.tau_s = tau_s
        self.on = on
        self.off = off
        self.window_ns = round(window_s * NS_PER_S)
        self.clear_ns = round(clear_s * NS_PER_S)
        self.stale_ns = round(stale_s * NS_PER_S)
        self.flag = FlagState()
        self._channels: dict[str, _Channel] = {}
        self._quiet_since: int | None = None

    def statistic(self, channel: str) -> float:
        """The channel's filtered disagreement, in units of its own standard deviation."""
        ch = self._channels.get(channel)
        return 0.0 if ch is None else ch.z

    def update(self, channel: str, t_ns: int, normalized: float) -> None:
        """Feed one normalized disagreement (innovation / its standard deviation)."""
        ch = self._channels.get(channel)
        if ch is None:
            ch = self._channels[channel] = _Channel()
        dt = 0.02 if ch.last_ns is None else (t_ns - ch.last_ns) / NS_PER_S
        if dt > self.stale_ns / NS_PER_S:  # a gap: start the filter again
            ch.z, ch.above_since = 0.0, None
            dt = 0.02
        a = _alpha(dt, self.tau_s)
        # Steady-state standard deviation of the low-pass of unit white noise: rescale to 1.
        gain = math.sqrt((1.0 + a) / (1.0 - a)) if a < 1.0 else 1.0
        ch.z = a * ch.z + (1.0 - a) * gain * normalized
        ch.last_ns = t_ns
        if abs(ch.z) > self.on:
            if ch.above_since is None:
                ch.above_since = t_ns
        else:
            ch.above_since = None
        self._evaluate(t_ns)

    def _evaluate(self, t_ns: int) -> None:
        fresh = [c for c in self._channels.values()
                 if c.last_ns is not None and t_ns - c.last_ns <= self.stale_ns]
        if not self.flag.active:
            for c in fresh:
                if c.above_since is not None and t_ns - c.above_since >= self.window_ns:
                    self.flag.set(c.above_since)
                    self._quiet_since = None
                    return
            return
        if all(abs(c.z) < self.off for c in fresh):
            if self._quiet_since is None:
                self._quiet_since = t_ns
            elif t_ns - self._quiet_since >= self.clear_ns:
                self.flag.clear()
                self._quiet_since = None
        else:
            self._quiet_since = None


class LiftDetector:
    """Pick-up and put-down from the accelerometer (z up in base_link, 1 g at rest).

    Lifted when the low-passed vertical specific force exceeds 1 g by ``threshold`` (and by no
    more than ``max_up``, with the low-passed horizontal force under ``max_horizontal``) for
    ``pulse_min_s`` (the hand accelerating the robot upwards: smooth, moderate, vertical; a
    sill's jolt is none of these), or the robot is tilted by more
    than ``tilt_rad`` for ``tilt_min_s`` (a floor robot never is). Put down after, in order, a
    downward pulse, an upward (landing: the hand stops the descent, the floor stops the robot)
    pulse, and the accelerometer settling within ``settle_mps2`` of (0, 0, g) for
    ``settle_s``; and not before ``min_lift_s``.
    """

    def __init__(self, threshold_mps2: float, pulse_min_s: float, tau_s: float,
                 settle_mps2: float, settle_s: float, min_lift_s: float,
                 tilt_rad: float, tilt_min_s: float, max_up_mps2: float = 8.0,
                 max_horizontal_mps2: float = 3.0) -> None:
        self.threshold = threshold_mps2
        self.max_up = max_up_mps2
        self.max_horizontal = max_horizontal_mps2
        self.pulse_min_ns = round(pulse_min_s * NS_PER_S)
        self.tau_s = tau_s
        self.settle = settle_mps2
        self.settle_ns = round(settle_s * NS_PER_S)
        self.min_lift_ns = round(min_lift_s * NS_PER_S)
        self.tilt_xy = GRAVITY_MPS2 * math.sin(tilt_rad)
        self.tilt_min_ns = round(tilt_min_s * NS_PER_S)
        self.flag = FlagState()
        self._last_ns: int | None = None
        self._fz = 0.0  # low-passed a_z - g
        self._fxy = 0.0  # low-passed |a_xy|
        self._dev = 0.0  # low-passed |a - (0, 0, g)|
        self._up_since: int | None = None
        self._down_since: int | None = None
        self._tilt_since: int | None = None
        self._settle_since: int | None = None
        self._descent = False
        self._landing = False

    def update(self, t_ns: int, ax: float, ay: float, az: float) -> str | None:
        """Returns "lifted" or "put_down" on the sample where that happens, else None."""
        dt = 0.005 if self._last_ns is None else (t_ns - self._last_ns) / NS_PER_S
        self._last_ns = t_ns
        a = _alpha(dt, self.tau_s)
        dz = az - GRAVITY_MPS2
        self._fz = a * self._fz + (1.0 - a) * dz
        self._fxy = a * self._fxy + (1.0 - a) * math.hypot(ax, ay)
        a_dev = _alpha(dt, 4.0 * self.tau_s)
        self._dev = a_dev * self._dev + (1.0 - a_dev) * math.sqrt(ax * ax + ay * ay + dz * dz)

        up = self._fz > self.threshold
        down = self._fz < -self.threshold
        # A pick-up starts with a smooth, moderate, vertical push; a bump's jolt is violent
        # and has a horizontal part: it never starts a lift (once lifted, any up pulse counts).
        lifting = up and self._fz < self.max_up and self._fxy < self.max_horizontal
        starts = lifting if not self.flag.active else up
        self._up_since = (self._up_since or t_ns) if starts else None
        self._down_since = (self._down_since or t_ns) if down else None
        up_pulse = starts and t_ns - self._up_since >= self.pulse_min_ns
        down_pulse = down and t_ns - self._down_since >= self.pulse_min_ns

        if not self.flag.active:
            tilted = self._fxy > self.tilt_xy
            self._tilt_since = (self._tilt_since or t_ns) if tilted else None
            if up_pulse or (tilted and t_ns - self._tilt_since >= self.tilt_min_ns):
                self.flag.set(self._up_since if up_pulse else self._tilt_since)
                self._descent = self._landing = False
                self._settle_since = None
                return "lifted"
            return None

        if down_pulse:
            self._descent, self._landing = True, False
        elif up_pulse and self._descent and t_ns - self.flag.since_ns >= self.min_lift_ns:
            self._landing = True
        if self._landing and not up and self._dev < self.settle:
            self._settle_since = self._settle_since or t_ns
            if t_ns - self._settle_since >= self.settle_ns:
                self.flag.clear()
                self._tilt_since = None
                return "put_down"
        else:
            self._settle_since = None
        return None


class StillDetector:
    """The IMU is quiet: low-passed variances of the accelerometer and gyro vectors."""

    def __init__(self, tau_s: float, accel_std_mps2: float, gyro_std_radps: float,
                 min_s: float) -> None:
        self.tau_s = tau_s
        self.accel_var = accel_std_mps2 ** 2
        self.gyro_var = gyro_std_radps ** 2
        self.min_ns = round(min_s * NS_PER_S)
        self._last_ns: int | None = None
        self._ma = [0.0, 0.0, 0.0]
        self._ma2 = 0.0
        self._mg = [0.0, 0.0, 0.0]
        self._mg2 = 0.0
        self._n = 0
        self._quiet_since: int | None = None

    def reset(self) -> None:
        self._last_ns = None
        self._n = 0
        self._quiet_since = None

    def update(self, t_ns: int, ax: float, ay: float, az: float,
               gx: float, gy: float, gz: float) -> bool:
        """True when the IMU has been quiet for ``min_s``."""
        if self._last_ns is None:
            self._ma = [ax, ay, az]
            self._ma2 = ax * ax + ay * ay + az * az
            self._mg = [gx, gy, gz]
            self._mg2 = gx * gx + gy * gy + gz * gz
            self._last_ns = t_ns
            self._n = 1
            return False
        a = _alpha((t_ns - self._last_ns) / NS_PER_S, self.tau_s)
        b = 1.0 - a
        self._last_ns = t_ns
        ma, mg = self._ma, self._mg
        ma[0] = a * ma[0] + b * ax
        ma[1] = a * ma[1] + b * ay
        ma[2] = a * ma[2] + b * az
        self._ma2 = a * self._ma2 + b * (ax * ax + ay * ay + az * az)
        mg[0] = a * mg[0] + b * gx
        mg[1] = a * mg[1] + b * gy
        mg[2] = a * mg[2] + b * gz
        self._mg2 = a * self._mg2 + b * (gx * gx + gy * gy + gz * gz)
        self._n += 1
        var_a = self._ma2 - (ma[0] * ma[0] + ma[1] * ma[1] + ma[2] * ma[2])
        var_g = self._mg2 - (mg[0] * mg[0] + mg[1] * mg[1] + mg[2] * mg[2])
        quiet = self._n >= 20 and var_a < self.accel_var and var_g < self.gyro_var
        if not quiet:
            self._quiet_since = None
            return False
        if self._quiet_since is None:
            self._quiet_since = t_ns
        return t_ns - self._quiet_since >= self.min_ns
