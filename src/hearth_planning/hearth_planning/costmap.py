"""The planning costmap: an occupancy map turned into a cost per metre of travel (ROS-free).

Built once per map and cached by the planner (the distance field is the expensive part); the
navigability memory's penalties are added on top without rebuilding it.

* A cell is an *obstacle* when its occupancy is ``>= lethal_occupancy``, or when it is unknown
  (-1) and ``allow_unknown`` is false: unknown space is then treated as a wall, and inflated
  like one, so that paths keep away from what the robot has not seen.
* ``clearance_m`` is the distance from each cell's centre to the centre of the nearest
  obstacle cell (the distance field, OpenCV's exact Euclidean transform).
* A cell is *traversable* when it is not an obstacle and ``clearance_m > inscribed_radius_m``
  (the robot's radius plus the planner's margin: nav2's inscribed inflation). Cells closer
  than that are *inflated*: the robot's centre must not go there, except to leave them.
* Each traversable cell has a *cost multiplier* ``m >= 1``, the cost of one metre of travel
  through it (nav2's inflation layer decay, applied as Smac's travel-cost penalty)::

      m = 1 + cost_penalty * exp(-cost_scaling_factor * (clearance_m - inscribed_radius_m))
                                            for clearance_m <= cost_inflation_radius_m
      m = 1                                 farther out
      m = 1 + unknown_penalty               in unknown cells, when allow_unknown is true

  so paths keep to the middle of hallways and doorways. A move between neighbouring cells
  ``a`` and ``b`` costs ``length_m * (m_a + m_b) / 2`` (as scikit-image's MCP_Geometric
  counts it), so the cheapest path of an empty map is the shortest one and the octile
  distance is an admissible, consistent heuristic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from hearth_planning.map_io import OccupancyMap

# 4-connected labelling: with diagonal moves allowed only when both side cells are
# traversable (no corner cutting), 8-connected reachability equals 4-connected reachability.
_FOUR = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class CostParams:
    """How occupancy becomes cost. Lengths in metres, ``cost_scaling_factor`` in 1/m."""

    inscribed_radius_m: float  # the robot's radius plus margin: no robot centre closer
    lethal_occupancy: int = 65
    allow_unknown: bool = False
    unknown_penalty: float = 1.0
    cost_inflation_radius_m: float = 1.0
    cost_scaling_factor: float = 3.0
    cost_penalty: float = 2.0

    def __post_init__(self) -> None:
        for name in ("inscribed_radius_m", "unknown_penalty", "cost_inflation_radius_m",
                     "cost_scaling_factor", "cost_penalty"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not 1 <= self.lethal_occupancy <= 100:
            raise ValueError(f"lethal_occupancy must be in 1..100, got {self.lethal_occupancy!r}")


class Costmap:
    """One map's obstacles, distance field, traversable cells, cost multipliers and
    connected components. Immutable once built."""

    def __init__(self, occ_map: OccupancyMap, params: CostParams) -> None:
        self.map = occ_map
        self.params = params
        self.resolution_m = float(occ_map.resolution_m)
        data = occ_map.data
        self.lethal = data >= params.lethal_occupancy
        self.unknown = data < 0
        self.obstacle = self.lethal | (self.unknown & (not params.allow_unknown))
        self.clearance_m = clearance_field_m(self.obstacle, self.resolution_m)
        self.traversable = ~self.obstacle & (self.clearance_m > params.inscribed_radius_m)
        self.inflated = ~self.obstacle & ~self.traversable
        self.multiplier = self._multipliers()
        # Connected components of the traversable cells: reachability in O(1) per query.
        self.component, _ = ndimage.label(self.traversable, structure=_FOUR)

    def _multipliers(self) -> np.ndarray:
        p = self.params
        excess = np.maximum(self.clearance_m - p.inscribed_radius_m, 0.0)
        m = 1.0 + p.cost_penalty * np.exp(-p.cost_scaling_factor * excess)
        m[self.clearance_m > p.cost_inflation_radius_m] = 1.0
        if p.allow_unknown:
            m[self.unknown] = 1.0 + p.unknown_penalty
        m[~self.traversable] = np.inf
        return m

    # -- geometry ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        return self.lethal.shape

    def world_to_cell(self, x: float, y: float) -> tuple[int, int] | None:
        return world_to_cell(self.map, x, y)

    def cell_to_world(self, row: float, col: float) -> tuple[float, float]:
        return cell_to_world(self.map, row, col)

    def cells_to_world(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 2) world x, y of cell centres (vectorised :func:`cell_to_world`)."""
        m = self.map
        u = (np.asarray(cols, dtype=float) + 0.5) * m.resolution_m
        v = (np.asarray(rows, dtype=float) + 0.5) * m.resolution_m
        c, s = math.cos(m.origin_yaw_rad), math.sin(m.origin_yaw_rad)
        return np.column_stack((m.origin_x_m + c * u - s * v, m.origin_y_m + s * u + c * v))

    def world_to_grid(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) continuous (row, col) coordinates of world points; cell (r, c) spans
        [r, r+1) x [c, c+1), so its centre is (r + 0.5, c + 0.5)."""
        m = self.map
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        dx, dy = xy[:, 0] - m.origin_x_m, xy[:, 1] - m.origin_y_m
        c, s = math.cos(m.origin_yaw_rad), math.sin(m.origin_yaw_rad)
        u, v = c * dx + s * dy, -s * dx + c * dy
        return np.column_stack((v / m.resolution_m, u / m.resolution_m))

    def extent_text(self) -> str:
        m = self.map
        xs, ys = zip(
            *(cell_to_world(m, r - 0.5, c - 0.5) for r in (0, m.height) for c in (0, m.width)),
            strict=True,
        )
        return f"x {min(xs):.2f}..{max(xs):.2f} m, y {min(ys):.2f}..{max(ys):.2f} m"

    def same_grid(self, other: Costmap) -> bool:
        """True when ``other`` covers the same cells (size, resolution, origin)."""
        a, b = self.map, other.map
        return (
            a.data.shape == b.data.shape
            and a.resolution_m == b.resolution_m
            and (a.origin_x_m, a.origin_y_m, a.origin_yaw_rad)
            == (b.origin_x_m, b.origin_y_m, b.origin_yaw_rad)
        )


def clearance_field_m(obstacle: np.ndarray, resolution_m: float) -> np.ndarray:
    """Distance (m) from each cell centre to the nearest obstacle cell centre; inf when the
    map has no obstacle."""
    if not obstacle.any():
        return np.full(obstacle.shape, np.inf)
    free = np.ascontiguousarray(~obstacle, dtype=np.uint8)
    dist = cv2.distanceTransform(free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist.astype(np.float64) * resolution_m


def world_to_cell(occ_map: OccupancyMap, x: float, y: float) -> tuple[int, int] | None:
    """(row, col) of the cell containing world point (x, y), or None outside the map."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    dx, dy = x - occ_map.origin_x_m, y - occ_map.origin_y_m
    c, s = math.cos(occ_map.origin_yaw_rad), math.sin(occ_map.origin_yaw_rad)
    u, v = c * dx + s * dy, -s * dx + c * dy
    col = math.floor(u / occ_map.resolution_m)
    row = math.floor(v / occ_map.resolution_m)
    if 0 <= row < occ_map.height and 0 <= col < occ_map.width:
        return row, col
    return None


def cell_to_world(occ_map: OccupancyMap, row: float, col: float) -> tuple[float, float]:
    """World (x, y) of the centre of cell (row, col)."""
    u = (col + 0.5) * occ_map.resolution_m
    v = (row + 0.5) * occ_map.resolution_m
    c, s = math.cos(occ_map.origin_yaw_rad), math.sin(occ_map.origin_yaw_rad)
    return occ_map.origin_x_m + c * u - s * v, occ_map.origin_y_m + s * u + c * v
