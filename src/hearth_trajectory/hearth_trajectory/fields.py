"""Scalar fields on a regular odom-frame grid, sampled at many points at once (ROS-free).

Two fields feed the critics: the distance to the nearest obstacle (from the local costmap)
and the cost-to-go along the global path (:func:`path_cost_to_go`), whose downhill
direction is also "the way to go" for the heading critic.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import ndimage


@dataclass(frozen=True)
class GridField:
    """``values[row, col]`` at the cell centres ``origin_xy + (col + 0.5, row + 0.5) * res``
    (odom frame, m; rows along +y). Outside the grid the nearest edge value holds."""

    origin_xy: tuple[float, float]
    resolution_m: float
    values: np.ndarray  # (H, W)

    def __post_init__(self) -> None:
        if not (self.resolution_m > 0.0 and np.ndim(self.values) == 2):
            raise ValueError("need a positive resolution and a 2-D array of values")

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear interpolation at points ``x``, ``y`` (any equal shapes)."""
        xf = np.ascontiguousarray(x, dtype=float)
        yf = np.ascontiguousarray(y, dtype=float)
        out = np.empty(xf.shape)
        _bilinear(np.ascontiguousarray(self.values, dtype=float), self.origin_xy[0],
                  self.origin_xy[1], 1.0 / self.resolution_m, xf.reshape(-1), yf.reshape(-1),
                  out.reshape(-1))
        return out

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.values.shape
        xs = self.origin_xy[0] + (np.arange(w) + 0.5) * self.resolution_m
        ys = self.origin_xy[1] + (np.arange(h) + 0.5) * self.resolution_m
        return np.meshgrid(xs, ys)


#: A distance field's value where no obstacle is left (m), as the local costmap's.
FAR_M = 1000.0


def without_cells_under(distance: GridField, xy_m: tuple[float, float], radius_m: float,
                        within_m: float | None = None) -> GridField:
    """``distance`` (to the nearest obstacle cell's centre, m; 0 at occupied cells) with the
    obstacle cells whose centres lie within ``radius_m`` of ``xy_m`` taken out, and the
    field recomputed, when any cell lies within ``within_m`` (default ``radius_m``);
    ``distance`` itself otherwise.

    The robot cannot stand inside an obstacle. Cells under its own footprint are the map
    placed by a pose estimate that is off, or the wall it is pressed against; counted, they
    make every way out a collision from the first step, and the robot stands there for
    good. Without them it may always move out, as the safety controller lets it back away,
    while the cells beyond still count (it does not scrape along the wall)."""
    within = radius_m if within_m is None else within_m
    res = distance.resolution_m
    # Quick exit: the field, bilinear between cell centres, is within sqrt(2) cells of the
    # distance from xy_m to the nearest obstacle cell's centre.
    if distance.sample(np.array([xy_m[0]]), np.array([xy_m[1]]))[0] > within + 1.5 * res:
        return distance
    values = np.asarray(distance.values)
    occupied = values <= 0.5 * res
    xs, ys = distance.cell_centres()
    near = np.hypot(xs - xy_m[0], ys - xy_m[1])
    if not np.any(occupied & (near < within)):
        return distance
    under = occupied & (near < radius_m)
    rest = occupied & ~under
    if not rest.any():
        return GridField(distance.origin_xy, res, np.full(values.shape, FAR_M))
    return GridField(distance.origin_xy, res, ndimage.distance_transform_edt(~rest) * res)


@njit(cache=True, inline="always")
def bilinear_at(values, ox, oy, inv_res, x, y):  # pragma: no cover - compiled
    """``values`` (H, W) at one point, cell centres at ``origin + (i + 0.5) / inv_res``;
    clamped to the edge cells outside the grid."""
    h, w = values.shape
    fx = min(max((x - ox) * inv_res - 0.5, 0.0), w - 1.000001)
    fy = min(max((y - oy) * inv_res - 0.5, 0.0), h - 1.000001)
    ix = int(fx)
    iy = int(fy)
    tx = fx - ix
    ty = fy - iy
    ix1 = min(ix + 1, w - 1)
    iy1 = min(iy + 1, h - 1)
    top = values[iy, ix] + tx * (values[iy, ix1] - values[iy, ix])
    bottom = values[iy1, ix] + tx * (values[iy1, ix1] - values[iy1, ix])
    return top + ty * (bottom - top)


