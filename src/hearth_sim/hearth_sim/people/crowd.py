"""The interface every source of simulated people implements (ROS-free, numpy).

A crowd is a fixed number of *rows* ("slots"), ``N = len(crowd)``, that never changes during
a run, so that a renderer or physics engine can allocate ``N`` bodies once. Each row is
either a person who is present now, or empty:

- ``present``        (N,) bool: whether the row holds a person now.
- ``ids``            (N,) int64: the person's id (stable for as long as that person is in
  the scene), ``-1`` for an empty row. A row may hold different people over time (a replayed
  recording reuses a row once its person has left), never two at once.
- ``positions_m``    (N, 2) float, world frame (x, y) of the body's centre; NaN for an empty
  row, so that a consumer that forgets the mask fails loudly instead of drawing a phantom.
- ``velocities_mps`` (N, 2) float, world frame; NaN for an empty row.
- ``radius_m``       (N,) float: the body's radius (a person is a vertical cylinder).
- ``time_s``         float: the sim time the state above belongs to.

``step(t_s, dt_s, robot_xy_m, robot_v_mps)`` advances the crowd from ``t_s`` to
``t_s + dt_s`` (so afterwards ``time_s == t_s + dt_s``); ``robot_xy_m`` and ``robot_v_mps``
are the robot's position and velocity at ``t_s``. Call it at the people rate (a few tens of
Hz), not at the physics rate. Sources that cannot see the robot (a recording) ignore it.

The arrays returned are copies or read-only views: a caller must not write into them.
A crowd is deterministic: the same constructor arguments (seed included) and the same
sequence of ``step`` calls give the same states, bit for bit.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

BODY_RADIUS_M = 0.25  # a person seen from above: shoulders about 0.45-0.5 m across


@runtime_checkable
class Crowd(Protocol):
    """A source of simulated people (see the module docstring for the conventions)."""

    def __len__(self) -> int: ...

    @property
    def time_s(self) -> float: ...

    @property
    def present(self) -> np.ndarray: ...

    @property
    def ids(self) -> np.ndarray: ...

    @property
    def positions_m(self) -> np.ndarray: ...

    @property
    def velocities_mps(self) -> np.ndarray: ...

    @property
    def radius_m(self) -> np.ndarray: ...

    def step(self, t_s: float, dt_s: float, robot_xy_m: np.ndarray,
             robot_v_mps: np.ndarray) -> None: ...


class CrowdArrays:
    """The state arrays every crowd keeps, and the read-only accessors of the interface.

    Subclasses fill ``_ids`` (-1 for an empty row), ``_pos``, ``_vel``, ``_radius`` and
    ``_time_s`` and implement ``step``; a row is present exactly when its id is >= 0.
    """

    def __init__(self, n: int, radius_m: float = BODY_RADIUS_M, time_s: float = 0.0) -> None:
        self._n = int(n)
        self._time_s = float(time_s)
        self._ids = np.full(self._n, -1, dtype=np.int64)
        self._pos = np.full((self._n, 2), np.nan)
        self._vel = np.full((self._n, 2), np.nan)
        self._radius = np.full(self._n, float(radius_m))

    def __len__(self) -> int:
        return self._n

    @property
    def time_s(self) -> float:
        return self._time_s

    @property
    def present(self) -> np.ndarray:
        return self._ids >= 0

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    @property
    def positions_m(self) -> np.ndarray:
        return self._pos.copy()

    @property
    def velocities_mps(self) -> np.ndarray:
        return self._vel.copy()

    @property
    def radius_m(self) -> np.ndarray:
        return self._radius.copy()


class EmptyCrowd(CrowdArrays):
    """No people: the default of a world without a people source."""

    def __init__(self) -> None:
        super().__init__(0)

    def step(self, t_s: float, dt_s: float, robot_xy_m: np.ndarray,
             robot_v_mps: np.ndarray) -> None:
        check_step_args(t_s, dt_s, robot_xy_m, robot_v_mps)
        self._time_s = float(t_s) + float(dt_s)


def check_step_args(t_s: float, dt_s: float, robot_xy_m: np.ndarray,
                    robot_v_mps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validates ``step``'s arguments; returns the robot's position and velocity as float
    arrays of shape (2,). Raises ValueError naming the bad argument."""
    if not np.isfinite(t_s):
        raise ValueError(f"t_s must be finite, got {t_s!r}")
    if not (np.isfinite(dt_s) and dt_s >= 0.0):
        raise ValueError(f"dt_s must be finite and >= 0, got {dt_s!r}")
    xy = np.asarray(robot_xy_m, dtype=float).reshape(-1)
    v = np.asarray(robot_v_mps, dtype=float).reshape(-1)
    if xy.shape != (2,) or not np.all(np.isfinite(xy)):
        raise ValueError(f"robot_xy_m must be 2 finite numbers, got {robot_xy_m!r}")
    if v.shape != (2,) or not np.all(np.isfinite(v)):
        raise ValueError(f"robot_v_mps must be 2 finite numbers, got {robot_v_mps!r}")
    return xy, v


def check_crowd_state(crowd: Crowd) -> None:
    """Asserts that a crowd's arrays follow the conventions (shapes, dtypes, NaN exactly in
    the empty rows, ids -1 exactly there); raises AssertionError otherwise. For tests."""
    n = len(crowd)
    present = np.asarray(crowd.present)
    ids = np.asarray(crowd.ids)
    pos = np.asarray(crowd.positions_m)
    vel = np.asarray(crowd.velocities_mps)
    radius = np.asarray(crowd.radius_m)
    assert present.shape == (n,) and present.dtype == bool, present
    assert ids.shape == (n,) and np.issubdtype(ids.dtype, np.integer), ids
    assert pos.shape == (n, 2) and vel.shape == (n, 2), (pos.shape, vel.shape)
    assert radius.shape == (n,) and np.all(radius > 0.0), radius
    assert np.all(np.isfinite(pos[present])) and np.all(np.isfinite(vel[present]))
    assert np.all(np.isnan(pos[~present])) and np.all(np.isnan(vel[~present]))
    assert np.all(ids[present] >= 0) and np.all(ids[~present] == -1), ids
    live = ids[present]
    assert len(np.unique(live)) == len(live), f"an id is in two rows: {ids}"
