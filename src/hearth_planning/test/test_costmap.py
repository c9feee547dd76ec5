"""The costmap: obstacles, unknown space, the inscribed radius, and a travel cost that decays
with the distance from obstacles (nav2's inflation, as a cost per metre)."""

import math

import numpy as np
import pytest
from planning_maps import blank, box, map_from_rows
from scipy.ndimage import distance_transform_edt

from hearth_planning.costmap import Costmap, CostParams, cell_to_world, world_to_cell
from hearth_planning.map_io import MapError, OccupancyMap


def test_the_distance_field_is_the_exact_euclidean_distance_to_obstacle_centres():
    rng = np.random.default_rng(3)
    grid = np.where(rng.random((60, 70)) < 0.03, 100, 0).astype(np.int8)
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(0.2))
    reference = distance_transform_edt(grid < 65) * 0.05
    assert np.allclose(costmap.clearance_m, reference, atol=1e-5)


def test_the_cost_per_metre_decays_with_distance_from_the_wall():
    grid = blank(3.0, 3.0)
    params = CostParams(0.2, cost_inflation_radius_m=1.0, cost_scaling_factor=3.0,
                        cost_penalty=2.0)
    costmap = Costmap(OccupancyMap(grid, 0.05), params)
    row = 30  # y = 1.525 m: the side walls are the nearest obstacles along it
    d = costmap.clearance_m[row, 1:30]
    m = costmap.multiplier[row, 1:30]
    inside = d <= 0.2
    assert np.all(np.isinf(m[inside]))  # the robot's centre may not be there
    near = (d > 0.2) & (d <= 1.0)
    assert np.allclose(m[near], 1.0 + 2.0 * np.exp(-3.0 * (d[near] - 0.2)))
    assert np.all(np.diff(m[near]) < 0)  # decreasing away from the wall
    assert costmap.multiplier[30, 30] == 1.0  # the middle of the room, > 1 m from every wall


def test_unknown_cells_are_walls_unless_allowed():
    occ = map_from_rows(["......", "..??..", "......"])
    walls = Costmap(occ, CostParams(0.1))
    assert walls.obstacle[1, 2] and not walls.traversable[1, 1]  # inflated like a wall
    allowed = Costmap(occ, CostParams(0.1, allow_unknown=True, unknown_penalty=3.0))
    assert not allowed.obstacle[1, 2] and allowed.traversable[1, 2]
    assert allowed.multiplier[1, 2] == 4.0 and allowed.multiplier[1, 0] == 1.0


def test_connected_components_tell_reachability():
    grid = blank(4.0, 2.0)
    box(grid, 1.95, 0.0, 2.05, 2.0)  # a wall from side to side
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(0.1))
    left, right = costmap.world_to_cell(1.0, 1.0), costmap.world_to_cell(3.0, 1.0)
    assert costmap.component[left] != costmap.component[right] != 0


@pytest.mark.parametrize("resolution", [0.0, math.nan, -0.05, math.inf])
def test_a_map_with_a_zero_or_nan_resolution_is_rejected(resolution):
    with pytest.raises(MapError, match="resolution must be a positive number"):
        OccupancyMap(np.zeros((4, 4), np.int8), resolution)


def test_world_and_cell_round_trip_with_a_rotated_origin():
    occ = OccupancyMap(np.zeros((10, 20), np.int8), 0.05, 1.0, -2.0, math.pi / 2)
    x, y = cell_to_world(occ, 3, 7)
    assert world_to_cell(occ, x, y) == (3, 7)
    assert (x, y) == pytest.approx((1.0 - 3.5 * 0.05, -2.0 + 7.5 * 0.05))
    assert world_to_cell(occ, 1.1, -2.0) is None  # behind the rotated x axis
    costmap = Costmap(occ, CostParams(0.1))
    rc = costmap.world_to_grid(np.array([[x, y]]))
    assert rc[0] == pytest.approx((3.5, 7.5))


@pytest.mark.parametrize(
    ("field", "value"), [("inscribed_radius_m", -0.1), ("cost_penalty", math.nan)]
)
def test_bad_cost_parameters_are_rejected(field, value):
    kwargs = {"inscribed_radius_m": 0.2, field: value}
    with pytest.raises(ValueError, match=field):
        CostParams(**kwargs)
