"""The whole pipeline (``SlamSystem``) on a rendered loop: a robot drives 1.3 laps of an
ellipse in the textured room with a drifting odometry, and the lights go out for 2.5 s on
the way. Loop closure makes the map better than visual odometry and odometry alone; the
saved map is found again in a new session; a lift is relocalized and reported for fusion;
a corrupt map file leaves a working fresh map."""

import math
from dataclasses import replace

import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam.loop_closure import LoopParams
from hearth_slam.map_store import MapFileError
from hearth_slam.place_recognition import Vocabulary, default_vocabulary_path
from hearth_slam.slam_system import SlamParams, SlamSystem, planar
from hearth_slam.stereo_camera import StereoRig, rectified_camera_info_fields
from hearth_slam.visual_odometry import FrontEndParams

WIDTH, HEIGHT, FX = 320, 200, 165.0  # half the robot's resolution: four times faster to render
DT_S = 0.25
N_PAIRS = 62  # 1.3 laps of 48 pairs
DARK = range(20, 30)  # black pairs: tracking is lost, the odometry carries on
# the hearth robot's left optical frame in base_link (URDF): z forward, x right, y down
T_BASE_CAM = np.array([[0.0, 0.0, 1.0, 0.075], [-1.0, 0.0, 0.0, 0.04],
                       [0.0, -1.0, 0.0, 0.40], [0.0, 0.0, 0.0, 1.0]])
# the room's frame (optical axes, floor at y = 0.6) from the robot's world (x, y on the floor)
T_ROOM_WORLD = se3.make(np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]),
                        [0.0, 0.6, 0.0])


def _planar_pose(x, y, yaw):
    c, s = math.cos(yaw), math.sin(yaw)
    return se3.make(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), [x, y, 0.0])


class Loop:
    """The drive: true base poses, the images, and an odometry with 4 % scale error and a
    1 deg/s heading drift."""

    def __init__(self, room):
        K = np.array([[FX, 0.0, (WIDTH - 1) / 2], [0.0, FX, (HEIGHT - 1) / 2], [0, 0, 1.0]])
        self.rig = StereoRig.from_camera_info_fields(
            *rectified_camera_info_fields(K, WIDTH, HEIGHT, 0.08))
        a = 2 * np.pi * np.arange(N_PAIRS) / 48 - np.pi / 2
        xy = np.column_stack([1.9 * np.cos(a), 1.2 * np.sin(a)])  # an ellipse, 3.8 x 2.4 m
        heading = np.gradient(xy, axis=0)
        self.truth = [_planar_pose(x, y, math.atan2(dy, dx))
                      for (x, y), (dx, dy) in zip(xy, heading, strict=True)]
        black = np.zeros((HEIGHT, WIDTH), np.uint8)
        self.images = [(black, black) if k in DARK else room.render_pair(
            T_ROOM_WORLD @ T @ T_BASE_CAM, self.rig, rng=np.random.default_rng(k))
            for k, T in enumerate(self.truth)]
        rng = np.random.default_rng(0)
        self.odom = [np.eye(4)]
        for a_, b_ in zip(self.truth[:-1], self.truth[1:], strict=True):
            xi = se3.log(se3.inverse(a_) @ b_)
            xi[:3] *= 1.04
            xi[5] += math.radians(1.0) * DT_S + 0.01 * rng.standard_normal()
            self.odom.append(self.odom[-1] @ se3.exp(xi))


@pytest.fixture(scope="module")
def loop(room):
    return Loop(room)


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.load(default_vocabulary_path())


def make_system(loop, vocabulary, loop_closure=True):
    front = FrontEndParams()
    params = SlamParams(front_end=replace(front, orb=replace(front.orb, n_features=600)),
                        loop=LoopParams(min_gap_s=6.0),  # a lap takes 12 s here
                        loop_closure=loop_closure, wait_for_backend=True)
    system = SlamSystem(params, vocabulary)
    system.configure_camera(loop.rig, T_BASE_CAM)
    return system


def drive(system, loop, pairs, odom=None, t0_s=100.0):
    odom = loop.odom if odom is None else odom
    return [system.process_stereo(t0_s + DT_S * k, *loop.images[k], odom[k]) for k in pairs]


def keyframe_ate_m(system, loop, t0_s=100.0):
    ids, poses, _ = system.keyframe_graph()
    err = [np.linalg.norm(T[:2, 3] - loop.truth[round((system.keyframe_t_s[int(i)] - t0_s)
                                                       / DT_S)][:2, 3])
           for i, T in zip(ids, poses, strict=True)]
    return float(np.sqrt(np.mean(np.square(err))))


