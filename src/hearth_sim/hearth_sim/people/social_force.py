"""People who walk between rooms, driven by the social-force model (ROS-free).

The forces are pysocialforce's (Helbing & Molnár 1995, Moussaïd et al. 2009), through its
``Simulator``: a desired force toward the current goal (each person's desired speed drawn from
``speed_range_mps``), the social force between people, and the obstacle force from points
sampled every ``obstacle_spacing_m`` along the home's obstacle segments. Groups are off. One
force is added: ``BodyForce``, the body repulsion of Helbing, Farkas & Vicsek (2000) between
people, because pysocialforce's social force treats people as points and lets bodies overlap.
The obstacle force is made short-ranged (``obstacle_sigma_m``, ``obstacle_threshold_m``):
with pysocialforce's defaults the summed push of a doorway's jambs stops people in front of a
0.8 m door.

What this module adds around it:

- **Routes.** Each person walks a seeded sequence of room targets (random points inside the
  rooms, well clear of obstacles), pausing a little at each. Rooms are joined by doorways, so
  a straight line to the target would run into a wall: each leg is planned on a coarse grid
  of the free space (``routing.FreeSpaceGrid``, Dijkstra that keeps to the middle of
  doorways), and pysocialforce is given a *carrot*, the point ``lookahead_m`` further along
  that path, as the goal of every step. A person who makes no progress for
  ``stuck_timeout_s`` (the doorway blocked by the robot, say) gives up and picks a new
  target.
- **The robot.** People see the robot: it is one more row of pysocialforce's state (the
  social force reacts to its position and velocity), and a ring of obstacle points around it
  (the obstacle force keeps bodies off it). Its row is overwritten with the robot's real
  state before every step, so the model never moves it.
- **Time.** pysocialforce moves every person by ``v * step_width``; a ``step`` of ``dt_s`` is
  cut into ``ceil(dt_s / max_step_s)`` equal sub-steps.
- **Bodies are solid.** The forces keep people apart and off the walls, but nothing in a
  force model forbids an overlap. After each sub-step any residual overlap (person-person,
  person-robot, person-wall) is undone by moving the bodies apart, and counted in
  ``contact_corrections`` (zero in normal walking; see the tests). A person pausing at a
  target stands still (pysocialforce stops anyone within 0.5 m of its goal), so a robot that
  drives into one shoves it aside this way.
- **Cost.** pysocialforce's obstacle force visits every obstacle point for every person; only
  the points within its reach of someone are handed to it (a k-d tree query): the same
  forces (up to the order of summation) at a fifth of the cost in the shipped house.

All randomness comes from ``numpy.random.default_rng(seed)``: the same segments, rooms,
seed and ``step`` calls give the same trajectories, bit for bit.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import toml
from scipy.spatial import cKDTree

from hearth_sim.people._psf import psf
from hearth_sim.people.crowd import BODY_RADIUS_M, CrowdArrays, check_step_args
from hearth_sim.people.routing import FreeSpaceGrid, as_segments, nearest_points_on_segments

_STOP_RADIUS_M = 0.5  # pysocialforce stops a person this close to its goal (PedState.step)
_WALK, _DWELL = 0, 1


@dataclass(frozen=True)
class SocialForceParams:
    """Tuning of ``SocialForceCrowd``; the defaults give people walking about a home."""

    body_radius_m: float = BODY_RADIUS_M
    speed_range_mps: tuple[float, float] = (1.0, 1.3)  # desired speed, uniform per person
    dwell_range_s: tuple[float, float] = (1.0, 4.0)  # pause at each target, uniform
    max_step_s: float = 0.05  # longest pysocialforce step; longer steps are cut
    grid_resolution_m: float = 0.1  # of the routing grid
    target_clearance_m: float = 0.5  # targets at least this far from any obstacle
    lookahead_m: float = 0.9  # the carrot's distance along the path (> 0.5 m)
    arrive_m: float = 0.6  # a target within this distance is reached
    stuck_timeout_s: float = 5.0  # no progress for this long: pick a new target
    # pysocialforce's forces (its config sections desired_force, social_force,
    # obstacle_force); 0 is not a valid value there (pysocialforce reads 0 as "unset")
    relaxation_time_s: float = 0.5
    social_factor: float = 5.1
    obstacle_factor: float = 10.0
    obstacle_sigma_m: float = 0.05
    obstacle_threshold_m: float = 0.3  # obstacle points farther than this (surface) are ignored
    obstacle_spacing_m: float = 0.1  # obstacle points along each segment
    # the body force (BodyForce), between people
    body_factor: float = 25.0  # m/s² at contact: Helbing et al. 2000, A = 2000 N on 80 kg
    body_range_m: float = 0.08
    resolve_contacts: bool = True  # undo residual overlaps after each sub-step

    def __post_init__(self) -> None:
        lo, hi = self.speed_range_mps
        if not 0.0 < lo <= hi:
            raise ValueError(f"speed_range_mps must be 0 < lo <= hi, got {self.speed_range_mps}")
        lo, hi = self.dwell_range_s
        if not 0.0 <= lo <= hi:
            raise ValueError(f"dwell_range_s must be 0 <= lo <= hi, got {self.dwell_range_s}")
        if not self.lookahead_m > _STOP_RADIUS_M:
            raise ValueError(f"lookahead_m must exceed {_STOP_RADIUS_M} m (pysocialforce stops "
                             f"a person that close to its goal), got {self.lookahead_m}")
        if not self.arrive_m > _STOP_RADIUS_M:
            raise ValueError(f"arrive_m must exceed {_STOP_RADIUS_M} m, got {self.arrive_m}")
        for name in ("body_radius_m", "max_step_s", "grid_resolution_m", "relaxation_time_s",
                     "social_factor", "obstacle_factor", "obstacle_sigma_m",
                     "obstacle_threshold_m", "obstacle_spacing_m", "stuck_timeout_s",
                     "body_factor", "body_range_m"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Arrival:
    """A person reached a room target."""

    time_s: float
    person_id: int
    room: str
    xy_m: tuple[float, float]  # where the person stopped
    target_m: tuple[float, float]  # the target it was walking to


def _room_boxes(rooms: Sequence[Any]) -> list[tuple[str, tuple[float, float],
                                                     tuple[float, float]]]:
    """(name, min, max) of each room: ``hearth_sim.home.model.Room`` objects (or anything with
    ``min_m``/``max_m``), or ``((xmin, ymin), (xmax, ymax))`` pairs."""
    boxes = []
    for k, room in enumerate(rooms):
        if hasattr(room, "min_m"):
            name, lo, hi = getattr(room, "name", f"room{k}"), room.min_m, room.max_m
        else:
            name, (lo, hi) = f"room{k}", room
        lo = (float(lo[0]), float(lo[1]))
        hi = (float(hi[0]), float(hi[1]))
        if not (hi[0] > lo[0] and hi[1] > lo[1]):
            raise ValueError(f"room {name!r}: max_m must exceed min_m, got {lo} {hi}")
        boxes.append((name, lo, hi))
    return boxes


def _sample_segments(segments: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points (M, 2) along every segment, both ends included, at most ``spacing_m`` apart."""
    pts = []
    for x1, y1, x2, y2 in segments:
        n = max(1, math.ceil(math.hypot(x2 - x1, y2 - y1) / spacing_m))
        t = np.linspace(0.0, 1.0, n + 1)
        pts.append(np.column_stack([x1 + t * (x2 - x1), y1 + t * (y2 - y1)]))
    return np.vstack(pts) if pts else np.zeros((0, 2))


