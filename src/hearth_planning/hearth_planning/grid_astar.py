"""8-connected A* on an occupancy map inflated by the robot's radius (ROS-free).

* A cell is *blocked* when it is unknown (-1) or at least ``lethal_occupancy`` (an obstacle).
* A cell is *traversable* when it is not blocked and its centre lies farther than the
  inflation radius (the robot's radius, plus any margin the caller wants) from the centre of
  every obstacle cell (the convention of nav2's inscribed inflation; distances from
  ``scipy.ndimage.distance_transform_edt``). Unknown cells are untraversable but are not
  inflated.
* Moves go to the 8 neighbours at cost ``resolution`` (straight) or ``resolution * sqrt(2)``
  (diagonal). A diagonal move needs both cells it squeezes between to be passable, so a path
  never cuts the corner of an obstacle cell. The octile distance is the heuristic: it equals the
  cost of the cheapest move sequence on an empty grid, so it is admissible and consistent and
  the path found is a shortest 8-connected path.
* A robot whose start cell is inside the inflation (too close to an obstacle, but not in one)
  may leave it: from such a cell a move may enter another inflated cell only if that cell is
  strictly farther from the obstacles. Once in traversable space the path stays there.

The path runs from the exact start through the centres of the cells in between to the exact
goal. Errors are :class:`PlanError` with a nav2 ``ComputePathToPose`` error name as ``code``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import distance_transform_edt

from hearth_planning.map_io import OccupancyMap

SQRT2 = math.sqrt(2.0)

# Names of nav2_msgs/action/ComputePathToPose result codes, in nav2's priority order.
START_OUTSIDE_MAP = "START_OUTSIDE_MAP"
GOAL_OUTSIDE_MAP = "GOAL_OUTSIDE_MAP"
START_OCCUPIED = "START_OCCUPIED"
GOAL_OCCUPIED = "GOAL_OCCUPIED"
NO_VALID_PATH = "NO_VALID_PATH"


class PlanError(Exception):
    """No path: ``code`` names the nav2 ComputePathToPose error, ``str()`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PlanResult:
    points: np.ndarray  # (N, 2) world x, y (m), from the exact start to the exact goal
    cells: list[tuple[int, int]]  # (row, col) of each grid step, start cell to goal cell
    length_m: float  # length of the polyline ``points``
    grid_cost_m: float  # cost of the 8-connected cell path (centre to centre)
    expanded: int  # cells expanded by the search


# ---------------------------------------------------------------------------------------------
# World <-> grid


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


def octile_distance(dr: int, dc: int) -> float:
    """Cost in cells of the cheapest 8-connected move sequence over (dr, dc) on an empty grid."""
    dr, dc = abs(dr), abs(dc)
    return max(dr, dc) + (SQRT2 - 1.0) * min(dr, dc)


# ---------------------------------------------------------------------------------------------
# Planner


class GridPlanner:
    """A* planner on one map and inflation radius (inflation is computed once, here)."""

    def __init__(
        self, occ_map: OccupancyMap, inflation_radius_m: float, lethal_occupancy: int = 65
    ) -> None:
        if not (math.isfinite(inflation_radius_m) and inflation_radius_m >= 0.0):
            raise ValueError(f"inflation_radius_m must be >= 0, got {inflation_radius_m!r}")
        if not 1 <= lethal_occupancy <= 100:
            raise ValueError(f"lethal_occupancy must be in 1..100, got {lethal_occupancy!r}")
        self.map = occ_map
        self.inflation_radius_m = float(inflation_radius_m)
        data = occ_map.data
        self.lethal = data >= lethal_occupancy
        self.unknown = data < 0
        self.blocked = self.lethal | self.unknown
        if self.lethal.any():
            # Distance from each cell centre to the nearest obstacle cell centre, in metres.
            self.clearance_m = distance_transform_edt(~self.lethal) * occ_map.resolution_m
        else:
            self.clearance_m = np.full(data.shape, np.inf)
        self.traversable = ~self.blocked & (self.clearance_m > self.inflation_radius_m)

    def plan(self, start_xy: tuple[float, float], goal_xy: tuple[float, float]) -> PlanResult:
        """Shortest 8-connected path from ``start_xy`` to ``goal_xy`` (world, m)."""
        start = world_to_cell(self.map, *start_xy)
        goal = world_to_cell(self.map, *goal_xy)
        if start is None:
            raise PlanError(
                START_OUTSIDE_MAP, f"start ({_fmt(start_xy)}) is outside the map ({self._extent()})"
            )
        if goal is None:
            raise PlanError(
                GOAL_OUTSIDE_MAP, f"goal ({_fmt(goal_xy)}) is outside the map ({self._extent()})"
            )
        if self.lethal[start]:
            raise PlanError(START_OCCUPIED, f"start ({_fmt(start_xy)}) is in an obstacle cell")
        if self.unknown[start]:
            raise PlanError(START_OCCUPIED, f"start ({_fmt(start_xy)}) is in unknown space")
        if self.lethal[goal]:
            raise PlanError(GOAL_OCCUPIED, f"goal ({_fmt(goal_xy)}) is in an obstacle cell")
        if self.unknown[goal]:
            raise PlanError(GOAL_OCCUPIED, f"goal ({_fmt(goal_xy)}) is in unknown space")
        if not self.traversable[goal]:
            raise PlanError(
                GOAL_OCCUPIED,
                f"goal ({_fmt(goal_xy)}) is {self.clearance_m[goal]:.2f} m from an obstacle, "
                f"closer than the inflation radius {self.inflation_radius_m:.2f} m",
            )
        cells, cost_cells, expanded = self._astar(start, goal)
        if cells is None:
            where = "" if self.traversable[start] else " (the start is inside the inflation)"
            raise PlanError(
                NO_VALID_PATH,
                f"no collision-free path from ({_fmt(start_xy)}) to ({_fmt(goal_xy)}){where}",
            )
        centres = [cell_to_world(self.map, r, c) for r, c in cells]
        points = np.array(centres, dtype=float).reshape(-1, 2)
        if len(cells) == 1:
            points = np.array([start_xy, goal_xy], dtype=float)
        else:
            points[0] = start_xy
            points[-1] = goal_xy
        length = float(np.sum(np.hypot(*np.diff(points, axis=0).T)))
        return PlanResult(
            points=points,
            cells=cells,
            length_m=length,
            grid_cost_m=cost_cells * self.map.resolution_m,
            expanded=expanded,
        )

    def _astar(
        self, start: tuple[int, int], goal: tuple[int, int]
    ) -> tuple[list[tuple[int, int]] | None, float, int]:
        h, w = self.map.height, self.map.width
        wp = w + 2  # padded by one blocked cell all round: no bounds checks in the loop
        trav = np.zeros((h + 2, w + 2), dtype=bool)
        trav[1:-1, 1:-1] = self.traversable
        free = np.zeros((h + 2, w + 2), dtype=bool)  # passable while escaping the inflation
        free[1:-1, 1:-1] = ~self.blocked
        clear = np.full((h + 2, w + 2), -1.0)
        clear[1:-1, 1:-1] = np.minimum(self.clearance_m, 1e9)
        trav_l, free_l, clear_l = (
            trav.ravel().tolist(),
            free.ravel().tolist(),
            clear.ravel().tolist(),
        )

        def index(cell: tuple[int, int]) -> int:
            return (cell[0] + 1) * wp + cell[1] + 1

        s, g = index(start), index(goal)
        gr, gc = divmod(g, wp)
        n = (h + 2) * wp
        cost = [math.inf] * n
        parent = [-1] * n
        closed = [False] * n
        cost[s] = 0.0
        heap = [(octile_distance(s // wp - gr, s % wp - gc), -0.0, s)]  # ties: deeper first
        # (offset, step cost, side offsets that a diagonal squeezes between)
        moves = [
            (1, 1.0, ()), (-1, 1.0, ()), (wp, 1.0, ()), (-wp, 1.0, ()),
            (wp + 1, SQRT2, (wp, 1)), (wp - 1, SQRT2, (wp, -1)),
            (-wp + 1, SQRT2, (-wp, 1)), (-wp - 1, SQRT2, (-wp, -1)),
        ]  # fmt: skip
        expanded = 0
        while heap:
            cur = heapq.heappop(heap)[2]
            if closed[cur]:
                continue
            gcur = cost[cur]
            closed[cur] = True
            expanded += 1
            if cur == g:
                break
            escaping = not trav_l[cur]
            for off, step, sides in moves:
                nb = cur + off
                if closed[nb]:
                    continue
                if escaping:
                    if not free_l[nb] or not (trav_l[nb] or clear_l[nb] > clear_l[cur]):
                        continue
                    if sides and not (free_l[cur + sides[0]] and free_l[cur + sides[1]]):
                        continue
                else:
                    if not trav_l[nb]:
                        continue
                    if sides and not (trav_l[cur + sides[0]] and trav_l[cur + sides[1]]):
                        continue
                new_cost = gcur + step
                if new_cost < cost[nb]:
                    cost[nb] = new_cost
                    parent[nb] = cur
                    r, c = divmod(nb, wp)
                    heapq.heappush(
                        heap, (new_cost + octile_distance(r - gr, c - gc), -new_cost, nb)
                    )
        if not closed[g]:
            return None, math.inf, expanded
        path = []
        cur = g
        while cur != -1:
            r, c = divmod(cur, wp)
            path.append((r - 1, c - 1))
            cur = parent[cur]
        path.reverse()
        return path, cost[g], expanded

    def _extent(self) -> str:
        m = self.map
        xs, ys = zip(
            *(cell_to_world(m, r - 0.5, c - 0.5) for r in (0, m.height) for c in (0, m.width)),
            strict=True,
        )
        return f"x {min(xs):.2f}..{max(xs):.2f} m, y {min(ys):.2f}..{max(ys):.2f} m"


def _fmt(xy: tuple[float, float]) -> str:
    return f"{xy[0]:.2f}, {xy[1]:.2f}"
