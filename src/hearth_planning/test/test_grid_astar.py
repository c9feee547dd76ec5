"""The search: optimal cost-aware paths, never through an obstacle, clear of doorway jambs,
smoothed without losing clearance, reused between replans, and clear errors for bad input."""

import itertools
import math

import numpy as np
import pytest
from planning_maps import (
    blank,
    box,
    map_from_rows,
    reference_dijkstra,
    sample_polyline,
    two_rooms_with_door,
)

from hearth_planning.costmap import Costmap, CostParams
from hearth_planning.grid_astar import (
    GOAL_OCCUPIED,
    GOAL_OUTSIDE_MAP,
    NO_VALID_PATH,
    START_OCCUPIED,
    START_OUTSIDE_MAP,
    GridPlanner,
    PlanError,
)
from hearth_planning.heuristic import build_landmarks
from hearth_planning.line_of_sight import polyline_cost
from hearth_planning.map_io import OccupancyMap

ROBOT_M = 0.185  # hearth's robot radius 0.175 m + the default margin 0.01 m

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


def _plan_cells(costmap, planner, start, goal, **kw):
    return planner.plan(costmap.cell_to_world(*start), costmap.cell_to_world(*goal), **kw)


def _assert_clear(costmap, points):
    """Every point of the path, sampled every 1/4 cell, lies in a traversable cell."""
    samples = sample_polyline(points, costmap.resolution_m / 4)
    for x, y in samples:
        cell = costmap.world_to_cell(x, y)
        assert cell is not None and costmap.traversable[cell], f"({x:.3f}, {y:.3f}) not clear"


# -- optimality (acceptance 1) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "goal"),
    [((0, 0), (9, 19)), ((5, 4), (2, 13)), ((9, 0), (0, 19)), ((3, 3), (7, 9)), ((4, 8), (4, 8))],
)
def test_path_cost_equals_a_reference_dijkstra_on_a_maze(start, goal):
    costmap = Costmap(map_from_rows(MAZE), CostParams(inscribed_radius_m=0.0))
    planner = GridPlanner(costmap)
    result = _plan_cells(costmap, planner, start, goal)
    reference_m = reference_dijkstra(costmap.multiplier, start, goal) * costmap.resolution_m
    assert result.grid_cost_m == pytest.approx(reference_m, rel=1e-9)
    assert result.cost_m <= reference_m * 1.02  # smoothing never costs more than 2 % extra
    assert result.cells[0] == start and result.cells[-1] == goal
    _assert_clear(costmap, result.points)


def test_path_cost_within_2_percent_of_dijkstra_on_random_maps_with_inflation():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(25):
        grid = np.where(rng.random((40, 50)) < 0.06, 100, 0).astype(np.int8)
        costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(inscribed_radius_m=0.06))
        planner = GridPlanner(costmap)
        free = np.argwhere(costmap.traversable)
        i, j = rng.choice(len(free), size=2, replace=False)
        start, goal = tuple(free[i]), tuple(free[j])
        reference = reference_dijkstra(costmap.multiplier, start, goal)
        try:
            result = _plan_cells(costmap, planner, start, goal)
        except PlanError as err:
            assert err.code == NO_VALID_PATH and reference == math.inf
            continue
        checked += 1
        assert result.grid_cost_m == pytest.approx(reference * 0.05, rel=1e-9)
        assert result.cost_m <= result.grid_cost_m * (1 + 1e-9)  # shortcutting only helps
        assert result.cost_m >= math.dist(*result.points[[0, -1]]) - 0.05  # >= the crow flies
        _assert_clear(costmap, result.points)
    assert checked >= 15


def test_the_landmark_heuristic_keeps_paths_optimal_and_expands_fewer_cells():
    rng = np.random.default_rng(11)
    grid = blank(6.0, 4.0)
    for x in (1.5, 3.0, 4.5):  # three walls, each with a door at a random height
        box(grid, x - 0.05, 0.0, x + 0.05, 4.0)
        y = rng.uniform(0.3, 2.7)
        box(grid, x - 0.05, y, x + 0.05, y + 0.9, value=0)
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(ROBOT_M))
    landmarks = build_landmarks(costmap, 6)
    assert len(landmarks.cells) == 6
    penalty = np.where(costmap.traversable, rng.uniform(0.0, 2.0, costmap.shape), 0.0)
    free = np.argwhere(costmap.traversable)
    fewer = 0
    for _ in range(6):
        start, goal = (tuple(free[i]) for i in rng.choice(len(free), size=2, replace=False))
        for layer in (None, penalty):  # penalties only add cost: still admissible
            ref = reference_dijkstra(costmap.multiplier + (0 if layer is None else layer),
                                     start, goal)
            alt = _plan_cells(costmap, GridPlanner(costmap, layer, landmarks=landmarks),
                              start, goal)
            plain = _plan_cells(costmap, GridPlanner(costmap, layer), start, goal)
            assert alt.grid_cost_m == pytest.approx(ref * 0.05, rel=1e-9)
            assert plain.grid_cost_m == pytest.approx(ref * 0.05, rel=1e-9)
            fewer += alt.expanded < plain.expanded
    assert fewer >= 10
    other = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    with pytest.raises(ValueError, match="another map"):
        GridPlanner(other, landmarks=build_landmarks(Costmap(map_from_rows(MAZE),
                                                             CostParams(0.0)), 2))


