"""A* on the inflated map: shortest 8-connected paths, never through obstacles, clear errors."""

import heapq
import itertools
import math

import numpy as np
import pytest

from hearth_planning.grid_astar import (
    GOAL_OCCUPIED,
    GOAL_OUTSIDE_MAP,
    NO_VALID_PATH,
    START_OCCUPIED,
    START_OUTSIDE_MAP,
    GridPlanner,
    PlanError,
    cell_to_world,
    octile_distance,
    world_to_cell,
)
from hearth_planning.map_io import OccupancyMap
from hearth_planning.paths import path_length, remaining_length

RES = 0.1


def _map(rows, origin=(0.0, 0.0, 0.0)):
    """A map from strings, top row first as drawn: '#' obstacle, '?' unknown, '.' free."""
    values = {"#": 100, "?": -1, ".": 0}
    grid = np.array([[values[ch] for ch in row] for row in rows], dtype=np.int8)
    return OccupancyMap(np.flipud(grid).copy(), RES, *origin)


def _dijkstra(traversable, start, goal):
    """Reference: plain Dijkstra with the same moves (no corner cutting), cost in cells."""
    h, w = traversable.shape
    dist = {start: 0.0}
    heap = [(0.0, start)]
    done = set()
    while heap:
        d, (r, c) = heapq.heappop(heap)
        if (r, c) in done:
            continue
        done.add((r, c))
        if (r, c) == goal:
            return d
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == dc == 0:
                    continue
                nr, nc = r + dr, c + dc
                if not (0 <= nr < h and 0 <= nc < w) or not traversable[nr, nc]:
                    continue
                if dr and dc and not (traversable[r + dr, c] and traversable[r, c + dc]):
                    continue
                nd = d + (math.sqrt(2.0) if dr and dc else 1.0)
                if nd < dist.get((nr, nc), math.inf):
                    dist[(nr, nc)] = nd
                    heapq.heappush(heap, (nd, (nr, nc)))
    return math.inf


MAZE = [
    "....................",
    "..######.......#....",
    "..#............#....",
    "..#..#######...#....",
    "..#........#...###..",
    "..#####....#........",
    "......#....######...",
    "......#.............",
    "..#...#######.......",
    "..#.................",
]


def _assert_path_avoids(planner, result):
    for r, c in result.cells:
        assert planner.traversable[r, c], f"path enters untraversable cell {(r, c)}"
    # consecutive cells are 8-neighbours and diagonals never squeeze past a blocked cell
    for (r0, c0), (r1, c1) in zip(result.cells, result.cells[1:], strict=False):
        assert max(abs(r1 - r0), abs(c1 - c0)) == 1
        if r1 != r0 and c1 != c0:
            assert planner.traversable[r1, c0] and planner.traversable[r0, c1]


@pytest.mark.parametrize(
    ("start", "goal"),
    [((0, 0), (9, 19)), ((5, 4), (2, 13)), ((9, 0), (0, 19)), ((3, 3), (7, 9)), ((4, 8), (4, 8))],
)
def test_astar_finds_the_optimal_8_connected_path(start, goal):
    occ = _map(MAZE)
    planner = GridPlanner(occ, inflation_radius_m=0.0)
    reference = _dijkstra(planner.traversable, start, goal)
    result = planner.plan(cell_to_world(occ, *start), cell_to_world(occ, *goal))
    assert result.grid_cost_m == pytest.approx(reference * RES)
    assert result.length_m == pytest.approx(reference * RES)  # start/goal at cell centres
    assert result.cells[0] == start and result.cells[-1] == goal
    _assert_path_avoids(planner, result)
    assert path_length(result.points) == pytest.approx(result.length_m)


def test_astar_matches_dijkstra_on_random_maps_with_inflation():
    rng = np.random.default_rng(7)
    for _ in range(20):
        grid = np.where(rng.random((25, 30)) < 0.12, 100, 0).astype(np.int8)
        occ = OccupancyMap(grid, RES)
        planner = GridPlanner(occ, inflation_radius_m=0.1)
        free = np.argwhere(planner.traversable)
        if len(free) < 2:
            continue
        i, j = rng.choice(len(free), size=2, replace=False)
        start, goal = tuple(free[i]), tuple(free[j])
        reference = _dijkstra(planner.traversable, start, goal)
        try:
            result = planner.plan(cell_to_world(occ, *start), cell_to_world(occ, *goal))
        except PlanError as err:
            assert err.code == NO_VALID_PATH
            assert reference == math.inf
            continue
        assert result.grid_cost_m == pytest.approx(reference * RES)
        _assert_path_avoids(planner, result)


def test_octile_heuristic_never_overestimates_on_an_empty_grid():
    occ = OccupancyMap(np.zeros((12, 12), np.int8), RES)
    planner = GridPlanner(occ, 0.0)
    for goal in [(11, 11), (0, 11), (7, 3)]:
        result = planner.plan(cell_to_world(occ, 0, 0), cell_to_world(occ, *goal))
        assert result.grid_cost_m == pytest.approx(octile_distance(*goal) * RES)


