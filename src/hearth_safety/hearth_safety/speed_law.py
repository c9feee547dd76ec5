"""How fast the robot may go given the time to collision, and how the output gets there
(ROS-free). The formulas are in the package README ("The speed law").

* :func:`ttc_factor`: the fraction of the commanded speed allowed at a time to collision
  (1 above ``slow_ttc_s``, 0 at ``stop_ttc_s``, a smoothstep in between: continuous, with a
  continuous slope).
* :func:`braking_cap_mps`: the highest speed from which the robot still stops, at
  ``slow_decel_mps2``, ``stop_distance_m`` short of the collision.
* :func:`stopping_distance_m`: the path the robot covers from ``v`` when it reacts after
  ``reaction_time_s`` and then brakes at its hardest (robot.yaml's acceleration limit): an
  emergency stop is due when this reaches the free distance.
* :class:`JerkLimitedRamp`: moves an output toward its target within an acceleration and a
  jerk limit, without overshoot, so that the commanded speed never jumps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SpeedLawParams:
    max_linear_speed_mps: float = 1.0
    max_angular_speed_radps: float = 2.5
    max_linear_accel_mps2: float = 1.0
    max_angular_accel_radps2: float = 4.0
    max_linear_jerk_mps3: float = 5.0
    max_angular_jerk_radps3: float = 20.0
    slow_ttc_s: float = 1.0
    stop_ttc_s: float = 0.3
    stop_distance_m: float = 0.05
    slow_decel_mps2: float = 0.6
    reaction_time_s: float = 0.1
    hold_speed_mps: float = 0.03

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"SpeedLawParams.{name} must be finite and >= 0, got {value!r}")
        if not self.stop_ttc_s < self.slow_ttc_s:
            raise ValueError("SpeedLawParams.stop_ttc_s must be below slow_ttc_s")
        for name in ("max_linear_accel_mps2", "max_angular_accel_radps2",
                     "max_linear_jerk_mps3", "max_angular_jerk_radps3", "slow_decel_mps2"):
            if getattr(self, name) <= 0.0:
                raise ValueError(f"SpeedLawParams.{name} must be > 0")


def smoothstep(x: float) -> float:
    """0 below 0, 1 above 1, 3x² - 2x³ between (C1)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return x * x * (3.0 - 2.0 * x)


def ttc_factor(ttc_s: float, p: SpeedLawParams) -> float:
    """Fraction of the commanded speed allowed at a time to collision ``ttc_s`` (inf: 1)."""
    if math.isnan(ttc_s):
        return 0.0
    return smoothstep((ttc_s - p.stop_ttc_s) / (p.slow_ttc_s - p.stop_ttc_s))


def braking_cap_mps(free_distance_m: float, p: SpeedLawParams) -> float:
    """sqrt(2 a_slow (d_free - d_stop)), 0 when d_free <= d_stop, inf when free."""
    if math.isinf(free_distance_m):
        return math.inf
    return math.sqrt(2.0 * p.slow_decel_mps2 * max(0.0, free_distance_m - p.stop_distance_m))


def stopping_distance_m(v_mps: float, p: SpeedLawParams) -> float:
    """|v| t_react + v² / (2 a_max): the path covered before standing still."""
    v = abs(v_mps)
    return v * p.reaction_time_s + v * v / (2.0 * p.max_linear_accel_mps2)


def stopping_turn_rad(w_radps: float, p: SpeedLawParams) -> float:
    """|w| t_react + w² / (2 alpha_max): the yaw swept before the rotation stops."""
    w = abs(w_radps)
    return w * p.reaction_time_s + w * w / (2.0 * p.max_angular_accel_radps2)


class JerkLimitedRamp:
    """An output value with its rate of change; each :meth:`step` moves it toward a target
    with |rate| <= ``max_rate`` and |change of rate| <= ``max_jerk`` per second.

    The rate aimed for is the fastest from which the jerk limit can still bring the rate to
    zero exactly at the target, about sign(e) sqrt(2 j |e|) with e = target - value (its
    discrete form below), capped at ``max_rate``. It lands exactly on the target when the
    jerk limit allows the landing step's rate; otherwise (the target jumped to within one
    step of a fast ramp) the jerk limit wins and the value passes the target by a hair.
    """

    def __init__(self, max_rate: float, max_jerk: float, value: float = 0.0) -> None:
        self.max_rate = float(max_rate)
        self.max_jerk = float(max_jerk)
        self.value = float(value)
        self.rate = 0.0

    def reset(self, value: float = 0.0) -> None:
        """Jump to ``value`` at rest (the emergency stop: the only discontinuity)."""
        self.value = float(value)
        self.rate = 0.0

    def step(self, target: float, dt_s: float) -> float:
        if dt_s <= 0.0:
            return self.value
        e = target - self.value
        j = self.max_jerk
        # The rate from which steps of dt, the rate falling by j dt each, cover exactly |e|
        # (r^2 / 2j + r dt / 2 = |e|): the discrete form of sqrt(2 j |e|).
        reach = j * (math.sqrt(0.25 * dt_s * dt_s + 2.0 * abs(e) / j) - 0.5 * dt_s)
        wanted = math.copysign(min(reach, self.max_rate), e)
        dj = j * dt_s
        before = self.rate
        self.rate += min(max(wanted - self.rate, -dj), dj)
        nxt = self.value + self.rate * dt_s
        if (target - nxt) * e <= 0.0 and abs(e / dt_s - before) <= dj * (1.0 + 1e-9):
            # The target is within this step and the jerk limit allows the rate that lands
            # exactly on it: land. (Otherwise the step overshoots by a hair, taken back next.)
            nxt, self.rate = target, e / dt_s
        self.value = nxt
        return nxt
