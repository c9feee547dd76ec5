"""The objectives: hearth's survival-weighted cost and the two risk ablations of issue 9."""

import numpy as np
import pytest

from hearth_common.config import ConfigError, load_config
from hearth_description.robot_model import load_robot_params
from hearth_trajectory.config import LocalPlannerConfig, planner_params
from hearth_trajectory.critics import (
    CollisionCritic,
    Evaluation,
    PathGoal,
    ProgressCritic,
    Scene,
)
from hearth_trajectory.fields import GridField, path_cost_to_go, resample_path
from hearth_trajectory.objectives import (
    FORBIDDEN_COST,
    ChanceConstraintCritic,
    RawProgressCritic,
    build_critics,
)
from hearth_trajectory.people_forecast import Tracks, forecast
from hearth_trajectory.planner import LocalPlanner, Odometry, PlannerParams, PlanningInput
from hearth_trajectory.trajectory_space import AxisLimits, MotionLimits, StartState, rollout

LIMITS = MotionLimits(AxisLimits(0.0, 1.0, 1.0, 5.0), AxisLimits(-2.5, 2.5, 4.0, 20.0))
STRAIGHT = np.column_stack([np.linspace(0.0, 8.0, 81), np.zeros(81)])
FREE = GridField((-10.0, -10.0), 0.05, np.full((400, 400), 1000.0))
# A person standing on the path 1.5 m ahead, and one 2.5 m ahead (room to go round).
PERSON = Tracks(0.0, np.array([1]), np.array([[1.5, 0.0]]), np.zeros((1, 2)),
                np.eye(4)[None] * 0.005, np.array([0.25]))
FURTHER = Tracks(0.0, np.array([1]), np.array([[2.5, 0.0]]), np.zeros((1, 2)),
                 np.eye(4)[None] * 0.005, np.array([0.25]))


def evaluation(tracks: Tracks | None = None) -> Evaluation:
    """Straight-ahead candidates at 0.2..1.0 m/s and two swerves, scored on STRAIGHT."""
    tracks = Tracks.empty() if tracks is None else tracks
    p = PlannerParams()
    targets = [np.tile([v, 0.0], (p.steps, 1)) for v in (0.2, 0.5, 1.0)]
    targets += [np.tile([0.8, w], (p.steps, 1)) for w in (0.6, -0.6)]
    roll = rollout(StartState(0.0, 0.0, 0.0, 0.5, 0.0), np.array(targets), LIMITS, p.dt_s)
    pts, arc = resample_path(STRAIGHT, 0.1)
    ctg = path_cost_to_go(pts, arc, float(arc[-1]), (0.0, 0.0), 3.5, 0.1)
    people = forecast(tracks, p.dt_s * np.arange(1, p.steps + 1), p.person_accel_psd)
    scene = Scene(p.dt_s, LIMITS, 0.175, np.eye(2) * 0.02**2, None, 0.05, people,
                  PathGoal(ctg))
    return Evaluation(roll, scene)


def test_each_objective_keeps_the_same_smoothness_comfort_heading_and_floor_terms():
    names = {o: set(build_critics(PlannerParams(objective=o)))
             for o in ("survival", "chance_constraint", "weighted_sum")}
    assert names["survival"] == {"progress", "collision", "jerk", "comfort", "heading", "floor",
                                 "blind_spots"}
    assert names["chance_constraint"] == {"progress", "chance_constraint", "jerk", "comfort",
                                          "heading", "floor", "blind_spots"}
    assert names["weighted_sum"] == names["survival"]
    survival = build_critics(PlannerParams())
    for o in ("chance_constraint", "weighted_sum"):
        other = build_critics(PlannerParams(objective=o))
        for k in ("jerk", "comfort", "heading"):
            assert other[k] == survival[k]
    assert isinstance(survival["progress"], ProgressCritic)
    weighted = build_critics(PlannerParams(objective="weighted_sum", collision_weight=42.0))
    assert isinstance(weighted["progress"], RawProgressCritic)
    assert weighted["collision"] == CollisionCritic(42.0)  # w of the weighted sum
    with pytest.raises(ValueError, match="objective"):
        build_critics(PlannerParams(objective="bold"))


