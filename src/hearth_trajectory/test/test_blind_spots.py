"""Blind spots: what the robot cannot see from where it is, how far an unseen person there
walks to each place, and the critic that slows the robot where one could step out."""

import numpy as np
import pytest

from hearth_perception.local_costmap import distance_field_m
from hearth_trajectory.blind_spots import (
    FAR_M,
    phantom_distance,
    stopping_speed_mps,
    visible_cells,
)
from hearth_trajectory.fields import GridField

RES = 0.05


def hallway_with_a_door() -> tuple[np.ndarray, GridField]:
    """A 6 x 6 m window: a hallway along x between walls at y = 2.45 and 3.55 m, and a room
    north of it reached through a doorway from x = 3.6 to 4.4 m; the room is closed to the
    west at x = 3.0 m, and a second room south of the hallway has no door."""
    occ = np.zeros((120, 120), dtype=bool)
    occ[49, :] = True  # south wall (row 49: y 2.45..2.5)
    occ[71, :] = True  # north wall
    occ[71, 72:88] = False  # the doorway
    occ[71:, 60] = True  # the north room's west wall, x = 3.0 m
    return occ, GridField((0.0, 0.0), RES, distance_field_m(occ, RES))


def at(field: GridField, x: float, y: float) -> float:
    return float(field.sample(np.array([x]), np.array([y]))[0])


def test_a_ray_stops_at_the_first_wall_but_not_at_one_the_robot_touches():
    occ, _ = hallway_with_a_door()
    seen = visible_cells(occ, (0.0, 0.0), RES, (1.5, 3.0), own_radius_m=0.175)
    assert seen[60, 30]  # along the hallway
    assert seen[49, 30]  # the wall itself
    assert not seen[40, 30]  # the room south of the wall
    assert seen[76, 100]  # into the north room, through the doorway at a slant
    assert not seen[110, 62]  # the north room's far west corner, behind the wall at x = 3
    # a wall within the robot's own radius (the costmap's blur of one it touches) hides nothing
    touching = visible_cells(occ, (0.0, 0.0), RES, (1.5, 2.6), own_radius_m=0.175)
    assert touching[60, 100]


def test_an_unseen_person_is_near_beside_the_doorway_and_far_behind_a_solid_wall():
    _, dist = hallway_with_a_door()
    phantom = phantom_distance(dist, (1.5, 3.0), own_radius_m=0.175)
    # Beside the doorway, the room's hidden west part is a step away; the robot's own
    # position is as far as the walk round through the door.
    beside_door = at(phantom, 4.0, 3.0)
    assert beside_door < 1.0
    assert at(phantom, 1.5, 3.0) > beside_door + 1.0
    # The room south of the hallway is unseen too, but has no door: nobody walks out of it.
    assert at(phantom, 2.0, 2.7) >= at(phantom, 2.0, 3.3) - 0.1
    assert at(phantom, 2.0, 2.7) > 1.0


def test_nothing_hidden_means_nothing_within_reach():
    occ = np.zeros((40, 40), dtype=bool)
    occ[0, :] = occ[-1, :] = occ[:, 0] = occ[:, -1] = True  # a closed, empty room
    field = GridField((0.0, 0.0), RES, distance_field_m(occ, RES))
    phantom = phantom_distance(field, (1.0, 1.0), own_radius_m=0.175)
    assert np.all(phantom.values == FAR_M)


def test_the_stopping_speed_stops_the_robot_within_the_gap():
    gaps = np.array([0.0, 0.1, 0.5, 2.0])
    v = stopping_speed_mps(gaps, reaction_s=0.3, decel_mps2=1.0)
    assert v[0] == 0.0
    np.testing.assert_allclose(v * 0.3 + v**2 / 2.0, gaps, atol=1e-12)
    assert np.all(np.diff(v) > 0.0)
    assert stopping_speed_mps(np.array([-1.0]), 0.3, 1.0)[0] == 0.0


def test_passing_a_doorway_fast_costs_and_slowly_does_not():
    from test_planner import LIMITS

    from hearth_trajectory.critics import BlindSpotCritic, Evaluation, Scene
    from hearth_trajectory.people_forecast import Forecast
    from hearth_trajectory.trajectory_space import StartState, rollout

    _, dist = hallway_with_a_door()
    phantom = phantom_distance(dist, (1.5, 3.0), own_radius_m=0.175)
    costs = {}
    for v in (0.2, 1.0):
        roll = rollout(StartState(3.0, 3.0, 0.0, v, 0.0), np.tile([v, 0.0], (1, 30, 1)),
                       LIMITS, 0.1)
        scene = Scene(0.1, LIMITS, 0.175, np.eye(2) * 1e-4, dist, RES,
                      Forecast(np.zeros(0, int), np.zeros((0, 30, 2)), np.zeros((0, 30, 2, 2)),
                               np.zeros(0)), None, blind_spots=phantom)
        costs[v] = float(BlindSpotCritic(1.0)(Evaluation(roll, scene))[0])
    assert costs[0.2] == pytest.approx(0.0, abs=1e-12)
    assert costs[1.0] > 0.01
    none = Scene(0.1, LIMITS, 0.175, np.eye(2) * 1e-4, dist, RES,
                 Forecast(np.zeros(0, int), np.zeros((0, 30, 2)), np.zeros((0, 30, 2, 2)),
                          np.zeros(0)), None)
    roll = rollout(StartState(3.0, 3.0, 0.0, 1.0, 0.0), np.tile([1.0, 0.0], (1, 30, 1)),
                   LIMITS, 0.1)
    assert BlindSpotCritic(1.0)(Evaluation(roll, none))[0] == 0.0