class BodyForce(psf.forces.Force):
    """The body repulsion of Helbing, Farkas & Vicsek (2000), ``A exp((r_i + r_j - d_ij) / B)``
    along the line between two people: the part of the social force that knows how big the
    bodies are (pysocialforce's social force treats people as points). ``A`` is the config's
    ``factor`` (m/s²), ``B`` its ``range`` (m). Acts between the first ``len(scene.radii)``
    rows (the people), not on the robot's row: people keep off the robot through its ring of
    obstacle points, as they keep off walls (with the body force as well they could not
    squeeze past the robot in a corridor)."""

    def _get_force(self) -> np.ndarray:
        b = self.config("range", 0.08)
        radii = self.scene.radii
        n = len(radii)
        pos = self.peds.pos()[:n]
        diff = pos[:, None, :] - pos[None, :, :]
        dist = np.linalg.norm(diff, axis=-1)
        np.fill_diagonal(dist, np.inf)
        reach = radii[:, None] + radii[None, :]
        mag = np.where(dist < reach + 10.0 * b, np.exp((reach - dist) / b), 0.0)
        unit = diff / np.maximum(dist, 1e-9)[..., None]
        force = np.zeros((self.peds.size(), 2))
        force[:n] = np.sum(mag[..., None] * unit, axis=1) * self.factor
        return force


