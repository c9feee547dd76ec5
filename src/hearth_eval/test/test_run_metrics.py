"""The run metrics on synthetic arrays whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hearth_eval.run_metrics import (
    Contact,
    Episode,
    GoalRun,
    clearance_series,
    compose,
    crossings,
    episode_metrics,
    estimate_map_base,
    goal_metrics,
    jerk_series,
    merge_contacts,
    points_in_polygon,
    rectangle,
)

RATE_HZ = 50.0
ROBOT_R = 0.175


def straight_run(duration_s: float = 20.0, v_mps: float = 0.5) -> Episode:
    """The robot drives east along y = 0 at a constant speed from x = 0."""
    t = np.arange(0.0, duration_s + 1e-9, 1.0 / RATE_HZ)
    pose = np.column_stack([v_mps * t, np.zeros_like(t), np.zeros_like(t)])
    return Episode(robot_radius_m=ROBOT_R, truth_t_s=t, truth_pose=pose,
                   truth_v_mps=np.full_like(t, v_mps), truth_w_radps=np.zeros_like(t),
                   odom_t_s=t.copy(), odom_pose=pose.copy(),
                   map_odom_t_s=np.zeros(1), map_odom_pose=np.zeros((1, 3)),
                   goals=[GoalRun("east", v_mps * duration_s, 0.0, 0.0, duration_s, "reached")])


def test_compose_applies_the_second_pose_in_the_first_ones_frame():
    a = np.array([1.0, 2.0, math.pi / 2])
    b = np.array([1.0, 0.0, math.pi / 4])
    assert compose(a, b) == pytest.approx([1.0, 3.0, 3 * math.pi / 4])


def test_the_estimate_is_odom_composed_with_the_map_to_odom_that_stood_at_its_stamp():
    ep = straight_run(4.0)
    # V-SLAM's map->odom: from t = 1 s, then corrected by +0.3 m in y at t = 2 s
    ep.map_odom_t_s = np.array([1.0, 2.0])
    ep.map_odom_pose = np.array([[0.0, 0.0, 0.0], [0.0, 0.3, 0.0]])
    t, est = estimate_map_base(ep)
    assert t[0] == pytest.approx(1.0)  # no pose on the map before the first map->odom
    assert est[t < 2.0, 1] == pytest.approx(0.0)
    assert est[t >= 2.0, 1] == pytest.approx(0.3)
    ep.map_odom_t_s, ep.map_odom_pose = np.zeros(0), np.zeros((0, 3))
    assert len(estimate_map_base(ep)[0]) == 0  # V-SLAM never placed the robot: no estimate


def test_ate_is_the_rms_position_error_with_no_alignment():
    ep = straight_run(10.0)
    ep.odom_pose = ep.odom_pose + np.array([0.03, 0.04, 0.0])  # a constant 5 cm offset
    m = goal_metrics(ep)[0]
    assert m.ate_rms_m == pytest.approx(0.05, abs=1e-9)
    assert m.ate_max_m == pytest.approx(0.05, abs=1e-9)


def test_clearance_is_body_to_body_and_the_minimum_is_at_the_closest_pass():
    ep = straight_run(20.0)  # x from 0 to 10 m
    # a person standing 1 m north of x = 5 m, radius 0.25: closest gap 1 - 0.25 - 0.175
    ep.people_t_s = ep.truth_t_s.copy()
    ep.people_xy = np.tile(np.array([[[5.0, 1.0]]]), (len(ep.people_t_s), 1, 1))
    ep.people_radius_m = np.full((len(ep.people_t_s), 1), 0.25)
    t, gap = clearance_series(ep)
    k = int(np.argmin(gap))
    assert gap[k] == pytest.approx(1.0 - 0.25 - ROBOT_R)
    assert t[k] == pytest.approx(10.0)
    m = goal_metrics(ep)[0]
    assert m.min_clearance_people_m == pytest.approx(0.575)
    assert m.time_within_personal_space_s == 0.0  # 0.575 m > 0.5 m


def test_time_within_personal_space_counts_the_samples_closer_than_half_a_metre():
    ep = straight_run(20.0)
    ep.people_t_s = ep.truth_t_s.copy()
    # the person walks alongside at 0.6 m centre distance (gap 0.175 m) from t = 5 to 9 s
    xy = np.full((len(ep.people_t_s), 1, 2), np.nan)  # absent otherwise
    beside = (ep.people_t_s >= 5.0) & (ep.people_t_s < 9.0)
    xy[beside, 0, 0] = ep.truth_pose[beside, 0]
    xy[beside, 0, 1] = 0.6
    ep.people_xy = xy
    ep.people_radius_m = np.full((len(ep.people_t_s), 1), 0.25)
    m = goal_metrics(ep)[0]
    assert m.min_clearance_people_m == pytest.approx(0.6 - 0.25 - ROBOT_R)
    assert m.time_within_personal_space_s == pytest.approx(4.0, abs=0.03)


def test_nobody_about_gives_an_infinite_clearance_reported_as_null():
    m = goal_metrics(straight_run(5.0))[0]
    assert m.min_clearance_people_m == math.inf
    assert m.as_dict()["min_clearance_people_m"] is None


def test_constant_speed_has_no_jerk_and_a_cubic_speed_has_its_second_derivative():
    t = np.arange(0.0, 10.0, 1.0 / RATE_HZ)
    _, j = jerk_series(t, np.full_like(t, 0.7))
    assert np.abs(j).max() == pytest.approx(0.0, abs=1e-9)
    # v = 0.1 t^2: jerk 0.2 m/s^3 everywhere (the 0.1 s block averages keep it exact)
    _, j = jerk_series(t, 0.1 * t**2)
    assert j == pytest.approx(np.full_like(j, 0.2), rel=1e-6)


def test_jerk_of_a_turn_rate_step_is_large_and_shows_in_the_angular_rms_only():
    ep = straight_run(10.0)
    ep.truth_w_radps = np.where(ep.truth_t_s > 5.0, 1.0, 0.0)
    m = goal_metrics(ep)[0]
    assert m.jerk_linear_rms_mps3 == pytest.approx(0.0, abs=1e-9)
    assert m.jerk_angular_rms_radps3 > 10.0


def test_planner_cycle_p95_is_taken_over_the_goal_only():
    ep = straight_run(10.0)
    ep.goals = [GoalRun("a", 0, 0, 0.0, 5.0, "reached"), GoalRun("b", 0, 0, 5.0, 10.0, "aborted")]
    ep.cycle_t_s = np.arange(0.05, 10.0, 0.1)
    ep.cycle_ms = np.where(ep.cycle_t_s < 5.0, 20.0, 80.0)
    ep.cycle_ms[10] = 500.0  # one overrun in goal a: above its 95th percentile
    a, b = goal_metrics(ep)
    assert a.planner_cycle_p95_ms == pytest.approx(20.0)
    assert b.planner_cycle_p95_ms == pytest.approx(80.0)
    assert (a.reached, b.reached) == (True, False)
    assert a.time_s == 5.0 and a.path_length_m == pytest.approx(2.5)


def test_contacts_are_counted_in_the_goal_where_they_began():
    ep = straight_run(10.0)
    ep.goals = [GoalRun("a", 0, 0, 0.0, 5.0, "reached"), GoalRun("b", 0, 0, 5.0, 10.0, "reached")]
    ep.contacts = [Contact(2.0, 2.5, "person_1", "person", 12.0),
                   Contact(7.0, None, "furniture/sofa", "furniture", 30.0)]
    a, b = goal_metrics(ep)
    assert (a.contacts_people, a.contacts_objects) == (1, 0)
    assert (b.contacts_people, b.contacts_objects) == (0, 1)
    tour = episode_metrics(ep)
    assert (tour.contacts_people, tour.contacts_objects) == (1, 1)
    assert tour.status == "reached" and tour.time_s == 10.0


def test_the_chassis_on_the_floor_a_rug_or_the_sill_is_no_collision():
    ep = straight_run(10.0)
    ep.goals = [GoalRun("a", 0, 0, 0.0, 10.0, "reached")]
    ep.contacts = [Contact(2.0, 2.1, "threshold/bathroom_sill", "threshold", 80.0),
                   Contact(2.2, 2.3, "floor", "floor", 40.0),
                   Contact(4.0, 4.1, "rug/hall_runner", "rug", 20.0),
                   Contact(6.0, 6.2, "wall/hall_s", "wall", 30.0)]
    (a,) = goal_metrics(ep)
    assert (a.contacts_people, a.contacts_objects) == (0, 1)  # the wall only


def test_a_goal_without_a_result_runs_to_the_end_of_the_recording():
    ep = straight_run(8.0)
    ep.goals = [GoalRun("a", 0, 0, 3.0)]
    m = goal_metrics(ep)[0]
    assert m.time_s == pytest.approx(5.0)
    assert not m.reached and m.status == "not finished"
    assert episode_metrics(ep).status == "0/1 reached"


def test_a_flickering_contact_with_one_body_counts_once():
    flicker = [Contact(10.0 + 0.02 * k, 10.01 + 0.02 * k, "wall/hall_s#1", "wall", float(k))
               for k in range(50)]
    later = Contact(30.0, None, "wall/hall_s#1", "wall", 3.0)
    person = Contact(10.5, 10.6, "person_2", "person", 8.0)
    merged = merge_contacts([*flicker, later, person])
    assert [(c.other, c.touches) for c in merged] == [
        ("wall/hall_s#1", 50), ("person_2", 1), ("wall/hall_s#1", 1)]
    assert merged[0].t_end_s == pytest.approx(10.99) and merged[0].max_normal_force_n == 49.0
    assert merged[2].t_end_s is None  # still touching when the run ended


def test_crossings_find_when_the_robot_first_drove_over_each_area():
    ep = straight_run(20.0)  # x = 0.5 t along y = 0
    areas = {"rug": rectangle((4.0, 0.0), (1.0, 2.0)),
             "sill": rectangle((8.0, 0.0), (0.12, 0.8), math.pi / 2),  # length along y
             "elsewhere": rectangle((4.0, 3.0), (1.0, 1.0))}
    hit = crossings(ep, areas)
    assert hit["rug"] == pytest.approx(7.0, abs=0.03)  # x = 3.5 m
    assert hit["sill"] == pytest.approx(15.2, abs=0.03)  # x = 7.6 m: the sill is 0.8 m across x
    assert hit["elsewhere"] is None


def test_points_in_polygon_even_odd():
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    inside = points_in_polygon(np.array([[0.5, 0.5], [1.5, 0.5], [-0.1, 0.2]]), square)
    assert inside.tolist() == [True, False, False]


def test_an_empty_episode_gives_empty_series_and_no_crash():
    ep = Episode(robot_radius_m=ROBOT_R, goals=[GoalRun("a", 0, 0, 0.0, 1.0, "aborted")])
    m = goal_metrics(ep)[0]
    assert math.isnan(m.ate_rms_m) and math.isnan(m.planner_cycle_p95_ms)
    assert m.path_length_m == 0.0
    with pytest.raises(ValueError, match="no goals"):
        episode_metrics(Episode(robot_radius_m=ROBOT_R))


def test_a_fan_is_timed_by_its_cycle_not_by_when_the_recorder_got_it():
    # Under load the recorder gets /local_planner/candidates tenths of a second late: the
    # robot drawn at that time would stand ahead of the fan it planned from.
    from types import SimpleNamespace as Msg

    from hearth_eval.episode_log import EpisodeLog

    def marker(ns: str) -> Msg:
        return Msg(ns=ns, header=Msg(frame_id="odom", stamp=Msg(sec=12, nanosec=300_000_000)),
                  points=[Msg(x=0.0, y=0.0), Msg(x=1.0, y=0.1)],
                  color=Msg(r=0.0, g=1.0, b=0.0, a=0.6))

    log = EpisodeLog(ROBOT_R)
    log.add("/local_planner/candidates", Msg(markers=[marker("candidates"), marker("chosen")]),
            12.75)
    (fan,) = log.fans
    assert fan.t_s == pytest.approx(12.3)
    assert len(fan.strips) == 1 and fan.chosen is not None
