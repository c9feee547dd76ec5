"""Loop closure and relocalization: PnP on known poses, and the policy that a false loop
closure is worse than a missed one (perceptual aliasing, one-off coincidences, twin rooms
are all refused)."""

import math

import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam import synthetic_landmarks as sl
from hearth_slam.backend import Backend, BackendCamera, KeyframeLandmarks
from hearth_slam.backend_thread import BackendThread, KeyframeInput
from hearth_slam.loop_closure import (
    LoopDetector,
    LoopParams,
    match_descriptors,
    pnp,
    verify,
)
from hearth_slam.place_recognition import Vocabulary, default_vocabulary_path

LAP = 50


@pytest.fixture(scope="module")
def camera():
    return BackendCamera.from_robot()


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.load(default_vocabulary_path())


def keyframe_input(k):
    return KeyframeInput(k.kf_id, k.t_s, k.pose_odom_base, k.landmark_ids, k.stereo_uv,
                         k.new_landmark_ids, new_descriptors=k.new_descriptors,
                         keypoints_px=k.stereo_uv[:, [0, 2]], descriptors=k.keypoint_descriptors)


def run(camera, vocabulary, kfs, params=None, on_snapshot=None):
    detector = LoopDetector(vocabulary, camera.K, camera.pose_base_camera, params)
    worker = BackendThread(Backend(camera), detector, max_queue=1000,
                           on_snapshot=on_snapshot).start()
    for k in kfs:
        assert worker.submit_keyframe(keyframe_input(k))
    assert worker.wait_idle(120.0)
    worker.stop()
    return worker, detector


def view_of(world, camera, T_map_base, rng, extra=0):
    """What a camera at ``T_map_base`` sees: keypoints (N, 2), descriptors, 3D in camera."""
    idx, uv = sl.observe(world, camera, T_map_base, 640, 400)
    pts = se3.transform_points(se3.inverse(T_map_base @ camera.pose_base_camera),
                               world.points_map[idx])
    kps = uv[:, [0, 2]] + rng.normal(0.0, 0.5, (len(idx), 2))
    desc = world.descriptors[idx].copy()
    if extra:
        kps = np.vstack([kps, rng.uniform([0, 0], [640, 400], (extra, 2))])
        desc = np.vstack([desc, rng.integers(0, 256, (extra, 32), dtype=np.uint8)])
    return kps, desc, pts


@pytest.fixture(scope="module")
def world():
    return sl.room_world(np.random.default_rng(11))


# ------------------------------------------------------------------------------ geometry


def test_pnp_recovers_a_known_pose_despite_outliers(camera, world):
    rng = np.random.default_rng(1)
    T_map_base = sl.yaw_pose(4.0, 3.0, 0.4)
    kps, _, pts = view_of(world, camera, T_map_base, rng)
    # the same points seen from a keyframe 0.5 m back and 0.2 rad turned
    T_kf = T_map_base @ sl.yaw_pose(-0.5, 0.1, -0.2)
    pts_kf = se3.transform_points(
        se3.inverse(T_kf @ camera.pose_base_camera) @ T_map_base @ camera.pose_base_camera, pts)
    kps[:30] = rng.uniform([0, 0], [640, 400], (30, 2))  # 30 wrong matches
    T, inliers = pnp(pts_kf, kps, camera.K, 3.0, 300)
    truth = se3.inverse(T_kf @ camera.pose_base_camera) @ T_map_base @ camera.pose_base_camera
    err = se3.inverse(truth) @ T
    assert np.linalg.norm(err[:3, 3]) < 0.02
    assert se3.rotation_angle_rad(err) < math.radians(0.5)
    assert inliers[30:].mean() > 0.95 and inliers[:30].mean() < 0.2


def test_matching_keeps_distinct_close_pairs_only():
    rng = np.random.default_rng(2)
    train = rng.integers(0, 256, (50, 32), dtype=np.uint8)
    query = train[[3, 7, 7]].copy()
    query[0, 0] ^= 1
    iq, it = match_descriptors(query, train, 64, 0.8)
    assert sorted(it.tolist()) == [3, 7]  # train row 7 matched once, by the closest query
    assert dict(zip(it.tolist(), iq.tolist(), strict=True))[3] == 0


