"""/map from the ToF depth camera, registered with keyframe poses (ROS-free).

Per keyframe, the depth image becomes a small **scan** in base_link, kept for the life of
the keyframe (a few kB, float16):

- **obstacle points**: (x, y) of the points between ``obstacle_min_z_m`` and
  ``obstacle_max_z_m`` above the floor (what the robot would hit), one per
  ``resolution_m`` cell;
- **a virtual range scan** of the free floor: for each of ``bearing_bins`` bearings across
  the field of view, the range up to which the floor is seen free: the nearest obstacle
  point's range (exclusive) when the bearing has one, else the farthest floor point's
  (``z < floor_max_z_m``). Points above ``obstacle_max_z_m`` (a table top) clear nothing:
  what is under them is not seen. Points within the robot's own footprint (the ToF sees
  the chassis edge) are dropped.

**Rendering.** Every keyframe's scan is put in the map at the keyframe's *optimised* pose
(x, y, yaw of base_link): the free polygon (the sensor's origin and the range scan's end
points) is filled (``cv2.fillPoly``) and its cells get ``log_odds_miss``, the obstacle
cells ``log_odds_hit``, clamped to [``log_odds_min``, ``log_odds_max``] after each scan, in
keyframe order. ``render(ids, poses)`` redoes the whole map from the stored scans (after a
loop closure moved keyframes); ``integrate`` adds one keyframe's scan to the current map.

**Output.** ``occupancy_grid()`` gives nav_msgs/OccupancyGrid's data: int8, row 0 at the
lowest y, 100 where p >= ``occupied_probability``, 0 where p <= ``free_probability``, -1
where never observed or undecided; with the origin (x, y of cell (0, 0)'s corner) and the
resolution. The grid grows (in ``grow_step_m`` steps) to cover what was seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from hearth_slam import se3


@dataclass(frozen=True)
class OccupancyParams:
    resolution_m: float = 0.05
    log_odds_hit: float = 0.85  # p = 0.70 per hit: one sighting marks an obstacle
    log_odds_miss: float = -0.7  # p = 0.33 per pass: two passes clear a cell
    log_odds_min: float = -2.0
    log_odds_max: float = 2.0  # three passes clear a moved chair
    occupied_probability: float = 0.65
    free_probability: float = 0.25
    floor_max_z_m: float = 0.03
    obstacle_min_z_m: float = 0.04
    obstacle_max_z_m: float = 0.8  # the robot's height (mast and screen) plus a margin
    max_range_m: float = 4.0  # the ToF's
    robot_radius_m: float = 0.23  # nearer base_link is the robot itself (17.5 cm + 5 cm)
    bearing_bins: int = 90
    depth_stride_px: int = 2
    grow_step_m: float = 2.0

    def __post_init__(self) -> None:
        if not self.resolution_m > 0.0 or not self.max_range_m > 0.0:
            raise ValueError("OccupancyParams: resolution_m and max_range_m must be > 0")
        if not (self.log_odds_hit > 0.0 > self.log_odds_miss
                and self.log_odds_min < 0.0 < self.log_odds_max):
            raise ValueError("OccupancyParams: hit > 0 > miss, min < 0 < max")
        if not 0.0 < self.free_probability < 0.5 < self.occupied_probability < 1.0:
            raise ValueError("OccupancyParams: 0 < free < 0.5 < occupied < 1")
        if self.bearing_bins < 3 or self.depth_stride_px < 1:
            raise ValueError("OccupancyParams: bearing_bins >= 3, depth_stride_px >= 1")


@dataclass(frozen=True)
class KeyframeScan:
    """One keyframe's ToF scan in its base_link (see the module doc)."""

    origin_xy: np.ndarray  # (2,) float32: the sensor in base_link
    bearing_min_rad: float  # the first bin's lower edge, in base_link
    bearing_step_rad: float
    free_range_m: np.ndarray  # (bins,) float16, 0: nothing seen on that bearing
    obstacles_xy: np.ndarray  # (n, 2) float16 in base_link

    @property
    def nbytes(self) -> int:
        return self.free_range_m.nbytes + self.obstacles_xy.nbytes + 16


def depth_to_points(depth_m: np.ndarray, K: np.ndarray, stride_px: int = 1) -> np.ndarray:
    """Points (N, 3) in the optical frame of a depth image (metres along the optical axis;
    NaN, inf and <= 0 skipped), every ``stride_px``-th pixel."""
    d = np.asarray(depth_m, dtype=np.float32)[::stride_px, ::stride_px]
    v, u = np.mgrid[0:d.shape[0], 0:d.shape[1]]
    u, v = u * stride_px, v * stride_px
    ok = np.isfinite(d) & (d > 0.0)
    z = d[ok].astype(float)
    x = (u[ok] - K[0, 2]) * z / K[0, 0]
    y = (v[ok] - K[1, 2]) * z / K[1, 1]
    return np.column_stack([x, y, z])


