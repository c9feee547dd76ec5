"""People who follow a script triggered by the robot (ROS-free): a person who waits out of
sight and steps out in front of the robot when it comes by.

A :class:`StepOut` waits at ``wait_xy_m``. The first time the robot crosses the trigger line
(the line through ``trigger_xy_m`` square to ``trigger_heading_rad``, crossed in that
direction: ``(robot - trigger) . heading >= 0``), it walks in a straight line to
``stop_xy_m`` at ``speed_mps`` and stands there for ``stay_s`` (forever when infinite), then
walks back to where it waited. Positions follow the script exactly at every ``step``; the
velocity is that of the leg being walked (zero while standing).

:class:`ScriptedCrowd` holds any number of them behind the ``Crowd`` interface
(``hearth_sim.people.crowd``), every row always present. It records when each was
triggered (``triggered_at_s``) so that an evaluation can say what the robot was given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hearth_sim.people.crowd import BODY_RADIUS_M, CrowdArrays, check_step_args


@dataclass(frozen=True)
class StepOut:
    wait_xy_m: tuple[float, float]
    stop_xy_m: tuple[float, float]
    speed_mps: float
    trigger_xy_m: tuple[float, float]
    trigger_heading_rad: float
    stay_s: float = math.inf

    def __post_init__(self) -> None:
        values = (*self.wait_xy_m, *self.stop_xy_m, *self.trigger_xy_m,
                  self.trigger_heading_rad, self.speed_mps)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"StepOut needs finite positions, heading and speed: {self}")
        if self.speed_mps <= 0.0:
            raise ValueError(f"StepOut speed must be > 0, got {self.speed_mps!r}")
        if not self.stay_s >= 0.0:
            raise ValueError(f"StepOut stay_s must be >= 0, got {self.stay_s!r}")

    @property
    def walk_s(self) -> float:
        """Time one leg (out or back) takes."""
        return math.dist(self.wait_xy_m, self.stop_xy_m) / self.speed_mps

    def state_at(self, since_trigger_s: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity ``since_trigger_s`` after the trigger (None: not yet)."""
        a, b = np.asarray(self.wait_xy_m, float), np.asarray(self.stop_xy_m, float)
        if since_trigger_s is None or since_trigger_s <= 0.0:
            return a, np.zeros(2)
        walk = self.walk_s
        unit = (b - a) / max(math.dist(a, b), 1e-12)
        if since_trigger_s < walk:
            return a + unit * self.speed_mps * since_trigger_s, unit * self.speed_mps
        back_at = walk + self.stay_s
        if since_trigger_s < back_at:
            return b, np.zeros(2)
        back = since_trigger_s - back_at
        if back < walk:
            return b - unit * self.speed_mps * back, -unit * self.speed_mps
        return a, np.zeros(2)


class ScriptedCrowd(CrowdArrays):
    """People following :class:`StepOut` scripts (see the module docstring)."""

    def __init__(self, scripts: Sequence[StepOut], radius_m: float = BODY_RADIUS_M) -> None:
        super().__init__(len(scripts), radius_m)
        self.scripts = tuple(scripts)
        self.triggered_at_s: list[float | None] = [None] * len(self.scripts)
        self._ids[:] = np.arange(len(self.scripts))
        self._place(0.0)

    def _place(self, t_s: float) -> None:
        for k, script in enumerate(self.scripts):
            t0 = self.triggered_at_s[k]
            pos, vel = script.state_at(None if t0 is None else t_s - t0)
            self._pos[k], self._vel[k] = pos, vel

    def step(self, t_s: float, dt_s: float, robot_xy_m: np.ndarray,
             robot_v_mps: np.ndarray) -> None:
        xy, _ = check_step_args(t_s, dt_s, robot_xy_m, robot_v_mps)
        for k, script in enumerate(self.scripts):
            if self.triggered_at_s[k] is not None:
                continue
            h = script.trigger_heading_rad
            along = (xy[0] - script.trigger_xy_m[0]) * math.cos(h) + \
                (xy[1] - script.trigger_xy_m[1]) * math.sin(h)
            if along >= 0.0:
                self.triggered_at_s[k] = float(t_s)
        self._time_s = float(t_s) + float(dt_s)
        self._place(self._time_s)