class _HomeSimulator(psf.Simulator):
    """pysocialforce's Simulator with the body force added (between the people, whose radii
    are ``radii``), whose obstacles are fixed points (the home) plus a moving ring (the
    robot), instead of lines it samples itself."""

    def __init__(self, state: np.ndarray, config: dict, static_points: np.ndarray,
                 radii: np.ndarray):
        self.static_points = static_points
        self._tree = cKDTree(static_points) if len(static_points) else None
        self.near_points = static_points
        self.robot_points = np.zeros((0, 2))
        self.radii = radii
        super().__init__(state, groups=None, obstacles=None,
                         config_file=io.StringIO(toml.dumps(config)))

    def select_obstacles(self, centres: np.ndarray, reach_m: float) -> None:
        """Keeps only the home's points within ``reach_m`` of a centre for the next step:
        pysocialforce's obstacle force ignores the others anyway, and visits every point
        for every person (most of the cost in a large home)."""
        if self._tree is None:
            return
        hits = self._tree.query_ball_point(centres, reach_m)
        idx = np.unique(np.concatenate([np.asarray(h, dtype=np.intp) for h in hits]))
        self.near_points = self.static_points[idx]

    def make_forces(self, force_configs: Any) -> list:
        forces = [*super().make_forces(force_configs), BodyForce()]
        forces[-1].init(self, force_configs)
        return forces

    def get_obstacles(self) -> list[np.ndarray]:
        return [p for p in (self.near_points, self.robot_points) if len(p)]


