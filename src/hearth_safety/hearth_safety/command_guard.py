"""The command guard: what the safety layer sends to the wheels at each tick (ROS-free).

Inputs are the latest navigation command (v, ω) with its receive time, the last odometry time
and the last local-plan time (int ns, one clock). At each tick the guard decides a *target*
and moves the output toward it, never by more than an acceleration limit times the tick's
interval, so the output never jumps:

* ``stale`` — odometry never received or silent longer than ``odom_timeout_s``: the robot
  does not know how it moves, so it brakes as an **emergency stop**, at
  ``emergency_decel_mps2`` / ``emergency_angular_decel_radps2`` (faster than normal driving).
* ``stale`` — no command, or the command is older than ``cmd_timeout_s``: **controlled stop**,
  ramped at the normal acceleration limits.
* ``slowing`` — the command is above the robot's maximum speeds: it is scaled down, both
  components by the same factor so that the path's curvature is kept.
* ``nominal`` — the command is followed (after the acceleration ramp).
* ``stopped`` — held at zero for a predicted collision: issue 7 (depth-based collision
  checking); the guard does not produce it yet.

Non-finite commands (NaN, ±Inf) are never forwarded: they are counted and dropped as if they
had not arrived, so the last valid command ages out through ``cmd_timeout_s``. The local-plan
time is only reported for now (issue 7 checks the plan against depth).

If the clock runs backwards (simulation reset, bag loop), every input received "in the future"
is forgotten: the guard stops until fresh inputs arrive.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

NS_PER_S = 1_000_000_000


class Mode(StrEnum):
    NOMINAL = "nominal"
    SLOWING = "slowing"
    STOPPED = "stopped"
    STALE = "stale"


@dataclass(frozen=True)
class GuardLimits:
    """What the guard holds commands to. The speeds and accelerations are the robot's (the
    node passes robot.yaml's limits); the guard itself reads no file."""

    max_linear_speed_mps: float
    max_angular_speed_radps: float
    max_linear_accel_mps2: float
    max_angular_accel_radps2: float
    emergency_decel_mps2: float = 3.0
    emergency_angular_decel_radps2: float = 12.0
    cmd_timeout_s: float = 0.3
    odom_timeout_s: float = 0.2
    # Longest interval one tick may ramp over: after a stalled tick the output still moves
    # by one bounded step, not by a whole stall's worth.
    max_step_s: float = 0.1

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"GuardLimits.{name} must be finite and positive, got {value!r}")


@dataclass(frozen=True)
class GuardOutput:
    linear_mps: float  # what to send to the wheels
    angular_radps: float
    mode: Mode
    reason: str
    target_linear_mps: float  # what the output is ramping toward
    target_angular_radps: float
    emergency: bool  # braking at the emergency deceleration
    cmd_age_s: float | None  # None: never received (or forgotten)
    odom_age_s: float | None
    plan_age_s: float | None