def test_raw_progress_is_the_survival_weighted_one_where_nothing_threatens():
    ev = evaluation()
    np.testing.assert_allclose(RawProgressCritic(1.0, 0.97)(ev), ProgressCritic(1.0, 0.97)(ev),
                               atol=1e-12)
    # Faster straight ahead is more progress.
    assert np.all(np.diff(RawProgressCritic()(ev)[:3]) < 0.0)


def test_raw_progress_ignores_the_risk_that_survival_weighting_discounts():
    ev = evaluation(PERSON)
    raw, weighted = RawProgressCritic()(ev), ProgressCritic()(ev)
    risk = 1.0 - ev.survival[:, -1]
    assert risk[2] > 0.9  # 1 m/s straight into the person
    assert raw[2] < weighted[2] - 0.5  # raw progress still counts the way through them
    # The weighted sum charges the risk separately: pure progress - w * risk.
    critics = build_critics(PlannerParams(objective="weighted_sum"))
    total = critics["progress"](ev) * 1.0 + critics["collision"].weight * critics["collision"](ev)
    np.testing.assert_allclose(total, raw + 70.0 * risk)


def test_the_chance_constraint_forbids_risk_above_its_threshold_and_nothing_below():
    ev = evaluation(PERSON)
    risk = 1.0 - ev.survival[:, -1]
    threshold = 0.5
    cost = ChanceConstraintCritic(threshold)(ev)
    allowed = risk <= threshold
    assert allowed.any() and (~allowed).any()
    assert np.all(cost[allowed] == 0.0)  # below the threshold the risk costs nothing
    assert np.all(cost[~allowed] >= FORBIDDEN_COST)  # above it, worse than any allowed
    # Among the forbidden, the least risky ranks first (the fallback when all are).
    order = np.argsort(risk[~allowed])
    assert np.all(np.diff(cost[~allowed][order]) >= 0.0)


def test_the_planner_with_a_chance_constraint_commits_within_the_threshold():
    p = PlannerParams(candidates=600, min_candidates=600, seed=2, objective="chance_constraint",
                      risk_threshold=0.01)
    pl = LocalPlanner(LIMITS, p)
    pl.compute_estimate_s = lambda: 0.02
    res = pl.plan(PlanningInput(0.0, Odometry(0.0, 0.0, 0.0, 0.0, 0.5, 0.0, np.eye(2) * 1e-4),
                                STRAIGHT, 1, FREE, tracks=FURTHER))
    assert set(res.best_terms) >= {"progress", "chance_constraint"}
    assert res.best_terms["chance_constraint"] == 0.0  # the committed plan is allowed
    assert res.best_terms["progress"] < -0.5  # and makes progress: it goes round the person
    assert np.abs(res.plan.roll.y[0]).max() > 0.4


def test_the_weighted_sum_planner_trades_raw_progress_against_risk():
    p = PlannerParams(candidates=600, min_candidates=600, seed=2, objective="weighted_sum")
    pl = LocalPlanner(LIMITS, p)
    pl.compute_estimate_s = lambda: 0.02
    res = pl.plan(PlanningInput(0.0, Odometry(0.0, 0.0, 0.0, 0.0, 0.5, 0.0, np.eye(2) * 1e-4),
                                STRAIGHT, 1, FREE, tracks=FURTHER))
    assert set(res.best_terms) >= {"progress", "collision"}
    assert res.best_terms["collision"] < 70.0 * 0.01  # it does not drive into the person
    assert res.best_terms["progress"] < -0.5


