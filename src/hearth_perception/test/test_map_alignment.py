"""Aligning a depth frame to the static map: where the localization has placed the map a
little off, the walls the depth camera sees are put back onto the map's walls before the map
explains them, so a misplaced doorway does not turn into people standing in it."""

import math

import numpy as np
import pytest

from hearth_perception.local_costmap import LocalCostmap, StaticMap
from hearth_perception.map_alignment import Alignment, AlignmentParams, MapAligner
from hearth_perception.obstacle_detection import DetectionParams, detect_obstacles

RES = 0.05
SENSOR = np.array([2.0, 2.0])


def room_with_a_doorway() -> StaticMap:
    """A 5 x 4 m room (walls 0.1 m thick), a 0.9 m doorway in its south wall at x = 2.5 m,
    a 0.6 x 0.6 m cabinet in its north-east corner; cell (0, 0) at map (-0.5, -0.5)."""
    occ = np.zeros((100, 120), dtype=np.int8)

    def fill(x0, x1, y0, y1):
        occ[round((y0 + 0.5) / RES):round((y1 + 0.5) / RES),
            round((x0 + 0.5) / RES):round((x1 + 0.5) / RES)] = 100

    fill(0.0, 5.1, 0.0, 0.1)   # south wall ...
    occ[:, round((2.05 + 0.5) / RES):round((2.95 + 0.5) / RES)][
        round(0.5 / RES):round(0.6 / RES)] = 0   # ... with its doorway
    fill(0.0, 5.1, 4.0, 4.1)   # north
    fill(0.0, 0.1, 0.0, 4.1)   # west
    fill(5.0, 5.1, 0.0, 4.1)   # east
    fill(4.2, 4.8, 3.2, 3.8)   # a cabinet
    return StaticMap(occ, RES, origin_xy_yaw=(-0.5, -0.5, 0.0))


def surfaces_seen_from(sensor, true_map: StaticMap, n_rays=360, max_range_m=4.5):
    """A 360-degree scan at two heights of ``true_map`` from ``sensor``: the depth camera's
    points on the real walls and furniture (odom = the true map frame)."""
    window = LocalCostmap(12.0, RES)
    window.update(sensor, None, true_map.in_odom((0.0, 0.0, 0.0)))
    angles = np.linspace(-math.pi, math.pi, n_rays, endpoint=False)
    steps = np.arange(0.05, max_range_m, 0.01)
    pts = []
    for a in angles:
        ray = sensor + steps[:, None] * (math.cos(a), math.sin(a))
        hit = np.nonzero(window.distance_at(ray) < 0.03)[0]
        if len(hit):
            pts.append(ray[hit[0]])
    xy = np.array(pts)
    return np.concatenate([np.column_stack([xy, np.full(len(xy), h)]) for h in (0.2, 0.5)])


def misplaced_window(static: StaticMap, dx: float, dy: float, dyaw_rad: float) -> LocalCostmap:
    """The map as a localization that is off by (dx, dy, dyaw) places it in odom."""
    window = LocalCostmap(12.0, RES)
    window.update(SENSOR, None, static.in_odom((dx, dy, dyaw_rad)))
    return window


def test_a_map_placed_off_by_a_tenth_of_a_metre_and_five_degrees_is_put_back():
    static = room_with_a_doorway()
    points = surfaces_seen_from(SENSOR, static)
    window = misplaced_window(static, 0.10, -0.06, math.radians(5.0))
    a = MapAligner().align(points, window.distance_at, SENSOR, 0.03, 0.7)
    assert a.aligned
    # the correction moves the seen walls by the misplacement: each lands on the map again
    moved = a.apply(points[:, :2])
    assert np.median(window.distance_at(moved)) < 0.03
    assert a.yaw_rad == pytest.approx(math.radians(5.0), abs=math.radians(0.7))
    assert a.rms_m < 0.04


def test_aligned_the_misplaced_map_explains_its_walls_and_no_one_stands_in_the_doorway():
    static = room_with_a_doorway()
    person = np.array([2.5, 1.2])  # a person in the room, 0.9 m in front of the doorway
    facing = math.atan2(*(SENSOR - person)[::-1])  # the half of the body the camera sees
    arc = facing + np.linspace(-1.4, 1.4, 40)
    ring = person + 0.25 * np.column_stack([np.cos(arc), np.sin(arc)])
    body = np.concatenate([np.column_stack([ring, np.full(40, h)]) for h in (0.2, 0.5)])
    points = np.concatenate([surfaces_seen_from(SENSOR, static), body])
    window = misplaced_window(static, 0.12, 0.08, math.radians(-6.0))
    params = DetectionParams()

    unaligned = detect_obstacles(points, SENSOR, params, window.distance_at)
    assert len(unaligned) > 1  # the walls, placed off, become "people"

    a = MapAligner().align(points, window.distance_at, SENSOR, params.min_z_m, params.max_z_m)
    aligned = detect_obstacles(points, SENSOR, params, a.explain(window.distance_at))
    assert len(aligned) == 1
    np.testing.assert_allclose(aligned.positions[0], person, atol=0.15)