def test_a_perceptually_aliased_candidate_fails_geometry(camera, world):
    """The same descriptors (a repeated texture) in a different 3D arrangement: the
    descriptors match, no rigid pose explains them."""
    rng = np.random.default_rng(3)
    kps, desc, pts = view_of(world, camera, sl.yaw_pose(5.0, 3.5, 0.0), rng)
    shuffled = pts[rng.permutation(len(pts))]
    candidate = KeyframeLandmarks(0, np.arange(len(pts)), shuffled, desc,
                                  np.zeros((len(pts), 3)), np.eye(4))
    params = LoopParams()
    assert verify(candidate, kps, desc, camera.K, params, params.min_inliers) is None
    genuine = KeyframeLandmarks(0, np.arange(len(pts)), pts, desc, np.zeros((len(pts), 3)),
                                np.eye(4))
    assert verify(genuine, kps, desc, camera.K, params, params.min_inliers) is not None


# ------------------------------------------------------------------------------ detector


@pytest.fixture(scope="module")
def two_laps(camera, vocabulary):
    rng = np.random.default_rng(5)
    world = sl.room_world(rng)
    poses = sl.lap_poses(LAP, 1.5)
    odom = sl.drifting_odometry(poses, rng, yaw_bias_rad_per_m=math.radians(0.5))
    kfs = sl.simulate_keyframes(world, camera, poses, rng, odometry=odom)
    snapshots = []
    worker, detector = run(camera, vocabulary, kfs, on_snapshot=snapshots.append)
    worker.snapshots = snapshots
    return world, kfs, worker, detector


def test_a_revisit_is_detected_verified_and_closes_the_loop(two_laps):
    _, kfs, worker, detector = two_laps
    assert worker.counts["loops_accepted"] >= 1
    assert worker.counts["errors"] == 0
    for found, decision in worker.loop_decisions:
        assert decision.accepted
        assert kfs[found.kf_b].t_s - kfs[found.kf_a].t_s >= detector.p.min_gap_s
        truth = se3.inverse(kfs[found.kf_a].pose_map_base) @ kfs[found.kf_b].pose_map_base
        err = se3.inverse(truth) @ found.pose_a_b
        assert np.linalg.norm(err[:3, 3]) < 0.05
        assert se3.rotation_angle_rad(err) < math.radians(1.0)
    snap = worker.snapshot()
    assert snap.loops and set(snap.loops) == set(worker.backend.loops())


def test_map_odom_goes_out_after_a_loops_first_iteration_then_refined(two_laps):
    _, _, worker, _ = two_laps
    # the first loop of the second lap corrects 0.5 deg/m of heading drift: a large one
    refined = [d for _, d in worker.loop_decisions if d.refine_ms > 0.0]
    assert refined and all(d.refine_iterations == 0 for _, d in worker.loop_decisions)
    assert worker.counts["loop_refinements"] == len(refined)
    # a snapshot with the loop in it went out before its refinement, another after it
    with_loop = next(n for n, s in enumerate(worker.snapshots) if s.loops_added)
    assert worker.snapshots[with_loop].stats["loop_refinements"] == 0
    assert worker.snapshots[with_loop + 1].stats["loop_refinements"] == 1
    assert worker.snapshots[with_loop + 1].loops_added == ()


def test_one_coincidental_match_is_not_a_loop(camera, vocabulary, world):
    """A place verified by one query only (the next queries see elsewhere) is never
    accepted; three consecutive confirmations are."""
    rng = np.random.default_rng(6)
    poses = [sl.yaw_pose(3.0 + 0.3 * i, 3.5, 0.0) for i in range(4)]
    views = [view_of(world, camera, T, rng, extra=100) for T in poses]
    source = {i: KeyframeLandmarks(i, np.arange(len(v[2])), v[2], v[1][:len(v[2])],
                                   np.zeros((0, 3)), poses[i] @ camera.pose_base_camera)
              for i, v in enumerate(views)}
    elsewhere = [view_of(world, camera, sl.yaw_pose(5.0, 3.5, math.pi), rng, extra=100),
                 view_of(world, camera, sl.yaw_pose(5.0, 2.0, -1.5), rng, extra=100)]

    def detector():
        d = LoopDetector(vocabulary, camera.K, camera.pose_base_camera, LoopParams())
        for i, (_, desc, _) in enumerate(views):
            d.add_keyframe(i, float(i), desc)
        return d

    d = detector()
    assert d.process(100, 100.0, *views[1][:2], source.get) is None  # verified once
    assert d.counts["verified"] >= 1
    for n, (kps, desc, _) in enumerate(elsewhere):
        assert d.process(101 + n, 101.0 + n, kps, desc, source.get) is None
    d = detector()
    found = [d.process(200 + n, 200.0 + n, *views[n][:2], source.get) for n in range(3)]
    assert found[0] is None and found[1] is None and found[2] is not None


