"""Aligning one depth frame to the static map (ROS-free): the small 2-D correction that
puts the walls the ToF sees onto the walls of /map.

Why: /map is placed in odom by the localization (TF map->odom). Visual SLAM in a dim room is
off by ~0.1 m and several degrees; at 3 m, 5 degrees moves a wall 0.26 m. The obstacle
detector explains a depth point by the map only within ``static_clearance_m`` (0.15 m) of an
occupied cell, so a misplaced map turns door jambs, chairs and the far side of a doorway into
"people": stationary tracks whose forecasts then close the doorway to the planner. Checking
the frame's points against the map first, as a laser-based robot matches its scan to its
map, removes that error where it matters: in the frame being explained.

The correction is a rigid motion of the points, ``p' = R(yaw) (p - pivot) + pivot + t``
(odom, m; the pivot is the sensor, so that yaw and translation are nearly independent),
found by Gauss-Newton on the map's distance field ``d`` (point-to-distance-field ICP):

    minimise  sum_i  rho(d(p'_i)) / sigma_point²  +  x^T  Lambda_prior  x,   x = (tx, ty, yaw)

over the points that lie within ``max_inlier_distance_m`` of the map (re-chosen each step;
people and unmapped clutter lie farther and do not pull), with a Huber ``rho``. The prior
keeps x near 0, i.e. trusts the localization where the frame says nothing: along a corridor
the walls fix the cross-corridor offset and the yaw, and the prior the rest. A frame with too
few map points, or one whose solution leaves the bounds, is not aligned (identity): the
detector then explains points exactly as it did without alignment.

The solve starts from 0 and from the previous frame's correction (the error of the
localization changes slowly) and keeps the one with the lower cost. A frame whose walls are
on the map already (misfit at most ``min_misfit_m``) is not corrected at all: with
a right map, fitting people standing by the walls and the rasterised walls' steps would only
move it (measured in the navigation suite, where the map is exact: slower episodes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DistanceFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class AlignmentParams:
    max_inlier_distance_m: float = 0.3  # farther from the map: not the map (people, clutter)
    point_sigma_m: float = 0.03  # a wall point's noise and the map's cell size, together
    huber_m: float = 0.05  # residuals beyond this count linearly (a person by a wall)
    prior_sigma_xy_m: float = 0.2  # how far the localization may place the map off
    prior_sigma_yaw_rad: float = math.radians(8.0)
    max_correction_xy_m: float = 0.5  # a larger correction is not believed
    max_correction_yaw_rad: float = math.radians(15.0)
    min_inliers: int = 40
    # A frame already on the map is left alone: only when its misfit (the 3rd quartile of
    # its near points' distances to the map; a quartile, not the median, so that one wall
    # of a corridor on its place does not hide the other one off it) exceeds this (the wall
    # faces lie half a 5 cm cell from the occupied cells' centres) is a correction looked
    # for, and it is taken only if it brings the misfit down to ``min_gain_ratio`` of it.
    # Otherwise fitting people by the walls, clutter and the rasterised walls' steps would
    # move a map that was right.
    min_misfit_m: float = 0.045
    min_gain_ratio: float = 0.7
    max_points: int = 800  # the frame's points are thinned to this many, evenly
    iterations: int = 8
    gradient_step_m: float = 0.025

    def __post_init__(self) -> None:
        positive = (self.max_inlier_distance_m, self.point_sigma_m, self.huber_m,
                    self.prior_sigma_xy_m, self.prior_sigma_yaw_rad, self.max_correction_xy_m,
                    self.max_correction_yaw_rad, self.gradient_step_m, self.min_misfit_m,
                    self.min_gain_ratio)
        if not all(math.isfinite(v) and v > 0.0 for v in positive):
            raise ValueError(f"alignment parameters must be finite and > 0: {self}")
        if self.min_inliers < 3 or self.max_points < self.min_inliers or self.iterations < 1:
            raise ValueError(f"inconsistent alignment counts: {self}")


@dataclass(frozen=True)
class Alignment:
    """A rigid 2-D correction of points (odom): rotate by ``yaw_rad`` about ``pivot_xy``,
    then translate by ``t_xy``. ``inliers``: map points it rests on; ``rms_m``: their RMS
    distance to the map after it; ``aligned``: False for the identity given up on."""

    t_xy: tuple[float, float] = (0.0, 0.0)
    yaw_rad: float = 0.0
    pivot_xy: tuple[float, float] = (0.0, 0.0)
    inliers: int = 0
    rms_m: float = math.nan
    aligned: bool = False

    def apply(self, xy: np.ndarray) -> np.ndarray:
        """The corrected points (..., 2)."""
        xy = np.asarray(xy, dtype=float)
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        px, py = self.pivot_xy
        dx, dy = xy[..., 0] - px, xy[..., 1] - py
        return np.stack([c * dx - s * dy + px + self.t_xy[0],
                         s * dx + c * dy + py + self.t_xy[1]], axis=-1)

    def explain(self, distance_at: DistanceFn) -> DistanceFn:
        """The map's distance function, read at the corrected points."""
        if not self.aligned:
            return distance_at
        return lambda xy: distance_at(self.apply(xy))

    def corrected_map_pose(self, pose_odom_map_xyyaw: tuple[float, float, float]
                           ) -> tuple[float, float, float]:
        """Where the map belongs in odom: the placement ``pose_odom_map_xyyaw`` (the map
        frame's pose in odom, T_odom_map) moved by this correction's inverse, so that the
        map's walls land on the points instead of the points on the map's."""
        if not self.aligned:
            return tuple(pose_odom_map_xyyaw)
        mx, my, myaw = pose_odom_map_xyyaw
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        px, py = self.pivot_xy
        # T^-1(q) = R^T (q - pivot - t) + pivot, applied to the map origin; yaw less ours
        dx, dy = mx - px - self.t_xy[0], my - py - self.t_xy[1]
        return (c * dx + s * dy + px, -s * dx + c * dy + py, myaw - self.yaw_rad)

    def moved_to(self, pivot_xy: tuple[float, float]) -> Alignment:
        """The same rigid motion written about another pivot."""
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        dx, dy = pivot_xy[0] - self.pivot_xy[0], pivot_xy[1] - self.pivot_xy[1]
        # R(q - p0) + p0 + t = R(q - p1) + p1 + t',  t' = t + R(p1 - p0) - (p1 - p0)
        t = (self.t_xy[0] + c * dx - s * dy - dx, self.t_xy[1] + s * dx + c * dy - dy)
        return Alignment(t, self.yaw_rad, tuple(pivot_xy), self.inliers, self.rms_m,
                         self.aligned)


