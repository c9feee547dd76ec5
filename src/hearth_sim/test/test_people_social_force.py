"""Social-force people walk between two rooms joined by a doorway: they keep off the walls,
off each other and off the robot, they get through the doorway, and a seed fixes a run.

The first step of the first crowd pays numba's compilation of pysocialforce (about 2.5 s on
the 2-core machine); after that a 60 s run of 4 people at 20 Hz takes well under a second.
"""

import functools
import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hearth_sim.home.model import Room
from hearth_sim.people.crowd import Crowd, check_crowd_state
from hearth_sim.people.routing import point_segment_distances
from hearth_sim.people.social_force import SocialForceCrowd, SocialForceParams

BODY_M = 0.25
ROBOT_M = 0.2
DT_S = 0.05
FAR_AWAY = (100.0, 100.0)  # a robot outside the home
ROOMS = (Room("a", (0.0, 0.0), (4.0, 4.0)), Room("b", (4.0, 0.0), (8.0, 4.0)))
DOOR_Y = (1.6, 2.4)  # the doorway in the wall x = 4


def box_edges(x0, y0, x1, y1):
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    return np.hstack([corners, np.roll(corners, -1, axis=0)])


def two_rooms(door_open=True):
    """Rooms a and b, 4 m x 4 m, walls 0.1 m thick as outlines (both faces, as
    hearth_sim.home.geometry makes them), a 0.8 m doorway in the middle wall."""
    h = 0.05
    walls = [box_edges(-h, -h, 8 + h, h), box_edges(-h, 4 - h, 8 + h, 4 + h),
             box_edges(-h, -h, h, 4 + h), box_edges(8 - h, -h, 8 + h, 4 + h)]
    if door_open:
        walls += [box_edges(4 - h, -h, 4 + h, DOOR_Y[0]), box_edges(4 - h, DOOR_Y[1], 4 + h, 4 + h)]
    else:
        walls.append(box_edges(4 - h, -h, 4 + h, 4 + h))
    return np.vstack(walls)


SEGMENTS = two_rooms()


def run(crowd, duration_s, robot=FAR_AWAY, robot_v=(0.0, 0.0), dt_s=DT_S):
    """Steps the crowd; the people's positions (T, N, 2) after each step. ``robot`` is a
    fixed position or a function of time."""
    out = []
    for k in range(round(duration_s / dt_s)):
        t = k * dt_s
        xy = robot(t) if callable(robot) else robot
        crowd.step(t, dt_s, np.asarray(xy, float), np.asarray(robot_v, float))
        out.append(crowd.positions_m)
    return np.array(out)


@functools.cache
def simulate(seed, robot=FAR_AWAY, resolve_contacts=True, n=4, duration_s=60.0):
    params = SocialForceParams(resolve_contacts=resolve_contacts)
    crowd = SocialForceCrowd(SEGMENTS, ROOMS, n, seed, robot_radius_m=ROBOT_M, params=params,
                             robot_start_xy_m=robot)
    return run(crowd, duration_s, robot), crowd


def wall_distances(traj, segments=SEGMENTS):
    return point_segment_distances(traj.reshape(-1, 2), segments).min(axis=1)


def pair_distances(traj):
    n = traj.shape[1]
    d = np.linalg.norm(traj[:, :, None, :] - traj[:, None, :, :], axis=-1)
    return d[:, *np.triu_indices(n, k=1)]


def room_of(xy):
    return "a" if xy[0] < 4.0 else "b"


# ---------------------------------------------------------------- walls and each other


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_forces_alone_keep_people_off_the_walls_and_each_other(seed):
    """The safety net that undoes overlaps is off: what keeps the bodies apart is the
    social-force model."""
    traj, crowd = simulate(seed, resolve_contacts=False)
    print(f"FIGURE people, seed {seed}, 4 people, 60 s: closest to a wall "
          f"{wall_distances(traj).min():.3f} m (centre; body radius {BODY_M}), closest pair "
          f"{pair_distances(traj).min():.3f} m (touching: {2 * BODY_M})")
    assert wall_distances(traj).min() > BODY_M  # no body touches a wall (0.1 m: asked)
    assert pair_distances(traj).min() > 2 * BODY_M - 0.02
    assert crowd.contact_corrections == 0


def test_people_never_overlap_walls_or_each_other():
    traj, crowd = simulate(7)
    check_crowd_state(crowd)
    assert wall_distances(traj).min() >= BODY_M - 1e-6
    assert pair_distances(traj).min() >= 2 * BODY_M - 1e-6
    assert np.all(np.abs(np.diff(traj, axis=0)) / DT_S <= 1.3 + 0.2)  # walking, not jumping