def test_inflation_keeps_the_path_an_inflation_radius_from_obstacles():
    occ = _map(["." * 30] * 9 + ["." * 14 + "##" + "." * 14] + ["." * 30] * 9)
    planner = GridPlanner(occ, inflation_radius_m=0.25)
    result = planner.plan((0.45, 0.95), (2.55, 0.95))  # straight through the blocked cells
    obstacles = np.argwhere(occ.data >= 65)
    for r, c in result.cells:
        d = np.min(np.hypot(obstacles[:, 0] - r, obstacles[:, 1] - c)) * RES
        assert d > 0.25
    assert result.length_m > 2.1  # it had to go round


def test_unknown_cells_are_not_traversed():
    occ = _map(["..?..", "..?..", "..?.."])
    planner = GridPlanner(occ, 0.0)
    with pytest.raises(PlanError) as err:
        planner.plan(cell_to_world(occ, 1, 0), cell_to_world(occ, 1, 4))
    assert err.value.code == NO_VALID_PATH


def test_no_corner_cutting_between_diagonal_obstacles():
    occ = _map(["...", ".#.", "#.."])  # bottom-left and centre cells blocked
    planner = GridPlanner(occ, 0.0)
    # (row 0, col 1) -> (row 1, col 0): the direct diagonal squeezes between two obstacle
    # cells, so the path goes the long way round, over the top.
    result = planner.plan(cell_to_world(occ, 0, 1), cell_to_world(occ, 1, 0))
    assert result.cells[1] != (1, 0)
    assert result.grid_cost_m == pytest.approx(_dijkstra(planner.traversable, (0, 1), (1, 0)) * RES)
    assert result.grid_cost_m > 4 * RES
    _assert_path_avoids(planner, result)


@pytest.mark.parametrize(
    ("start", "goal", "code", "message"),
    [
        ((-0.5, 0.5), (1.0, 0.5), START_OUTSIDE_MAP, "start (-0.50, 0.50) is outside the map"),
        ((0.5, 0.5), (1.0, 9.5), GOAL_OUTSIDE_MAP, "goal (1.00, 9.50) is outside the map"),
        ((0.5, 0.5), (math.nan, 0.5), GOAL_OUTSIDE_MAP, "outside the map"),
        ((0.25, 0.55), (1.0, 0.5), START_OCCUPIED, "in an obstacle cell"),
        ((0.5, 0.5), (0.25, 0.55), GOAL_OCCUPIED, "in an obstacle cell"),
        ((0.5, 0.5), (1.75, 0.55), GOAL_OCCUPIED, "in unknown space"),
        ((0.5, 0.5), (0.35, 0.55), GOAL_OCCUPIED, "closer than the inflation radius"),
    ],
)
def test_bad_start_or_goal_gives_the_nav2_error(start, goal, code, message):
    rows = ["...................."] * 10
    rows[4] = "..#..............?.."
    occ = _map(rows)
    planner = GridPlanner(occ, inflation_radius_m=0.15)
    with pytest.raises(PlanError) as err:
        planner.plan(start, goal)
    assert err.value.code == code
    assert message in str(err.value)


def test_a_start_inside_the_inflation_escapes_it():
    occ = _map(["." * 20] * 5 + ["#" * 20] + ["." * 20] * 4)
    planner = GridPlanner(occ, inflation_radius_m=0.25)
    start = (0.55, 0.65)  # 0.2 m above the wall: inside the inflation
    assert not planner.traversable[world_to_cell(occ, *start)]
    result = planner.plan(start, (1.55, 0.85))  # goal on the same side
    clear = [planner.clearance_m[c] for c in result.cells]
    first_free = next(i for i, c in enumerate(result.cells) if planner.traversable[c])
    assert all(b > a for a, b in itertools.pairwise(clear[: first_free + 1]))
    assert all(planner.traversable[c] for c in result.cells[first_free:])


def test_world_grid_round_trip_with_a_rotated_origin():
    occ = OccupancyMap(np.zeros((10, 20), np.int8), 0.05, 1.0, -2.0, math.pi / 2)
    x, y = cell_to_world(occ, 3, 7)
    assert world_to_cell(occ, x, y) == (3, 7)
    assert (x, y) == pytest.approx((1.0 - 3.5 * 0.05, -2.0 + 7.5 * 0.05))
    assert world_to_cell(occ, 1.1, -2.0) is None  # behind the rotated x axis


def test_path_runs_from_the_exact_start_to_the_exact_goal():
    occ = OccupancyMap(np.zeros((10, 10), np.int8), RES)
    result = GridPlanner(occ, 0.0).plan((0.12, 0.13), (0.83, 0.52))
    assert tuple(result.points[0]) == (0.12, 0.13)
    assert tuple(result.points[-1]) == (0.83, 0.52)
    same_cell = GridPlanner(occ, 0.0).plan((0.12, 0.13), (0.17, 0.18))
    assert len(same_cell.points) == 2


def test_remaining_length_along_the_path():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    assert remaining_length(pts, (0.0, 0.0)) == pytest.approx(3.0)
    assert remaining_length(pts, (0.5, 0.1)) == pytest.approx(2.5)
    assert remaining_length(pts, (1.2, 1.5)) == pytest.approx(0.5)
    assert remaining_length(pts, (5.0, 5.0)) == pytest.approx(0.0)
    assert remaining_length(pts[:1], (3.0, 4.0)) == pytest.approx(5.0)