def make_scan(depth_m: np.ndarray, K: np.ndarray, pose_base_tof: np.ndarray,
              params: OccupancyParams | None = None) -> KeyframeScan:
    """A keyframe's scan from its ToF depth image (``K`` the ToF's 3x3, ``pose_base_tof``
    the ToF optical frame in base_link)."""
    p = params or OccupancyParams()
    pts = se3.transform_points(pose_base_tof, depth_to_points(depth_m, K, p.depth_stride_px))
    origin = pose_base_tof[:2, 3]
    rel = pts[:, :2] - origin
    rng = np.hypot(rel[:, 0], rel[:, 1])
    keep = (rng <= p.max_range_m) & (np.hypot(pts[:, 0], pts[:, 1]) > p.robot_radius_m)
    pts, rel, rng = pts[keep], rel[keep], rng[keep]
    z = pts[:, 2]
    floor = z < p.floor_max_z_m
    obstacle = (z >= p.obstacle_min_z_m) & (z <= p.obstacle_max_z_m)
    # the bearings the ToF covers, from its optical axis in base_link and its field of view
    axis = pose_base_tof[:3, 2]
    centre = math.atan2(axis[1], axis[0])
    half = math.atan2(depth_m.shape[1] / 2.0, K[0, 0])
    lo, step = centre - half, 2.0 * half / p.bearing_bins
    bearing = np.arctan2(rel[:, 1], rel[:, 0])
    bins = np.clip(((bearing - lo) / step).astype(int), 0, p.bearing_bins - 1)
    free = np.zeros(p.bearing_bins)
    np.maximum.at(free, bins[floor], rng[floor])
    nearest = np.full(p.bearing_bins, np.inf)
    np.minimum.at(nearest, bins[obstacle], rng[obstacle])
    blocked = np.isfinite(nearest)
    free[blocked] = np.maximum(nearest[blocked] - p.resolution_m, 0.0)
    cells = np.unique(np.floor(pts[obstacle, :2] / p.resolution_m).astype(np.int64), axis=0)
    obstacles = (cells + 0.5) * p.resolution_m
    return KeyframeScan(origin.astype(np.float32), lo, step, free.astype(np.float16),
                        obstacles.astype(np.float16))


def _planar(T: np.ndarray) -> tuple[float, float, float]:
    return float(T[0, 3]), float(T[1, 3]), math.atan2(T[1, 0], T[0, 0])


