"""The back end's worker thread: tracking submits and never waits; results come back as
immutable snapshots; bad input is counted, never raised into tracking."""

import numpy as np
import pytest

from hearth_slam import synthetic_landmarks as sl
from hearth_slam.backend import Backend, BackendCamera
from hearth_slam.backend_thread import BackendThread, KeyframeInput


@pytest.fixture(scope="module")
def camera():
    return BackendCamera.from_robot()


@pytest.fixture(scope="module")
def keyframes(camera):
    rng = np.random.default_rng(3)
    poses = sl.lap_poses(60, 0.5)
    return sl.simulate_keyframes(sl.room_world(rng), camera, poses, rng)


def as_input(k, **kw):
    return KeyframeInput(k.kf_id, k.t_s, k.pose_odom_base, k.landmark_ids, k.stereo_uv,
                         k.new_landmark_ids, new_descriptors=k.new_descriptors, **kw)


def test_snapshots_carry_the_optimised_poses_and_map_odom(camera, keyframes):
    seen = []
    with BackendThread(Backend(camera), max_queue=100, on_snapshot=seen.append,
                       landmarks_period_s=0.0) as worker:  # landmarks in every snapshot
        first = worker.snapshot()
        assert first.seq == 0 and first.latest_kf is None
        assert first.pose_map_odom == pytest.approx(np.eye(4))
        for k in keyframes:
            assert worker.submit_keyframe(as_input(k))
        assert worker.wait_idle(60.0)
        snap = worker.snapshot()
    ids, poses = worker.backend.optimized_poses()
    assert snap.latest_kf == keyframes[-1].kf_id and snap.latest_t_s == keyframes[-1].t_s
    assert np.array_equal(snap.keyframe_ids, ids) and snap.poses_map_base == pytest.approx(poses)
    assert snap.pose_map_odom == pytest.approx(worker.backend.map_odom())
    assert len(snap.landmark_ids) == snap.stats["landmarks"] > 0
    assert seen and seen[-1] is snap
    culled = [c for s in seen for c in s.culled]
    assert {c.kf_id for c in culled}.isdisjoint(snap.keyframe_ids.tolist())
    with pytest.raises(AttributeError):
        snap.seq = 5  # immutable: safe to hand to any thread


def test_a_full_queue_refuses_without_blocking(camera, keyframes):
    worker = BackendThread(Backend(camera), max_queue=2)  # not started: nothing drains
    results = [worker.submit_keyframe(as_input(k)) for k in keyframes[:5]]
    assert results == [True, True, False, False, False]
    assert worker.counts["dropped_queue_full"] == 3
    worker.start()
    assert worker.wait_idle(30.0)
    worker.stop()
    assert worker.snapshot().latest_kf == keyframes[1].kf_id


def test_bad_keyframes_are_counted_and_the_worker_goes_on(camera, keyframes):
    seen = []
    with BackendThread(Backend(camera), max_queue=100, on_snapshot=seen.append) as worker:
        worker.submit_keyframe(as_input(keyframes[0]))
        bad = keyframes[1].pose_odom_base.copy()
        bad[2, 2] = np.inf
        worker.submit_keyframe(KeyframeInput(1, 1.0, bad, [], np.zeros((0, 3))))
        worker.submit_keyframe(as_input(keyframes[0]))  # the same id again
        worker.submit_keyframe(as_input(keyframes[2]))
        assert worker.wait_idle(30.0)
    snap = worker.snapshot()
    assert worker.counts["rejected"] == 2 and worker.counts["errors"] == 0
    assert snap.latest_kf == 2
    errors = [e for s in seen for e in s.errors]
    assert len(errors) == 2
    assert "keyframe 1" in errors[0] and "rigid" in errors[0]
    assert "keyframe 0" in errors[1] and "not after" in errors[1]


def test_calls_run_on_the_worker_and_return_through_a_future(camera, keyframes):
    with BackendThread(Backend(camera)) as worker:
        for k in keyframes[:10]:
            worker.submit_keyframe(as_input(k))
        state = worker.call(lambda be: be.export_state()).result(timeout=30.0)
        assert set(state["keyframe_ids"].tolist()) <= set(range(10))

        def boom(be):
            raise ValueError("no such keyframe")

        with pytest.raises(ValueError, match="no such keyframe"):
            worker.call(boom).result(timeout=30.0)
        assert worker.call(lambda be: be.latest_keyframe).result(timeout=30.0) == 9