def test_people_reach_targets_in_the_other_room_through_the_doorway():
    traj, crowd = simulate(7)
    # every person reached at least two targets, at least one of them in the other room
    rooms = {i: [room_of(traj[0, i])] for i in range(len(crowd))}
    for arrival in crowd.arrivals:
        rooms[arrival.person_id].append(arrival.room)
        assert np.linalg.norm(np.subtract(arrival.xy_m, arrival.target_m)) < 0.6
        assert room_of(arrival.target_m) == arrival.room
    for i, visited in rooms.items():
        assert len(visited) >= 3, (i, visited)
        assert any(a != b for a, b in itertools.pairwise(visited)), (i, visited)
    # and the only way between the rooms is the doorway
    x, y = traj[..., 0], traj[..., 1]
    crossing = np.sign(x[1:] - 4.0) != np.sign(x[:-1] - 4.0)
    assert np.count_nonzero(crossing) >= len(crowd)
    y_at = 0.5 * (y[1:] + y[:-1])[crossing]
    assert np.all((y_at > DOOR_Y[0] + BODY_M - 0.05) & (y_at < DOOR_Y[1] - BODY_M + 0.05))


def test_with_the_door_closed_people_stay_in_one_room():
    segments = two_rooms(door_open=False)
    crowd = SocialForceCrowd(segments, ROOMS, 3, seed=5, robot_start_xy_m=FAR_AWAY)
    traj = run(crowd, 20.0)
    side = traj[..., 0] < 4.0
    assert np.all(side == side[0, 0])
    assert len(crowd.arrivals) >= 3  # they still walk about
    assert wall_distances(traj, segments).min() >= BODY_M - 1e-6


# ---------------------------------------------------------------- the robot


def test_people_keep_away_from_a_robot_standing_in_their_path():
    """The robot stands 1.5 m past the doorway, on the way into room b."""
    robot = (5.5, 2.0)
    traj, crowd = simulate(2, robot=robot, resolve_contacts=False)
    d = np.linalg.norm(traj - robot, axis=-1)
    print(f"FIGURE people vs a standing robot: closest {d.min():.3f} m "
          f"(touching: {ROBOT_M + BODY_M})")
    assert d.min() > ROBOT_M + BODY_M - 0.02
    assert crowd.contact_corrections == 0
    assert sum(a.room == "b" for a in crowd.arrivals) >= 2  # they still get into room b


def test_a_person_walks_round_the_robot_in_a_corridor():
    """A 1.8 m corridor with the robot in the middle of it: the only person walks from one
    end to the other and back, past the robot each time."""
    segments = box_edges(0.0, 0.0, 10.0, 1.8)
    rooms = (Room("west", (0.0, 0.0), (1.5, 1.8)), Room("east", (8.5, 0.0), (10.0, 1.8)))
    robot = (5.0, 0.9)
    params = SocialForceParams(resolve_contacts=False, dwell_range_s=(0.5, 1.0))
    crowd = SocialForceCrowd(segments, rooms, 1, seed=3, robot_start_xy_m=robot,
                             params=params)
    traj = run(crowd, 40.0, robot)
    assert np.linalg.norm(traj[:, 0] - robot, axis=-1).min() > ROBOT_M + BODY_M - 0.02
    assert wall_distances(traj, segments).min() > BODY_M
    passes = np.count_nonzero(np.diff(np.sign(traj[:, 0, 0] - robot[0])) != 0)
    assert passes >= 3
    assert crowd.replans == 0


def test_a_robot_driving_through_the_people_never_overlaps_them():
    """The robot drives to and fro across room b at 0.8 m/s, past the doorway."""
    def robot(t):
        s = (0.8 * t) % 5.2
        return (4.8 + s, 2.0) if s <= 2.6 else (4.8 + 5.2 - s, 2.0)

    def robot_v(t):
        return (0.8, 0.0) if (0.8 * t) % 5.2 <= 2.6 else (-0.8, 0.0)

    crowd = SocialForceCrowd(SEGMENTS, ROOMS, 4, seed=11, robot_start_xy_m=robot(0.0))
    traj = []
    for k in range(round(30.0 / DT_S)):
        t = k * DT_S
        crowd.step(t, DT_S, np.array(robot(t)), np.array(robot_v(t)))
        traj.append(crowd.positions_m)
    traj = np.array(traj)
    at_start = np.array([robot(k * DT_S) for k in range(len(traj))])
    at_end = np.array([robot((k + 1) * DT_S) for k in range(len(traj))])
    # people are kept off the robot where the step was told it is, and it moves at most
    # 0.04 m during a step
    assert np.linalg.norm(traj - at_start[:, None], axis=-1).min() >= ROBOT_M + BODY_M - 1e-6
    assert np.linalg.norm(traj - at_end[:, None], axis=-1).min() >= ROBOT_M + BODY_M - 0.05
    assert pair_distances(traj).min() >= 2 * BODY_M - 1e-6
    assert wall_distances(traj).min() >= BODY_M - 1e-6


