"""Blind spots: where a person the robot cannot see could step out from (ROS-free).

The depth camera sees what no obstacle hides. The room behind a doorway passed at a slant,
the hallway seen from inside a room's door, the far side of a corner: a person standing
there is unseen until they step out, and a person who steps out one metre ahead of a robot
driving at 1 m/s is hit before the robot can stop. A careful driver slows where that can
happen; :func:`phantom_distance` says where it can.

From the robot's position, on the planner's distance field (odom frame):

1. the cells the robot could see: rays cast in every direction (the camera turns with the
   robot, so its field of view is not the question, walls are) stop at the first obstacle
   cell, after the robot's own footprint;
2. the unseen cells where a person fits (``fit_clearance_m`` from every obstacle) are
   where a phantom may stand;
3. the walking distance from the nearest phantom to every cell, through the cells a person
   can pass (``walk_clearance_m``): a phantom behind a wall is not beside the robot, it is
   as far away as the way round.

:class:`~hearth_trajectory.critics.BlindSpotCritic` turns this distance into a speed the
robot can stop from before it reaches a phantom.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# FAR_M: nothing hidden within reach, the distance reported (m): the fields' "nothing there".
from hearth_trajectory.fields import FAR_M, GridField, grid_dijkstra

#: A person stands where the nearest obstacle is at least this far (m).
FIT_CLEARANCE_M = 0.2
#: A person walks through gaps this much wider than nothing on each side (m): 0.3 m gaps.
WALK_CLEARANCE_M = 0.15


def visible_cells(occupied: np.ndarray, origin_xy: tuple[float, float], resolution_m: float,
                  sensor_xy: tuple[float, float], own_radius_m: float,
                  rays: int = 1440) -> np.ndarray:
    """(H, W) bool: the cells a ray from ``sensor_xy`` reaches before it meets an occupied
    cell (the occupied cell itself included), ``rays`` directions evenly spread. Obstacle
    cells within ``own_radius_m`` of the sensor do not stop a ray: the robot is there, so
    they are the costmap's blur of a wall it touches, not something it looks past."""
    occ = np.ascontiguousarray(occupied, dtype=np.bool_)
    return _cast(occ, float(origin_xy[0]), float(origin_xy[1]), float(resolution_m),
                 float(sensor_xy[0]), float(sensor_xy[1]), float(own_radius_m), int(rays))


@njit(cache=True)
def _cast(occ, ox, oy, res, sx, sy, own_r, rays):  # pragma: no cover - compiled
    h, w = occ.shape
    vis = np.zeros((h, w), dtype=np.bool_)
    step = 0.4 * res
    reach = math.hypot(w * res, h * res)
    n = int(reach / step) + 1
    for r in range(rays):
        a = 2.0 * math.pi * r / rays
        c, s = math.cos(a), math.sin(a)
        for k in range(n):
            d = k * step
            j = math.floor((sx + c * d - ox) / res)
            i = math.floor((sy + s * d - oy) / res)
            if i < 0 or i >= h or j < 0 or j >= w:
                break
            vis[i, j] = True
            if occ[i, j] and d > own_r:
                break
    return vis


def phantom_distance(distance: GridField, sensor_xy: tuple[float, float],
                     own_radius_m: float, fit_clearance_m: float = FIT_CLEARANCE_M,
                     walk_clearance_m: float = WALK_CLEARANCE_M) -> GridField:
    """The walking distance (m) from the nearest unseen place a person fits to each cell of
    ``distance`` (the distance to the nearest obstacle, m), seen from ``sensor_xy``;
    :data:`FAR_M` where no such place connects. See the module's docstring."""
    values = np.asarray(distance.values, dtype=float)
    res = distance.resolution_m
    occupied = values <= 0.5 * res  # obstacle cells: the field is 0 at their centres
    seen = visible_cells(occupied, distance.origin_xy, res, sensor_xy, own_radius_m)
    walk = values >= walk_clearance_m
    seed = np.where(~seen & (values >= fit_clearance_m) & walk, 0.0, np.inf)
    if not np.isfinite(seed).any():
        return GridField(distance.origin_xy, res, np.full(values.shape, FAR_M))
    dist = grid_dijkstra(seed, walk, res)
    return GridField(distance.origin_xy, res, np.where(np.isfinite(dist), dist, FAR_M))


def stopping_speed_mps(gap_m: np.ndarray, reaction_s: float, decel_mps2: float) -> np.ndarray:
    """The speed from which the robot stops within ``gap_m``: ``reaction_s`` at that speed,
    then braking at ``decel_mps2``: ``v t + v^2 / 2a = gap``. 0 for no gap."""
    g = np.maximum(np.asarray(gap_m, dtype=float), 0.0)
    a, t = decel_mps2, reaction_s
    return a * (np.sqrt(t * t + 2.0 * g / a) - t)
