"""The planner's local costmap input: /map placed where the depth frame's walls are, so that
the localization's error does not put a wall the camera cannot see 0.1 m into a hallway."""

import math

import numpy as np
import pytest

pytest.importorskip("hearth_perception.local_costmap")

from hearth_trajectory.local_costmap_input import LocalCostmapInput

RES = 0.05


def hallway() -> np.ndarray:
    """A 1.1 m wide hallway along map x (walls at y = 0 and 1.2 m, 0.1 m thick), 10 m long,
    closed at x = 0 by an end wall; cell (0, 0) at map (-0.5, -0.5)."""
    occ = np.zeros((44, 220), dtype=np.int8)
    occ[10:12, 10:] = 100   # south wall, y = 0.0-0.1
    occ[34:36, 10:] = 100   # north wall, y = 1.2-1.3
    occ[10:36, 10:12] = 100  # the end wall, x = 0.0-0.1
    return occ


FOV_RAD = math.radians(90.0)


def seen_points(sensor, heading_rad, fov_rad=FOV_RAD, max_range_m=4.0):
    """What a depth camera at ``sensor`` looking along ``heading_rad`` sees of the true
    hallway (map = odom): points on the faces of its walls at two heights."""
    pts = []
    for a in heading_rad + np.linspace(-fov_rad / 2, fov_rad / 2, 120):
        d = np.array([math.cos(a), math.sin(a)])
        best = max_range_m
        for y_face in (0.1, 1.2):  # the walls' faces
            if abs(d[1]) > 1e-9:
                r = (y_face - sensor[1]) / d[1]
                if 0 < r < best:
                    best = r
        if abs(d[0]) > 1e-9:
            r = (0.1 - sensor[0]) / d[0]
            if 0 < r < best and 0.1 <= sensor[1] + r * d[1] <= 1.2:
                best = r
        if best < max_range_m:
            pts.append(sensor + best * d)
    xy = np.array(pts)
    return np.concatenate([np.column_stack([xy, np.full(len(xy), h)]) for h in (0.2, 0.5)])


def costmap_with(align: bool) -> LocalCostmapInput:
    c = LocalCostmapInput(6.0, RES, depth_timeout_s=0.5, track_clearance_m=0.15,
                          self_radius_m=0.2, align_to_map=align)
    c.set_map(hallway(), RES, (-0.5, -0.5, 0.0))
    return c


@pytest.mark.parametrize("align", [False, True])
def test_the_wall_behind_the_camera_stands_where_the_walls_it_sees_say(align):
    robot = np.array([1.2, 0.65])  # mid-hallway, looking down it, away from the end wall
    sensor = robot + np.array([0.1, 0.0])
    points = seen_points(sensor, -0.0)
    # the localization places the map 8 cm north and 3 degrees turned (about the robot)
    yaw = math.radians(3.0)
    c_, s_ = math.cos(yaw), math.sin(yaw)
    pose = (robot[0] + 0.0 - (c_ * robot[0] - s_ * robot[1]),
            robot[1] + 0.08 - (s_ * robot[0] + c_ * robot[1]), yaw)
    costmap = costmap_with(align)
    costmap.set_depth_points(10.0, points, tuple(robot), tuple(sensor))
    field = costmap.update(10.0, tuple(robot), pose, np.zeros((0, 2)), np.zeros(0))
    # behind the camera, out of its view, only the map says where the south wall is: truly
    # 0.275 m from this point (to the wall's cell centres), 10 cm less as the map is placed
    behind = np.array([[0.9, 0.35]])
    clearance = costmap.costmap.distance_at(behind)[0]
    if align:
        assert clearance == pytest.approx(0.275, abs=0.02)
    else:
        assert clearance == pytest.approx(0.175, abs=0.02)
    assert field.resolution_m == RES
    if align:
        assert costmap.alignment.aligned
        x, y, yaw = costmap.alignment.corrected_map_pose(pose)
        # across the hallway and in yaw the walls fix the map; along it nothing does (the
        # rasterised walls' steps pull a few cm either way)
        assert abs(y) < 0.02 and abs(yaw) < math.radians(0.5) and abs(x) < 0.1
