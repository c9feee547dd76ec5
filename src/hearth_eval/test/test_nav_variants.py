"""The variants of ``./hearth eval nav`` (issue 9): each builds and plans; the peers are what
they claim to be (DWB's dynamic window and critics, pytorch-mppi's MPPI)."""

import math

import numpy as np
import pytest

from hearth_eval.baselines.dwb_planner import (
    DwbParams,
    DwbPlanner,
    dwb_rollouts,
    dynamic_window,
    window_samples,
)
from hearth_eval.nav_variants import VARIANTS, Variant
from hearth_trajectory.fields import GridField
from hearth_trajectory.objectives import RawProgressCritic
from hearth_trajectory.people_forecast import Tracks
from hearth_trajectory.planner import Kind, LocalPlanner, Odometry, PlannerParams, PlanningInput
from hearth_trajectory.trajectory_space import AxisLimits, MotionLimits, StartState, viable

# The robot's limits (robot.yaml), backing off at up to 0.25 m/s.
LIMITS = MotionLimits(AxisLimits(-0.25, 1.0, 1.0, 5.0), AxisLimits(-2.5, 2.5, 4.0, 20.0))
PARAMS = PlannerParams(candidates=300, min_candidates=300, seed=3)
PATH = np.column_stack([np.linspace(0.0, 6.0, 61), np.zeros(61)])
# A person 2.5 m ahead, a little left of the path, walking towards the robot.
PERSON = Tracks(0.0, np.array([1]), np.array([[2.5, 0.4]]), np.array([[-0.5, 0.0]]),
                np.eye(4)[None] * 0.01, np.array([0.25]))


def free_costmap(x=0.0, y=0.0) -> GridField:
    """A 6 x 6 m local costmap around (x, y) with a wall 1.2 m to the right of the path."""
    res, n = 0.05, 120
    ys = (y - 3.0) + (np.arange(n) + 0.5) * res
    dist = np.maximum(ys + 1.2, 0.0)[:, None] * np.ones((1, n))
    return GridField((x - 3.0, y - 3.0), res, dist)


def plan_once(planner, v=0.4, w=0.0):
    od = Odometry(0.0, 0.0, 0.0, 0.0, v, w, np.eye(2) * 1e-4)
    return planner.plan(PlanningInput(0.0, od, PATH, 1, free_costmap(), 0.05, PERSON))


def test_the_variants_are_a_to_g_in_order_with_their_settings():
    assert list(VARIANTS) == list("abcdefg")
    assert all(isinstance(v, Variant) and v.key == k for k, v in VARIANTS.items())
    assert VARIANTS["a"].planner_overrides == {} and VARIANTS["a"].latency_compensation
    assert not VARIANTS["b"].latency_compensation
    assert VARIANTS["c"].planner_overrides == {"predict_people": False}
    assert VARIANTS["d"].planner_overrides == {"objective": "chance_constraint"}
    assert VARIANTS["e"].planner_overrides == {"objective": "weighted_sum"}


@pytest.mark.parametrize("key", list("abcdef"))
def test_each_variant_builds_and_plans_a_cycle(key):
    planner = VARIANTS[key].make_planner(LIMITS, PARAMS)
    res = plan_once(planner)
    assert res.kind is Kind.ACTIVE, res.status
    assert res.plan is not None and res.evaluated > 0
    assert math.isfinite(res.cmd_v_mps) and math.isfinite(res.cmd_w_radps)
    assert res.cmd_v_mps > 0.0  # under way along the path
    # Its own settings reach the planner, whoever maps the overrides.
    p = planner.p
    assert p.latency_compensation == VARIANTS[key].latency_compensation
    for name, value in VARIANTS[key].planner_overrides.items():
        assert getattr(p, name) == value
    if key == "d":
        assert isinstance(planner.critics["progress"], RawProgressCritic)
        assert "chance_constraint" in res.best_terms
    if key == "c":  # people stay where last seen
        np.testing.assert_allclose(res.people.means[0], np.tile([2.5, 0.4], (31, 1)))


