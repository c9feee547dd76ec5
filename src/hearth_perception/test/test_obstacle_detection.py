"""Detections: depth points the static map does not explain, in the robot's height band,
clustered into bodies with their centre (behind the visible surface) and radius."""

import numpy as np
import pytest

from hearth_perception.local_costmap import LocalCostmap, StaticMap
from hearth_perception.obstacle_detection import (
    DetectionParams,
    cluster_labels,
    detect_obstacles,
)

SENSOR = np.array([0.0, 0.0])


def body_points(centre, radius=0.25, sensor=SENSOR, n_arc=40, heights=(0.1, 0.3, 0.5)):
    """The near side of a vertical cylinder as a depth camera at ``sensor`` sees it: evenly
    spaced across the line of sight (a far camera's pixels)."""
    c = np.asarray(centre, dtype=float)
    los = (c - sensor) / np.linalg.norm(c - sensor)
    across = np.array([-los[1], los[0]])
    lateral = np.linspace(-0.98, 0.98, n_arc) * radius
    depth = np.sqrt(radius**2 - lateral**2)
    ring = c + lateral[:, None] * across - depth[:, None] * los
    return np.concatenate([np.column_stack([ring, np.full(n_arc, h)]) for h in heights])


def wall_points(x=3.0, y0=-2.0, y1=2.0, n=200):
    y = np.linspace(y0, y1, n)
    return np.concatenate([np.column_stack([np.full(n, x), y, np.full(n, h)])
                           for h in (0.1, 0.4)])


def test_a_body_is_one_detection_at_its_centre_with_its_radius():
    det = detect_obstacles(body_points((2.0, 0.5)), SENSOR, DetectionParams())
    assert len(det) == 1
    np.testing.assert_allclose(det.positions[0], (2.0, 0.5), atol=0.05)
    assert det.radii[0] == pytest.approx(0.25, abs=0.05)


def test_two_bodies_a_metre_apart_are_two_detections():
    pts = np.concatenate([body_points((2.0, 0.5)), body_points((2.0, -0.5))])
    det = detect_obstacles(pts, SENSOR, DetectionParams())
    assert len(det) == 2
    assert sorted(det.positions[:, 1].round(1)) == [-0.5, 0.5]


def test_the_floor_and_points_above_the_robot_are_not_obstacles():
    rng = np.random.default_rng(1)
    floor = np.column_stack([rng.uniform(0.5, 3, (500, 2)), rng.uniform(-0.01, 0.02, 500)])
    ceiling = np.column_stack([rng.uniform(0.5, 3, (500, 2)), np.full(500, 2.4)])
    assert len(detect_obstacles(np.concatenate([floor, ceiling]), SENSOR,
                                DetectionParams(max_z_m=0.7))) == 0


def test_what_the_static_map_explains_is_not_a_detection():
    occ = np.zeros((100, 100), dtype=np.int8)
    occ[:, 60] = 100  # a mapped wall at map x = 3.0-3.05 m (map = odom here)
    static = StaticMap(occ, 0.05, origin_xy_yaw=(0.0, -2.5, 0.0))
    window = LocalCostmap(size_m=10.0)
    window.update((0.0, 0.0), None, static.in_odom((0.0, 0.0, 0.0)))
    pts = np.concatenate([wall_points(x=3.02), body_points((2.0, 0.0))])
    det = detect_obstacles(pts, SENSOR, DetectionParams(), window.distance_at)
    assert len(det) == 1
    np.testing.assert_allclose(det.positions[0], (2.0, 0.0), atol=0.05)
    # without the map the wall is a cluster too large to be a body: rejected as well
    assert len(detect_obstacles(pts, SENSOR, DetectionParams())) == 1


def test_sparse_specks_below_min_points_are_ignored():
    pts = np.array([[1.0, 1.0, 0.3], [1.02, 1.0, 0.3]])
    assert len(detect_obstacles(pts, SENSOR, DetectionParams(min_points=5))) == 0
    assert len(detect_obstacles(np.zeros((0, 3)), SENSOR, DetectionParams())) == 0


def test_clusters_join_points_less_than_a_cell_apart():
    xy = np.array([[0.0, 0.0], [0.09, 0.0], [0.18, 0.05], [1.0, 1.0]])
    labels = cluster_labels(xy, 0.1)
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_inconsistent_parameters_are_rejected():
    with pytest.raises(ValueError):
        DetectionParams(min_z_m=1.0, max_z_m=0.5)


def test_the_robots_own_chassis_edge_is_not_an_obstacle():
    # the ToF looks down onto the chassis's front edge (radius 0.175 m, up to 0.1 m high)
    a = np.linspace(-0.6, 0.6, 30)
    edge = np.column_stack([0.17 * np.cos(a), 0.17 * np.sin(a), np.full(30, 0.09)])
    params = DetectionParams(self_radius_m=0.225)
    assert len(detect_obstacles(edge, (0.04, 0.0), params, robot_xy=(0.0, 0.0))) == 0
    assert len(detect_obstacles(edge, (0.04, 0.0), DetectionParams(), robot_xy=(0.0, 0.0))) == 1
    person = body_points((1.0, 0.0), sensor=np.array([0.04, 0.0]))
    both = np.concatenate([edge, person])
    assert len(detect_obstacles(both, (0.04, 0.0), params, robot_xy=(0.0, 0.0))) == 1


def test_a_body_cut_by_the_side_of_the_image_is_flagged_cut():
    """A body half out of the view: its points from the image's side column mark it cut
    (the tracker lets it only keep a walker's track going); a whole body is not."""
    pts = np.concatenate([body_points((2.0, 0.8)), body_points((2.0, -0.8))])
    border = np.zeros(len(pts), dtype=bool)
    half = len(pts) // 2
    border[:half][pts[:half, 1] > 0.95] = True  # the left body reaches the image's edge
    det = detect_obstacles(pts, SENSOR, DetectionParams(), on_side_border=border)
    assert len(det) == 2
    order = np.argsort(det.positions[:, 1])
    assert det.cut[order].tolist() == [False, True]
    assert det.positions[order[0], 1] == pytest.approx(-0.8, abs=0.05)
    assert detect_obstacles(pts, SENSOR, DetectionParams()).cut.tolist() == [False, False]
    assert detect_obstacles(np.zeros((0, 3)), SENSOR, DetectionParams()).cut.shape == (0,)
    with pytest.raises(ValueError, match="border flags"):
        detect_obstacles(pts, SENSOR, DetectionParams(), on_side_border=border[:-1])
