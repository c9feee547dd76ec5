"""The local costmap: a rolling occupancy grid in the odom frame with its distance field (ROS-free).

A square window (6 m at 5 cm: 120 x 120 cells by default) centred on the robot, rebuilt on
each :meth:`LocalCostmap.update` from

- the depth points of one frame (odom frame, metres): a point between ``min_obstacle_z_m``
  (below: the floor) and ``max_obstacle_z_m`` (above: higher than the robot, it passes under)
  marks its cell occupied, unless it lies within ``self_radius_m`` of the centre (the robot:
  the ToF, looking down, sees the front edge of its own chassis; set it to the chassis radius
  plus a margin when the centre is the robot);
- the global map (:class:`StaticMap`, an OccupancyGrid as an array), placed in odom by the
  map->odom transform and rasterised into the window.

Then the Euclidean distance field is computed once (OpenCV's exact L2 distance transform):
``distance_m[i, j]`` is the distance from cell (i, j)'s centre to the nearest occupied cell's
centre, in metres (0 on occupied cells, :data:`FAR_M` when no cell is occupied).

Grid convention (as nav_msgs/OccupancyGrid): row ``i`` runs along +y, column ``j`` along +x;
cell (i, j) covers ``origin + [j, j+1) * res`` in x and ``origin + [i, i+1) * res`` in y. The
origin snaps to whole cells of the odom frame, so cells line up from one update to the next.

Optional memory (``memory_s`` > 0, and ``t_s`` / ``sensor_xy_odom`` given to ``update``):
depth cells stay occupied for ``memory_s`` seconds after their last hit, unless a later frame
sees past them: in the bearing bin of a cell (seen from the sensor), a return farther than the
cell shows its ray passed through, so the cell is free (returns from the floor count).

Optional clearing of the map (``clear_static``, with ``sensor_xy_odom``): the frame's rays
clear the static layer the same way. Where the camera sees, it overrides the map: the map is
placed by the localization's estimate, and 10-20 cm of error narrows a doorway, by the map's
wall drawn into it, until the robot no longer fits through what the camera sees is open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: The distance reported where no cell of the window is occupied (m).
FAR_M = 1000.0

#: Width of the bearing bins in which a frame's returns clear remembered cells (rad): about
#: the ToF's pixel spacing at a 2-pixel stride.
CLEARING_BIN_RAD = 0.02

#: OccupancyGrid values at or above this are occupied (map_server's 0.65 threshold).
OCCUPIED_THRESHOLD = 65


class StaticMap:
    """The global map as an array: ``occupancy`` (H, W) int8 as OccupancyGrid data (row 0 at
    the origin's y; -1 unknown, 0..100 occupancy), ``resolution_m``, and the pose
    ``origin_xy_yaw`` of cell (0, 0)'s corner in the map frame.

    Unknown cells count as free (the depth sees what is there); cells at or above
    ``occupied_threshold`` as occupied.
    """

    def __init__(
        self,
        occupancy: np.ndarray,
        resolution_m: float,
        origin_xy_yaw: tuple[float, float, float] = (0.0, 0.0, 0.0),
        occupied_threshold: int = OCCUPIED_THRESHOLD,
    ) -> None:
        occ = np.asarray(occupancy)
        if occ.ndim != 2 or occ.size == 0:
            raise ValueError(f"occupancy must be a non-empty 2-D array, got shape {occ.shape}")
        if not (math.isfinite(resolution_m) and resolution_m > 0.0):
            raise ValueError(f"resolution_m must be > 0, got {resolution_m}")
        if not all(math.isfinite(v) for v in origin_xy_yaw):
            raise ValueError(f"origin must be finite, got {origin_xy_yaw}")
        self.occupied = occ >= occupied_threshold
        self.resolution_m = float(resolution_m)
        self.origin_xy_yaw = tuple(float(v) for v in origin_xy_yaw)

    def in_odom(self, pose_odom_map_xyyaw: tuple[float, float, float]) -> StaticMapInOdom:
        """This map placed in the odom frame: ``pose_odom_map_xyyaw`` is the map frame's pose
        in odom (T_odom_map, the inverse of TF map->odom)."""
        return StaticMapInOdom(self, tuple(float(v) for v in pose_odom_map_xyyaw))

    def occupied_points_in(self, corners_map: np.ndarray, sub: int) -> np.ndarray:
        """Points (K, 2), map frame, ``sub`` x ``sub`` per occupied cell, of the occupied cells
        within the bounding box of ``corners_map`` (M, 2)."""
        ox, oy, oyaw = self.origin_xy_yaw
        c, s = math.cos(oyaw), math.sin(oyaw)
        d = corners_map - (ox, oy)
        gx = (c * d[:, 0] + s * d[:, 1]) / self.resolution_m  # grid frame, cells
        gy = (-s * d[:, 0] + c * d[:, 1]) / self.resolution_m
        h, w = self.occupied.shape
        j0, j1 = max(int(np.floor(gx.min())) - 1, 0), min(int(np.ceil(gx.max())) + 1, w)
        i0, i1 = max(int(np.floor(gy.min())) - 1, 0), min(int(np.ceil(gy.max())) + 1, h)
        if j0 >= j1 or i0 >= i1:
            return np.zeros((0, 2))
        ii, jj = np.nonzero(self.occupied[i0:i1, j0:j1])
        if ii.size == 0:
            return np.zeros((0, 2))
        offsets = (np.arange(sub) + 0.5) / sub  # sub-points inside each cell
        u = (jj[:, None, None] + j0 + offsets[None, None, :]).repeat(sub, axis=1)
        v = (ii[:, None, None] + i0 + offsets[None, :, None]).repeat(sub, axis=2)
        u, v = u.ravel() * self.resolution_m, v.ravel() * self.resolution_m
        return np.column_stack([ox + c * u - s * v, oy + s * u + c * v])


@dataclass(frozen=True)
class StaticMapInOdom:
    """A :class:`StaticMap` and the map frame's pose in odom (x, y, yaw)."""

    map: StaticMap
    pose_odom_map_xyyaw: tuple[float, float, float]


class LocalCostmap:
    """A ``size_m`` square grid at ``resolution_m``, in the odom frame, centred on the robot.

    Use: ``update(center_odom_xy, points_odom, static)`` once per cycle, then read
    ``occupied``, ``distance_m`` or :meth:`distance_at`.
    """

    def __init__(
        self,
        size_m: float = 6.0,
        resolution_m: float = 0.05,
        *,
        min_obstacle_z_m: float = 0.03,
        max_obstacle_z_m: float = 0.7,
        memory_s: float = 0.0,
        self_radius_m: float = 0.0,
        clear_static: bool = False,
    ) -> None:
        if not (math.isfinite(resolution_m) and resolution_m > 0.0):
            raise ValueError(f"resolution_m must be > 0, got {resolution_m}")
        if not (math.isfinite(size_m) and size_m >= 2.0 * resolution_m):
            raise ValueError(f"size_m must be at least two cells, got {size_m}")
        if not min_obstacle_z_m < max_obstacle_z_m:
            raise ValueError("min_obstacle_z_m must be below max_obstacle_z_m")
        if not (math.isfinite(memory_s) and memory_s >= 0.0):
            raise ValueError(f"memory_s must be >= 0, got {memory_s}")
        if not (math.isfinite(self_radius_m) and self_radius_m >= 0.0):
            raise ValueError(f"self_radius_m must be >= 0, got {self_radius_m}")
        self._res = float(resolution_m)
        self.cells = round(size_m / resolution_m)
        self.size_m = self.cells * self._res
        self.min_obstacle_z_m = float(min_obstacle_z_m)
        self.max_obstacle_z_m = float(max_obstacle_z_m)
        self.memory_s = float(memory_s)
        self.self_radius_m = float(self_radius_m)
        self.clear_static = bool(clear_static)
        n = self.cells
        self._origin_cell = np.zeros(2, dtype=np.int64)  # (col, row) of the window's corner
        self._occupied = np.zeros((n, n), dtype=bool)
        self._distance = np.full((n, n), FAR_M, dtype=np.float32)
        self._last_hit_s = np.full((n, n), -np.inf)  # memory of depth hits
        self.updated = False
        self.static_cells = 0
        self.depth_cells = 0

    # ------------------------------------------------------------------ properties
    @property
    def resolution_m(self) -> float:
        return self._res

    @property
    def origin_odom_xy(self) -> np.ndarray:
        """The window's lower-left corner in odom (m), (2,)."""
        return self._origin_cell.astype(float) * self._res

    @property
    def occupied(self) -> np.ndarray:
        """(H, W) bool, row = y, column = x (read-only view)."""
        v = self._occupied.view()
        v.flags.writeable = False
        return v

    @property
    def distance_m(self) -> np.ndarray:
        """(H, W) float32: distance (m) from each cell centre to the nearest occupied cell
        centre; :data:`FAR_M` everywhere when none is occupied (read-only view)."""
        v = self._distance.view()
        v.flags.writeable = False
        return v

    # ---------------------------------------------------------------------- update
    def update(
        self,
        center_odom_xy: np.ndarray | tuple[float, float],
        points_odom: np.ndarray | None,
        static: StaticMapInOdom | None = None,
        *,
        t_s: float | None = None,
        sensor_xy_odom: np.ndarray | tuple[float, float] | None = None,
    ) -> None:
        """Move the window to ``center_odom_xy`` and rebuild it from ``points_odom`` (N, 3)
        (odom, m; None: no depth this cycle) and ``static``; then the distance field.

        With ``memory_s`` > 0 and ``t_s`` given, depth cells are remembered (see the module);
        ``sensor_xy_odom`` (the sensor's position) lets the frame's rays clear free space.
        Non-finite points are ignored. Raises ValueError for a non-finite centre or bad shape.
        """
        center = np.asarray(center_odom_xy, dtype=float).reshape(-1)
        if center.shape != (2,) or not np.all(np.isfinite(center)):
            raise ValueError(f"center_odom_xy must be 2 finite numbers, got {center_odom_xy}")
        n, res = self.cells, self._res
        new_origin = np.floor(center / res).astype(np.int64) - n // 2
        remember = self.memory_s > 0.0 and t_s is not None
        if remember:
            self._shift_memory(new_origin - self._origin_cell)
        self._origin_cell = new_origin
        origin = self.origin_odom_xy

        depth = np.zeros((n, n), dtype=bool)
        seen_free = None  # the cells this frame's rays crossed
        if points_odom is not None:
            pts = np.asarray(points_odom, dtype=float)
            if pts.ndim != 2 or pts.shape[1] != 3:
                raise ValueError(f"points_odom must be (N, 3), got {pts.shape}")
            pts = pts[np.all(np.isfinite(pts), axis=1)]
            z = pts[:, 2]
            obstacle = (z > self.min_obstacle_z_m) & (z <= self.max_obstacle_z_m)
            if self.self_radius_m > 0.0:  # the robot's own body is no obstacle
                d = pts[:, :2] - center
                obstacle &= np.hypot(d[:, 0], d[:, 1]) > self.self_radius_m
            cells = np.floor((pts[:, :2] - origin) / res).astype(np.int64)  # (col, row)
            if (remember or self.clear_static) and sensor_xy_odom is not None:
                # every return below the top (floor included) proves the space before it free
                seen = pts[z <= self.max_obstacle_z_m, :2]
                seen_free = self._seen_free(np.asarray(sensor_xy_odom, dtype=float), seen)
                if remember and seen_free is not None:
                    self._last_hit_s[seen_free] = -np.inf
            hit = cells[obstacle]
            inside = np.all((hit >= 0) & (hit < n), axis=1)
            depth[hit[inside, 1], hit[inside, 0]] = True
        if remember:
            self._last_hit_s[depth] = float(t_s)
            depth = (float(t_s) - self._last_hit_s) <= self.memory_s
        self.depth_cells = int(depth.sum())

        occ = depth
        self.static_cells = 0
        if static is not None:
            layer = self._rasterise(static, origin)
            if self.clear_static and seen_free is not None:
                layer &= ~seen_free
            self.static_cells = int(layer.sum())
            occ = occ | layer
        self._occupied = occ
        self._distance = distance_field_m(occ, res)
        self.updated = True

    def _rasterise(self, static: StaticMapInOdom, origin: np.ndarray) -> np.ndarray:
        """The static map's occupied cells in this window (H, W) bool."""
        n, res = self.cells, self._res
        mx, my, myaw = static.pose_odom_map_xyyaw
        c, s = math.cos(myaw), math.sin(myaw)
        corners = origin + np.array([[0, 0], [1, 0], [0, 1], [1, 1]]) * self.size_m
        d = corners - (mx, my)
        corners_map = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]])
        # sub-points no farther apart than half a window cell: a rotated thin wall stays whole
        sub = max(1, math.ceil(2.0 * static.map.resolution_m / res))
        pm = static.map.occupied_points_in(corners_map, sub)
        layer = np.zeros((n, n), dtype=bool)
        if pm.size == 0:
            return layer
        po = np.column_stack([mx + c * pm[:, 0] - s * pm[:, 1], my + s * pm[:, 0] + c * pm[:, 1]])
        cells = np.floor((po - origin) / res).astype(np.int64)
        inside = np.all((cells >= 0) & (cells < n), axis=1)
        layer[cells[inside, 1], cells[inside, 0]] = True
        return layer

    def _shift_memory(self, shift_cells: np.ndarray) -> None:
        """Keep remembered hits in place in odom when the window moves by whole cells."""
        dj, di = int(shift_cells[0]), int(shift_cells[1])
        if dj == 0 and di == 0:
            return
        n = self.cells
        out = np.full((n, n), -np.inf)
        if abs(dj) < n and abs(di) < n:
            src = self._last_hit_s[max(di, 0): n + min(di, 0), max(dj, 0): n + min(dj, 0)]
            out[max(-di, 0): n + min(-di, 0), max(-dj, 0): n + min(-dj, 0)] = src
        self._last_hit_s = out

    def _seen_free(self, sensor_xy: np.ndarray, returns_xy: np.ndarray) -> np.ndarray | None:
        """The cells the frame's rays crossed (H, W) bool: in each bearing bin
        (``CLEARING_BIN_RAD`` wide, seen from the sensor) the cells nearer than the farthest
        return of the bin, less one cell. Vectorised over the window's cells; None without
        returns."""
        if len(returns_xy) == 0 or not np.all(np.isfinite(sensor_xy)):
            return None
        nbins = int(np.ceil(2.0 * np.pi / CLEARING_BIN_RAD))
        d = returns_xy - sensor_xy
        bins = (np.floor((np.arctan2(d[:, 1], d[:, 0]) + np.pi) / CLEARING_BIN_RAD)
                .astype(np.int64) % nbins)
        farthest = np.zeros(nbins)
        np.maximum.at(farthest, bins, np.hypot(d[:, 0], d[:, 1]))
        xs, ys = self.cell_centers_odom()
        cx, cy = xs[None, :] - sensor_xy[0], ys[:, None] - sensor_xy[1]
        cell_bins = (np.floor((np.arctan2(cy, cx) + np.pi) / CLEARING_BIN_RAD)
                     .astype(np.int64) % nbins)
        return np.hypot(cx, cy) < farthest[cell_bins] - self._res

    # ---------------------------------------------------------------------- query
    def distance_at(self, xy_odom: np.ndarray, outside_value_m: float = 0.0) -> np.ndarray:
        """The distance field at points ``xy_odom`` (..., 2) (odom, m) -> (...), bilinear
        between cell centres (clamped within the half-cell border band).

        Rule: a point outside the window, a non-finite point, or any point before the first
        update gets ``outside_value_m`` (0: unknown counts as touching an obstacle). An
        occupied cell's centre reads 0.
        """
        xy = np.asarray(xy_odom, dtype=float)
        if xy.shape[-1:] != (2,):
            raise ValueError(f"xy_odom must be (..., 2), got {xy.shape}")
        out_shape = xy.shape[:-1]
        if not self.updated:
            return np.full(out_shape, float(outside_value_m))
        n, res = self.cells, self._res
        g = (xy.reshape(-1, 2) - self.origin_odom_xy) / res  # cell units
        valid = np.all(np.isfinite(g) & (g >= 0.0) & (g <= n), axis=1)
        f = np.clip(np.where(np.isfinite(g), g, 0.0) - 0.5, 0.0, n - 1.0)  # centre coords
        j0 = np.minimum(f[:, 0].astype(np.int64), n - 2)
        i0 = np.minimum(f[:, 1].astype(np.int64), n - 2)
        a, b = f[:, 0] - j0, f[:, 1] - i0
        d = self._distance
        val = ((1 - a) * (1 - b) * d[i0, j0] + a * (1 - b) * d[i0, j0 + 1]
               + (1 - a) * b * d[i0 + 1, j0] + a * b * d[i0 + 1, j0 + 1])
        return np.where(valid, val, float(outside_value_m)).reshape(out_shape)

    def cell_centers_odom(self) -> tuple[np.ndarray, np.ndarray]:
        """(x (W,), y (H,)): the odom coordinates of the columns' and rows' centres."""
        c = (np.arange(self.cells) + 0.5) * self._res
        o = self.origin_odom_xy
        return o[0] + c, o[1] + c


def distance_field_m(occupied: np.ndarray, resolution_m: float) -> np.ndarray:
    """Exact Euclidean distance (m) from each cell centre to the nearest occupied cell centre,
    (H, W) float32; :data:`FAR_M` everywhere when nothing is occupied."""
    if not occupied.any():
        return np.full(occupied.shape, FAR_M, dtype=np.float32)
    free = np.ascontiguousarray(~occupied, dtype=np.uint8)
    dist = cv2.distanceTransform(free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist * np.float32(resolution_m)
