"""Acceptance 1: the controller in a closed loop with synthetic depth and the robot's own
braking (its motor board brakes at robot.yaml's 1 m/s² at most)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from safety_harness import ROBOT, ClosedLoop

from hearth_safety.controller import Mode
from hearth_safety.synthetic_depth import Box, Scene

R = ROBOT.base.radius_m


def _box_ahead_of(loop: ClosedLoop, gap_m: float, size=(0.2, 0.4, 0.2)) -> Box:
    """A box whose near face is ``gap_m`` ahead of the robot's front, on its path."""
    x = loop.pose[0] + R + gap_m + size[0] / 2
    return Box((x, loop.pose[1], size[2] / 2), size)


def test_a_box_appearing_0_6_m_ahead_at_0_8_mps_stops_the_robot_before_contact(renderer):
    loop = ClosedLoop(renderer, nav=(0.8, 0.0))
    loop.run(1.5)  # up to speed on an empty floor
    assert loop.v == pytest.approx(0.8)
    assert all(o.mode is Mode.NOMINAL for o in loop.outputs[-5:])
    box = _box_ahead_of(loop, 0.6)
    loop.run(2.5, scene_at=lambda t: Scene(boxes=(box,)))
    front = np.array([x for _, x, _, _ in loop.trace]) + R
    gap_m = box.center_m[0] - box.size_m[0] / 2 - front.max()
    how = "emergency stop" if loop.ctl.counts["emergency_stops"] else "smooth law alone"
    print(f"FIGURE box 0.6 m ahead at 0.8 m/s: stopped {gap_m * 100:.1f} cm short ({how})")
    assert gap_m > 0.0  # no contact
    assert loop.v == 0.0
    assert loop.outputs[-1].mode is Mode.STOPPED
    assert loop.outputs[-1].linear_mps == 0.0


def test_a_box_0_3_m_to_the_side_of_a_straight_trajectory_does_not_slow_the_robot(renderer):
    loop = ClosedLoop(renderer, nav=(0.8, 0.0))
    loop.run(1.2)
    # Its near face 0.3 m from the trajectory's centre line, 1 m long, beside the path ahead.
    box = Box((loop.pose[0] + 1.2, 0.3 + 0.1, 0.15), (1.0, 0.2, 0.3))
    start = len(loop.outputs)
    loop.run(2.5, scene_at=lambda t: Scene(boxes=(box,)))
    seen = loop.outputs[start:]
    assert loop.pose[0] > box.center_m[0] + 0.5  # drove past it
    assert all(o.mode is Mode.NOMINAL for o in seen), {o.reason for o in seen}
    assert all(o.linear_mps == pytest.approx(0.8) for o in seen)


def test_the_box_beside_the_path_is_in_the_map_and_remembered_after_it_leaves_the_view(
        renderer):
    loop = ClosedLoop(renderer, nav=(0.5, 0.0))
    box = Box((0.9, 0.4, 0.15), (0.6, 0.2, 0.3))
    loop.run(1.0, scene_at=lambda t: Scene(boxes=(box,)))
    assert loop.ctl.map.stats["cells_seen"] > 5
    loop.run(0.6, scene_at=lambda t: Scene(boxes=(box,)))
    # Beside the robot now, out of the 90 degree view: only the memory has it.
    xy, fresh = loop.ctl.map.cells_base(tuple(loop.pose))
    beside = (np.abs(xy[:, 0]) < 0.2) & (xy[:, 1] > 0.25)
    assert beside.any() and not fresh[beside].any()


def test_a_1_5_cm_floor_bump_is_not_an_obstacle_and_a_5_cm_shoe_is(renderer):
    bump = Box((1.0, 0.0, 0.0075), (0.1, 1.0, 0.015))  # across the path
    loop = ClosedLoop(renderer, nav=(0.6, 0.0))
    loop.run(1.0, scene_at=lambda t: Scene(boxes=(bump,)))
    assert loop.ctl.map.stats["cells_seen"] == 0
    # (stale only until the first frame)
    assert all(o.mode is Mode.NOMINAL for o in loop.outputs if o.ages_s["depth"] is not None)

    shoe = Box((1.0, 0.0, 0.025), (0.28, 0.1, 0.05))
    loop = ClosedLoop(renderer, nav=(0.6, 0.0))
    loop.run(3.0, scene_at=lambda t: Scene(boxes=(shoe,)))
    assert loop.ctl.map.stats["cells_seen"] + loop.ctl.map.stats["cells_remembered"] > 0
    assert loop.pose[0] + R < shoe.center_m[0] - 0.14  # stopped short of it
    assert loop.v == 0.0


