"""Scalar fields on a regular odom-frame grid, sampled at many points at once (ROS-free).

Two fields feed the critics: the distance to the nearest obstacle (from the local costmap)
and the cost-to-go along the global path (:func:`path_cost_to_go`), whose downhill
direction is also "the way to go" for the heading critic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


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
                    ) -> CostToGo:
    """``ctg(p) = min_i (remaining_i + |p - P_i|)`` on a square grid around ``centre_xy``.

    ``P_i`` are the path samples (odom frame) with arc lengths ``arc_m`` (only those the
    caller kept: the window ahead of the robot); ``remaining_i = total_m - arc_i``. On the
    path it is the length left to the goal; off it, the shortest way back onto the path and
    along it. Its downhill direction is where progress lies.
    """
    n = max(2, int(np.ceil(2.0 * half_size_m / resolution_m)))
    origin = (centre_xy[0] - 0.5 * n * resolution_m, centre_xy[1] - 0.5 * n * resolution_m)
    xs = origin[0] + (np.arange(n) + 0.5) * resolution_m
    ys = origin[1] + (np.arange(n) + 0.5) * resolution_m
    remaining = total_m - np.asarray(arc_m, dtype=float)
    dx = xs[None, :] - path_xy[:, 0:1]  # (M, W)
    dy = ys[None, :] - path_xy[:, 1:2]  # (M, H)
    d = np.sqrt(dy[:, :, None] ** 2 + dx[:, None, :] ** 2)  # (M, H, W)
    cost = np.min(d + remaining[:, None, None], axis=0)
    gy, gx = np.gradient(cost, resolution_m)
    norm = np.hypot(gx, gy)
    norm[norm < 1e-9] = 1.0
    return CostToGo(
        GridField(origin, resolution_m, cost),
        GridField(origin, resolution_m, -gx / norm),
        GridField(origin, resolution_m, -gy / norm),
    )