def test_the_config_selects_the_objective_and_rejects_an_unknown_one():
    robot = load_robot_params()
    default = planner_params(load_config(LocalPlannerConfig), robot)
    assert (default.objective, default.predict_people) == ("survival", True)
    cfg = load_config(LocalPlannerConfig, {"objective": "chance_constraint",
                                           "risk_threshold": 0.05, "predict_people": False})
    p = planner_params(cfg, robot)
    assert (p.objective, p.risk_threshold, p.predict_people) == ("chance_constraint", 0.05,
                                                                 False)
    with pytest.raises(ConfigError, match="objective"):
        load_config(LocalPlannerConfig, {"objective": "bold"})
    with pytest.raises(ConfigError, match="risk_threshold"):
        load_config(LocalPlannerConfig, {"risk_threshold": 1.5})


def test_a_wall_within_the_stopping_distance_counts_though_the_path_bends_away_from_it():
    """Heading 45 degrees towards a wall at 0.9 m/s and bending away to run along it: the path
    clears the wall by 0.1 m, but an emergency stop early in the bend (0.1 s to react, then
    1 m/s²: 0.5 m straight on) would end on it. At 0.3 m/s the stop is short: no matter."""
    p = PlannerParams()
    ys = (np.arange(400) + 0.5) * 0.05 - 10.0
    wall_y = 0.345 + 0.175 + 0.1  # the fast path's farthest reach + radius + 0.1 m
    distance = GridField((-10.0, -10.0), 0.05,
                         np.tile(np.maximum(wall_y - ys, 0.0)[:, None], (1, 400)))
    targets = np.zeros((2, p.steps, 2))
    targets[0, :, 0], targets[1, :, 0] = 0.9, 0.3
    targets[:, :, 1] = -1.5
    start = [StartState(0.0, 0.0, np.radians(45.0), v, 0.0) for v in (0.9, 0.3)]
    roll = [rollout(s0, targets[i:i + 1], LIMITS, p.dt_s) for i, s0 in enumerate(start)]
    people = forecast(Tracks.empty(), p.dt_s * np.arange(1, p.steps + 1), p.person_accel_psd)

    def contact(r, braking):
        scene = Scene(p.dt_s, LIMITS, 0.175, np.eye(2) * 0.02**2, distance, 0.0, people,
                      None, None, braking)
        return float(Evaluation(r, scene).static_contact.max())

    assert contact(roll[0], None) < 0.01  # the bend clears the wall ...
    assert contact(roll[0], (0.1, 1.0)) > 0.9  # ... a stop at full speed in it would not
    assert contact(roll[1], (0.1, 1.0)) < 0.01  # slowly, a stop is short


def _risk(tracks: Tracks, v_mps: float, passive_contact_weight: float) -> float:
    """1 - S_T of driving straight ahead at ``v_mps`` (from standing) with ``tracks``."""
    p = PlannerParams()
    roll = rollout(StartState(0.0, 0.0, 0.0, 0.0, 0.0), np.tile([v_mps, 0.0], (1, p.steps, 1)),
                   LIMITS, p.dt_s)
    people = forecast(tracks, p.dt_s * np.arange(1, p.steps + 1), p.person_accel_psd)
    scene = Scene(p.dt_s, LIMITS, 0.175, np.eye(2) * 0.02**2, None, 0.05, people, None,
                  passive_contact_weight=passive_contact_weight)
    return float(1.0 - Evaluation(roll, scene).survival[0, -1])


def test_a_person_walking_into_a_still_robot_counts_at_the_passive_weight():
    walker = Tracks(0.0, np.array([1]), np.array([[2.0, 0.0]]), np.array([[-1.0, 0.0]]),
                    np.eye(4)[None] * 0.005, np.array([0.25]))
    full, passive = _risk(walker, 0.0, 1.0), _risk(walker, 0.0, 0.3)
    assert full > 0.9  # the forecast walks them straight through the robot
    assert passive == pytest.approx(0.3 * full, rel=0.05)


def test_driving_into_a_standing_person_counts_in_full_whatever_the_passive_weight():
    assert _risk(PERSON, 1.0, 0.3) == pytest.approx(_risk(PERSON, 1.0, 1.0), rel=1e-9)
    assert _risk(PERSON, 1.0, 1.0) > 0.9
