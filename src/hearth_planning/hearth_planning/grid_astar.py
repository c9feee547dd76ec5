"""The global planner's search: cost-aware A* on a :class:`~hearth_planning.costmap.Costmap`,
then shortcutting under line of sight (ROS-free).

``GridPlanner(costmap, penalty).plan(start_xy, goal_xy)``:

1. checks the request (nav2's ComputePathToPose error names, in nav2's priority order: start
   outside the map, goal outside, start occupied, goal occupied, no valid path);
2. lets a start inside the inflation *escape* first: the shortest run of moves, each to a cell
   strictly farther from the obstacles, that reaches a traversable cell;
3. answers "unreachable" at once from the costmap's connected components;
4. runs the compiled A* (:mod:`hearth_planning.astar_kernel`) backwards from the goal, with
   cost multipliers ``costmap.multiplier + penalty`` (the navigability memory's extra cost
   per metre, 0 elsewhere) and the octile distance, or the costmap's landmark heuristic
   (:mod:`hearth_planning.heuristic`), as heuristic; the search tree is kept per goal, so
   that a replan towards the same goal resumes it instead of starting over;
5. shortcuts the optimal grid path (:mod:`hearth_planning.line_of_sight`): never costlier,
   never into inflated space.

With ``goal_substitute_radius_m > 0``, a goal in an obstacle, in the inflation, in unknown
space or unreachable from the start is moved to the nearest reachable traversable cell within
that radius, and the result says so (``goal_note``). A goal outside the map is never moved.
With ``start_substitute_radius_m > 0``, a start in an obstacle or unknown cell (a pose
estimate off by a few decimetres puts the robot in a wall it is not in) is planned from the
nearest traversable cell within that radius; the note says so.
"""

from __future__ import annotations

import heapq
import math
import threading
from dataclasses import dataclass

import numpy as np

from hearth_planning.astar_kernel import SQRT2, SearchTree, padded
from hearth_planning.costmap import Costmap, CostParams
from hearth_planning.heuristic import Landmarks
from hearth_planning.line_of_sight import polyline_cost, shortcut
from hearth_planning.map_io import OccupancyMap

# Names of nav2_msgs/action/ComputePathToPose result codes, in nav2's priority order.
START_OUTSIDE_MAP = "START_OUTSIDE_MAP"
GOAL_OUTSIDE_MAP = "GOAL_OUTSIDE_MAP"
START_OCCUPIED = "START_OCCUPIED"
GOAL_OCCUPIED = "GOAL_OCCUPIED"
NO_VALID_PATH = "NO_VALID_PATH"

# How far past a failed line of sight the shortcut scan looks (cells).
_SHORTCUT_MISSES = 12
# Escapes from the inflation longer than this (cells) are not searched.
_MAX_ESCAPE_CELLS = 20_000


