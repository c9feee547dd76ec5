"""Scripted people: a person waits out of sight and steps out when the robot comes by."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hearth_sim.people.crowd import Crowd, check_crowd_state
from hearth_sim.people.scripted import ScriptedCrowd, StepOut

SCRIPT = StepOut(wait_xy_m=(2.0, -1.0), stop_xy_m=(2.0, 0.0), speed_mps=1.0,
                 trigger_xy_m=(1.0, 0.0), trigger_heading_rad=0.0, stay_s=1.0)


def _run(crowd: ScriptedCrowd, robot_x: list[float], dt: float = 0.1) -> list[np.ndarray]:
    out = []
    for k, x in enumerate(robot_x):
        crowd.step(k * dt, dt, np.array([x, 0.0]), np.zeros(2))
        check_crowd_state(crowd)
        out.append(crowd.positions_m[0])
    return out


def test_the_person_waits_until_the_robot_crosses_the_trigger_line_then_steps_out():
    crowd = ScriptedCrowd([SCRIPT])
    assert isinstance(crowd, Crowd) and len(crowd) == 1 and crowd.present.all()
    pos = _run(crowd, [0.0, 0.5, 0.9, 1.0, 1.2, 1.4, 1.6, 1.8])
    assert pos[2].tolist() == [2.0, -1.0]  # not yet
    assert crowd.triggered_at_s == [pytest.approx(0.3)]
    # Walks at 1 m/s from t = 0.3 s: after the step from 0.6 s (at 0.7 s) it is 0.4 m out.
    assert pos[6] == pytest.approx([2.0, -0.6])
    assert crowd.velocities_mps[0] == pytest.approx([0.0, 1.0])


def test_the_person_stands_for_stay_s_then_walks_back():
    crowd = ScriptedCrowd([SCRIPT])
    pos = _run(crowd, [1.0] * 40)  # triggered at once, at t = 0
    assert pos[14] == pytest.approx([2.0, 0.0])  # t = 1.5 s: standing in the path
    assert pos[24] == pytest.approx([2.0, -0.5])  # t = 2.5: half way back
    assert pos[-1] == pytest.approx([2.0, -1.0])
    assert crowd.velocities_mps[0].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("bad", [{"speed_mps": 0.0}, {"wait_xy_m": (math.nan, 0.0)},
                                 {"stay_s": -1.0}])
def test_a_bad_script_is_refused(bad):
    fields = {**SCRIPT.__dict__, **bad}
    with pytest.raises(ValueError):
        StepOut(**fields)