@njit(cache=True)
def _bilinear(values, ox, oy, inv_res, xs, ys, out):  # pragma: no cover - compiled
    for i in range(xs.shape[0]):
        out[i] = bilinear_at(values, ox, oy, inv_res, xs[i], ys[i])


def resample_path(points: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``spacing_m`` along the polyline ``points`` (M, 2) (its last point
    included) and their arc lengths from its start."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    keep = np.concatenate([[True], seg > 1e-9])
    pts = pts[keep]
    if len(pts) == 1:
        return pts.copy(), np.zeros(1)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
    s = np.append(np.arange(0.0, cum[-1], spacing_m), cum[-1])
    return np.column_stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])]), s


def project_on_path(points: np.ndarray, arc_m: np.ndarray, xy: tuple[float, float]) -> float:
    """Arc length of the path sample nearest to ``xy`` (path from :func:`resample_path`)."""
    d2 = (points[:, 0] - xy[0]) ** 2 + (points[:, 1] - xy[1]) ** 2
    return float(arc_m[int(np.argmin(d2))])


@dataclass(frozen=True)
class CostToGo:
    """Cost-to-go (m) along the global path near the robot and its downhill unit direction."""

    cost: GridField
    dir_x: GridField
    dir_y: GridField


def path_cost_to_go(path_xy: np.ndarray, arc_m: np.ndarray, total_m: float,
                    centre_xy: tuple[float, float], half_size_m: float, resolution_m: float,
                    clearance: GridField | None = None, robot_radius_m: float = 0.0,
                    ) -> CostToGo:
    """The cost-to-go along the global path on a square grid around ``centre_xy``.

    ``P_i`` are the path samples (odom frame) with arc lengths ``arc_m`` (only those the
    caller kept: the window ahead of the robot); ``remaining_i = total_m - arc_i``. On the
    path it is the length left to the goal; off it, the shortest way back onto the path and
    along it. Its downhill direction is where progress lies.

    Without ``clearance`` (the distance to the nearest obstacle), the way back is a straight
    line: ``ctg(p) = min_i (remaining_i + |p - P_i|)``. With it, the way back goes around
    obstacles: the shortest 8-connected path through the cells where the robot
    (``robot_radius_m``) fits, from each cell to a path sample, plus that sample's
    ``remaining_i`` (a wavefront from the path, Dijkstra); the field is the straight-line
    one plus the detour this adds beyond 1.5 cells (the grid's own error). A straight-line
    cost-to-go has local minima behind obstacles: a robot that stepped aside into an
    alcove, to let a person pass, sees no progress in the way out. Cells where the robot
    does not fit, or that the free space does not connect to the path, take the cost of
    the nearest cell that is reached plus the distance to it (cells next to the free space:
    from the free cell beside them, so nothing leaks through a thin wall).
    """
    n = max(2, int(np.ceil(2.0 * half_size_m / resolution_m)))
    origin = (centre_xy[0] - 0.5 * n * resolution_m, centre_xy[1] - 0.5 * n * resolution_m)
    xs = origin[0] + (np.arange(n) + 0.5) * resolution_m
    ys = origin[1] + (np.arange(n) + 0.5) * resolution_m
    path_xy = np.asarray(path_xy, dtype=float).reshape(-1, 2)
    remaining = total_m - np.asarray(arc_m, dtype=float)
    dx = xs[None, :] - path_xy[:, 0:1]  # (M, W)
    dy = ys[None, :] - path_xy[:, 1:2]  # (M, H)
    d = np.sqrt(dy[:, :, None] ** 2 + dx[:, None, :] ** 2)  # (M, H, W)
    cost = np.min(d + remaining[:, None, None], axis=0)
    if clearance is not None and len(path_xy):
        around = _around_obstacles(path_xy, remaining, origin, resolution_m, xs, ys,
                                   clearance, robot_radius_m)
        if around is not None:
            # The detour the obstacles force, beyond the grid's own error (1.5 cells): in the
            # open the field stays the exact straight-line one.
            cost = cost + np.maximum(around - cost - 1.5 * resolution_m, 0.0)
    gy, gx = np.gradient(cost, resolution_m)
    norm = np.hypot(gx, gy)
    norm[norm < 1e-9] = 1.0
    return CostToGo(
        GridField(origin, resolution_m, cost),
        GridField(origin, resolution_m, -gx / norm),
        GridField(origin, resolution_m, -gy / norm),
    )