def test_an_empty_map_gives_the_straight_line_and_the_octile_grid_cost():
    costmap = Costmap(OccupancyMap(np.zeros((30, 30), np.int8), 0.1), CostParams(0.2))
    result = GridPlanner(costmap).plan((0.25, 0.35), (2.45, 1.55))
    assert result.grid_cost_m == pytest.approx((22 + (math.sqrt(2) - 1) * 12) * 0.1)
    assert len(result.points) == 2  # the shortcut is the straight segment
    assert tuple(result.points[0]) == (0.25, 0.35) and tuple(result.points[-1]) == (2.45, 1.55)


# -- obstacles and clearance (acceptance 1) ------------------------------------------------


def test_no_path_enters_an_obstacle_or_the_inflation_and_no_corner_is_cut():
    occ = map_from_rows(["...", ".#.", "#.."])  # bottom-left and centre cells blocked
    costmap = Costmap(occ, CostParams(inscribed_radius_m=0.0))
    result = _plan_cells(costmap, GridPlanner(costmap), (0, 1), (1, 0))
    # (row 0, col 1) -> (row 1, col 0): the direct diagonal squeezes between two obstacle
    # cells, so the path goes round, over the top.
    assert result.cells[1] != (1, 0)
    assert result.grid_cost_m > 4 * 0.1
    _assert_clear(costmap, result.points)


def test_the_path_crosses_a_doorway_through_its_middle():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    # Start and goal low down on either side: the shortest line would graze the door's lower
    # jamb (y = 1.5 m); the cost of being near it pulls the path to the middle (y = 2 m).
    result = GridPlanner(costmap).plan((1.0, 0.6), (5.0, 0.6))
    xy = sample_polyline(result.points, 0.01)
    y_at_door = xy[np.argmin(np.abs(xy[:, 0] - 3.0)), 1]
    assert y_at_door == pytest.approx(2.0, abs=0.15)
    clear = [costmap.clearance_m[costmap.world_to_cell(x, y)] for x, y in xy]
    assert min(clear) >= 0.4  # the door is 1 m wide: nearly half of it on each side

    flat = Costmap(two_rooms_with_door(), CostParams(ROBOT_M, cost_penalty=0.0))
    shortest = GridPlanner(flat).plan((1.0, 0.6), (5.0, 0.6))
    xy = sample_polyline(shortest.points, 0.01)
    clear = [flat.clearance_m[flat.world_to_cell(x, y)] for x, y in xy]
    assert min(clear) < 0.25  # without the cost it shaves the jamb (but stays out of it)
    _assert_clear(flat, shortest.points)


def test_the_path_keeps_to_the_middle_of_a_hallway():
    grid = blank(8.0, 1.6)  # a hallway 1.5 m wide between its walls' cells
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(ROBOT_M))
    result = GridPlanner(costmap).plan((0.5, 0.35), (7.5, 0.35))  # both near one wall
    xy = sample_polyline(result.points, 0.05)
    middle = xy[(xy[:, 0] > 2.5) & (xy[:, 0] < 5.5)]
    assert np.all(np.abs(middle[:, 1] - 0.8) < 0.1)


def test_shortcuts_never_cost_more_than_the_grid_path_they_replace():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    raw = GridPlanner(costmap, smooth=False).plan((0.5, 3.5), (5.5, 0.5))
    smooth = GridPlanner(costmap).plan((0.5, 3.5), (5.5, 0.5))
    assert len(smooth.points) < len(raw.points) / 5
    assert smooth.cost_m <= raw.cost_m
    assert smooth.length_m < raw.length_m
    _assert_clear(costmap, smooth.points)


# -- reuse between replans -----------------------------------------------------------------


