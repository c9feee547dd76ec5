"""The Crowd interface: its conventions, and the empty crowd."""

import numpy as np
import pytest

from hearth_sim.people.crowd import Crowd, EmptyCrowd, check_crowd_state, check_step_args


def test_empty_crowd_follows_the_interface():
    crowd = EmptyCrowd()
    assert isinstance(crowd, Crowd)
    check_crowd_state(crowd)
    assert len(crowd) == 0
    crowd.step(1.0, 0.05, np.zeros(2), np.zeros(2))
    assert crowd.time_s == pytest.approx(1.05)
    check_crowd_state(crowd)


@pytest.mark.parametrize(("args", "names"), [
    ((float("nan"), 0.1, (0, 0), (0, 0)), "t_s"),
    ((0.0, -0.1, (0, 0), (0, 0)), "dt_s"),
    ((0.0, float("inf"), (0, 0), (0, 0)), "dt_s"),
    ((0.0, 0.1, (0, float("nan")), (0, 0)), "robot_xy_m"),
    ((0.0, 0.1, (0, 0, 0), (0, 0)), "robot_xy_m"),
    ((0.0, 0.1, (0, 0), (1.0,)), "robot_v_mps"),
])
def test_step_arguments_are_checked(args, names):
    with pytest.raises(ValueError, match=names):
        check_step_args(*args)


def test_the_state_check_catches_a_phantom_in_an_empty_row():
    class Bad(EmptyCrowd):
        def __len__(self):
            return 1

        @property
        def present(self):
            return np.array([False])

        @property
        def ids(self):
            return np.array([-1])

        @property
        def positions_m(self):
            return np.zeros((1, 2))  # should be NaN

        @property
        def velocities_mps(self):
            return np.full((1, 2), np.nan)

        @property
        def radius_m(self):
            return np.array([0.25])

    with pytest.raises(AssertionError):
        check_crowd_state(Bad())