# ---------------------------------------------------------------- determinism and time


def test_the_same_seed_gives_the_same_trajectories_and_another_seed_does_not():
    first, _ = simulate(7)
    again, _ = simulate.__wrapped__(7)
    other, _ = simulate(8)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_a_long_step_is_cut_into_substeps():
    """One 0.2 s step moves people as four 0.05 s steps do."""
    fine = SocialForceCrowd(SEGMENTS, ROOMS, 3, seed=4, robot_start_xy_m=FAR_AWAY)
    coarse = SocialForceCrowd(SEGMENTS, ROOMS, 3, seed=4, robot_start_xy_m=FAR_AWAY)
    run(fine, 10.0, dt_s=0.05)
    run(coarse, 10.0, dt_s=0.2)
    assert fine.time_s == pytest.approx(coarse.time_s)
    np.testing.assert_allclose(fine.positions_m, coarse.positions_m, atol=1e-6)


def test_it_is_a_crowd_of_always_present_people():
    crowd = SocialForceCrowd(SEGMENTS, ROOMS, 3, seed=1)
    assert isinstance(crowd, Crowd)
    assert len(crowd) == 3
    np.testing.assert_array_equal(crowd.ids, [0, 1, 2])
    assert np.all(crowd.present)
    np.testing.assert_allclose(crowd.radius_m, BODY_M)
    check_crowd_state(crowd)
    crowd.step(0.0, 0.1, np.array(FAR_AWAY), np.zeros(2))
    assert crowd.time_s == pytest.approx(0.1)
    check_crowd_state(crowd)
    speeds = crowd._speed  # desired speeds: human walking, varied per person
    assert np.all((speeds >= 1.0) & (speeds <= 1.3)) and np.ptp(speeds) > 0.0


def test_people_start_clear_of_the_robot_and_each_other():
    crowd = SocialForceCrowd(SEGMENTS, ROOMS, 6, seed=9, robot_start_xy_m=(2.0, 2.0))
    xy = crowd.positions_m
    assert np.linalg.norm(xy - (2.0, 2.0), axis=1).min() > ROBOT_M + BODY_M
    assert pair_distances(xy[None])[0].min() > 2 * BODY_M
    assert wall_distances(xy[None]).min() > BODY_M


def test_no_people_is_allowed():
    crowd = SocialForceCrowd(SEGMENTS, ROOMS, 0, seed=1)
    crowd.step(0.0, 0.05, np.zeros(2), np.zeros(2))
    assert len(crowd) == 0
    check_crowd_state(crowd)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"segments": np.zeros((3, 3))}, "segments"),
    ({"rooms": ()}, "rooms"),
    ({"rooms": (Room("flat", (0.0, 0.0), (0.0, 4.0)),)}, "max_m"),
    ({"n_people": -1}, "n_people"),
    ({"robot_radius_m": 0.0}, "robot_radius_m"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    args = {"segments": SEGMENTS, "rooms": ROOMS, "n_people": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        SocialForceCrowd(**args)


def test_bad_params_are_rejected():
    with pytest.raises(ValueError, match="lookahead_m"):
        SocialForceParams(lookahead_m=0.4)
    with pytest.raises(ValueError, match="speed_range_mps"):
        SocialForceParams(speed_range_mps=(1.3, 1.0))


# ---------------------------------------------------------------- a real home


@pytest.mark.parametrize("name", ["apartment", "house"])
def test_people_walk_about_a_shipped_home(name):
    path = Path(__file__).parents[3] / "maps" / name / "home.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is not there yet")
    from hearth_sim.home.geometry import obstacle_segments
    from hearth_sim.home.loader import load_home

    home = load_home(path)
    segments = obstacle_segments(home)
    robot = (home.robot_start.x_m, home.robot_start.y_m)
    crowd = SocialForceCrowd(segments, home.rooms, 5, seed=1, robot_start_xy_m=robot)
    traj = run(crowd, 60.0, robot)
    assert wall_distances(traj, segments).min() >= BODY_M - 1e-6
    assert pair_distances(traj).min() >= 2 * BODY_M - 1e-6
    assert np.linalg.norm(traj - robot, axis=-1).min() >= ROBOT_M + BODY_M - 1e-6
    # the forces do the work: the safety net that undoes overlaps is (nearly) never needed
    assert crowd.contact_corrections <= 0.001 * traj.shape[0] * traj.shape[1]
    assert len({a.room for a in crowd.arrivals}) >= 3


def test_importing_pysocialforce_leaves_logging_and_the_directory_alone(tmp_path):
    """pysocialforce's own import turns the root logger to DEBUG and writes ./file.log."""
    code = ("import logging, hearth_sim.people.social_force; "
            "root = logging.getLogger(); print(root.level, len(root.handlers))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == [str(30), "0"], out.stderr
    assert not (tmp_path / "file.log").exists()