def test_dwb_samples_20_by_20_velocities_within_the_dynamic_window():
    d = DwbParams()
    start = StartState(0.0, 0.0, 0.0, 0.5, 1.0)  # neither window straddles zero
    samples = dynamic_window(start, LIMITS, 0.1, d.vx_samples, d.vtheta_samples)
    assert len(samples) == 400
    # Within what the acceleration limits reach in one control period (0.1 s).
    assert samples[:, 0].min() == pytest.approx(0.4) and samples[:, 0].max() == pytest.approx(0.6)
    assert samples[:, 1].min() == pytest.approx(0.6) and samples[:, 1].max() == pytest.approx(1.4)
    assert len(np.unique(samples[:, 0])) == 20 and len(np.unique(samples[:, 1])) == 20
    # At rest both windows straddle zero: DWB adds zero to each, and never samples (0, 0).
    rest = dynamic_window(StartState(0.0, 0.0, 0.0, 0.0, 0.0), LIMITS, 0.1, 20, 20)
    assert len(rest) == 21 * 21 - 1
    assert not np.any((rest[:, 0] == 0.0) & (rest[:, 1] == 0.0))
    # The standard generator's window is what the limits reach in sim_time: all speeds.
    wide = window_samples(0.5, -0.25, 1.0, 1.0, d.sim_time_s, 20)
    assert wide[0] == -0.25 and wide[-1] == 1.0 and 0.0 in wide


def test_dwb_plans_a_cycle_from_400_samples_and_commands_the_best_one_held():
    pl = DwbPlanner(LIMITS, PARAMS)
    res = plan_once(pl, v=0.5, w=0.0)
    assert res.kind is Kind.ACTIVE, res.status
    assert res.evaluated == 420  # 20 x (20 + zero)
    # The command is a sample of the window, not a ramp towards it.
    assert 0.4 - 1e-9 <= res.cmd_v_mps <= 0.6 + 1e-9
    assert abs(res.cmd_w_radps) <= 0.4 + 1e-9
    # The committed plan is the robot ramping to it at its acceleration limit, then holding.
    s = res.plan.state(res.plan.t0_s + 1.0)
    assert (s.v_mps, s.w_radps) == pytest.approx((res.cmd_v_mps, res.cmd_w_radps), abs=1e-6)
    assert set(res.best_terms) >= {"BaseObstacle", "PathDist", "GoalDist", "PathAlign",
                                   "GoalAlign"}
    assert not pl.p.predict_people  # a costmap holds people where they were seen


def test_dwb_rollouts_cover_sim_time_in_steps_of_the_granularity():
    d = DwbParams()
    samples = np.array([[1.0, 0.0], [0.0, 2.0], [0.5, 0.5]])
    r = dwb_rollouts(StartState(0.0, 0.0, 0.0, 0.0, 0.0), samples, LIMITS, d)
    # Constant velocity (limited_accel): 1 m/s for 1.7 s goes 1.7 m straight ahead.
    assert r.x[0, -1] == pytest.approx(1.7) and r.y[0, -1] == pytest.approx(0.0)
    assert r.yaw[1, -1] == pytest.approx(3.4)  # 2 rad/s in place
    assert np.all(np.hypot(np.diff(r.x[0]), np.diff(r.y[0])) <= d.linear_granularity_m + 1e-12)
    assert np.all(np.abs(np.diff(r.yaw[1])) <= d.angular_granularity_rad + 1e-12)
    # The standard generator ramps at the acceleration limit instead: less ground covered.
    ramp = dwb_rollouts(StartState(0.0, 0.0, 0.0, 0.0, 0.0), samples, LIMITS,
                        DwbParams(generator="standard"))
    assert ramp.x[0, -1] == pytest.approx(1.7 - 0.5, abs=0.03)


def test_mppi_returns_a_drivable_plan():
    pytest.importorskip("pytorch_mppi")
    planner = VARIANTS["g"].make_planner(LIMITS, PARAMS)
    res = plan_once(planner)
    # One MPPI iteration from its random first nominal may well not progress yet (blocked
    # is judged on the chosen plan); it is a plan, not a fault.
    assert res.kind in (Kind.ACTIVE, Kind.BLOCKED), res.status
    assert res.evaluated == PARAMS.candidates  # as many samples as hearth evaluates
    roll = res.plan.roll
    assert roll.steps == PARAMS.steps
    assert np.all(viable(roll.vel, roll.acc, LIMITS, PARAMS.dt_s, tol=1e-7))
    assert np.all(np.abs(roll.jerk[0]) <= LIMITS.linear.max_jerk + 1e-6)
    # It starts where the robot will be when it takes effect, at its velocity.
    assert roll.vel[0, 0, 0] == pytest.approx(0.4, abs=1e-9)
    assert set(res.best_terms) == {"progress", "collision", "jerk", "comfort", "heading"}
    second = planner.plan(PlanningInput(0.1, Odometry(0.1, 0.04, 0.0, 0.0, 0.4, 0.0,
                                                      np.eye(2) * 1e-4),
                                        PATH, 1, free_costmap(), 0.05, PERSON))
    assert second.kind in (Kind.ACTIVE, Kind.BLOCKED), second.status  # warm-started
    assert second.plan.t0_s > res.plan.t0_s
    assert isinstance(planner, LocalPlanner)