@pytest.fixture(scope="module")
def mapped(loop, vocabulary, tmp_path_factory):
    """The drive with loop closure (its map saved), and without."""
    path = tmp_path_factory.mktemp("maps") / "room.map.npz"
    runs = {}
    for closing in (True, False):
        system = make_system(loop, vocabulary, closing)
        system.set_initial_pose(loop.truth[0], loop.odom[0])  # the map frame is the world
        results = drive(system, loop, range(N_PAIRS))
        if closing:
            system.save_map(path)
        system.close()
        runs[closing] = (system, results)
    return runs, path


def test_a_loop_closure_is_accepted_and_the_map_beats_odometry_and_vo_alone(mapped, loop):
    runs, _ = mapped
    closed, _ = runs[True]
    open_, results = runs[False]
    assert any(not r.tracked for r in results[DARK.start:DARK.stop])  # the lights were out
    assert len(closed.loops) >= 1 and not open_.loops
    for det, decision in closed.backend.loop_decisions:  # every accepted loop is a true one
        if not decision.accepted:
            continue
        ta, tb = (round((closed.keyframe_t_s[k] - 100.0) / DT_S) for k in (det.kf_a, det.kf_b))
        truth = se3.inverse(loop.truth[ta]) @ loop.truth[tb]
        error = se3.inverse(truth) @ det.pose_a_b  # the same place, to stereo depth accuracy
        assert np.linalg.norm(error[:3, 3]) < 0.25 and se3.rotation_angle_rad(error) < 0.09
    with_loops, without = keyframe_ate_m(closed, loop), keyframe_ate_m(open_, loop)
    assert with_loops < 0.7 * without, (with_loops, without)
    assert with_loops < 0.06


def test_a_saved_map_is_found_again_in_the_next_session(mapped, loop, vocabulary):
    _, path = mapped
    system = make_system(loop, vocabulary)
    counts = system.load_map(path)
    assert counts["keyframes"] > 10 and not system.localized
    # the new session's odometry starts at zero, wherever the robot is: pair 5 of the lap
    odom = [se3.inverse(loop.truth[5]) @ T for T in loop.truth]
    results = drive(system, loop, range(5, 12), odom, t0_s=500.0)
    first = next(n for n, r in enumerate(results) if r.localized)
    assert first <= 3  # two located views agree: that is the confirmation
    for n, r in enumerate(results[first:], start=5 + first):
        assert np.linalg.norm(r.pose_map_base[:2, 3] - loop.truth[n][:2, 3]) < 0.08
    events = system.pop_events()
    assert events and events[0][0] == "lost" and events[0][1].odometry_broken
    # the session extends the map: new keyframes with ids after the loaded ones
    ids, _, _ = system.keyframe_graph()
    assert ids.max() >= counts["keyframes"]
    system.close()


def test_a_lift_is_relocalized_and_fusion_is_told(mapped, loop, vocabulary):
    system = make_system(loop, vocabulary)
    system.set_initial_pose(loop.truth[0], loop.odom[0])
    drive(system, loop, range(0, 12))
    # lifted at pair 11, put down at pair 40 (seen on the first lap): fusion froze the
    # odometry while it was held, so the odometry goes on from where it was picked up
    system.request_relocalization(fusion_asked=True)
    jump = loop.odom[11] @ se3.inverse(loop.odom[40])
    odom = [jump @ T for T in loop.odom]
    results = drive(system, loop, range(40, 50), odom)
    located = [r for r in results if r.localized]
    assert located, [r.localized for r in results]
    assert np.linalg.norm(located[-1].pose_map_base[:2, 3] - loop.truth[49][:2, 3]) < 0.1
    kinds = [kind for kind, _ in system.pop_events()]
    assert "fusion" in kinds
    system.close()


def test_a_corrupt_map_file_leaves_a_working_fresh_map(loop, vocabulary, tmp_path):
    bad = tmp_path / "home.map.npz"
    bad.write_bytes(b"PK\x03\x04 not really a map")
    system = make_system(loop, vocabulary)
    with pytest.raises(MapFileError, match=r"home\.map\.npz"):
        system.load_map(bad)
    system.set_initial_pose(loop.truth[0], loop.odom[0])
    results = drive(system, loop, range(3))
    assert results[-1].localized and system.has_map
    assert np.allclose(planar(results[-1].pose_map_base)[:2, 3], loop.truth[2][:2, 3], atol=0.05)
    system.close()