def _around_obstacles(path_xy: np.ndarray, remaining: np.ndarray, origin: tuple[float, float],
                      res: float, xs: np.ndarray, ys: np.ndarray, clearance: GridField,
                      robot_radius_m: float) -> np.ndarray | None:
    """The obstacle-aware cost-to-go of :func:`path_cost_to_go` on its grid (H, W); None
    when no path sample lies in the grid's free space."""
    h, w = len(ys), len(xs)
    gx, gy = np.meshgrid(xs, ys)
    free = clearance.sample(gx, gy) >= robot_radius_m
    # Seeds: each path sample's cell, at the sample's remaining length plus the way to the
    # cell's centre (the straight-line field there).
    col = np.floor((path_xy[:, 0] - origin[0]) / res).astype(np.int64)
    row = np.floor((path_xy[:, 1] - origin[1]) / res).astype(np.int64)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    seed = np.full((h, w), np.inf)
    np.minimum.at(seed, (row[inside], col[inside]),
                  remaining[inside] + np.hypot(xs[col[inside]] - path_xy[inside, 0],
                                               ys[row[inside]] - path_xy[inside, 1]))
    seed[~free] = np.inf
    if not np.isfinite(seed).any():
        return None
    cost = grid_dijkstra(seed, free, res)
    reached = np.isfinite(cost)
    if reached.all():
        return cost
    # The rest: from the nearest reached cell (continuous, so the field keeps a gradient
    # near walls and in pockets the costmap closed).
    dist, (ri, ci) = ndimage.distance_transform_edt(~reached, return_indices=True)
    return np.where(reached, cost, cost[ri, ci] + dist * res)


@njit(cache=True)
def grid_dijkstra(seed, free, step):  # pragma: no cover - compiled
    """Shortest 8-connected distances through ``free`` cells from the cells with finite
    ``seed`` (their initial costs); a diagonal step needs both cells beside it free. A
    blocked cell next to a free one gets the step from it, and passes nothing on (so the
    field near a thin wall is that of the wall's own side)."""
    h, w = seed.shape
    dist = seed.copy()
    heap = [(0.0, 0, 0)]
    heap.pop()
    for i in range(h):
        for j in range(w):
            if dist[i, j] < np.inf:
                heap.append((dist[i, j], i, j))
    heapq.heapify(heap)
    diag = step * math.sqrt(2.0)
    while len(heap):
        d, i, j = heapq.heappop(heap)
        if d > dist[i, j]:
            continue
        for di in range(-1, 2):
            for dj in range(-1, 2):
                if di == 0 and dj == 0:
                    continue
                ni, nj = i + di, j + dj
                if ni < 0 or ni >= h or nj < 0 or nj >= w:
                    continue
                if di != 0 and dj != 0:
                    if not (free[i + di, j] and free[i, j + dj]):
                        continue
                    nd = d + diag
                else:
                    nd = d + step
                if nd < dist[ni, nj]:
                    dist[ni, nj] = nd
                    if free[ni, nj]:  # a blocked cell takes a value, passes none on
                        heapq.heappush(heap, (nd, ni, nj))
    return dist