def _gradient(distance_at: DistanceFn, xy: np.ndarray, h: float) -> np.ndarray:
    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    gx = distance_at(xy + ex) - distance_at(xy - ex)
    gy = distance_at(xy + ey) - distance_at(xy - ey)
    return np.column_stack([gx, gy]) / (2.0 * h)


def _solve(points: np.ndarray, distance_at: DistanceFn, pivot: np.ndarray,
           x0: np.ndarray, p: AlignmentParams) -> tuple[np.ndarray, float, int, float]:
    """Gauss-Newton from ``x0`` = (tx, ty, yaw): (x, cost, inliers, rms_m)."""
    prior_info = np.diag([p.prior_sigma_xy_m ** -2, p.prior_sigma_xy_m ** -2,
                          p.prior_sigma_yaw_rad ** -2])
    w_point = p.point_sigma_m ** -2
    x = x0.astype(float).copy()
    rel = points - pivot

    def residuals(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(x[2]), math.sin(x[2])
        q = np.column_stack([c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]])
        moved = q + pivot + x[:2]
        return distance_at(moved), q

    def cost(r: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
        inl = r < p.max_inlier_distance_m
        a = np.abs(r[inl])
        huber = np.where(a <= p.huber_m, 0.5 * a ** 2, p.huber_m * (a - 0.5 * p.huber_m))
        # an outlier costs as much as a point at the inlier bound: leaving the map is no gain
        b = p.max_inlier_distance_m
        out_cost = (~inl).sum() * p.huber_m * (b - 0.5 * p.huber_m)
        return float(w_point * (huber.sum() + out_cost) + 0.5 * x @ prior_info @ x), inl

    r, q = residuals(x)
    best, inl = cost(r, x)
    for _ in range(p.iterations):
        if inl.sum() < p.min_inliers:
            break
        moved = q[inl] + pivot + x[:2]
        g = _gradient(distance_at, moved, p.gradient_step_m)
        J = np.column_stack([g[:, 0], g[:, 1],
                             -g[:, 0] * q[inl, 1] + g[:, 1] * q[inl, 0]])
        a = np.abs(r[inl])
        w = w_point * np.where(a <= p.huber_m, 1.0, p.huber_m / np.maximum(a, 1e-12))
        H = (J * w[:, None]).T @ J + prior_info
        b = (J * w[:, None]).T @ r[inl] + prior_info @ x
        step = -np.linalg.solve(H, b)
        x_new = x + step
        r_new, q_new = residuals(x_new)
        c_new, inl_new = cost(r_new, x_new)
        if c_new >= best:
            break
        x, r, q, best, inl = x_new, r_new, q_new, c_new, inl_new
        if abs(step[0]) + abs(step[1]) < 1e-4 and abs(step[2]) < 1e-4:
            break
    n = int(inl.sum())
    rms = float(np.sqrt(np.mean(r[inl] ** 2))) if n else math.nan
    return x, best, n, rms


def _misfit(r: np.ndarray, p: AlignmentParams) -> float:
    """The 3rd quartile of the distances to the map of the points near it (nan: too few)."""
    near = r[r < p.max_inlier_distance_m]
    return float(np.percentile(near, 75.0)) if len(near) >= p.min_inliers else math.nan


class MapAligner:
    """Aligns each depth frame to the map, remembering the last correction as the next
    frame's second starting point. ``align`` returns the :class:`Alignment` to read the
    map's distance function through (the identity when the frame cannot be aligned)."""

    def __init__(self, params: AlignmentParams | None = None) -> None:
        self.params = params or AlignmentParams()
        self.last = Alignment()

    def align(self, points: np.ndarray, distance_at: DistanceFn,
              pivot_xy: np.ndarray | tuple[float, float],
              min_z_m: float, max_z_m: float) -> Alignment:
        """Align ``points`` (N, 3), odom, to the map whose distance function (odom points ->
        m) is ``distance_at``; only the points in the obstacle band (``min_z_m``,
        ``max_z_m``] are used (the map holds what stands on the floor)."""
        p = self.params
        pivot = np.asarray(pivot_xy, dtype=float).reshape(2)
        pts = np.asarray(points, dtype=float)
        if not np.all(np.isfinite(pivot)):
            return Alignment()
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        xy = pts[(pts[:, 2] > min_z_m) & (pts[:, 2] <= max_z_m), :2]
        if len(xy) > p.max_points:
            xy = xy[np.linspace(0, len(xy) - 1, p.max_points).astype(np.int64)]
        if len(xy) < p.min_inliers:
            return Alignment(pivot_xy=tuple(pivot))
        r0 = distance_at(xy)
        misfit = _misfit(r0, p)
        if not misfit > p.min_misfit_m:  # on the map already (or no map in view: nan)
            return Alignment(pivot_xy=tuple(pivot))
        starts = [np.zeros(3)]
        if self.last.aligned:
            prev = self.last.moved_to(tuple(pivot))
            starts.append(np.array([prev.t_xy[0], prev.t_xy[1], prev.yaw_rad]))
        solutions = [_solve(xy, distance_at, pivot, x0, p) for x0 in starts]
        x, _, inliers, rms = min(solutions, key=lambda s: s[1])
        ok = (inliers >= p.min_inliers and math.hypot(x[0], x[1]) <= p.max_correction_xy_m
              and abs(x[2]) <= p.max_correction_yaw_rad)
        if ok:
            moved = Alignment((float(x[0]), float(x[1])), float(x[2]), tuple(pivot), aligned=True)
            ok = _misfit(distance_at(moved.apply(xy)), p) <= p.min_gain_ratio * misfit
        if not ok:
            return Alignment(pivot_xy=tuple(pivot))  # and keep the last good one as a start
        self.last = Alignment((float(x[0]), float(x[1])), float(x[2]), tuple(pivot), inliers,
                              rms, True)
        return self.last
