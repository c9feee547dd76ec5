"""The cost-to-go along the global path: straight back onto the path in the open, around
obstacles where they are in the way."""

import numpy as np
import pytest
from scipy import ndimage

from hearth_trajectory.fields import (
    FAR_M,
    GridField,
    path_cost_to_go,
    resample_path,
    without_cells_under,
)

# A wall along y = 0 (5 cm cells over [-3, 3]^2) with a gap at x -2.5..-2.0.
OCC = np.zeros((120, 120), dtype=bool)
OCC[60, :] = True
OCC[60, 10:20] = False
WALL = GridField((-3.0, -3.0), 0.05, ndimage.distance_transform_edt(~OCC) * 0.05)
PATH, ARC = resample_path(np.array([[-2.5, -1.0], [2.5, -1.0]]), 0.1)


def test_in_the_open_it_is_the_length_left_plus_the_way_back_onto_the_path():
    ctg = path_cost_to_go(PATH, ARC, float(ARC[-1]), (0.0, 0.0), 3.5, 0.1)
    assert ctg.cost.sample(np.array([0.0]), np.array([-1.0]))[0] == pytest.approx(2.5, abs=0.02)
    off = np.min(ARC[-1] - ARC + np.hypot(PATH[:, 0] - 0.0, PATH[:, 1] - 1.0))
    assert ctg.cost.sample(np.array([0.0]), np.array([1.0]))[0] == pytest.approx(off, abs=0.03)


def test_behind_a_wall_the_way_back_goes_through_the_gap():
    straight = path_cost_to_go(PATH, ARC, float(ARC[-1]), (0.0, 0.0), 3.5, 0.1)
    around = path_cost_to_go(PATH, ARC, float(ARC[-1]), (0.0, 0.0), 3.5, 0.1, WALL, 0.2)
    behind = (np.array([0.0]), np.array([1.0]))
    via_gap = np.hypot(2.25, 1.0) + np.hypot(2.25, 2.0) + 2.5  # through the gap at x -2.25
    assert around.cost.sample(*behind)[0] > straight.cost.sample(*behind)[0] + 2.0
    assert around.cost.sample(*behind)[0] == pytest.approx(via_gap, rel=0.1)
    # So going towards the gap is progress behind the wall, towards the path is not.
    x = np.array([-0.5, 0.0])
    assert np.diff(around.cost.sample(x, np.array([1.0, 1.0])))[0] > 0.3  # downhill westwards
    # On the path's side of the wall nothing changes.
    near = (np.array([0.5, 1.5]), np.array([-1.2, -0.6]))
    np.testing.assert_allclose(around.cost.sample(*near), straight.cost.sample(*near),
                               atol=0.02)


def test_a_path_walled_off_from_the_grid_falls_back_to_the_straight_line():
    closed = np.zeros((120, 120), dtype=bool)
    closed[60, :] = True
    walled = GridField((-3.0, -3.0), 0.05, ndimage.distance_transform_edt(~closed) * 0.05)
    ctg = path_cost_to_go(PATH, ARC, float(ARC[-1]), (0.0, 0.0), 3.5, 0.1, walled, 0.2)
    assert np.all(np.isfinite(ctg.cost.values))


def _field(occ):
    return GridField((0.0, 0.0), 0.1, ndimage.distance_transform_edt(~occ) * 0.1)


def test_obstacle_cells_under_the_robot_are_left_out_and_those_beyond_kept():
    occ = np.zeros((20, 20), dtype=bool)
    occ[:, 10] = True  # a wall along x = 1.05 m
    field = _field(occ)
    freed = without_cells_under(field, (1.0, 1.0), 0.3)
    assert freed.sample(np.array(1.05), np.array(1.05)) > 0.25  # the wall's piece under it
    assert freed.sample(np.array(1.05), np.array(1.55)) == pytest.approx(0.0)  # beyond: kept
    assert without_cells_under(field, (0.5, 1.0), 0.3) is field  # nothing under: as it was
    # nothing left at all
    assert np.all(without_cells_under(_field(occ), (1.0, 1.0), 5.0).values == FAR_M)


def test_the_cells_go_only_when_one_is_under_the_robot_itself():
    occ = np.zeros((20, 20), dtype=bool)
    occ[:, 10] = True
    field = _field(occ)
    # 0.3 m from the wall: within the wider radius, not under the 0.2 m robot
    assert without_cells_under(field, (0.75, 1.0), 0.5, within_m=0.2) is field
    assert without_cells_under(field, (0.95, 1.0), 0.5, within_m=0.2) is not field


def test_a_field_with_nan_under_the_robot_is_passed_on_as_it_is():
    # a NaN field is the node's bad input (a fault stop); here it must only not be mistaken
    # for obstacle cells under the robot, nor raise
    occ = np.zeros((20, 20), dtype=bool)
    occ[:, 10] = True
    field = _field(occ)
    values = field.values.copy()
    values[8:12, 8:12] = np.nan
    nan_field = GridField(field.origin_xy, field.resolution_m, values)
    assert without_cells_under(nan_field, (1.0, 1.0), 0.05) is nan_field
