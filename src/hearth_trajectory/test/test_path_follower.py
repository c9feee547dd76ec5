"""Pure pursuit, simulated on a perfect unicycle: converges, stops at the goal, keeps limits."""

import itertools
import math

import numpy as np
import pytest

from hearth_trajectory.path_follower import FollowerLimits, FollowStatus, PathFollower
from hearth_trajectory.trajectory_space import advance_pose

LIMITS = FollowerLimits(
    max_linear_mps=1.0, max_angular_radps=2.5, max_linear_accel_mps2=1.0,
    max_angular_accel_radps2=4.0,
)  # fmt: skip
DT = 0.1


def _line(a, b, step=0.05):
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = max(int(np.ceil(np.linalg.norm(b - a) / step)), 1)
    return a + (b - a) * np.linspace(0.0, 1.0, n + 1)[:, None]


def _distance_to_path(path, p):
    a, b = path[:-1], path[1:]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.einsum("ij,ij->i", ab, ab), 0, 1)
    return float(np.min(np.hypot(*(a + t[:, None] * ab - p).T)))


def _simulate(path, pose, steps=400, follower=None):
    follower = follower or PathFollower(LIMITS, lookahead_m=0.6, goal_tolerance_m=0.15)
    follower.set_path(path)
    x, y, yaw = pose
    v = w = 0.0
    log = []
    for _ in range(steps):
        cmd = follower.command(x, y, yaw, v, w, DT)
        # never exceeds the limits, from one command to the next
        assert 0.0 <= cmd.linear_mps <= LIMITS.max_linear_mps + 1e-12
        assert abs(cmd.angular_radps) <= LIMITS.max_angular_radps + 1e-12
        assert abs(cmd.linear_mps - v) <= LIMITS.max_linear_accel_mps2 * DT + 1e-12
        assert abs(cmd.angular_radps - w) <= LIMITS.max_angular_accel_radps2 * DT + 1e-12
        v, w = cmd.linear_mps, cmd.angular_radps
        log.append((x, y, yaw, v, w, cmd.status))
        x, y, yaw = advance_pose(x, y, yaw, np.array([v, w]), np.zeros(2), np.zeros(2), DT)
    return log


def _stopped_at(log, goal, tol=0.15):
    x, y, _, v, w, status = log[-1]
    assert status is FollowStatus.ARRIVED
    assert v == 0.0 and w == 0.0
    assert math.hypot(x - goal[0], y - goal[1]) <= tol


def test_converges_on_a_straight_path_and_stops_at_its_end():
    path = _line((0.0, 0.0), (4.0, 0.0))
    log = _simulate(path, (0.0, 0.4, 0.3))  # offset and misaligned
    _stopped_at(log, (4.0, 0.0))
    # converges: after 2 m the robot is on the line
    late = [(x, y) for x, y, *_ in log if 2.0 < x < 3.5]
    assert late and max(abs(y) for _, y in late) < 0.03
    assert max(v for *_, v, _w, _s in log) == pytest.approx(1.0)  # reaches top speed


def test_follows_an_l_shaped_path():
    path = np.vstack([_line((0.0, 0.0), (3.0, 0.0)), _line((3.0, 0.0), (3.0, 3.0))[1:]])
    log = _simulate(path, (0.0, 0.0, 0.0))
    _stopped_at(log, (3.0, 3.0))
    worst = max(_distance_to_path(path, np.array([x, y])) for x, y, *_ in log)
    assert worst < 0.3  # pure pursuit cuts the corner, by less than the lookahead


def test_stays_stopped_at_the_goal():
    path = _line((0.0, 0.0), (1.0, 0.0))
    log = _simulate(path, (0.0, 0.0, 0.0), steps=200)
    arrived = [i for i, entry in enumerate(log) if entry[5] is FollowStatus.ARRIVED]
    assert arrived and arrived == list(range(arrived[0], len(log)))
    assert all(entry[3] == 0.0 for entry in log[arrived[0] + 10 :])


def test_turns_in_place_when_the_path_is_behind():
    path = _line((0.0, 0.0), (-3.0, 0.0))
    log = _simulate(path, (0.0, 0.0, 0.0))
    first = log[:5]
    assert all(s is FollowStatus.TURNING for *_, s in first)
    assert all(v == 0.0 for *_, v, _w, _s in first)
    # it never drives forward while the path is more than ~60 degrees off its heading
    for x, _y, yaw, v, _w, _s in log:
        if v > 0.0 and x > -2.5:
            assert abs(math.remainder(math.pi - yaw, 2 * math.pi)) < math.pi / 3 + 0.3
    _stopped_at(log, (-3.0, 0.0))


def test_a_path_that_comes_back_near_itself_is_followed_in_order():
    out = _line((0.0, 0.0), (3.0, 0.0))
    back = _line((3.0, 0.3), (0.5, 0.3))
    path = np.vstack([out, back])
    log = _simulate(path, (0.0, 0.0, 0.0), steps=600)
    assert max(x for x, *_ in log) > 2.8  # went to the far end first
    _stopped_at(log, (0.5, 0.3))


def test_single_point_path_and_bad_paths():
    follower = PathFollower(LIMITS)
    follower.set_path(np.array([[1.0, 0.0]]))
    cmd = follower.command(0.0, 0.0, 0.0, 0.0, 0.0, DT)
    assert cmd.status is FollowStatus.FOLLOWING and cmd.linear_mps > 0.0
    with pytest.raises(ValueError, match="non-finite"):
        follower.set_path(np.array([[0.0, 0.0], [math.nan, 1.0]]))
    follower.set_path(None)
    assert not follower.has_path
    with pytest.raises(RuntimeError):
        follower.command(0.0, 0.0, 0.0, 0.0, 0.0, DT)


def test_always_comes_to_rest_within_the_goal_tolerance():
    rng = np.random.default_rng(3)
    for _ in range(40):
        corners = np.cumsum(rng.uniform(-2.0, 2.0, size=(4, 2)), axis=0)
        path = np.vstack(
            [_line(a, b)[:-1] for a, b in itertools.pairwise(corners)] + [corners[-1:]]
        )
        start = (*(corners[0] + rng.uniform(-0.3, 0.3, 2)), rng.uniform(-math.pi, math.pi))
        log = _simulate(path, start, steps=900)
        _stopped_at(log, corners[-1], tol=0.15)


def test_pushed_away_after_arrival_it_goes_back():
    follower = PathFollower(LIMITS, lookahead_m=0.6, goal_tolerance_m=0.15)
    path = _line((0.0, 0.0), (1.0, 0.0))
    log = _simulate(path, (0.0, 0.0, 0.0), steps=100, follower=follower)
    _stopped_at(log, (1.0, 0.0))
    cmd = follower.command(1.0, 0.5, 0.0, 0.0, 0.0, DT)  # carried 0.5 m sideways
    assert cmd.status is not FollowStatus.ARRIVED
    assert cmd.angular_radps != 0.0 or cmd.linear_mps > 0.0
