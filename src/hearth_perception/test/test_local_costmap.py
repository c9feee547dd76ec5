"""The local costmap: a 6 m window at 5 cm around the robot in odom, obstacles from depth
points in the robot's height band and from the global map, and an exact distance field."""

import math

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from hearth_perception.local_costmap import FAR_M, LocalCostmap, StaticMap


def _cell(cm: LocalCostmap, xy) -> tuple[int, int]:
    j, i = np.floor((np.asarray(xy) - cm.origin_odom_xy) / cm.resolution_m).astype(int)
    return int(i), int(j)


def test_the_window_is_120_cells_of_5_cm_centred_on_the_robot():
    cm = LocalCostmap()
    cm.update((10.02, -3.01), None)
    assert cm.occupied.shape == cm.distance_m.shape == (120, 120)
    assert cm.distance_m.dtype == np.float32
    centre = cm.origin_odom_xy + 3.0
    assert np.all(np.abs(centre - (10.02, -3.01)) <= 0.05)
    # the origin sits on the odom frame's cell lattice
    np.testing.assert_allclose(cm.origin_odom_xy / 0.05, np.round(cm.origin_odom_xy / 0.05))


def test_depth_points_in_the_height_band_are_obstacles_floor_and_overhead_are_not():
    cm = LocalCostmap(max_obstacle_z_m=0.7)
    pts = np.array([
        [1.0, 0.0, 0.30],  # a chair leg
        [0.0, 1.0, 0.01],  # the floor
        [-1.0, 0.0, 1.50],  # a table top above the robot: it drives under
        [0.5, 0.5, np.nan],  # a bad point
        [9.0, 0.0, 0.30],  # outside the window
    ])
    cm.update((0.0, 0.0), pts)
    assert cm.occupied.sum() == 1
    assert cm.occupied[_cell(cm, (1.0, 0.0))]
    assert cm.depth_cells == 1


def test_points_on_the_robot_itself_are_ignored_within_self_radius():
    edge = np.array([[10.17, 5.0, 0.09], [10.0, 5.17, 0.09]])  # the chassis's edge
    cm = LocalCostmap(self_radius_m=0.225)
    cm.update((10.0, 5.0), np.concatenate([edge, [[11.0, 5.0, 0.3]]]))
    assert cm.occupied.sum() == 1 and cm.occupied[_cell(cm, (11.0, 5.0))]


def test_distance_field_is_the_exact_euclidean_distance_between_cell_centres():
    cm = LocalCostmap()
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(-3, 3, (40, 2)), np.full(40, 0.3)])
    cm.update((0.0, 0.0), pts)
    ref = distance_transform_edt(~cm.occupied) * 0.05
    np.testing.assert_allclose(cm.distance_m, ref, atol=1e-4)
    assert np.all(cm.distance_m[cm.occupied] == 0.0)


def test_an_empty_window_reads_far():
    cm = LocalCostmap()
    cm.update((0.0, 0.0), np.zeros((0, 3)))
    assert np.all(cm.distance_m == FAR_M)


def test_distance_at_interpolates_between_cell_centres_and_reads_zero_outside():
    cm = LocalCostmap()
    assert np.all(cm.distance_at(np.zeros((4, 2))) == 0.0)  # before any update: unknown
    cm.update((0.0, 0.0), np.array([[0.525, 0.025, 0.3]]))  # one occupied cell
    xs, ys = cm.cell_centers_odom()
    i, j = 60, 40
    assert cm.distance_at(np.array([xs[j], ys[i]])) == pytest.approx(cm.distance_m[i, j])
    mid = cm.distance_at(np.array([0.5 * (xs[j] + xs[j + 1]), ys[i]]))
    assert mid == pytest.approx(0.5 * (cm.distance_m[i, j] + cm.distance_m[i, j + 1]))
    # the obstacle's own centre reads 0, a point 1 m away about 1 m
    assert cm.distance_at(np.array([0.525, 0.025])) == pytest.approx(0.0, abs=1e-6)
    assert cm.distance_at(np.array([0.525, 1.025])) == pytest.approx(1.0, abs=1e-3)
    # vectorised over any leading shape; outside the window and NaN: the outside value
    q = np.zeros((5, 7, 2))
    q[0, 0] = (10.0, 0.0)
    q[0, 1] = (np.nan, 0.0)
    d = cm.distance_at(q)
    assert d.shape == (5, 7) and d[0, 0] == 0.0 and d[0, 1] == 0.0
    assert cm.distance_at(q, outside_value_m=-1.0)[0, 0] == -1.0


def _map_with_wall(res=0.05):
    """A 10 x 10 m map with a 1-cell wall along map x = 2 m, y in [0, 4) m."""
    occ = np.zeros((200, 200), dtype=np.int8)
    occ[:, :] = 0
    occ[0:80, 40] = 100
    occ[150:, 150:] = -1  # unknown counts as free
    return StaticMap(occ, res, origin_xy_yaw=(0.0, 0.0, 0.0))


def test_the_global_map_lands_where_map_to_odom_puts_it():
    static = _map_with_wall()
    cm = LocalCostmap()
    # the map frame sits at (1, -1) in odom, unrotated: the wall is at odom x = 3.025
    cm.update((1.5, 0.5), None, static.in_odom((1.0, -1.0, 0.0)))
    assert cm.occupied[_cell(cm, (3.025, 0.5))]
    assert not cm.occupied[_cell(cm, (2.9, 0.5))]
    assert cm.static_cells == cm.occupied.sum() > 0
    assert cm.distance_at(np.array([2.525, 0.5])) == pytest.approx(0.5, abs=1e-3)


