"""Routing people through a home's free space: through doorways, around furniture."""

import numpy as np
import pytest

from hearth_sim.people.routing import FreeSpaceGrid, point_segment_distances


def box_edges(x0, y0, x1, y1):
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    return np.hstack([corners, np.roll(corners, -1, axis=0)])


def two_rooms(door_m=0.8, thickness_m=0.1):
    """Rooms a = [0, 4] x [0, 4] and b = [4, 8] x [0, 4], each wall's outline as segments
    (both faces, as hearth_sim.home.geometry makes them), a doorway in the middle wall
    centred at y = 2."""
    h = thickness_m / 2
    walls = [box_edges(-h, -h, 8 + h, h), box_edges(-h, 4 - h, 8 + h, 4 + h),
             box_edges(-h, -h, h, 4 + h), box_edges(8 - h, -h, 8 + h, 4 + h)]
    if door_m > 0:
        walls += [box_edges(4 - h, -h, 4 + h, 2 - door_m / 2),
                  box_edges(4 - h, 2 + door_m / 2, 4 + h, 4 + h)]
    else:
        walls.append(box_edges(4 - h, -h, 4 + h, 4 + h))
    return np.vstack(walls)


@pytest.fixture(scope="module")
def grid():
    return FreeSpaceGrid(two_rooms(), resolution_m=0.1, body_radius_m=0.25)


def test_a_path_to_the_other_room_goes_through_the_doorway(grid):
    path = grid.plan(np.array([1.0, 0.8]), np.array([7.0, 3.2]))
    assert path is not None
    np.testing.assert_allclose(path[-1], [7.0, 3.2])
    # it crosses the middle wall once, inside the doorway (y in [1.6, 2.4])
    side = np.sign(path[:, 0] - 4.0)
    k = np.nonzero(np.diff(side) != 0)[0]
    assert len(k) >= 1
    assert np.all(np.abs(path[k, 1] - 2.0) < 0.4 - 0.25)
    # a body on the path touches nothing
    assert point_segment_distances(path, grid.segments).min() >= 0.25
    # and it is not absurdly long (straight-line 6.3 m)
    assert np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1)) < 8.0


def test_a_closed_doorway_separates_the_rooms():
    grid = FreeSpaceGrid(two_rooms(door_m=0.0))
    assert grid.plan(np.array([1.0, 1.0]), np.array([7.0, 3.0])) is None
    assert grid.component_of(np.array([1.0, 1.0])) != grid.component_of(np.array([7.0, 3.0]))


def test_a_doorway_too_narrow_for_a_body_is_closed():
    grid = FreeSpaceGrid(two_rooms(door_m=0.45), body_radius_m=0.25)
    assert grid.plan(np.array([1.0, 1.0]), np.array([7.0, 3.0])) is None


def test_furniture_inside_is_not_where_people_live():
    sofa = box_edges(1.0, 1.0, 3.0, 2.2)
    grid = FreeSpaceGrid(np.vstack([two_rooms(), sofa]))
    main = grid.main_component([((0, 0), (4, 4)), ((4, 0), (8, 4))])
    assert grid.component_of(np.array([6.0, 2.0])) == main
    assert grid.labels[grid.cell_of(np.array([2.0, 1.6]))] not in (0, main)
    rows, cols = grid.cells_in_box((0, 0), (4, 4), 0.3, main)
    xy = grid.center_of(rows, cols)
    inside = (xy[:, 0] > 1.0) & (xy[:, 0] < 3.0) & (xy[:, 1] > 1.0) & (xy[:, 1] < 2.2)
    assert len(xy) > 0 and not np.any(inside)


def test_a_path_goes_round_a_disc_to_avoid(grid):
    start, goal = np.array([4.8, 2.0]), np.array([7.4, 2.0])
    straight = grid.plan(start, goal)
    assert np.min(np.linalg.norm(straight - [6.0, 2.0], axis=1)) < 0.1
    around = grid.plan(start, goal, avoid=(np.array([6.0, 2.0]), 0.6))
    assert np.min(np.linalg.norm(around - [6.0, 2.0], axis=1)) >= 0.6 - 1e-9
