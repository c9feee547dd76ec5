"""People on given routes, driven by hearth_sim's social-force model (ROS-free).

hearth_sim's :class:`~hearth_sim.people.social_force.SocialForceCrowd` walks each person
between room targets drawn from its seed. A scenario of the navigation suite needs people
on *given* routes (three people coming down the hallway, one stepping out of a doorway),
who still behave as people: they keep off each other, the walls and the robot through the
same forces. :class:`RoutedSocialForceCrowd` is that crowd with its first rows on routes:

- person ``i < len(routes)`` stands at ``routes[i].waypoints[0]`` until ``start_s``, then
  walks to each further waypoint in turn at its ``speed_mps`` (the desired speed of the
  social-force model: forces slow it down or push it aside), each leg planned through the
  home's free space as hearth_sim plans its walkers' legs (round the robot when it stands
  in the way); after a pause at the last waypoint (stopping about 0.6 m short of it) it
  walks on from room to room as hearth_sim's walkers do (nobody stands in a doorway for
  good);
- the remaining ``n_random`` rows are hearth_sim's own walkers (seeded room targets).

An intermediate waypoint counts as passed once the person is within ``arrive_m`` of it
(hearth_sim's ``SocialForceParams.arrive_m``): people round corners, they do not stop at
them. A person who makes no progress for ``stuck_timeout_s`` plans the leg again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hearth_sim.people.social_force import SocialForceCrowd, SocialForceParams

_WALK = 0  # hearth_sim.people.social_force's walking mode


@dataclass(frozen=True)
class PersonRoute:
    """One person's route: waypoints (world x, y, m), when it sets off, its desired speed."""

    waypoints: tuple[tuple[float, float], ...]
    start_s: float = 0.0
    speed_mps: float = 1.1

    def __post_init__(self) -> None:
        if len(self.waypoints) < 2:
            raise ValueError(f"a route needs at least 2 waypoints, got {len(self.waypoints)}")
        values = [v for p in self.waypoints for v in p] + [self.start_s, self.speed_mps]
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"a route needs finite waypoints, start and speed: {self}")
        if not (0.1 <= self.speed_mps <= 2.5):
            raise ValueError(f"speed_mps must be in [0.1, 2.5], got {self.speed_mps}")
        if self.start_s < 0.0:
            raise ValueError(f"start_s must be >= 0, got {self.start_s}")


class RoutedSocialForceCrowd(SocialForceCrowd):
    """Social-force people on ``routes``, plus ``n_random`` of hearth_sim's room-to-room
    walkers (see the module docstring). Row ``i`` is person id ``i``, as in hearth_sim."""

    def __init__(self, segments: np.ndarray, rooms: Sequence, routes: Sequence[PersonRoute],
                 n_random: int, seed: int, robot_radius_m: float = 0.2, *,
                 params: SocialForceParams | None = None,
                 robot_start_xy_m: Sequence[float] | None = None):
        # read by the overridden _draw_start during the parent's construction
        self._routes = [np.asarray(r.waypoints, dtype=float) for r in routes]
        self._leg = np.ones(len(routes), dtype=int)  # index of the waypoint walked to
        self._room_boxes = [(getattr(r, "name", ""), np.asarray(r.min_m), np.asarray(r.max_m))
                           for r in rooms]
        super().__init__(segments, rooms, len(routes) + int(n_random), seed, robot_radius_m,
                         params=params, robot_start_xy_m=robot_start_xy_m)
        for i, route in enumerate(routes):
            self._dwell_until[i] = route.start_s
            self._speed[i] = route.speed_mps
        self._sim.peds.initial_speeds[: len(routes)] = self._speed[: len(routes)]
        self._sim.peds.max_speeds = self._sim.peds.initial_speeds.copy()

    @property
    def routed(self) -> int:
        """How many rows walk given routes (the first ones)."""
        return len(self._routes)

    # ---------------------------------------------------------------- hearth_sim's hooks

    def _draw_start(self, i: int, robot_xy: np.ndarray | None) -> tuple[int, np.ndarray]:
        if i >= len(self._routes):
            return super()._draw_start(i, robot_xy)
        start = self._routes[i][0]
        return self._room_of(start), start.copy()

    def _new_target(self, i: int, t: float) -> None:
        if i >= len(self._routes):
            super()._new_target(i, t)
            return
        route = self._routes[i]
        k = int(self._leg[i])
        if k >= len(route) or (k == len(route) - 1 and self._targets_reached(i, route[-1])):
            self._leg[i] = len(route)
            super()._new_target(i, t)  # the route is walked: on from room to room
            return
        pos = self._pos[i].copy()
        avoid = None
        if self._robot_xy is not None:
            avoid = (self._robot_xy, self.robot_radius_m + self.params.body_radius_m + 0.2)
        path = self.grid.plan(pos, route[k], avoid)
        if path is None or len(path) < 2:
            path = self.grid.plan(pos, route[k], None)
        if path is None or len(path) < 2:
            self._dwell_until[i] = t + 0.5  # no way now (the robot in a doorway): try again
            return
        path = np.vstack([pos, path])
        self._paths[i] = path
        self._cumlen[i] = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
        self._room[i] = self._room_of(route[k])
        self._targets[i] = route[k]
        self._mode[i] = _WALK
        self._progress[i] = self._best_progress[i] = 0.0
        self._progress_time[i] = t

    def _substep(self, t: float, h: float, robot_xy: np.ndarray, robot_v: np.ndarray) -> None:
        # a routed person near an intermediate waypoint walks on to the next one (hearth_sim
        # would make it pause there, as at a room target)
        for i, route in enumerate(self._routes):
            k = int(self._leg[i])
            if (self._mode[i] == _WALK and k < len(route) - 1
                    and self._targets_reached(i, route[k])):
                self._leg[i] = k + 1
                self._new_target(i, t)
        super()._substep(t, h, robot_xy, robot_v)

    # ---------------------------------------------------------------- helpers

    def _targets_reached(self, i: int, xy: np.ndarray) -> bool:
        return float(np.hypot(*(self._pos[i] - xy))) < self.params.arrive_m

    def _room_of(self, xy: np.ndarray) -> int:
        """Index (in hearth_sim's list of rooms people go to) of the room holding ``xy``;
        0 when none does (its name only labels the person's arrivals)."""
        names = [name for name, _cells in self._rooms]
        for name, lo, hi in self._room_boxes:
            if name in names and np.all(xy >= lo) and np.all(xy <= hi):
                return names.index(name)
        return 0
