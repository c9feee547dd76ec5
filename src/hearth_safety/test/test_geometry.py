"""Footprint, ToF mounting and depth projection: the geometry the check stands on."""

from __future__ import annotations

import math

import numpy as np
import pytest
from safety_harness import CAMERA, MOUNTING, ROBOT

from hearth_safety.depth_projection import DepthProjector, Mounting, PinholeCamera
from hearth_safety.footprint import Footprint
from hearth_safety.synthetic_depth import Box, Scene


def test_the_circle_footprints_signed_distance_is_exact():
    fp = Footprint.circle(0.175)
    d = fp.signed_distance(np.array([0.0, 0.175, 0.5, 0.3]), np.array([0.0, 0.0, 0.0, 0.4]))
    assert d == pytest.approx([-0.175, 0.0, 0.325, 0.5 - 0.175])
    assert fp.bounding_radius_m == 0.175


def test_a_polygon_footprint_is_exact_inside_and_conservative_at_corners():
    square = Footprint.polygon([[0.2, 0.2], [-0.2, 0.2], [-0.2, -0.2], [0.2, -0.2]])  # cw ok
    d = square.signed_distance(np.array([0.0, 0.3, 0.1, 0.3]), np.array([0.0, 0.0, 0.0, 0.3]))
    assert d[:3] == pytest.approx([-0.2, 0.1, -0.1])
    assert d[3] <= math.hypot(0.1, 0.1)  # corner: never more than the true distance
    assert square.bounding_radius_m == pytest.approx(math.hypot(0.2, 0.2))


@pytest.mark.parametrize("bad", [
    {"radius_m": 0.0}, {"radius_m": math.nan}, {},
    {"polygon_m": [[0, 0], [1, 0]]},
    {"polygon_m": [[1, 1], [-1, 1], [0, 0.5], [-1, -1], [1, -1]]},  # not convex
    {"polygon_m": [[1, 1], [2, 1], [2, 2], [1, 2]]},  # base_link outside
])
def test_a_bad_footprint_is_refused(bad):
    with pytest.raises(ValueError):
        Footprint(**bad)


def test_the_tof_mounting_comes_from_the_urdf_built_from_robot_yaml():
    tof, mast, base = ROBOT.tof, ROBOT.mast, ROBOT.base
    # On the mast's front face, height_on_mast_m above the chassis top.
    assert MOUNTING.translation_m == pytest.approx(
        [mast.x_m + mast.radius_m + 0.01, 0.0,
         base.ground_clearance_m + base.height_m + tof.height_on_mast_m])
    # Optical z looks forward and down by the pitch; x is the robot's right.
    r = MOUNTING.rotation
    pitch = tof.pitch_down_rad
    assert r[:, 2] == pytest.approx([math.cos(pitch), 0.0, -math.sin(pitch)], abs=1e-9)
    assert r[:, 0] == pytest.approx([0.0, -1.0, 0.0], abs=1e-9)


def test_a_bad_camera_or_mounting_is_refused():
    with pytest.raises(ValueError, match="focal"):
        PinholeCamera.from_k(160, 120, [0, 0, 80, 0, 80, 60, 0, 0, 1])
    with pytest.raises(ValueError, match="9 values"):
        PinholeCamera.from_k(160, 120, [1, 2, 3])
    with pytest.raises(ValueError, match="orthonormal"):
        Mounting(np.eye(3) * 2.0, np.zeros(3))


def test_the_floor_projects_to_zero_height_and_nan_pixels_are_dropped(renderer):
    depth = renderer.render(Scene())
    proj = DepthProjector(CAMERA, MOUNTING, ROBOT.tof.min_range_m, ROBOT.tof.max_range_m)
    pts = proj.points_base(depth)
    floor = pts[pts[:, 0] ** 2 + pts[:, 1] ** 2 > 0.19 ** 2]  # not the chassis
    assert np.abs(floor[:, 2]).max() < 1e-4
    assert len(pts) == np.isfinite(depth).sum()  # every valid pixel, no NaN one
    assert len(proj.points_base(np.full_like(depth, np.nan))) == 0
    stride = DepthProjector(CAMERA, MOUNTING, 0.1, 4.0, stride=2).points_base(depth)
    assert len(stride) == np.isfinite(depth[::2, ::2]).sum()


def test_a_box_face_projects_where_it_stands(renderer):
    depth = renderer.render(Scene(boxes=(Box((1.0, 0.0, 0.15), (0.2, 0.6, 0.3)),)))
    pts = DepthProjector(CAMERA, MOUNTING, 0.1, 4.0).points_base(depth)
    face = pts[(pts[:, 2] > 0.05) & (pts[:, 2] < 0.25) & (np.abs(pts[:, 1]) < 0.25)]
    assert np.median(face[:, 0]) == pytest.approx(0.9, abs=0.005)


def test_depth_behind_tells_seen_free_from_hidden_and_out_of_view(renderer):
    proj = DepthProjector(CAMERA, MOUNTING, 0.1, 4.0)
    floor = renderer.render(Scene())
    wall = renderer.render(Scene(boxes=(Box((0.6, 0.0, 0.5), (0.05, 2.0, 1.0)),)))
    pts = np.array([
        [0.9, 0.0, 0.05],   # in view, the floor seen beyond it: free
        [0.22, 0.0, 0.02],  # in front of the chassis, below the chassis' edge: hidden
        [0.0, 0.6, 0.05],   # beside the robot: out of view
        [2.5, 0.0, 0.3],    # in view, where the empty floor's rays leave the range: free
    ])
    assert proj.depth_behind(pts, floor, 0.05).tolist() == [True, False, False, True]
    # Behind a wall: hidden (the wall is nearer than the point).
    assert not proj.depth_behind(pts[:1], wall, 0.05)[0]
    # A dropout where the floor would be in range proves nothing.
    holes = floor.copy()
    holes[:] = np.nan
    assert not proj.depth_behind(pts[:1], holes, 0.05)[0]
