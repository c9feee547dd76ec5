"""Door sills and rug edges: where they are (the file), when the robot is on one, and the
planner crossing them slowly when asked to (floor_weight > 0; off by default)."""

import math

import numpy as np
import pytest
from test_planner import free_space, planner

from hearth_trajectory.floor_transitions import (
    FloorTransitions,
    FloorTransitionsError,
    load_floor_transitions,
    parse_floor_transitions,
    save_floor_transitions,
)
from hearth_trajectory.planner import Odometry, PlanningInput

CONTACTS = ((0.0, 0.14), (0.0, -0.14), (0.13, 0.0), (-0.13, 0.0))  # wheels, casters
# A sill 0.8 m wide across the way at x = 1.5 (0.14 m deep), and a runner's long edge at
# y = 0.35 along the way.
SILL = FloorTransitions(np.array([[[1.5, -0.4], [1.5, 0.4]]]), np.array([0.07]), ("sill",))
EDGE = FloorTransitions(np.array([[[0.0, 0.35], [3.0, 0.35]]]), np.array([0.0]), ("edge",))


def touched(ft, x, y, yaw=0.0):
    return bool(ft.touched(np.array([x]), np.array([y]), np.array([yaw]), CONTACTS)[0])


def test_a_wheel_or_caster_on_the_sill_or_about_to_cross_it_is_on_it():
    assert not touched(SILL, 1.0, 0.0)  # front caster 0.5 - 0.13 - 0.07 = 0.3 m short
    assert touched(SILL, 1.32, 0.0)  # the front caster meets it
    assert touched(SILL, 1.5, 0.0)  # wheels on it
    assert touched(SILL, 1.68, 0.0)  # the rear caster leaves it
    assert not touched(SILL, 1.9, 0.0)


def test_a_rug_edge_beside_the_way_counts_only_where_a_contact_crosses_it():
    assert not touched(EDGE, 1.5, 0.0)  # wheels 0.21 m inside: driving along the runner
    assert touched(EDGE, 1.5, 0.2)  # the left wheel on the edge
    assert touched(EDGE, 1.5, 0.35, yaw=math.pi / 2)  # crossing it


def test_transitions_move_with_the_frame_they_are_given_in():
    # The map's pose in odom: 1 m ahead, turned a quarter left.
    moved = SILL.transformed((1.0, 0.0, math.pi / 2), "odom")
    assert moved.frame_id == "odom"
    np.testing.assert_allclose(moved.segments_m[0], [[1.4, 1.5], [0.6, 1.5]], atol=1e-12)
    np.testing.assert_allclose(moved.half_widths_m, SILL.half_widths_m)


def test_the_file_round_trips_and_is_written_atomically(tmp_path):
    path = tmp_path / "floor_transitions.yaml"
    both = FloorTransitions(np.concatenate([SILL.segments_m, EDGE.segments_m]),
                            np.array([0.07, 0.0]), ("sill", "edge"))
    save_floor_transitions(both, path)
    back = load_floor_transitions(path)
    np.testing.assert_allclose(back.segments_m, both.segments_m)
    np.testing.assert_allclose(back.half_widths_m, both.half_widths_m)
    assert back.names == ("sill", "edge") and back.frame_id == "map"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("doc, says", [
    (None, "'transitions' list"),
    ({"transitions": "sill"}, "'transitions' list"),
    ({"frame_id": "", "transitions": []}, "'frame_id'"),
    ({"transitions": [{"from_m": [0, 0]}]}, r"transitions\[0\]: needs from_m"),
    ({"transitions": [{"from_m": [0, 0], "to_m": [1, float("nan")]}]},
     r"transitions\[0\]: coordinates must be finite"),
    ({"transitions": [{"from_m": [0, 0], "to_m": [1, 0], "half_width_m": -0.1}]},
     "half_width_m >= 0"),
    ({"transitions": [{"from_m": [0, 0, 0], "to_m": [1, 0]}]}, r"\[x, y\]"),
    ({"transitions": [{"from_m": "here", "to_m": [1, 0]}]}, "needs from_m"),
])
def test_a_bad_transition_is_refused_with_the_field_named(doc, says):
    with pytest.raises(FloorTransitionsError, match=says):
        parse_floor_transitions(doc)


def test_a_corrupt_or_missing_file_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "floor_transitions.yaml"
    bad.write_text("transitions: [ {from_m: [0, 0], to_m: [1")
    with pytest.raises(FloorTransitionsError, match="not valid YAML"):
        load_floor_transitions(bad)
    with pytest.raises(FloorTransitionsError, match="cannot be read"):
        load_floor_transitions(tmp_path / "missing.yaml")


def _speed_over_the_sill(floor_weight: float) -> float:
    """Drive the planner along a straight path over SILL with ideal tracking; the fastest
    the robot goes while a wheel or a caster is on it (m/s)."""
    pl = planner(floor_weight=floor_weight)
    path = np.column_stack([np.linspace(0.0, 4.0, 41), np.zeros(41)])
    x, v, fastest, t = 0.0, 0.0, 0.0, 0.0
    for _ in range(45):
        res = pl.plan(PlanningInput(t, Odometry(t, x, 0.0, 0.0, v, 0.0, np.eye(2) * 1e-4),
                                    path, 1, free_space(), floor=SILL))
        s = res.plan.state(t + 0.1) if res.plan is not None else None
        v = s.v_mps if s is not None else 0.0
        x = s.x_m if s is not None else x
        t += 0.1
        if touched(SILL, x, 0.0):
            fastest = max(fastest, v)
    assert x > 2.0, "the robot did not get past the sill"
    return fastest


def test_the_heavier_the_floor_weight_the_slower_the_robot_crosses_a_sill():
    # A soft cost: it trades the jolt against the time lost (1.0, 0.82 and 0.48 m/s when
    # written); off by default, the robot crosses at full speed.
    off, measured, heavy = (_speed_over_the_sill(w) for w in (0.0, 3.0, 10.0))
    assert off > 0.95
    assert measured < off - 0.1
    assert heavy < 0.6


def test_a_slanted_crossing_costs_more_than_a_square_one():
    from test_planner import LIMITS

    from hearth_trajectory.critics import Evaluation, FloorCritic, Scene
    from hearth_trajectory.people_forecast import Forecast
    from hearth_trajectory.trajectory_space import StartState, rollout

    # Two candidates crossing the sill at 0.2 m/s (within the free speed), one square to it
    # and one 30 degrees off.
    starts = [StartState(1.2, 0.0, 0.0, 0.2, 0.0),
              StartState(1.2, 0.0, math.radians(30.0), 0.2, 0.0)]
    costs = []
    for st in starts:
        roll = rollout(st, np.tile([0.2, 0.0], (1, 30, 1)), LIMITS, 0.1)
        scene = Scene(0.1, LIMITS, 0.175, np.eye(2) * 1e-4, None, 0.05,
                      Forecast(np.zeros(0, int), np.zeros((0, 30, 2)), np.zeros((0, 30, 2, 2)),
                               np.zeros(0)), None, floor=SILL)
        costs.append(float(FloorCritic(1.0)(Evaluation(roll, scene))[0]))
    square, slanted = costs
    assert square == pytest.approx(0.0, abs=1e-12)
    assert slanted > 0.1
