"""The local map: obstacle cells in a square around the robot, from the newest depth frame
plus a short memory (ROS-free, numpy).

Per frame (:meth:`LocalMap.update`):

1. **Floor.** base_link lies on the floor, so the floor is z = 0 there. With ``ground_fit``
   the plane z = a x + b y + c is fitted to the points near it (two trimmed least-squares
   passes) and used when its tilt and offset stay within bounds (a caster on a bump tilts
   the robot by a few degrees, which lifts the far floor by centimetres); otherwise z = 0.
2. **Obstacle points.** A point is an obstacle when its height above the floor lies between
   ``min_height_m`` (floor bumps up to ~2 cm are not obstacles; a ~5 cm shoe is) and
   ``max_height_m`` (the robot's top plus a clearance: a table top above it is not), it lies
   in the map's square, and outside the footprint grown by ``self_mask_margin_m`` (the ToF's
   lowest rows see the robot's own chassis: those points are the robot, masked by geometry).
3. **Cells.** The points are binned into the square grid (``resolution_m``) centred on the
   robot in base_link; a cell with at least ``min_points_per_cell`` points is an obstacle,
   represented by its centre and the mean height of its points.
4. **Memory.** Cells are kept in the odom frame with the time they were last seen, so they
   move with odometry. A remembered cell survives a new frame when it is younger than
   ``memory_s``, still in the square, not under the robot, and the new frame cannot see it:
   outside the image (it left the field of view), or its pixel is nearer (hidden behind the
   chassis or another object) or has no valid depth. Where the new frame sees up to or past
   it, the frame is the truth: the cell is forgotten (and re-created if still occupied).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hearth_safety.footprint import Footprint

Pose2 = tuple[float, float, float]  # x_m, y_m, yaw_rad of base_link in odom
GROUND_TRIM_M = 0.01  # the second floor fit keeps points this close to the first


@dataclass(frozen=True)
class MapParams:
    size_m: float = 2.0
    resolution_m: float = 0.025
    min_height_m: float = 0.03
    max_height_m: float = 0.7
    min_points_per_cell: int = 2
    self_mask_margin_m: float = 0.02
    memory_s: float = 1.5
    clear_tolerance_m: float = 0.05
    ground_fit: bool = True
    ground_max_tilt_rad: float = 0.1  # ~6 degrees
    ground_max_offset_m: float = 0.015
    ground_min_points: int = 200

    @property
    def cells(self) -> int:
        return round(self.size_m / self.resolution_m)


@dataclass(frozen=True)
class GroundPlane:
    """The floor as z = a x + b y + c in base_link; ``fitted`` False: the nominal z = 0."""

    a: float = 0.0
    b: float = 0.0
    c: float = 0.0
    fitted: bool = False

    def height_above(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        if not self.fitted:
            return z
        return z - (self.a * x + self.b * y + self.c)


def fit_ground(points_base: np.ndarray, params: MapParams) -> GroundPlane:
    """The floor plane from the points near z = 0 (see the module docstring); the nominal
    plane when too few points support a fit or it is out of bounds."""
    band = params.min_height_m
    z = points_base[:, 2]
    near = np.abs(z) < band
    pts = points_base[near]
    if len(pts) > 4000:  # plenty for three parameters
        pts = pts[:: len(pts) // 4000 + 1]
    sol = None
    for _ in range(2):  # fit, drop the points off the plane by more than 1 cm, fit again
        if sol is not None:
            pts = pts[np.abs(pts[:, 2] - (pts[:, 0] * sol[0] + pts[:, 1] * sol[1] + sol[2]))
                      < GROUND_TRIM_M]
        if len(pts) < params.ground_min_points:
            return GroundPlane()
        a = np.column_stack([pts[:, 0], pts[:, 1], np.ones(len(pts))]).astype(np.float64)
        try:
            sol = np.linalg.solve(a.T @ a, a.T @ pts[:, 2].astype(np.float64))
        except np.linalg.LinAlgError:
            return GroundPlane()
    plane = GroundPlane(float(sol[0]), float(sol[1]), float(sol[2]), True)
    max_slope = math.tan(params.ground_max_tilt_rad)
    if (abs(plane.a) > max_slope or abs(plane.b) > max_slope
            or abs(plane.c) > params.ground_max_offset_m):
        return GroundPlane()
    return plane


class LocalMap:
    """Obstacle cells around the robot: the newest frame's and the remembered ones."""

    def __init__(self, params: MapParams, footprint: Footprint) -> None:
        self.params = params
        self.footprint = footprint
        self.n = params.cells
        self.half_m = 0.5 * self.n * params.resolution_m
        self.ground = GroundPlane()
        self._xy = np.zeros((0, 2))  # odom frame
        self._z = np.zeros(0)  # base_link height of the cell's points (for visibility)
        self._t_ns = np.zeros(0, dtype=np.int64)  # when last seen
        self._fresh = np.zeros(0, dtype=bool)  # seen in the newest frame
        self.last_update_ns: int | None = None
        self.stats = {"points": 0, "obstacle_points": 0, "cells_seen": 0, "cells_remembered": 0}

    def __len__(self) -> int:
        return len(self._xy)

    def reset(self) -> None:
        self._xy, self._z = np.zeros((0, 2)), np.zeros(0)
        self._t_ns, self._fresh = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)

    # ------------------------------------------------------------------ per frame
    def obstacle_points(self, points_base: np.ndarray) -> np.ndarray:
        """The points (P, 3) of a frame that are obstacles (steps 1-2 of the module doc)."""
        p = self.params
        if p.ground_fit:
            self.ground = fit_ground(points_base, p)
        x, y, z = points_base[:, 0], points_base[:, 1], points_base[:, 2]
        h = self.ground.height_above(x, y, z)
        keep = (h >= p.min_height_m) & (h <= p.max_height_m)
        keep &= (np.abs(x) < self.half_m) & (np.abs(y) < self.half_m)
        cand = points_base[keep]
        own = self.footprint.signed_distance(cand[:, 0], cand[:, 1]) <= p.self_mask_margin_m
        return cand[~own]

    def _cell_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat cell index of base_link points (caller ensures they are in the square)."""
        res = self.params.resolution_m
        ix = np.clip(((x + self.half_m) / res).astype(np.int64), 0, self.n - 1)
        iy = np.clip(((y + self.half_m) / res).astype(np.int64), 0, self.n - 1)
        return iy * self.n + ix

    def _cell_centres(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        res = self.params.resolution_m
        iy, ix = np.divmod(flat, self.n)
        return (ix + 0.5) * res - self.half_m, (iy + 0.5) * res - self.half_m

    def update(self, t_ns: int, pose_odom_base: Pose2, points_base: np.ndarray,
               sees_up_to: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """One depth frame captured at ``t_ns`` with base_link at ``pose_odom_base``.

        ``points_base`` (N, 3) are the frame's valid points in base_link; ``sees_up_to``
        maps base_link points (M, 3) to True where the frame sees up to or past them (see
        ``DepthProjector.depth_behind``); None: the frame sees nothing of the memory.
        """
        p = self.params
        obstacles = self.obstacle_points(points_base)
        self.stats["points"] = len(points_base)
        self.stats["obstacle_points"] = len(obstacles)
        # Cells of this frame: centre and mean height of their points.
        flat = self._cell_index(obstacles[:, 0], obstacles[:, 1])
        counts = np.bincount(flat, minlength=self.n * self.n)
        cells = np.flatnonzero(counts >= p.min_points_per_cell)
        z_sum = np.bincount(flat, weights=obstacles[:, 2], minlength=self.n * self.n)
        new_z = z_sum[cells] / counts[cells]
        new_xb, new_yb = self._cell_centres(cells)

        x0, y0, yaw = pose_odom_base
        c, s = math.cos(yaw), math.sin(yaw)
        # The memory in this frame's base_link.
        keep = np.zeros(len(self._xy), dtype=bool)
        if len(self._xy):
            dx, dy = self._xy[:, 0] - x0, self._xy[:, 1] - y0
            xb, yb = c * dx + s * dy, -s * dx + c * dy
            keep = (t_ns - self._t_ns) <= round(p.memory_s * 1e9)
            keep &= (np.abs(xb) < self.half_m) & (np.abs(yb) < self.half_m)
            keep &= self.footprint.signed_distance(xb, yb) > p.self_mask_margin_m
            if keep.any():
                idx = np.flatnonzero(keep)
                occupied_now = np.isin(self._cell_index(xb[idx], yb[idx]), cells)
                keep[idx[occupied_now]] = False
            if sees_up_to is not None and keep.any():
                idx = np.flatnonzero(keep)
                pts = np.column_stack([xb[idx], yb[idx], self._z[idx]])
                keep[idx[sees_up_to(pts)]] = False
        self._xy = np.vstack([
            np.column_stack([x0 + c * new_xb - s * new_yb, y0 + s * new_xb + c * new_yb]),
            self._xy[keep],
        ])
        self._z = np.concatenate([new_z, self._z[keep]])
        self._t_ns = np.concatenate([np.full(len(cells), int(t_ns), dtype=np.int64),
                                     self._t_ns[keep]])
        self._fresh = np.concatenate([np.ones(len(cells), dtype=bool),
                                      np.zeros(int(keep.sum()), dtype=bool)])
        self.last_update_ns = int(t_ns)
        self.stats["cells_seen"] = len(cells)
        self.stats["cells_remembered"] = int(keep.sum())

    # ------------------------------------------------------------------ queries
    def cells_base(self, pose_odom_base: Pose2) -> tuple[np.ndarray, np.ndarray]:
        """Every obstacle cell centre (M, 2) in base_link at ``pose_odom_base``, and whether
        each was seen in the newest frame (True) or is remembered (False)."""
        if not len(self._xy):
            return np.zeros((0, 2)), np.zeros(0, dtype=bool)
        x0, y0, yaw = pose_odom_base
        c, s = math.cos(yaw), math.sin(yaw)
        dx, dy = self._xy[:, 0] - x0, self._xy[:, 1] - y0
        return np.column_stack([c * dx + s * dy, -s * dx + c * dy]), self._fresh.copy()

    def grid(self, pose_odom_base: Pose2) -> np.ndarray:
        """The square grid (n, n) around base_link at the pose, rows along y: 0 free or
        unknown, 1 remembered, 2 seen in the newest frame."""
        out = np.zeros((self.n, self.n), dtype=np.int8)
        xy, fresh = self.cells_base(pose_odom_base)
        inside = (np.abs(xy[:, 0]) < self.half_m) & (np.abs(xy[:, 1]) < self.half_m)
        flat = self._cell_index(xy[inside, 0], xy[inside, 1])
        out.reshape(-1)[flat] = np.where(fresh[inside], 2, 1)
        return out
