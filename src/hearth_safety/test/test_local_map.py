"""The local map: obstacles vs floor, the robot's own chassis, the memory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from safety_harness import CAMERA, MOUNTING, ROBOT, default_params

from hearth_safety.depth_projection import DepthProjector, Mounting
from hearth_safety.footprint import Footprint
from hearth_safety.local_map import LocalMap
from hearth_safety.synthetic_depth import Box, DepthRenderer, Scene

PARAMS = default_params().map
PROJ = DepthProjector(CAMERA, MOUNTING, ROBOT.tof.min_range_m, ROBOT.tof.max_range_m)
T = 1_000_000_000


def _map(**kw) -> LocalMap:
    from dataclasses import replace

    return LocalMap(replace(PARAMS, **kw), Footprint.circle(ROBOT.base.radius_m))


def _update(m: LocalMap, depth: np.ndarray, t_ns: int = T, pose=(0.0, 0.0, 0.0)) -> None:
    m.update(t_ns, pose, PROJ.points_base(depth),
             lambda p: PROJ.depth_behind(p, depth, PARAMS.clear_tolerance_m))


def test_the_map_is_2_by_2_m_at_2_5_cm():
    m = _map()
    assert m.n == 80 and m.half_m == pytest.approx(1.0)
    assert m.grid((0.0, 0.0, 0.0)).shape == (80, 80)


def test_the_floor_and_the_chassis_seen_by_the_lowest_rows_are_not_obstacles(renderer):
    depth = renderer.render(Scene())
    # The lowest rows see the chassis (nearer than the floor would be).
    assert np.nanmin(depth[-1]) < 0.2
    m = _map()
    _update(m, depth)
    assert len(m) == 0 and m.stats["points"] > 10_000


def test_a_1_5_cm_bump_is_floor_and_a_5_cm_shoe_is_an_obstacle(renderer):
    m = _map()
    _update(m, renderer.render(Scene(boxes=(Box((0.7, 0.0, 0.0075), (0.1, 1.0, 0.015)),))))
    assert len(m) == 0
    _update(m, renderer.render(Scene(boxes=(Box((0.7, 0.0, 0.025), (0.28, 0.1, 0.05)),))),
            T + 66_000_000)
    xy, fresh = m.cells_base((0.0, 0.0, 0.0))
    assert len(xy) >= 3 and fresh.all()
    assert np.all(np.abs(xy[:, 0] - 0.7) <= 0.15) and np.all(np.abs(xy[:, 1]) <= 0.07)


def test_above_the_robots_top_is_not_an_obstacle(renderer):
    top = PARAMS.max_height_m  # the robot's top plus the overhead clearance
    shelf = Box((0.9, 0.0, top + 0.1), (0.4, 1.0, 0.1))
    m = _map()
    _update(m, renderer.render(Scene(boxes=(shelf,))))
    assert len(m) == 0
    table = Box((0.9, 0.0, top - 0.2), (0.4, 1.0, 0.05))  # a table top at mast height
    _update(m, renderer.render(Scene(boxes=(table,))), T + 66_000_000)
    assert len(m) > 0


def test_a_tilted_robot_does_not_see_the_floor_as_an_obstacle(renderer):
    """A caster on a bump tilts the robot 3 degrees: the floor rises 5 cm at 1 m."""
    pitch = math.radians(3.0)
    c, s = math.cos(pitch), math.sin(pitch)
    tilt = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])  # nose up
    tilted = DepthRenderer(CAMERA, Mounting(tilt.T @ MOUNTING.rotation,
                                            tilt.T @ MOUNTING.translation_m), chassis=None)
    depth = tilted.render(Scene())
    m = _map()
    _update(m, depth)
    assert m.ground.fitted and len(m) == 0
    blind = _map(ground_fit=False)
    _update(blind, depth)
    assert len(blind) > 0  # what the fit is for


def test_remembered_cells_move_with_odometry_and_are_forgotten_when_seen_free(renderer):
    box = Box((0.7, 0.0, 0.1), (0.2, 0.4, 0.2))  # in odom (= the world here)
    m = _map()
    _update(m, renderer.render(Scene(boxes=(box,))))
    before, _ = m.cells_base((0.0, 0.0, 0.0))
    # The robot drives 0.2 m on and turns; a wall just in front of it hides the box.
    pose = (0.2, 0.0, 0.5)
    c, s = math.cos(0.5), math.sin(0.5)
    wall = Box((0.2 + 0.28 * c, 0.28 * s, 0.5), (0.05, 2.0, 1.0), yaw_rad=0.5)
    _update(m, renderer.render(Scene(boxes=(box, wall)), pose), T + 66_000_000, pose=pose)
    xy, fresh = m.cells_base(pose)
    old = xy[~fresh]
    expected = np.column_stack([c * (before[:, 0] - 0.2) + s * before[:, 1],
                                -s * (before[:, 0] - 0.2) + c * before[:, 1]])
    assert len(old) == len(before)  # all of the box, remembered behind the wall
    assert max(np.min(np.hypot(*(expected - p).T)) for p in old) < 1e-9
    # The wall and the box are taken away: what the frame sees free is forgotten; what is
    # left is the wall's ends beside the robot, out of the 90 degree view.
    _update(m, renderer.render(Scene(), pose), T + 132_000_000, pose=pose)
    xy, _ = m.cells_base(pose)
    assert len(xy) > 0
    beside = np.abs(xy[:, 1]) > xy[:, 0] - MOUNTING.translation_m[0]  # > 45 deg off the axis
    assert np.all(np.abs(xy[:, 0] - 0.28) < 0.05) and np.all(beside)


def test_the_memory_lasts_memory_s(renderer):
    m = _map()
    _update(m, renderer.render(Scene(boxes=(Box((0.6, 0.0, 0.1), (0.2, 0.4, 0.2)),))))
    pose = (0.0, 0.0, math.pi)  # looking the other way: the box is out of view
    _update(m, renderer.render(Scene()), T + round(PARAMS.memory_s * 1e9) - 1, pose=pose)
    assert len(m) > 0
    _update(m, renderer.render(Scene()), T + round(PARAMS.memory_s * 1e9) + 1, pose=pose)
    assert len(m) == 0


def test_a_lone_flying_pixel_is_not_an_obstacle(renderer):
    depth = renderer.render(Scene())
    v, u = 70, 80  # one pixel on the floor ahead, 10 cm nearer than the floor
    depth[v, u] -= 0.1
    m = _map()
    _update(m, depth)
    assert len(m) == 0
