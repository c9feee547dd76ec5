"""Disturbances of a simulated session (ROS-free): the schedule, the lift, late and lost data.

**Schedule.** ``parse_schedule`` reads the ``disturbance_schedule`` parameter: one string per
event, ``"<t_s> <kind> <args...>"`` (simulated seconds from the start):

    ``"12 lift 4.0 1.5 1.57"``   lift the robot, hold it, put it down at x, y (m), yaw (rad)
    ``"30 power low"``           the robot enters low-power mode (cameras off); ``normal``
    ``"40 dark 8"``              all lights off for 8 s: the IR illuminator is all there is
    ``"50 light hall_light_w off"``  a ceiling light switched ``on`` or ``off``

**Lift.** A person picks the robot up: a mocap "hand" welded to ``base_link`` raises it by
``height_m`` (the wheels leave the floor and spin free under the motor command), holds it,
carries it to the new pose, lowers it to a few millimetres above the floor and lets go.
``LiftProfile.hand_pose`` is the hand's pose at each instant (smooth in every phase).

**Latency and drops.** ``SensorChannel`` delays a sensor's messages by a fixed latency (the
stamp stays the capture time, as a real driver's does) and drops each with a probability,
from its own seeded generator, so that enabling drops on one sensor changes nothing else.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from hearth_common.config import ConfigError

LIFT_HEIGHT_M = 0.3
LIFT_RISE_S = 0.8
LIFT_CARRY_S = 1.5
LIFT_LOWER_S = 0.8
LIFT_RELEASE_HEIGHT_M = 0.003  # let go this far above where it was picked up


@dataclass(frozen=True)
class Event:
    t_s: float
    kind: str  # "lift" | "power" | "dark" | "light"
    args: tuple[Any, ...] = ()


_KINDS = {
    "lift": ((float, float, float), "lift <x_m> <y_m> <yaw_rad>"),
    "power": ((str,), "power normal|low"),
    "dark": ((float,), "dark <duration_s>"),
    "light": ((str, str), "light <name> on|off"),
}


def parse_schedule(entries: list[str], key: str = "disturbance_schedule") -> tuple[Event, ...]:
    """The events of the schedule parameter, sorted by time. Raises ConfigError naming the
    parameter and the entry."""
    events = []
    for i, text in enumerate(entries):
        where = f"parameter '{key}'[{i}] = {text!r}"
        parts = str(text).split()
        if len(parts) < 2:
            raise ConfigError(f"{where}: expected '<t_s> <kind> <args>'")
        try:
            t_s = float(parts[0])
        except ValueError:
            raise ConfigError(f"{where}: the time '{parts[0]}' is not a number") from None
        if not (math.isfinite(t_s) and t_s >= 0.0):
            raise ConfigError(f"{where}: the time must be >= 0 s")
        kind = parts[1]
        if kind not in _KINDS:
            raise ConfigError(f"{where}: unknown kind '{kind}' (known: {', '.join(_KINDS)})")
        types, usage = _KINDS[kind]
        raw = parts[2:]
        if len(raw) != len(types):
            raise ConfigError(f"{where}: expected '{usage}'")
        try:
            args = tuple(t(v) for t, v in zip(types, raw, strict=True))
        except ValueError:
            raise ConfigError(f"{where}: expected '{usage}'") from None
        if any(isinstance(a, float) and not math.isfinite(a) for a in args):
            raise ConfigError(f"{where}: numbers must be finite")
        if kind == "power" and args[0] not in ("normal", "low"):
            raise ConfigError(f"{where}: expected '{usage}'")
        if kind == "light" and args[1] not in ("on", "off"):
            raise ConfigError(f"{where}: expected '{usage}'")
        if kind == "dark" and not args[0] > 0.0:
            raise ConfigError(f"{where}: the duration must be > 0 s")
        events.append(Event(t_s, kind, args))
    return tuple(sorted(events, key=lambda e: e.t_s))


def _smooth(u: float) -> float:
    """0 -> 1 with zero slope at both ends (smoothstep)."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


@dataclass(frozen=True)
class LiftProfile:
    """Where the hand holding the robot is, from ``start_s``: up, hold, carry, down."""

    start_s: float
    from_xyz_m: tuple[float, float, float]
    from_yaw_rad: float
    to_xy_m: tuple[float, float]
    to_yaw_rad: float
    hold_s: float
    height_m: float = LIFT_HEIGHT_M

    @property
    def phases_s(self) -> tuple[float, float, float, float]:
        """Ends of (rise, hold, carry, lower), absolute simulated time."""
        t1 = self.start_s + LIFT_RISE_S
        t2 = t1 + self.hold_s
        t3 = t2 + LIFT_CARRY_S
        return t1, t2, t3, t3 + LIFT_LOWER_S

    @property
    def end_s(self) -> float:
        return self.phases_s[3]

    def hand_pose(self, t_s: float) -> tuple[tuple[float, float, float], float]:
        """((x, y, z), yaw) of the hand at ``t_s``."""
        t1, t2, t3, _ = self.phases_s
        x0, y0, z0 = self.from_xyz_m
        top = z0 + self.height_m
        down = z0 + LIFT_RELEASE_HEIGHT_M
        dyaw = math.remainder(self.to_yaw_rad - self.from_yaw_rad, 2.0 * math.pi)
        if t_s < t1:
            return (x0, y0, z0 + self.height_m * _smooth((t_s - self.start_s) / LIFT_RISE_S)), \
                self.from_yaw_rad
        if t_s < t2:
            return (x0, y0, top), self.from_yaw_rad
        if t_s < t3:
            u = _smooth((t_s - t2) / LIFT_CARRY_S)
            x = x0 + u * (self.to_xy_m[0] - x0)
            y = y0 + u * (self.to_xy_m[1] - y0)
            return (x, y, top), self.from_yaw_rad + u * dyaw
        u = _smooth((t_s - t3) / LIFT_LOWER_S)
        return ((self.to_xy_m[0], self.to_xy_m[1], top + u * (down - top)),
                self.from_yaw_rad + dyaw)


class SensorChannel:
    """Delays a sensor's output by ``latency_s`` and drops each with ``drop_probability``."""

    def __init__(self, latency_s: float, drop_probability: float, rng: np.random.Generator):
        if latency_s < 0.0 or not 0.0 <= drop_probability <= 1.0:
            raise ValueError("latency_s must be >= 0 and drop_probability in [0, 1]")
        self.latency_ns = round(latency_s * 1e9)
        self.drop_probability = drop_probability
        self.rng = rng
        self.dropped = 0
        self._queue: deque[tuple[int, Any]] = deque()

    def admit(self) -> bool:
        """Whether the next capture gets through (draw once per capture, before making it:
        a frame that will be lost need not be rendered)."""
        if self.drop_probability <= 0.0:
            return True
        if self.rng.random() < self.drop_probability:
            self.dropped += 1
            return False
        return True

    def push(self, t_ns: int, item: Any) -> None:
        """A capture made at ``t_ns``; it comes out of ``pop_due`` ``latency_s`` later."""
        self._queue.append((t_ns + self.latency_ns, item))

    def pop_due(self, now_ns: int) -> list[Any]:
        out = []
        while self._queue and self._queue[0][0] <= now_ns:
            out.append(self._queue.popleft()[1])
        return out

    def clear(self) -> None:
        self._queue.clear()
