"""The cost-to-go along the global path: straight back onto the path in the open, around
obstacles where they are in the way."""

import numpy as np
import pytest
from scipy import ndimage

from hearth_trajectory.fields import GridField, path_cost_to_go, resample_path

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