def test_the_slowdown_is_continuous_within_the_acceleration_and_jerk_limits(renderer):
    """A box 1.2 m ahead at 0.5 m/s: far enough for the smooth law alone (no emergency
    stop); the commanded speed changes by at most a_max * dt per frame and its rate by at
    most j_max * dt."""
    loop = ClosedLoop(renderer, nav=(0.5, 0.0))
    loop.run(1.2)
    box = _box_ahead_of(loop, 1.0)
    start = len(loop.outputs)
    loop.run(3.0, scene_at=lambda t: Scene(boxes=(box,)))
    outs = loop.outputs[start - 1:]
    assert not any(o.emergency for o in outs)
    assert any(o.mode is Mode.SLOWING for o in outs)
    assert outs[-1].mode is Mode.STOPPED and outs[-1].linear_mps == 0.0
    lim = ROBOT.limits
    speeds = np.array([o.linear_mps for o in outs])
    times = np.array([o.t_ns for o in outs]) * 1e-9
    dt = np.diff(times)
    rates = np.diff(speeds) / dt
    assert np.all(np.abs(rates) <= lim.max_linear_accel_mps2 + 1e-9)
    assert np.all(np.abs(np.diff(rates)) / dt[1:] <= lim.max_linear_jerk_mps3 + 1e-6)
    front = max(x for _, x, _, _ in loop.trace) + R
    assert box.center_m[0] - box.size_m[0] / 2 - front > 0.05


def test_the_robot_resumes_smoothly_when_the_way_clears(renderer):
    loop = ClosedLoop(renderer, nav=(0.8, 0.0))
    loop.run(1.5)
    box = _box_ahead_of(loop, 0.6)
    loop.run(2.0, scene_at=lambda t: Scene(boxes=(box,)))
    assert loop.v == 0.0
    start = len(loop.outputs)
    loop.run(2.5)  # the box is gone
    outs = loop.outputs[start:]
    assert outs[-1].mode is Mode.NOMINAL and outs[-1].linear_mps == pytest.approx(0.8)
    speeds = [o.linear_mps for o in outs]
    # Up without a step back (the jerk-limited ramp may pass its target by a hair)
    assert all(b >= a - 1e-3 for a, b in itertools.pairwise(speeds))
    rates = np.diff(speeds) / np.diff([o.t_ns * 1e-9 for o in outs])
    assert rates.max() <= ROBOT.limits.max_linear_accel_mps2 + 1e-9


def test_driving_past_a_wall_along_a_curve_does_not_stop(renderer):
    """The plan curves along a wall; the check follows the plan, not a straight line."""
    loop = ClosedLoop(renderer, nav=(0.5, 0.6))
    wall = Box((0.6, -0.6, 0.3), (2.0, 0.1, 0.6))  # on the right, the robot turns left
    loop.run(2.0, scene_at=lambda t: Scene(boxes=(wall,)))
    assert all(o.mode is Mode.NOMINAL for o in loop.outputs[3:]), \
        {o.reason for o in loop.outputs}


def test_a_box_too_close_for_the_smooth_law_gets_the_emergency_stop_and_no_contact(renderer):
    loop = ClosedLoop(renderer, nav=(0.8, 0.0))
    loop.run(1.5)
    box = _box_ahead_of(loop, 0.5)
    start = len(loop.outputs)
    loop.run(2.0, scene_at=lambda t: Scene(boxes=(box,)))
    outs = loop.outputs[start:]
    first = next(o for o in outs if o.emergency)
    assert first is outs[0]  # the first frame that sees it
    assert first.linear_mps == 0.0 and first.mode is Mode.STOPPED
    assert "emergency stop" in first.reason
    assert loop.ctl.counts["emergency_stops"] == 1
    front = max(x for _, x, _, _ in loop.trace) + R
    gap_m = box.center_m[0] - box.size_m[0] / 2 - front
    print(f"FIGURE box 0.5 m ahead at 0.8 m/s: emergency stop, {gap_m * 100:.1f} cm short")
    assert gap_m > 0.0


def test_after_an_emergency_stop_the_robot_waits_for_a_clear_way_then_ramps_up(renderer):
    loop = ClosedLoop(renderer, nav=(0.8, 0.0))
    loop.run(1.5)
    box = _box_ahead_of(loop, 0.5)
    loop.run(0.3, scene_at=lambda t: Scene(boxes=(box,)))  # then it is taken away
    start = len(loop.outputs)
    loop.run(3.0)
    outs = loop.outputs[start:]
    last_seen = max(o.t_ns for o in loop.outputs if "emergency stop: obstacle" in o.reason)
    first_move = next(o for o in outs if o.linear_mps > 0.0)
    assert (first_move.t_ns - last_seen) * 1e-9 >= loop.params.resume_delay_s
    assert any("resuming in" in o.reason for o in outs)
    assert not first_move.emergency
    assert first_move.linear_mps <= ROBOT.limits.max_linear_jerk_mps3 * 0.067 ** 2 + 1e-9
    assert outs[-1].linear_mps == pytest.approx(0.8) and outs[-1].mode is Mode.NOMINAL
