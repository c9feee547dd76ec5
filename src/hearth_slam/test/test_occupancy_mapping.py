"""/map from ToF depth registered with keyframe poses: ray-cast depth images of a box room
through the robot's real ToF mounting, scans per keyframe, re-rendering when poses move."""

import math

import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam.occupancy_mapping import (
    KeyframeScan,
    OccupancyMapper,
    OccupancyParams,
    make_scan,
)
from hearth_slam.synthetic_landmarks import yaw_pose

W, H, FX = 160, 120, 80.0  # robot.yaml's ToF: 160x120, 90 degrees
K = np.array([[FX, 0.0, (W - 1) / 2], [0.0, FX, (H - 1) / 2], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def tof_mount():
    from hearth_description.robot_model import expand_xacro
    from hearth_slam.stereo_camera import mount_from_urdf

    return mount_from_urdf(expand_xacro(), "tof_optical")


def depth_image(T_map_tof, walls_x=(-1.0, 3.0), walls_y=(-2.0, 2.0), boxes=(),
                max_range_m=4.0):
    """Depth (m along the optical axis) of a box room with a floor at z = 0 and optional
    boxes ((x0, x1, y0, y1, height) on the floor)."""
    v, u = np.mgrid[0:H, 0:W].astype(float)
    d = np.stack([(u - K[0, 2]) / FX, (v - K[1, 2]) / FX, np.ones_like(u)], -1)
    rays = d @ T_map_tof[:3, :3].T
    o = T_map_tof[:3, 3]
    best = np.full((H, W), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for axis, values in ((0, walls_x), (1, walls_y), (2, (0.0,))):
            for val in values:
                t = (val - o[axis]) / rays[..., axis]
                best = np.where((t > 0) & (t < best), t, best)
        for x0, x1, y0, y1, h in boxes:
            for axis, val in ((0, x0), (0, x1), (1, y0), (1, y1)):
                t = (val - o[axis]) / rays[..., axis]
                p = o + t[..., None] * rays
                inside = ((p[..., 0] >= x0 - 1e-9) & (p[..., 0] <= x1 + 1e-9)
                          & (p[..., 1] >= y0 - 1e-9) & (p[..., 1] <= y1 + 1e-9)
                          & (p[..., 2] <= h))
                best = np.where(inside & (t > 0) & (t < best), t, best)
    best[best > max_range_m] = np.nan
    return best


def cell(grid, origin, res, x, y):
    return grid[math.floor((y - origin[1]) / res), math.floor((x - origin[0]) / res)]


def wall(grid, origin, res, x, y):
    """A wall's surface at x (or y) falls in the cell on either side of the line."""
    return max(cell(grid, origin, res, x - 0.02, y), cell(grid, origin, res, x + 0.02, y),
               cell(grid, origin, res, x, y - 0.02), cell(grid, origin, res, x, y + 0.02))


def test_a_wall_ahead_is_occupied_the_floor_before_it_free_behind_unknown(tof_mount):
    mapper = OccupancyMapper()
    T = yaw_pose(0.0, 0.0, 0.0)
    scan = make_scan(depth_image(T @ tof_mount), K, tof_mount)
    mapper.add_scan(0, scan)
    mapper.integrate(0, T)
    grid, origin, res = mapper.occupancy_grid()
    assert grid.dtype == np.int8
    assert wall(grid, origin, res, 3.0, 0.0) == 100  # the wall at x = 3
    assert wall(grid, origin, res, 3.0, 0.8) == 100
    for x in (0.6, 1.5, 2.5):
        assert cell(grid, origin, res, x, 0.0) in (0, -1)  # one pass: free or undecided
    assert cell(grid, origin, res, 3.6, 0.0) == -1  # behind the wall
    assert cell(grid, origin, res, -0.6, 0.0) == -1  # behind the robot
    mapper.integrate(0, T)  # a second pass of the same view decides the floor
    grid, origin, res = mapper.occupancy_grid()
    for x in (0.6, 1.5, 2.5):
        assert cell(grid, origin, res, x, 0.0) == 0


def test_scans_are_small_and_leave_out_the_robot_itself(tof_mount):
    depth = depth_image(tof_mount)
    depth[:10] = np.nan  # dropouts
    scan = make_scan(depth, K, tof_mount)
    assert scan.nbytes < 4096
    assert scan.obstacles_xy.dtype == np.float16
    r = np.hypot(*scan.obstacles_xy.astype(float).T)
    assert (r > OccupancyParams().robot_radius_m).all()
    # a depth image of the chassis edge only (10 cm ahead, the ToF's bottom rows)
    near = np.full((H, W), np.nan)
    near[-12:] = 0.12
    assert len(make_scan(near, K, tof_mount).obstacles_xy) == 0


def test_a_low_box_is_an_obstacle_and_a_table_top_hides_what_is_under_it(tof_mount):
    box = (1.5, 1.8, -0.3, 0.3, 0.3)
    T = yaw_pose(0.0, 0.0, 0.0)
    scan = make_scan(depth_image(T @ tof_mount, boxes=[box]), K, tof_mount)
    mapper = OccupancyMapper()
    mapper.add_scan(0, scan)
    mapper.integrate(0, T)
    grid, origin, res = mapper.occupancy_grid()
    assert cell(grid, origin, res, 1.52, 0.0) == 100
    assert cell(grid, origin, res, 2.5, 0.0) == -1  # in the box's shadow


def test_rerendering_moves_the_map_with_the_keyframes(tof_mount):
    """A loop closure moves a keyframe: its scan is drawn where the keyframe now is."""
    mapper = OccupancyMapper()
    T = yaw_pose(0.0, 0.0, 0.0)
    mapper.add_scan(7, make_scan(depth_image(T @ tof_mount), K, tof_mount))
    mapper.render(np.array([7]), np.array([T]))
    moved = yaw_pose(0.5, 1.0, math.pi / 2)
    mapper.render(np.array([7]), np.array([moved]))
    grid, origin, res = mapper.occupancy_grid()
    x, y, _ = se3.transform_points(moved, [[3.0, 0.0, 0.0]])[0]  # the wall, turned with it
    assert wall(grid, origin, res, x, y) == 100
    assert max(cell(grid, origin, res, 2.98, 0.0), cell(grid, origin, res, 3.02, 0.0)) == -1


def test_an_obstacle_that_left_is_cleared_by_later_passes(tof_mount):
    T = yaw_pose(0.0, 0.0, 0.0)
    mapper = OccupancyMapper()
    mapper.add_scan(0, make_scan(depth_image(T @ tof_mount, boxes=[(1.5, 1.8, -0.3, 0.3, 0.3)]),
                                 K, tof_mount))
    for k in range(1, 5):  # the chair was moved away
        mapper.add_scan(k, make_scan(depth_image(T @ tof_mount), K, tof_mount))
    mapper.render(np.arange(5), np.array([T] * 5))
    grid, origin, res = mapper.occupancy_grid()
    assert cell(grid, origin, res, 1.52, 0.0) == 0


def test_the_grid_grows_in_every_direction_and_keeps_what_it_had(tof_mount):
    mapper = OccupancyMapper()
    for k, (x, yaw) in enumerate([(0.0, 0.0), (0.0, math.pi), (5.0, 0.0)]):
        T = yaw_pose(x, 0.0, yaw)
        mapper.add_scan(k, make_scan(depth_image(T @ tof_mount, walls_x=(-3.0, 8.0)), K,
                                     tof_mount))
        mapper.integrate(k, T)
    grid, origin, res = mapper.occupancy_grid()
    assert wall(grid, origin, res, -3.0, 0.0) == 100  # seen looking back
    assert wall(grid, origin, res, 8.0, 0.0) == 100  # seen from x = 5
    assert origin[0] <= -3.0 and origin[0] + grid.shape[1] * res >= 8.0


def test_a_culled_keyframes_obstacles_move_to_its_anchor(tof_mount):
    mapper = OccupancyMapper()
    T0, T1 = yaw_pose(0.0, 0.0, 0.0), yaw_pose(0.0, 0.0, math.pi / 2)
    mapper.add_scan(0, make_scan(depth_image(T0 @ tof_mount), K, tof_mount))
    mapper.add_scan(1, make_scan(depth_image(T1 @ tof_mount), K, tof_mount))
    mapper.reanchor(1, 0, se3.inverse(T0) @ T1)
    assert set(mapper.scans) == {0}
    mapper.render(np.array([0]), np.array([T0]))
    grid, origin, res = mapper.occupancy_grid()
    assert wall(grid, origin, res, 0.0, 2.0) == 100  # the wall keyframe 1 saw


def test_bad_params_are_refused():
    with pytest.raises(ValueError):
        OccupancyParams(resolution_m=0.0)
    with pytest.raises(ValueError):
        OccupancyParams(log_odds_hit=-1.0)
    with pytest.raises(ValueError):
        OccupancyParams(free_probability=0.7)
    assert KeyframeScan  # the scan type is public: map_store saves it