class OccupancyMapper:
    """Scans per keyframe and the log-odds grid rendered from them (module doc)."""

    def __init__(self, params: OccupancyParams | None = None) -> None:
        self.p = params or OccupancyParams()
        self.scans: dict[int, KeyframeScan] = {}
        self._log_odds = np.zeros((0, 0), dtype=np.float32)
        self._seen = np.zeros((0, 0), dtype=bool)
        self._origin = np.zeros(2)  # world xy of cell (0, 0)'s corner

    # ------------------------------------------------------------------ scans

    def add_scan(self, kf_id: int, scan: KeyframeScan) -> None:
        self.scans[int(kf_id)] = scan

    def remove(self, kf_id: int) -> None:
        self.scans.pop(int(kf_id), None)

    def reanchor(self, kf_id: int, anchor_id: int, pose_anchor_kf: np.ndarray) -> None:
        """A culled keyframe's scan joins its anchor's: its obstacles move into the anchor's
        base_link (merged, one per cell); its free-range scan, seen from elsewhere, is
        dropped (the neighbours saw that floor too)."""
        scan = self.scans.pop(int(kf_id), None)
        anchor = self.scans.get(int(anchor_id))
        if scan is None or anchor is None or len(scan.obstacles_xy) == 0:
            return
        T = np.asarray(pose_anchor_kf, dtype=float)
        xy = scan.obstacles_xy.astype(float) @ T[:2, :2].T + T[:2, 3]
        both = np.vstack([anchor.obstacles_xy.astype(float), xy])
        res = self.p.resolution_m
        cells = np.unique(np.floor(both / res).astype(np.int64), axis=0)
        self.scans[int(anchor_id)] = KeyframeScan(
            anchor.origin_xy, anchor.bearing_min_rad, anchor.bearing_step_rad,
            anchor.free_range_m, ((cells + 0.5) * res).astype(np.float16))

    def memory_bytes(self) -> int:
        return sum(s.nbytes for s in self.scans.values()) + self._log_odds.nbytes \
            + self._seen.nbytes

    # ------------------------------------------------------------------ the grid

    def reset(self) -> None:
        self._log_odds = np.zeros((0, 0), dtype=np.float32)
        self._seen = np.zeros((0, 0), dtype=bool)

    def render(self, kf_ids: np.ndarray, poses_map_base: np.ndarray) -> None:
        """The whole grid again from the stored scans at these keyframe poses (``kf_ids``
        (K,), ``poses_map_base`` (K, 4, 4)); keyframes without a scan are skipped."""
        self.reset()
        for k, T in sorted(zip(np.asarray(kf_ids).tolist(), poses_map_base, strict=True)):
            self.integrate(k, T)

    def integrate(self, kf_id: int, pose_map_base: np.ndarray) -> bool:
        """Add one keyframe's scan at its pose; False when it has no scan."""
        scan = self.scans.get(int(kf_id))
        if scan is None:
            return False
        p = self.p
        x, y, yaw = _planar(np.asarray(pose_map_base, dtype=float))
        c, s = math.cos(yaw), math.sin(yaw)
        R = np.array([[c, -s], [s, c]])
        origin = R @ scan.origin_xy.astype(float) + (x, y)
        ranges = scan.free_range_m.astype(float)
        edges = scan.bearing_min_rad + scan.bearing_step_rad * np.arange(len(ranges) + 1)
        # each bin's arc as its two edge points, so the polygon hugs the range scan
        ang = np.repeat(edges, 2)[1:-1] + yaw
        r = np.repeat(ranges, 2)
        local = np.column_stack([r * np.cos(ang), r * np.sin(ang)])
        poly = np.vstack([[0.0, 0.0], local]) + origin
        obst = scan.obstacles_xy.astype(float) @ R.T + (x, y)
        pts = np.vstack([poly, obst]) if len(obst) else poly
        self._cover(pts.min(axis=0), pts.max(axis=0))
        res = p.resolution_m
        lo = np.floor((poly.min(axis=0) - self._origin) / res).astype(int)
        hi = np.ceil((poly.max(axis=0) - self._origin) / res).astype(int) + 1
        mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), dtype=np.uint8)
        vertices = np.round((poly - self._origin) / res - lo - 0.5).astype(np.int32)
        if ranges.max(initial=0.0) > 0.0:
            cv2.fillPoly(mask, [vertices.reshape(-1, 1, 2)], 1)
        free = np.zeros(self._log_odds.shape, dtype=bool)
        free[lo[1]:hi[1], lo[0]:hi[0]] = mask.astype(bool)
        hit = np.zeros_like(free)
        if len(obst):
            cells = np.floor((obst - self._origin) / res).astype(int)
            hit[cells[:, 1], cells[:, 0]] = True
        free &= ~hit
        self._log_odds[free] += p.log_odds_miss
        self._log_odds[hit] += p.log_odds_hit
        np.clip(self._log_odds, p.log_odds_min, p.log_odds_max, out=self._log_odds)
        self._seen |= free | hit
        return True

    def _cover(self, lo_xy: np.ndarray, hi_xy: np.ndarray) -> None:
        """Grow the grid (by whole ``grow_step_m`` steps) to hold the box."""
        p = self.p
        res = p.resolution_m
        step = max(1, round(p.grow_step_m / res))
        if self._log_odds.size == 0:
            self._origin = np.floor(lo_xy / p.grow_step_m) * p.grow_step_m
            self._log_odds = np.zeros((step, step), np.float32)
            self._seen = np.zeros((step, step), dtype=bool)
        rows, cols = self._log_odds.shape
        lo_c = np.floor((lo_xy - self._origin) / res).astype(int)
        hi_c = np.ceil((hi_xy - self._origin) / res).astype(int) + 1
        pad_lo = np.where(lo_c < 0, (-lo_c + step - 1) // step * step, 0)
        pad_hi = np.where(hi_c > (cols, rows), (hi_c - (cols, rows) + step - 1) // step * step,
                          0)
        if pad_lo.any() or pad_hi.any():
            widths = ((pad_lo[1], pad_hi[1]), (pad_lo[0], pad_hi[0]))
            self._log_odds = np.pad(self._log_odds, widths)
            self._seen = np.pad(self._seen, widths)
            self._origin = self._origin - pad_lo * res

    def log_odds(self) -> np.ndarray:
        return self._log_odds.copy()

    def seen(self) -> np.ndarray:
        """Cells any scan has covered."""
        return self._seen.copy()

    def set_grid(self, log_odds: np.ndarray, seen: np.ndarray, origin_xy: np.ndarray) -> None:
        """Take a grid as it was saved (``map_store``)."""
        if log_odds.shape != seen.shape or log_odds.ndim != 2:
            raise ValueError("log_odds and seen must be 2-D arrays of one shape")
        self._log_odds = np.asarray(log_odds, dtype=np.float32).copy()
        self._seen = np.asarray(seen, dtype=bool).copy()
        self._origin = np.asarray(origin_xy, dtype=float).reshape(2).copy()

    def occupancy_grid(self) -> tuple[np.ndarray, tuple[float, float], float]:
        """(data (rows, cols) int8 in nav_msgs/OccupancyGrid's values, origin (x, y) m of
        cell (0, 0)'s corner, resolution m)."""
        p = self.p
        hit = math.log(p.occupied_probability / (1.0 - p.occupied_probability))
        free = math.log(p.free_probability / (1.0 - p.free_probability))
        data = np.full(self._log_odds.shape, -1, dtype=np.int8)
        data[self._seen & (self._log_odds >= hit)] = 100
        data[self._seen & (self._log_odds <= free)] = 0
        return data, (float(self._origin[0]), float(self._origin[1])), p.resolution_m