class PlanError(Exception):
    """No path: ``code`` names the nav2 ComputePathToPose error, ``str()`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PlanResult:
    points: np.ndarray  # (N, 2) world x, y (m): the exact start, the corners, the goal
    cells: list[tuple[int, int]]  # (row, col) of the grid path, start cell to goal cell
    length_m: float  # length of the polyline ``points``
    grid_cost_m: float  # optimal cost of the 8-connected path (escape excluded)
    cost_m: float  # cost of the shortcut polyline through the cells of ``points``
    expanded: int  # cells expanded by this call's search
    reused: bool  # the goal's search tree was resumed
    goal_xy: tuple[float, float]  # the goal planned to (moved when substituted)
    goal_note: str = ""  # why and how far the goal was moved; empty when it was not
    escape_cells: int = 0  # cells of the escape from the inflation at the start


class GridPlanner:
    """Plans on one costmap and one penalty layer. Thread-safe; keeps the search tree of the
    last goals for replans."""

    def __init__(
        self,
        costmap: Costmap | OccupancyMap,
        penalty: np.ndarray | float | None = None,
        smooth: bool = True,
        trees_kept: int = 2,
        landmarks: Landmarks | None = None,
    ) -> None:
        """``penalty``: extra cost multiplier per cell (>= 0, the memory's); ``landmarks``:
        the costmap's landmark heuristic (:func:`hearth_planning.heuristic.build_landmarks`),
        or None for the octile distance alone.

        The issue-2 form ``GridPlanner(occupancy_map, inflation_radius_m)`` (hearth_eval's
        fusion drive uses it) still gives what it gave: shortest 8-connected paths through the
        cell centres, outside the inflation, with no cost decay and no shortcutting (unknown
        space is now inflated like a wall)."""
        if isinstance(costmap, OccupancyMap):
            radius = 0.0 if penalty is None else float(penalty)  # type: ignore[arg-type]
            if not (math.isfinite(radius) and radius >= 0.0):
                raise ValueError(f"inflation_radius_m must be >= 0, got {penalty!r}")
            costmap = Costmap(costmap, CostParams(inscribed_radius_m=radius, cost_penalty=0.0))
            penalty, smooth = None, False
        self.costmap = costmap
        self.smooth = smooth
        mult = costmap.multiplier
        if penalty is not None:
            penalty = np.asarray(penalty, dtype=float)
            if penalty.shape != mult.shape or not np.all(np.isfinite(penalty) & (penalty >= 0)):
                raise ValueError("penalty must be finite, >= 0 and of the map's shape")
            mult = mult + penalty
        self.mult = mult  # (H, W), inf where not traversable
        self._mult_p, self._width_p = padded(mult)
        if landmarks is not None and landmarks.costs.shape[0] != self._mult_p.shape[0]:
            raise ValueError("landmarks were built for another map")
        self.landmarks = landmarks
        self._trees: dict[int, SearchTree] = {}
        self._trees_kept = max(1, trees_kept)
        self._lock = threading.Lock()

    # -- the request ------------------------------------------------------------------------

    def plan(
        self,
        start_xy: tuple[float, float],
        goal_xy: tuple[float, float],
        goal_substitute_radius_m: float = 0.0,
        start_substitute_radius_m: float = 0.0,
    ) -> PlanResult:
        """Cheapest path from ``start_xy`` to ``goal_xy`` (world, m); raises PlanError.

        ``start_substitute_radius_m`` > 0: a start in an obstacle or unknown cell (the pose
        estimate is off: the robot is not in the wall) is planned from the nearest
        traversable cell within that radius, and ``goal_note`` says so."""
        cm = self.costmap
        start = cm.world_to_cell(*start_xy)
        goal = cm.world_to_cell(*goal_xy)
        if start is None:
            raise PlanError(
                START_OUTSIDE_MAP,
                f"start ({_fmt(start_xy)}) is outside the map ({cm.extent_text()})",
            )
        if goal is None:
            raise PlanError(
                GOAL_OUTSIDE_MAP,
                f"goal ({_fmt(goal_xy)}) is outside the map ({cm.extent_text()})",
            )
        start_note = ""
        if cm.obstacle[start]:
            where = "an obstacle cell" if cm.lethal[start] else "unknown space"
            message = f"start ({_fmt(start_xy)}) is in {where}"
            moved = (self._nearest_cell(start_xy, cm.traversable, True,
                                       start_substitute_radius_m)
                     if start_substitute_radius_m > 0.0 else None)
            if moved is None:
                if start_substitute_radius_m > 0.0:
                    message += (f"; no free cell within start_substitute_radius_m "
                                f"{start_substitute_radius_m:.2f} m")
                raise PlanError(START_OCCUPIED, message)
            start = moved
            sx, sy = cm.cell_to_world(*start)
            start_note = (f"{message}: planned from the nearest free cell ({sx:.2f}, {sy:.2f}), "
                          f"{math.hypot(sx - start_xy[0], sy - start_xy[1]):.2f} m away (the "
                          "pose estimate is off)")
        escape = [start]
        if not cm.traversable[start]:
            escape = self._escape(start)
            if escape is None:
                raise PlanError(
                    NO_VALID_PATH,
                    f"start ({_fmt(start_xy)}) is {cm.clearance_m[start]:.2f} m from an "
                    "obstacle, inside the inflation, and no move away from the obstacles "
                    "leads out of it",
                )
        plan_start = escape[-1]
        goal_note = ""
        problem = self._goal_problem(goal, goal_xy, plan_start)
        if problem is not None:
            code, message = problem
            moved = (
                self._nearest_reachable(goal_xy, plan_start, goal_substitute_radius_m)
                if goal_substitute_radius_m > 0.0
                else None
            )
            if moved is None:
                if goal_substitute_radius_m > 0.0:
                    message += (
                        f"; no reachable free cell within goal_substitute_radius_m "
                        f"{goal_substitute_radius_m:.2f} m"
                    )
                raise PlanError(code, message)
            goal = moved
            new_xy = cm.cell_to_world(*goal)
            goal_note = (
                f"{message}: planned to the nearest free pose ({_fmt(new_xy)}), "
                f"{math.hypot(new_xy[0] - goal_xy[0], new_xy[1] - goal_xy[1]):.2f} m away"
            )
            goal_xy = new_xy
        with self._lock:
            cells, grid_cost, expanded, reused = self._search(plan_start, goal)
        path_cells = escape[:-1] + cells
        note = "; ".join(n for n in (start_note, goal_note) if n)
        return self._result(
            start_xy, goal_xy, path_cells, len(escape) - 1, grid_cost, expanded, reused, note,
        )  # fmt: skip

    def _goal_problem(
        self, goal: tuple[int, int], goal_xy: tuple[float, float], plan_start: tuple[int, int]
    ) -> tuple[str, str] | None:
        cm = self.costmap
        if cm.lethal[goal]:
            return GOAL_OCCUPIED, f"goal ({_fmt(goal_xy)}) is in an obstacle cell"
        if cm.obstacle[goal]:
            return GOAL_OCCUPIED, f"goal ({_fmt(goal_xy)}) is in unknown space"
        if not cm.traversable[goal]:
            return (
                GOAL_OCCUPIED,
                f"goal ({_fmt(goal_xy)}) is {cm.clearance_m[goal]:.2f} m from an obstacle, "
                f"closer than the robot's inscribed radius "
                f"{cm.params.inscribed_radius_m:.2f} m",
            )
        if cm.component[goal] != cm.component[plan_start]:
            return (
                NO_VALID_PATH,
                f"no collision-free path to goal ({_fmt(goal_xy)}): it is not connected to "
                "the start's free space",
            )
        return None

    # -- search -----------------------------------------------------------------------------

    def _index(self, cell: tuple[int, int]) -> int:
        return (cell[0] + 1) * self._width_p + cell[1] + 1

    def _search(
        self, start: tuple[int, int], goal: tuple[int, int]
    ) -> tuple[list[tuple[int, int]], float, int, bool]:
        root, target = self._index(goal), self._index(start)
        tree = self._trees.pop(root, None)
        reused = tree is not None
        if tree is None:
            lm = self.landmarks.costs if self.landmarks is not None else None
            tree = SearchTree(self._mult_p, self._width_p, root, landmarks=lm)
        self._trees[root] = tree  # most recent last
        while len(self._trees) > self._trees_kept:
            self._trees.pop(next(iter(self._trees)))
        found, expanded = tree.solve(target)
        if not found:  # cannot happen: the components said the goal is reachable
            raise PlanError(NO_VALID_PATH, "no collision-free path (search exhausted)")
        flat = tree.path_to_root(target)
        rows, cols = np.divmod(flat, self._width_p)
        cells = list(zip((rows - 1).tolist(), (cols - 1).tolist(), strict=True))
        grid_cost = float(tree.g[target]) * self.costmap.resolution_m
        return cells, grid_cost, expanded, reused

    def _escape(self, start: tuple[int, int]) -> list[tuple[int, int]] | None:
        """Shortest run of moves from ``start`` (inflated) to a traversable cell, each move to a
        cell strictly farther from the obstacles."""
        cm = self.costmap
        h, w = cm.shape
        clear = cm.clearance_m
        dist = {start: 0.0}
        parent: dict[tuple[int, int], tuple[int, int]] = {}
        heap = [(0.0, start)]
        while heap and len(dist) < _MAX_ESCAPE_CELLS:
            d, cell = heapq.heappop(heap)
            if d > dist[cell]:
                continue
            if cm.traversable[cell]:
                path = [cell]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1]
            r, c = cell
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    nr, nc = r + dr, c + dc
                    if (dr == dc == 0) or not (0 <= nr < h and 0 <= nc < w):
                        continue
                    if cm.obstacle[nr, nc] or clear[nr, nc] <= clear[r, c]:
                        continue
                    if dr and dc and (cm.obstacle[r, nc] or cm.obstacle[nr, c]):
                        continue
                    nd = d + (SQRT2 if dr and dc else 1.0)
                    if nd < dist.get((nr, nc), math.inf):
                        dist[(nr, nc)] = nd
                        parent[(nr, nc)] = cell
                        heapq.heappush(heap, (nd, (nr, nc)))
        return None

    def _nearest_reachable(
        self, goal_xy: tuple[float, float], start: tuple[int, int], radius_m: float
    ) -> tuple[int, int] | None:
        """The traversable cell of ``start``'s component nearest to ``goal_xy``, within
        ``radius_m``; None if there is none."""
        cm = self.costmap
        return self._nearest_cell(goal_xy, cm.component, cm.component[start], radius_m)

    def _nearest_cell(
        self, xy: tuple[float, float], values: np.ndarray, wanted, radius_m: float
    ) -> tuple[int, int] | None:
        """The cell where ``values`` (H, W) equals ``wanted`` nearest to ``xy``, within
        ``radius_m``; None if there is none. Only the window around ``xy`` is looked at."""
        cm = self.costmap
        h, w = cm.shape
        (gr, gc), = cm.world_to_grid(np.array([xy]))
        reach = radius_m / cm.resolution_m
        r0, r1 = max(0, math.floor(gr - reach)), min(h, math.ceil(gr + reach) + 1)
        c0, c1 = max(0, math.floor(gc - reach)), min(w, math.ceil(gc + reach) + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        rr, cc = np.nonzero(values[r0:r1, c0:c1] == wanted)
        if rr.size == 0:
            return None
        d = np.hypot(rr + r0 + 0.5 - gr, cc + c0 + 0.5 - gc)
        i = int(np.argmin(d))
        if d[i] > reach:
            return None
        return int(rr[i] + r0), int(cc[i] + c0)

    # -- the path ---------------------------------------------------------------------------

    def _result(
        self,
        start_xy: tuple[float, float],
        goal_xy: tuple[float, float],
        cells: list[tuple[int, int]],
        n_escape: int,
        grid_cost_m: float,
        expanded: int,
        reused: bool,
        goal_note: str,
    ) -> PlanResult:
        cm = self.costmap
        rows = np.array([r for r, _ in cells], dtype=np.int64)
        cols = np.array([c for _, c in cells], dtype=np.int64)
        # The escape is kept cell by cell; the planned part is shortcut.
        keep = np.arange(len(cells))
        planned = slice(n_escape, len(cells))
        if self.smooth and len(cells) - n_escape > 2:
            pr, pc = rows[planned], cols[planned]
            steps = np.where((np.diff(pr) != 0) & (np.diff(pc) != 0), SQRT2, 1.0)
            m = self.mult[pr, pc]
            cum = np.concatenate(([0.0], np.cumsum(steps * 0.5 * (m[:-1] + m[1:]))))
            corners = shortcut(self.mult, pr, pc, cum, _SHORTCUT_MISSES) + n_escape
            keep = np.concatenate((np.arange(n_escape), corners))
        kr, kc = rows[keep], cols[keep]
        planned_keep = keep >= n_escape
        cost_cells = polyline_cost(self.mult, kr[planned_keep], kc[planned_keep])
        points = cm.cells_to_world(kr, kc)
        if len(points) == 1:
            points = np.array([start_xy, goal_xy], dtype=float)
        else:
            points[0] = start_xy
            points[-1] = goal_xy
        length = float(np.sum(np.hypot(*np.diff(points, axis=0).T)))
        return PlanResult(
            points=points,
            cells=cells,
            length_m=length,
            grid_cost_m=grid_cost_m,
            cost_m=float(cost_cells) * cm.resolution_m,
            expanded=expanded,
            reused=reused,
            goal_xy=(float(goal_xy[0]), float(goal_xy[1])),
            goal_note=goal_note,
            escape_cells=n_escape,
        )


def _fmt(xy: tuple[float, float]) -> str:
    return f"{xy[0]:.2f}, {xy[1]:.2f}"


def warm_up() -> None:
    """Compile (or load from numba's on-disk cache) the search and line-of-sight kernels, so
    that the first real plan is not slowed by it."""
    from hearth_planning.costmap import CostParams
    from hearth_planning.map_io import OccupancyMap

    data = np.zeros((12, 12), np.int8)
    data[0, :] = 100
    costmap = Costmap(OccupancyMap(data, 0.1), CostParams(inscribed_radius_m=0.1))
    GridPlanner(costmap).plan((0.25, 0.55), (1.05, 0.95))