def test_a_replan_towards_the_same_goal_resumes_the_search():
    grid = blank(12.0, 8.0)
    for x in (3.0, 6.0, 9.0):
        box(grid, x - 0.05, 0.0, x + 0.05, 6.5)
    occ = OccupancyMap(grid, 0.05)
    costmap = Costmap(occ, CostParams(ROBOT_M))
    planner = GridPlanner(costmap)
    first = planner.plan((1.0, 1.0), (11.0, 1.0))
    assert not first.reused
    further = planner.plan(tuple(first.points[1]), (11.0, 1.0))  # the robot moved along
    assert further.reused and further.expanded < first.expanded / 10
    fresh = GridPlanner(costmap).plan(tuple(first.points[1]), (11.0, 1.0))
    assert further.grid_cost_m == pytest.approx(fresh.grid_cost_m)
    elsewhere = planner.plan((2.0, 7.0), (11.0, 1.0))  # off the old search: resumed, still optimal
    fresh = GridPlanner(costmap).plan((2.0, 7.0), (11.0, 1.0))
    assert elsewhere.reused and elsewhere.grid_cost_m == pytest.approx(fresh.grid_cost_m)


def test_a_penalty_layer_makes_a_route_dearer():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    base = GridPlanner(costmap).plan((1.0, 2.0), (5.0, 2.0))
    penalty = np.zeros(costmap.shape)
    penalty[30:50, 55:65] = 5.0  # the doorway cells
    dear = GridPlanner(costmap, penalty).plan((1.0, 2.0), (5.0, 2.0))
    assert dear.grid_cost_m > base.grid_cost_m + 0.9 * 5.0 * 0.5  # ~0.5 m of it crossed
    with pytest.raises(ValueError, match="penalty"):
        GridPlanner(costmap, -penalty)


# -- bad input (acceptance 3, core) --------------------------------------------------------


def _bad_input_map():
    rows = ["...................."] * 10
    rows[4] = "..#..............?.."
    return map_from_rows(rows)


@pytest.mark.parametrize(
    ("start", "goal", "code", "message"),
    [
        ((-0.5, 0.5), (1.0, 0.5), START_OUTSIDE_MAP, "start (-0.50, 0.50) is outside the map"),
        ((0.5, 0.5), (1.0, 9.5), GOAL_OUTSIDE_MAP, "goal (1.00, 9.50) is outside the map"),
        ((0.5, 0.5), (math.nan, 0.5), GOAL_OUTSIDE_MAP, "outside the map"),
        ((math.inf, 0.5), (0.5, 0.5), START_OUTSIDE_MAP, "outside the map"),
        ((0.25, 0.55), (1.0, 0.5), START_OCCUPIED, "in an obstacle cell"),
        ((1.75, 0.55), (1.0, 0.5), START_OCCUPIED, "in unknown space"),
        ((0.5, 0.5), (0.25, 0.55), GOAL_OCCUPIED, "in an obstacle cell"),
        ((0.5, 0.5), (1.75, 0.55), GOAL_OCCUPIED, "in unknown space"),
        ((0.5, 0.5), (0.35, 0.55), GOAL_OCCUPIED, "closer than the robot's inscribed radius"),
    ],
)
def test_bad_start_or_goal_gives_the_nav2_error(start, goal, code, message):
    costmap = Costmap(_bad_input_map(), CostParams(inscribed_radius_m=0.15))
    with pytest.raises(PlanError) as err:
        GridPlanner(costmap).plan(start, goal)
    assert err.value.code == code
    assert message in str(err.value)


def test_a_start_in_a_wall_is_planned_from_the_nearest_free_cell_when_the_parameter_allows():
    """The pose estimate 0.3 m off puts the robot in a wall it is not in: plan from the free
    cell nearest to it, within start_substitute_radius_m, and say so."""
    costmap = Costmap(_bad_input_map(), CostParams(inscribed_radius_m=0.15))
    res = GridPlanner(costmap).plan((0.25, 0.55), (1.0, 0.5), start_substitute_radius_m=0.5)
    assert "start (0.25, 0.55) is in an obstacle cell: planned from the nearest free cell" \
        in res.goal_note
    r, c = res.cells[0]
    assert costmap.traversable[r, c]
    assert res.points[0] == pytest.approx((0.25, 0.55))  # the path still starts at the robot
    with pytest.raises(PlanError) as err:  # nothing free that near
        GridPlanner(costmap).plan((0.25, 0.55), (1.0, 0.5), start_substitute_radius_m=0.05)
    assert err.value.code == START_OCCUPIED
    assert "no free cell within start_substitute_radius_m 0.05 m" in str(err.value)