def test_along_a_corridor_the_walls_fix_only_the_cross_offset_and_the_prior_the_rest():
    occ = np.zeros((40, 200), dtype=np.int8)
    occ[4:6, :] = 100    # corridor walls at map y = 0.0 and 1.2 m, 10 m long
    occ[28:30, :] = 100
    static = StaticMap(occ, RES, origin_xy_yaw=(-5.0, -0.2, 0.0))
    sensor = np.array([0.0, 0.6])
    points = surfaces_seen_from(sensor, static, max_range_m=3.0)
    window = LocalCostmap(12.0, RES)
    window.update(sensor, None, static.in_odom((0.0, 0.10, 0.0)))  # placed 10 cm north
    a = MapAligner().align(points, window.distance_at, sensor, 0.03, 0.7)
    assert a.aligned
    assert a.t_xy[1] == pytest.approx(0.10, abs=0.02)
    assert abs(a.t_xy[0]) < 0.02  # nothing says the map is off along the corridor
    assert abs(a.yaw_rad) < math.radians(0.5)


def test_a_map_already_in_place_is_left_alone_even_with_people_by_its_walls():
    static = room_with_a_doorway()
    people = []
    for centre in ((0.35, 2.0), (2.0, 3.7), (4.7, 1.0)):  # each 0.2 m off a wall
        arc = math.atan2(*(SENSOR - centre)[::-1]) + np.linspace(-1.4, 1.4, 40)
        ring = np.asarray(centre) + 0.25 * np.column_stack([np.cos(arc), np.sin(arc)])
        people.append(np.column_stack([ring, np.full(40, 0.4)]))
    points = np.concatenate([surfaces_seen_from(SENSOR, static), *people])
    a = MapAligner().align(points, misplaced_window(static, 0.0, 0.0, 0.0).distance_at,
                           SENSOR, 0.03, 0.7)
    assert not a.aligned and a.t_xy == (0.0, 0.0) and a.yaw_rad == 0.0


def test_a_frame_with_too_few_map_points_is_not_aligned_and_explains_as_before():
    static = room_with_a_doorway()
    window = misplaced_window(static, 0.0, 0.0, 0.0)
    few = np.array([[1.0, 1.0, 0.3], [1.1, 1.0, 0.3], [np.nan, 1.0, 0.3]])
    a = MapAligner().align(few, window.distance_at, SENSOR, 0.03, 0.7)
    assert not a.aligned
    xy = np.array([[0.05, 2.0], [2.0, 2.0]])
    np.testing.assert_array_equal(a.explain(window.distance_at)(xy), window.distance_at(xy))


def test_the_last_correction_is_the_next_frames_starting_point_but_never_forced_on_it():
    static = room_with_a_doorway()
    points = surfaces_seen_from(SENSOR, static)
    aligner = MapAligner()
    aligner.align(points, misplaced_window(static, 0.1, 0.0, 0.05).distance_at, SENSOR,
                  0.03, 0.7)
    # the localization corrects itself: the next frame needs no correction
    a = aligner.align(points, misplaced_window(static, 0.0, 0.0, 0.0).distance_at, SENSOR,
                      0.03, 0.7)
    assert math.hypot(*a.t_xy) < 0.02 and abs(a.yaw_rad) < math.radians(0.5)


def test_the_corrected_placement_puts_the_maps_walls_where_the_camera_sees_them():
    static = room_with_a_doorway()
    points = surfaces_seen_from(SENSOR, static)
    off = (0.10, -0.06, math.radians(5.0))
    a = MapAligner().align(points, misplaced_window(static, *off).distance_at, SENSOR,
                           0.03, 0.7)
    corrected = LocalCostmap(12.0, RES)
    corrected.update(SENSOR, None, static.in_odom(a.corrected_map_pose(off)))
    assert np.median(corrected.distance_at(points[:, :2])) < 0.03
    np.testing.assert_allclose(a.corrected_map_pose(off), (0.0, 0.0, 0.0), atol=0.02)


def test_a_correction_about_one_pivot_is_the_same_motion_about_another():
    a = Alignment((0.1, -0.2), 0.3, (1.0, 2.0), 50, 0.01, True)
    q = np.array([[0.0, 0.0], [3.0, -1.0]])
    np.testing.assert_allclose(a.moved_to((5.0, -4.0)).apply(q), a.apply(q), atol=1e-12)


def test_parameters_out_of_range_are_refused():
    with pytest.raises(ValueError):
        AlignmentParams(max_inlier_distance_m=0.0)
    with pytest.raises(ValueError):
        AlignmentParams(min_inliers=2)
    with pytest.raises(ValueError):
        AlignmentParams(prior_sigma_yaw_rad=math.nan)


@pytest.mark.parametrize(("key", "value"), [("max_alignment_m", 0.0),
                                            ("max_alignment_deg", 90.0),
                                            ("max_alignment_m", math.nan)])
def test_an_alignment_parameter_out_of_range_is_refused_by_name(key, value):
    from hearth_common.config import ConfigError, load_config
    from hearth_perception.config import ObstacleTrackerConfig

    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config(ObstacleTrackerConfig, {key: value})