class SocialForceCrowd(CrowdArrays):
    """``n_people`` people walking between ``rooms`` among obstacle ``segments`` (N, 4)
    [x1, y1, x2, y2] (``hearth_sim.home.geometry.obstacle_segments``), driven by the social
    force model; they avoid each other, the walls and the robot (a disc of
    ``robot_radius_m``). Implements ``hearth_sim.people.crowd.Crowd``: every row is always
    present, and row k is person id k.

    ``robot_start_xy_m``: people start clear of the robot standing there.
    ``time_s`` starts at ``start_time_s``.
    """

    def __init__(self, segments: np.ndarray, rooms: Sequence[Any], n_people: int, seed: int,
                 robot_radius_m: float = 0.2, *,
                 params: SocialForceParams | None = None,
                 robot_start_xy_m: Sequence[float] | None = None,
                 start_time_s: float = 0.0):
        self.params = p = params if params is not None else SocialForceParams()
        if n_people < 0:
            raise ValueError(f"n_people must be >= 0, got {n_people}")
        if not robot_radius_m > 0.0:
            raise ValueError(f"robot_radius_m must be > 0, got {robot_radius_m}")
        self.segments = as_segments(segments)
        self.robot_radius_m = float(robot_radius_m)
        self._rng = np.random.default_rng(seed)
        super().__init__(int(n_people), p.body_radius_m, start_time_s)
        self.arrivals: list[Arrival] = []
        self.contact_corrections = 0  # sub-steps x bodies moved apart by the safety net
        self.replans = 0  # targets abandoned for lack of progress

        boxes = _room_boxes(rooms)
        if not boxes:
            raise ValueError("rooms must not be empty: people walk between rooms")
        xy = [*(b[1] for b in boxes), *(b[2] for b in boxes)]
        if len(self.segments):
            xy += list(self.segments.reshape(-1, 2))
        xy = np.asarray(xy)
        pad = p.body_radius_m + 2 * p.grid_resolution_m
        self.grid = FreeSpaceGrid(
            self.segments, resolution_m=p.grid_resolution_m, body_radius_m=p.body_radius_m,
            bounds_m=(*(xy.min(axis=0) - pad), *(xy.max(axis=0) + pad)))
        component = self.grid.main_component([(lo, hi) for _, lo, hi in boxes])
        # the rooms people go to, with their candidate target cells
        self._rooms: list[tuple[str, np.ndarray]] = []
        for name, lo, hi in boxes:
            rows, cols = self.grid.cells_in_box(lo, hi, p.target_clearance_m, component)
            if len(rows) == 0:
                rows, cols = self.grid.cells_in_box(lo, hi, self.grid.min_clearance_m,
                                                    component)
            if len(rows):
                self._rooms.append((name, self.grid.center_of(rows, cols)))
        if self._n and not self._rooms:
            raise ValueError("no room has free space a person fits in")

        n = self._n
        self._ids = np.arange(n, dtype=np.int64)
        self._speed = self._rng.uniform(*p.speed_range_mps, size=n)
        self._mode = np.full(n, _DWELL)
        self._dwell_until = np.zeros(n)
        self._room = np.zeros(n, dtype=int)
        self._paths: list[np.ndarray | None] = [None] * n
        self._cumlen: list[np.ndarray | None] = [None] * n
        self._progress = np.zeros(n)
        self._best_progress = np.zeros(n)
        self._progress_time = np.zeros(n)
        self._targets = np.zeros((n, 2))
        self._pos = np.zeros((n, 2))
        self._vel = np.zeros((n, 2))

        robot_xy = None if robot_start_xy_m is None else np.asarray(robot_start_xy_m, float)
        self._robot_xy = robot_xy  # where the robot was last seen
        for i in range(n):
            self._room[i], self._pos[i] = self._draw_start(i, robot_xy)
            self._targets[i] = self._pos[i]
            self._dwell_until[i] = self._time_s + self._rng.uniform(0.0, p.dwell_range_s[0])

        scene = {"agent_radius": p.body_radius_m, "step_width": p.max_step_s,
                 "max_speed_multiplier": 1.0, "tau": 0.5}
        config = {
            # pysocialforce 1.1.2 reads the scene keys from the top level (PedState gets the
            # whole config), enable_group from the [scene] section
            **scene,
            "scene": {"enable_group": False, **scene},
            "desired_force": {"factor": 1.0, "relaxation_time": p.relaxation_time_s,
                              "goal_threshold": 0.2},
            "social_force": {"factor": p.social_factor, "lambda_importance": 2.0,
                             "gamma": 0.35, "n": 2, "n_prime": 3},
            "obstacle_force": {"factor": p.obstacle_factor, "sigma": p.obstacle_sigma_m,
                               "threshold": p.obstacle_threshold_m},
            "body_force": {"factor": p.body_factor, "range": p.body_range_m},
        }
        state = np.zeros((n + 1, 6))  # the last row is the robot
        state[:n, 0:2] = self._pos
        state[:n, 4:6] = self._pos
        state[n, 0:2] = state[n, 4:6] = robot_xy if robot_xy is not None else (1e6, 1e6)
        self._sim = _HomeSimulator(state, config,
                                   _sample_segments(self.segments, p.obstacle_spacing_m),
                                   self._radius)
        # desired speeds: pysocialforce takes them from the initial velocities; set directly
        self._sim.peds.initial_speeds = np.append(self._speed, 1.0)
        self._sim.peds.max_speeds = self._sim.peds.initial_speeds.copy()
        if (self._sim.peds.agent_radius != p.body_radius_m
                or self._sim.peds.max_speed_multiplier != 1.0):
            raise RuntimeError("pysocialforce ignored the scene config: a changed version?")
        n_ring = max(8, math.ceil(2 * math.pi * self.robot_radius_m / p.obstacle_spacing_m))
        a = np.arange(n_ring) * (2 * math.pi / n_ring)
        self._ring = self.robot_radius_m * np.column_stack([np.cos(a), np.sin(a)])

    # ---------------------------------------------------------------- Crowd interface

    @property
    def targets_m(self) -> np.ndarray:
        """(N, 2) each person's current room target (where it stands while pausing)."""
        return self._targets.copy()

    def step(self, t_s: float, dt_s: float, robot_xy_m: np.ndarray,
             robot_v_mps: np.ndarray) -> None:
        robot_xy, robot_v = check_step_args(t_s, dt_s, robot_xy_m, robot_v_mps)
        self._robot_xy = robot_xy
        if dt_s == 0.0:
            self._time_s = float(t_s)
            return
        n_sub = max(1, math.ceil(dt_s / self.params.max_step_s - 1e-9))
        h = dt_s / n_sub
        for k in range(n_sub):
            t = t_s + k * h
            self._substep(t, h, robot_xy + robot_v * (k * h), robot_v)
        self._time_s = float(t_s) + float(dt_s)

    # ---------------------------------------------------------------- internals

    def _draw_start(self, i: int, robot_xy: np.ndarray | None) -> tuple[int, np.ndarray]:
        """A room and a free point in it, clear of the people placed so far and the robot."""
        p = self.params
        best = None
        for _ in range(50):
            room = int(self._rng.integers(len(self._rooms)))
            cells = self._rooms[room][1]
            xy = cells[self._rng.integers(len(cells))]
            gap = min((np.linalg.norm(xy - self._pos[j]) - 2 * p.body_radius_m
                       for j in range(i)), default=np.inf)
            if robot_xy is not None:
                gap = min(gap, np.linalg.norm(xy - robot_xy) - p.body_radius_m
                          - self.robot_radius_m)
            if gap >= 0.5:
                return room, xy.copy()
            if best is None or gap > best[0]:
                best = (gap, room, xy.copy())
        return best[1], best[2]

    def _new_target(self, i: int, t: float) -> None:
        """Picks person i's next room target (another room when there is one), plans there."""
        p = self.params
        pos = self._pos[i]
        for _ in range(10):
            choices = [r for r in range(len(self._rooms)) if r != self._room[i]]
            room = int(self._rng.choice(choices)) if choices else int(self._room[i])
            cells = self._rooms[room][1]
            goal = cells[self._rng.integers(len(cells))]
            others = [j for j in range(self._n) if j != i]
            if others and np.min(np.linalg.norm(self._targets[others] - goal, axis=1)) < (
                    2 * p.body_radius_m + 0.4):
                continue  # someone stands (or is heading) there
            if self._robot_xy is not None and np.linalg.norm(self._robot_xy - goal) < (
                    p.body_radius_m + self.robot_radius_m + 0.4):
                continue  # the robot is there
            avoid = None
            if self._robot_xy is not None:
                avoid = (self._robot_xy, self.robot_radius_m + p.body_radius_m + 0.2)
            path = self.grid.plan(pos, goal, avoid)
            if path is None or len(path) < 2:
                continue
            path = np.vstack([pos, path])
            seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
            self._paths[i] = path
            self._cumlen[i] = np.concatenate([[0.0], np.cumsum(seg)])
            self._room[i] = room
            self._targets[i] = goal
            self._mode[i] = _WALK
            self._progress[i] = self._best_progress[i] = 0.0
            self._progress_time[i] = t
            return
        # nowhere to go now: pause again
        self._dwell_until[i] = t + self._rng.uniform(*p.dwell_range_s)

    def _carrot(self, i: int) -> np.ndarray:
        """Updates person i's progress along its path; returns the goal for this step."""
        p = self.params
        path, cum = self._paths[i], self._cumlen[i]
        pos = self._pos[i]
        # project onto the path near the current progress (never backwards)
        s0 = self._progress[i]
        k0 = max(0, int(np.searchsorted(cum, s0 - 0.5)) - 1)
        k1 = min(len(path) - 1, int(np.searchsorted(cum, s0 + 2.0)) + 1)
        a, b = path[k0:k1], path[k0 + 1:k1 + 1]
        if len(a):
            d = b - a
            len2 = np.maximum(np.sum(d * d, axis=1), 1e-12)
            u = np.clip(np.sum((pos - a) * d, axis=1) / len2, 0.0, 1.0)
            dist = np.linalg.norm(a + u[:, None] * d - pos, axis=1)
            k = int(np.argmin(dist))
            s_proj = cum[k0 + k] + u[k] * math.sqrt(len2[k])
            self._progress[i] = max(s0, s_proj)
        total = cum[-1]
        s = min(self._progress[i] + p.lookahead_m, total)
        goal = np.array([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])])
        # keep the carrot beyond pysocialforce's stop radius, unless it is the target
        while s < total and np.linalg.norm(goal - pos) < _STOP_RADIUS_M + 0.15:
            s = min(s + self.grid.resolution_m, total)
            goal = np.array([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])])
        return goal

    def _substep(self, t: float, h: float, robot_xy: np.ndarray, robot_v: np.ndarray) -> None:
        p = self.params
        n = self._n
        if n == 0:
            return
        goals = np.empty((n, 2))
        for i in range(n):
            if self._mode[i] == _DWELL and t >= self._dwell_until[i]:
                self._new_target(i, t)
            if self._mode[i] == _WALK:
                if np.linalg.norm(self._pos[i] - self._targets[i]) < p.arrive_m:
                    self._mode[i] = _DWELL
                    self._dwell_until[i] = t + self._rng.uniform(*p.dwell_range_s)
                    self.arrivals.append(Arrival(
                        t, i, self._rooms[self._room[i]][0],
                        (float(self._pos[i, 0]), float(self._pos[i, 1])),
                        (float(self._targets[i, 0]), float(self._targets[i, 1]))))
                elif self._progress[i] > self._best_progress[i] + 0.25:
                    self._best_progress[i] = self._progress[i]
                    self._progress_time[i] = t
                elif t - self._progress_time[i] > p.stuck_timeout_s:
                    self.replans += 1
                    self._new_target(i, t)
            goals[i] = self._carrot(i) if self._mode[i] == _WALK else self._pos[i]

        peds = self._sim.peds
        state = peds.state
        state[:n, 0:2] = self._pos
        state[:n, 2:4] = self._vel
        state[:n, 4:6] = goals
        state[n, 0:2] = robot_xy
        state[n, 2:4] = robot_v
        state[n, 4:6] = robot_xy
        peds.step_width = h
        self._sim.robot_points = robot_xy + self._ring
        # the obstacle force reaches points closer than threshold + 2 radii to a centre
        self._sim.select_obstacles(self._pos, p.obstacle_threshold_m + 2 * p.body_radius_m
                                   + 0.05)
        self._sim.step_once()
        # pysocialforce keeps every past state: keep only the latest
        del peds.ped_states[:-1]
        del peds.group_states[:-1]

        new_pos = peds.state[:n, 0:2].copy()
        if p.resolve_contacts:
            new_pos = self._resolve_contacts(new_pos, robot_xy)
        self._vel = (new_pos - self._pos) / h
        self._pos = new_pos

    def _resolve_contacts(self, pos: np.ndarray, robot_xy: np.ndarray) -> np.ndarray:
        """Moves bodies apart where they overlap each other, the robot or a wall."""
        r = self.params.body_radius_m
        n = len(pos)
        moved = np.zeros(n, dtype=bool)
        for _ in range(3):
            changed = False
            # person-person: each moves half the overlap
            diff = pos[:, None, :] - pos[None, :, :]
            dist = np.linalg.norm(diff, axis=-1)
            ii, jj = np.nonzero(np.triu(dist < 2 * r - 1e-9, k=1))
            for i, j in zip(ii, jj, strict=True):
                d = pos[i] - pos[j]
                dn = np.linalg.norm(d)
                u = d / dn if dn > 1e-9 else np.array([1.0, 0.0])
                push = 0.5 * (2 * r - dn) + 1e-6
                pos[i] += push * u
                pos[j] -= push * u
                moved[[i, j]] = changed = True
            # person-robot: the robot does not yield
            d = pos - robot_xy
            dn = np.linalg.norm(d, axis=1)
            for i in np.nonzero(dn < r + self.robot_radius_m - 1e-9)[0]:
                u = d[i] / dn[i] if dn[i] > 1e-9 else np.array([1.0, 0.0])
                pos[i] = robot_xy + u * (r + self.robot_radius_m + 1e-6)
                moved[i] = changed = True
            # person-wall (last: a wall always wins)
            if len(self.segments):
                closest, dist_w = nearest_points_on_segments(pos, self.segments)
                for i in np.nonzero(dist_w < r - 1e-9)[0]:
                    d = pos[i] - closest[i]
                    if dist_w[i] > 1e-9:
                        u = d / dist_w[i]
                    else:  # on the line: back the way it came
                        back = self._pos[i] - pos[i]
                        u = back / max(np.linalg.norm(back), 1e-9)
                    pos[i] = closest[i] + u * (r + 1e-6)
                    moved[i] = changed = True
            if not changed:
                break
        self.contact_corrections += int(np.count_nonzero(moved))
        return pos