def test_twin_rooms_are_refused_by_the_graph(camera, vocabulary):
    """Two identical rooms 12 m apart: place recognition and PnP accept the second as the
    first (vision cannot tell them apart), the odometry says 12 m, the graph refuses."""
    rng = np.random.default_rng(7)
    room = sl.room_world(rng)
    shifted = room.points_map + np.array([12.0, 0.0, 0.0])
    twin = sl.LandmarkWorld(np.vstack([room.points_map, shifted]),
                            np.vstack([room.descriptors, room.descriptors]))
    lap_a = sl.lap_poses(40, 1.0)
    hall = [sl.yaw_pose(2.8 + 0.4 * i, 1.7, 0.0) for i in range(1, 30)]
    lap_b = [sl.yaw_pose(12.0, 0.0, 0.0) @ T for T in sl.lap_poses(40, 1.0)]
    poses = lap_a + hall + lap_b
    kfs = sl.simulate_keyframes(twin, camera, poses, rng,
                                odometry=sl.drifting_odometry(poses, rng))
    worker, _ = run(camera, vocabulary, kfs, LoopParams(min_gap_s=20.0))
    detected = [(f, d) for f, d in worker.loop_decisions]

    def error_m(f):  # the measured relative pose against the truth
        true = se3.inverse(kfs[f.kf_a].pose_map_base) @ kfs[f.kf_b].pose_map_base
        return float(np.linalg.norm((se3.inverse(true) @ f.pose_a_b)[:3, 3]))
    aliased = [(f, d) for f, d in detected if error_m(f) > 1.0]
    assert aliased, "vision alone should have been fooled by the twin room"
    assert all(f.kf_a < 40 and f.kf_b >= 69 for f, _ in aliased)  # room A taken for B
    assert all(not d.accepted for _, d in aliased)
    assert all("exceeds the odometry drift" in d.reason for _, d in aliased)
    assert worker.backend.loops() == [(f.kf_a, f.kf_b) for f, d in detected if d.accepted]
    # the loops accepted are true ones (the hall crosses both rooms: room A's keyframes
    # also see the twin room's near wall)
    assert all(error_m(f) < 0.1 for f, d in detected if d.accepted)


def test_relocalization_finds_the_keyframe_and_the_pose(two_laps, camera):
    world, kfs, worker, detector = two_laps
    be = worker.backend
    rng = np.random.default_rng(8)
    # set down somewhere along the lap, between keyframes
    T_true = kfs[20].pose_map_base @ sl.yaw_pose(0.1, 0.05, 0.08)
    kps, desc, _ = view_of(world, camera, T_true, rng, extra=200)

    def source(k):
        try:
            return be.keyframe_landmarks(k)
        except KeyError:
            return None

    found = detector.relocalize(kps, desc, source)
    assert found is not None and found.inliers >= detector.p.reloc_min_inliers
    # the map frame is the first keyframe's base_link
    expected = be.pose(found.kf_id) @ se3.inverse(kfs[found.kf_id].pose_map_base) @ T_true
    err = se3.inverse(expected) @ found.pose_map_base
    assert np.linalg.norm(err[:3, 3]) < 0.05
    assert se3.rotation_angle_rad(err) < math.radians(1.0)
    # a view of nothing the map holds does not relocalize
    noise = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    assert detector.relocalize(rng.uniform(0, 400, (300, 2)), noise, source) is None


def test_the_worker_relocalizes_and_hands_out_the_map(two_laps, camera):
    world, kfs, worker, _ = two_laps
    rng = np.random.default_rng(9)
    T_true = kfs[30].pose_map_base @ sl.yaw_pose(-0.1, 0.0, -0.05)
    kps, desc, _ = view_of(world, camera, T_true, rng, extra=100)
    with worker:
        found = worker.relocalize(kps, desc).result(timeout=30.0)
        state, bow = worker.map_parts().result(timeout=30.0)
    assert found is not None and found.kf_id in worker.backend.keyframes
    assert set(bow) == set(state["keyframe_ids"].tolist())
    no_detector = BackendThread(Backend(camera))
    with pytest.raises(RuntimeError, match="loop detector"):
        no_detector.relocalize(kps, desc).result(timeout=1.0)