def test_a_rotated_thin_wall_stays_unbroken():
    static = _map_with_wall()
    cm = LocalCostmap()
    yaw = math.radians(33.0)
    cm.update((1.0, 2.0), None, static.in_odom((0.0, 0.0, yaw)))
    # every point along the rotated wall is within half a diagonal of an occupied cell
    s = np.linspace(0.3, 3.7, 200)
    wall = np.column_stack([2.025 * math.cos(yaw) - s * math.sin(yaw),
                            2.025 * math.sin(yaw) + s * math.cos(yaw)])
    inside = np.all(np.abs(wall - (1.0, 2.0)) < 2.9, axis=1)
    assert inside.sum() > 50
    assert np.all(cm.distance_at(wall[inside]) <= 0.05 * math.sqrt(2) / 2 + 1e-6)


def _doorway_map(res=0.05):
    """A wall along map y = 2 m with a 0.8 m doorway, x in [1.6, 2.4) m."""
    occ = np.zeros((200, 200), dtype=np.int8)
    occ[40, :] = 100
    occ[40, 32:48] = 0
    return StaticMap(occ, res, origin_xy_yaw=(0.0, 0.0, 0.0))


def test_where_the_camera_sees_the_doorway_open_a_misplaced_map_does_not_close_it():
    # The localization is 0.15 m off in x: the map's wall juts 0.15 m into the doorway the
    # camera sees. Seen from the robot in front of it, the doorway's rays (the floor beyond
    # it, the jambs where they really are) clear the map's cells they pass; out of view
    # the map's wall stays.
    static = _doorway_map().in_odom((0.15, 0.0, 0.0))  # odom = truth; the map is misplaced
    sensor = np.array([2.0, 1.0])
    # the true jambs at x = 1.6 and 2.4 (their face, y = 2.0, 0.3 m up) and the floor behind
    jambs = np.array([[x, 2.0, 0.3] for x in np.arange(1.0, 1.6, 0.02)]
                     + [[x, 2.0, 0.3] for x in np.arange(2.42, 3.0, 0.02)])
    floor = np.array([[x, y, 0.0] for x in np.arange(1.62, 2.4, 0.02)
                      for y in np.arange(2.1, 3.0, 0.1)])
    pts = np.vstack([jambs, floor])
    for clear, opening_m in ((False, 0.8 - 0.15), (True, 0.8)):
        cm = LocalCostmap(clear_static=clear)
        cm.update(sensor, pts, static, sensor_xy_odom=sensor)
        row = cm.occupied[_cell(cm, (2.0, 2.0))[0]]
        xs = cm.cell_centers_odom()[0]
        free = xs[(~row) & (xs > 1.0) & (xs < 3.0)]
        assert free.max() - free.min() + 0.05 == pytest.approx(opening_m, abs=0.051)
        # out of the camera's view (no return in that bearing) the map's wall stays
        assert cm.occupied[_cell(cm, (0.5, 2.025))]


def test_without_memory_a_cell_is_forgotten_when_its_point_is_gone():
    cm = LocalCostmap()
    cm.update((0.0, 0.0), np.array([[1.0, 0.0, 0.3]]))
    cm.update((0.0, 0.0), np.zeros((0, 3)))
    assert not cm.occupied.any()


def test_memory_keeps_unseen_cells_for_memory_s_and_rays_clear_them():
    cm = LocalCostmap(memory_s=2.0)
    sensor = (0.0, 0.0)
    cm.update((0.0, 0.0), np.array([[1.0, 0.0, 0.3]]), t_s=0.0, sensor_xy_odom=sensor)
    # the robot moves 0.52 m; the obstacle is out of view: still there, at the same place
    cm.update((0.52, 0.0), np.zeros((0, 3)), t_s=1.0, sensor_xy_odom=sensor)
    assert cm.occupied.sum() == 1 and cm.occupied[_cell(cm, (1.0, 0.0))]
    cm.update((0.52, 0.0), np.zeros((0, 3)), t_s=3.5)
    assert not cm.occupied.any()  # older than memory_s
    # seen again, then the floor beyond it (a fan of returns at 2 m): the rays pass through
    cm.update((0.0, 0.0), np.array([[1.0, 0.0, 0.3]]), t_s=4.0, sensor_xy_odom=sensor)
    a = np.linspace(-0.3, 0.3, 61)
    floor = np.column_stack([2.0 * np.cos(a), 2.0 * np.sin(a), np.zeros_like(a)])
    cm.update((0.0, 0.0), floor[a < 0.0], t_s=4.1, sensor_xy_odom=sensor)
    assert cm.occupied.sum() == 1  # those rays missed it: still remembered
    cm.update((0.0, 0.0), floor, t_s=4.2, sensor_xy_odom=sensor)
    assert not cm.occupied.any()


@pytest.mark.parametrize("bad", [(np.nan, 0.0), (0.0,)])
def test_a_bad_centre_is_a_clear_error(bad):
    with pytest.raises(ValueError):
        LocalCostmap().update(bad, None)


def test_bad_points_shape_and_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError):
        LocalCostmap().update((0.0, 0.0), np.zeros((4, 2)))
    with pytest.raises(ValueError):
        LocalCostmap(size_m=0.01)
    with pytest.raises(ValueError):
        StaticMap(np.zeros((0, 0)), 0.05)