class CommandGuard:
    def __init__(self, limits: GuardLimits) -> None:
        self.limits = limits
        self.counts: Counter[str] = Counter(
            dict.fromkeys(
                ("cmd_received", "cmd_nonfinite", "odom_received", "plan_received",
                 "clock_jumps_back"),
                0,
            )
        )
        self._cmd: tuple[float, float] | None = None
        self._cmd_ns: int | None = None
        self._latest_cmd_nonfinite = False
        self._odom_ns: int | None = None
        self._plan_ns: int | None = None
        self._last_tick_ns: int | None = None
        self._linear = 0.0
        self._angular = 0.0

    # ----------------------------------------------------------------- inputs
    def set_command(self, linear_mps: float, angular_radps: float, t_ns: int) -> bool:
        """The latest navigation command, received at ``t_ns``. False (and counted) if it is
        not finite; it is then dropped."""
        if not (math.isfinite(linear_mps) and math.isfinite(angular_radps)):
            self.reject_command()
            return False
        self.counts["cmd_received"] += 1
        self._latest_cmd_nonfinite = False
        self._cmd = (float(linear_mps), float(angular_radps))
        self._cmd_ns = int(t_ns)
        return True

    def reject_command(self) -> None:
        """Count a command that was invalid before it could be read (e.g. NaN in a field
        the guard does not use)."""
        self.counts["cmd_received"] += 1
        self.counts["cmd_nonfinite"] += 1
        self._latest_cmd_nonfinite = True

    def set_odom_time(self, t_ns: int) -> None:
        self.counts["odom_received"] += 1
        self._odom_ns = int(t_ns)

    def set_plan_time(self, t_ns: int) -> None:
        self.counts["plan_received"] += 1
        self._plan_ns = int(t_ns)

    @property
    def output(self) -> tuple[float, float]:
        """The last output (linear, angular)."""
        return self._linear, self._angular

    # ------------------------------------------------------------------- tick
    def tick(self, t_ns: int) -> GuardOutput:
        """The output command at ``t_ns``."""
        t_ns = int(t_ns)
        lim = self.limits
        if self._last_tick_ns is not None and t_ns < self._last_tick_ns:
            self.counts["clock_jumps_back"] += 1
            dt = 0.0
        elif self._last_tick_ns is None:
            dt = 0.0  # first tick: the robot is taken to be at rest
        else:
            dt = min((t_ns - self._last_tick_ns) / NS_PER_S, lim.max_step_s)
        self._last_tick_ns = t_ns
        self._forget_future_inputs(t_ns)

        cmd_age = self._age(self._cmd_ns, t_ns)
        odom_age = self._age(self._odom_ns, t_ns)
        plan_age = self._age(self._plan_ns, t_ns)

        target = (0.0, 0.0)
        emergency = False
        if odom_age is None:
            mode, reason, emergency = Mode.STALE, "no odom received", True
        elif odom_age > lim.odom_timeout_s:
            mode, reason, emergency = Mode.STALE, f"odom silent {odom_age:.2f} s", True
        elif self._cmd is None or cmd_age is None:
            mode, reason = Mode.STALE, "no cmd_vel_nav received"
        elif cmd_age > lim.cmd_timeout_s:
            mode, reason = Mode.STALE, f"cmd_vel_nav stale ({cmd_age:.2f} s old)"
        else:
            target, clamp_reason = self._clamp(*self._cmd)
            if clamp_reason:
                mode, reason = Mode.SLOWING, clamp_reason
            else:
                mode, reason = Mode.NOMINAL, "following cmd_vel_nav"
        if mode is Mode.STALE and self._latest_cmd_nonfinite:
            reason += "; the latest cmd_vel_nav was non-finite (dropped)"

        if emergency:
            linear_rate, angular_rate = lim.emergency_decel_mps2, lim.emergency_angular_decel_radps2
        else:
            linear_rate, angular_rate = lim.max_linear_accel_mps2, lim.max_angular_accel_radps2
        self._linear = _step_toward(self._linear, target[0], linear_rate * dt)
        self._angular = _step_toward(self._angular, target[1], angular_rate * dt)
        return GuardOutput(
            self._linear, self._angular, mode, reason, target[0], target[1], emergency,
            cmd_age, odom_age, plan_age,
        )

    # --------------------------------------------------------------- internal
    def _clamp(self, linear: float, angular: float) -> tuple[tuple[float, float], str]:
        lim = self.limits
        scale_v = lim.max_linear_speed_mps / abs(linear) if linear else math.inf
        scale_w = lim.max_angular_speed_radps / abs(angular) if angular else math.inf
        scale = min(1.0, scale_v, scale_w)
        if scale >= 1.0:
            return (linear, angular), ""
        if scale_v <= scale_w:
            why = f"linear {linear:.2f} m/s above max {lim.max_linear_speed_mps:.2f}"
        else:
            why = f"angular {angular:.2f} rad/s above max {lim.max_angular_speed_radps:.2f}"
        return (linear * scale, angular * scale), f"cmd_vel_nav clamped ({why})"

    def _forget_future_inputs(self, t_ns: int) -> None:
        """Inputs stamped after ``t_ns`` can only come from before a backwards clock jump."""
        if self._cmd_ns is not None and self._cmd_ns > t_ns:
            self._cmd, self._cmd_ns = None, None
        if self._odom_ns is not None and self._odom_ns > t_ns:
            self._odom_ns = None
        if self._plan_ns is not None and self._plan_ns > t_ns:
            self._plan_ns = None

    @staticmethod
    def _age(stamp_ns: int | None, t_ns: int) -> float | None:
        return None if stamp_ns is None else (t_ns - stamp_ns) / NS_PER_S


def _step_toward(current: float, target: float, max_step: float) -> float:
    """``current`` moved toward ``target`` by at most ``max_step``."""
    delta = target - current
    if abs(delta) <= max_step:
        return target
    return current + math.copysign(max_step, delta)