def test_an_unreachable_goal_is_no_valid_path_without_searching_the_map():
    costmap = Costmap(two_rooms_with_door(door_y_m=(2.0, 2.0)), CostParams(ROBOT_M))
    with pytest.raises(PlanError) as err:
        GridPlanner(costmap).plan((1.0, 2.0), (5.0, 2.0))
    assert err.value.code == NO_VALID_PATH
    assert "not connected to the start's free space" in str(err.value)


@pytest.mark.parametrize(
    ("goal", "why"),
    [
        ((3.0, 2.0), "in an obstacle cell"),  # in the wall
        ((2.85, 0.4), "closer than the robot's inscribed radius"),  # next to it
        ((4.0, 2.0), "not connected"),  # in the other, closed-off room
    ],
)
def test_a_bad_goal_moves_to_the_nearest_reachable_free_pose_when_allowed(goal, why):
    costmap = Costmap(two_rooms_with_door(door_y_m=(2.0, 2.0)), CostParams(ROBOT_M))
    planner = GridPlanner(costmap)
    result = planner.plan((1.0, 2.0), goal, goal_substitute_radius_m=1.5)
    gx, gy = result.goal_xy
    assert gx < 3.0 - ROBOT_M  # on the start's side of the wall
    assert costmap.traversable[costmap.world_to_cell(gx, gy)]
    assert math.hypot(gx - goal[0], gy - goal[1]) <= 1.5
    assert why in result.goal_note and "nearest free pose" in result.goal_note
    assert tuple(result.points[-1]) == pytest.approx(result.goal_xy)
    with pytest.raises(PlanError, match="no reachable free cell within"):
        planner.plan((1.0, 2.0), (5.0, 2.0), goal_substitute_radius_m=0.5)


def test_a_goal_outside_the_map_is_never_moved():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    with pytest.raises(PlanError) as err:
        GridPlanner(costmap).plan((1.0, 2.0), (6.2, 2.0), goal_substitute_radius_m=5.0)
    assert err.value.code == GOAL_OUTSIDE_MAP


def test_a_start_inside_the_inflation_escapes_to_free_space_first():
    grid = blank(2.0, 1.0)
    box(grid, 0.0, 0.45, 2.0, 0.5)  # a wall across the middle
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(inscribed_radius_m=0.2))
    start = (0.55, 0.6)  # 0.1 m above the wall: inside the inflation
    assert not costmap.traversable[costmap.world_to_cell(*start)]
    result = GridPlanner(costmap).plan(start, (1.55, 0.725))
    assert result.escape_cells > 0
    clear = [costmap.clearance_m[c] for c in result.cells[: result.escape_cells + 1]]
    assert all(b > a for a, b in itertools.pairwise(clear))  # always away from it
    assert all(costmap.traversable[c] for c in result.cells[result.escape_cells :])


def test_a_start_deep_in_a_pocket_that_cannot_escape_is_no_valid_path():
    occ = map_from_rows(["#####", "#...#", "#####"])
    costmap = Costmap(occ, CostParams(inscribed_radius_m=0.15))
    with pytest.raises(PlanError) as err:
        GridPlanner(costmap).plan((0.25, 0.15), (0.35, 0.15))
    assert err.value.code == NO_VALID_PATH
    assert "inside the inflation" in str(err.value)


def test_polyline_cost_of_a_straight_run_equals_the_grid_cost():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    rows, cols = np.array([40, 40]), np.array([10, 50])
    straight = polyline_cost(costmap.multiplier, rows, cols)
    grid = reference_dijkstra(costmap.multiplier, (40, 10), (40, 50))
    assert straight == pytest.approx(grid, rel=1e-6)


def test_the_issue_2_form_still_gives_shortest_paths_through_cell_centres():
    occ = map_from_rows(MAZE)
    legacy = GridPlanner(occ, 0.0)  # hearth_eval's fusion drive builds it this way
    costmap = Costmap(occ, CostParams(inscribed_radius_m=0.0, cost_penalty=0.0))
    result = _plan_cells(costmap, legacy, (0, 0), (9, 19))
    assert result.grid_cost_m == pytest.approx(
        reference_dijkstra(costmap.multiplier, (0, 0), (9, 19)) * 0.1
    )
    assert result.length_m == pytest.approx(result.grid_cost_m)  # no shortcuts
    assert len(result.points) == len(result.cells)


def test_a_start_substitute_radius_out_of_range_is_refused_by_name():
    from hearth_common.config import ConfigError, load_config
    from hearth_planning.config import GlobalPlannerConfig

    for value in (-0.1, math.nan, 50.0):
        with pytest.raises(ConfigError, match="'start_substitute_radius_m'"):
            load_config(GlobalPlannerConfig, {"start_substitute_radius_m": value})
