"""Prediction off (issue 9's ablation (c)): people frozen where the tracks last saw them."""

import numpy as np

from hearth_trajectory.fields import GridField
from hearth_trajectory.people_forecast import Tracks, forecast
from hearth_trajectory.planner import LocalPlanner, Odometry, PlannerParams, PlanningInput
from hearth_trajectory.trajectory_space import AxisLimits, MotionLimits

LIMITS = MotionLimits(AxisLimits(0.0, 1.0, 1.0, 5.0), AxisLimits(-2.5, 2.5, 4.0, 20.0))
STRAIGHT = np.column_stack([np.linspace(0.0, 8.0, 81), np.zeros(81)])
FREE = GridField((-10.0, -10.0), 0.05, np.full((400, 400), 1000.0))
# Seen 0.3 s ago at (2.5, 1), walking at 0.8 m/s across the path.
WALKER = Tracks(-0.3, np.array([7]), np.array([[2.5, 1.0]]), np.array([[0.0, -0.8]]),
                np.diag([0.01, 0.02, 0.04, 0.05])[None], np.array([0.25]))


def test_a_frozen_forecast_keeps_everyone_where_last_seen_with_their_position_covariance():
    times = np.linspace(0.0, 3.0, 31)
    frozen = forecast(WALKER, times, 0.03, frozen=True, growth_until_s=0.5)
    np.testing.assert_allclose(frozen.means[0], np.tile([2.5, 1.0], (31, 1)))
    np.testing.assert_allclose(frozen.covs[0], np.tile(np.diag([0.01, 0.02]), (31, 1, 1)))
    assert frozen.ids.tolist() == [7] and frozen.radii.tolist() == [0.25]
    moving = forecast(WALKER, times, 0.03)
    assert moving.means[0, -1, 1] < -1.0  # the prediction walks them on
    assert np.trace(moving.covs[0, -1]) > 10.0 * np.trace(frozen.covs[0, -1])
    empty = forecast(Tracks.empty(), times, 0.03, frozen=True)
    assert empty.means.shape == (0, 31, 2) and empty.covs.shape == (0, 31, 2, 2)


def test_the_planner_without_prediction_sees_people_standing_where_last_seen():
    def plan(predict: bool):
        pl = LocalPlanner(LIMITS, PlannerParams(candidates=300, min_candidates=300, seed=1,
                                                predict_people=predict))
        pl.compute_estimate_s = lambda: 0.02
        return pl.plan(PlanningInput(0.0, Odometry(0.0, 0.0, 0.0, 0.0, 0.5, 0.0,
                                                   np.eye(2) * 1e-4),
                                     STRAIGHT, 1, FREE, tracks=WALKER))

    off, on = plan(False), plan(True)
    np.testing.assert_allclose(off.people.means[0], np.tile([2.5, 1.0], (31, 1)))
    # With prediction, from the tracks' stamp to when the plan takes effect and beyond.
    assert on.people.means[0, 0, 1] < 1.0 - 0.8 * 0.3 + 1e-9
    assert on.people.means[0, -1, 1] < -1.0
