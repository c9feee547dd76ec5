"""Line of sight: the exact cost of a straight segment over the cost grid, blocked by any cell
it touches that the robot may not enter."""

import itertools
import math

import numpy as np
import pytest

from hearth_planning.line_of_sight import segment_cost, shortcut


def test_a_segment_costs_its_length_on_uniform_cost():
    mult = np.ones((20, 20))
    assert segment_cost(mult, 2, 3, 12, 17) == pytest.approx(math.hypot(10, 14))
    assert segment_cost(mult, 5, 5, 5, 5) == 0.0


def test_a_segment_integrates_the_cost_of_each_cell_it_crosses():
    mult = np.ones((3, 10))
    mult[1, 4:6] = 3.0  # two dear cells on the row
    # centre of (1, 0) to centre of (1, 9): 9 cells long, 2 of them at 3 instead of 1
    assert segment_cost(mult, 1, 0, 1, 9) == pytest.approx(9.0 + 2 * 2.0)


def test_a_segment_touching_a_blocked_cell_is_blocked():
    mult = np.ones((10, 10))
    mult[5, 5] = np.inf
    assert segment_cost(mult, 0, 0, 9, 9) == np.inf  # through the blocked cell
    assert segment_cost(mult, 4, 0, 6, 9) == np.inf  # clips it
    assert segment_cost(mult, 0, 9, 9, 8) < np.inf  # passes well clear of it


def test_a_segment_through_a_corner_needs_both_cells_beside_it_free():
    mult = np.ones((3, 3))
    mult[0, 1] = np.inf  # one of the two cells beside the corner between (0,0) and (1,1)
    assert segment_cost(mult, 0, 0, 1, 1) == np.inf
    mult[0, 1] = 1.0
    assert segment_cost(mult, 0, 0, 1, 1) == pytest.approx(math.sqrt(2))


def test_shortcut_keeps_a_corner_where_the_straight_line_is_blocked():
    mult = np.ones((10, 10))
    mult[2:10, 5] = np.inf  # a wall with a gap at the top rows 0..1
    rows = np.array([8, 7, 6, 5, 4, 3, 2, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8])  # up, over, down
    cols = np.array([4, 4, 4, 4, 4, 4, 4, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6])
    steps = np.hypot(np.diff(rows), np.diff(cols))
    cum = np.concatenate(([0.0], np.cumsum(steps)))
    keep = shortcut(mult, rows, cols, cum, 12)
    assert keep[0] == 0 and keep[-1] == len(rows) - 1
    assert 2 < len(keep) < len(rows)
    for a, b in itertools.pairwise(keep):
        assert segment_cost(mult, rows[a], cols[a], rows[b], cols[b]) <= cum[b] - cum[a] + 1e-9
