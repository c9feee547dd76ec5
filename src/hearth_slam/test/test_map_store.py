"""The saved map: a versioned .npz with JSON metadata, written atomically, read back
exactly; corrupt or mismatched files raise MapFileError (the node then starts afresh)."""

import json
import os

import numpy as np
import pytest

from hearth_slam import map_store
from hearth_slam import synthetic_landmarks as sl
from hearth_slam.backend import Backend, BackendCamera
from hearth_slam.loop_closure import LoopDetector
from hearth_slam.map_store import MapFileError, build_map, load_map, restore, save_map
from hearth_slam.occupancy_mapping import KeyframeScan, OccupancyMapper
from hearth_slam.place_recognition import Vocabulary, default_vocabulary_path


@pytest.fixture(scope="module")
def camera():
    return BackendCamera.from_robot()


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.load(default_vocabulary_path())


@pytest.fixture(scope="module")
def session(camera, vocabulary):
    """A short mapping session: graph, BoW vectors, occupancy scans and grid."""
    rng = np.random.default_rng(9)
    kfs = sl.simulate_keyframes(sl.room_world(rng), camera, sl.lap_poses(40, 1.2), rng)
    be = Backend(camera)
    detector = LoopDetector(vocabulary, camera.K, camera.pose_base_camera)
    mapper = OccupancyMapper()
    for k in kfs:
        up = be.add_keyframe(k.kf_id, k.t_s, k.pose_odom_base, k.landmark_ids, k.stereo_uv,
                             k.new_landmark_ids, new_descriptors=k.new_descriptors)
        detector.add_keyframe(k.kf_id, k.t_s, k.keypoint_descriptors)
        free = rng.uniform(0.5, 3.0, 90).astype(np.float16)
        mapper.add_scan(k.kf_id, KeyframeScan(np.array([0.075, 0.0], np.float32), -0.78, 0.0174,
                                              free, rng.uniform(1, 3, (20, 2)).astype(np.float16)))
        for c in up.culled:
            detector.remove_keyframe(c.kf_id)
            mapper.reanchor(c.kf_id, c.anchor_id, c.pose_anchor_culled)
    last = be.latest_keyframe  # (keyframes of the revisit may only have located the robot)
    loop = np.linalg.inv(kfs[0].pose_map_base) @ kfs[last].pose_map_base
    assert be.add_loop(0, last, loop, np.diag([1e4] * 3 + [2500.0] * 3)).accepted
    mapper.render(*be.optimized_poses())
    return be, detector, mapper


def make_map(session, vocabulary, camera):
    be, detector, mapper = session
    bow = {k: (detector.db.get(k).words, detector.db.get(k).weights) for k in detector.db.ids()}
    rig = {"fx_px": camera.fx_px, "baseline_m": camera.baseline_m}
    return build_map(be.export_state(), vocabulary.vocabulary_id, bow, mapper, rig)


@pytest.fixture()
def saved(session, vocabulary, camera, tmp_path):
    path = tmp_path / "home.map.npz"
    save_map(path, make_map(session, vocabulary, camera))
    return path


def test_a_map_round_trips_exactly(saved, session, vocabulary, camera):
    original = make_map(session, vocabulary, camera)
    loaded = load_map(saved, vocabulary.vocabulary_id)
    assert loaded.meta["format"] == "hearth_slam_map" and loaded.meta["version"] == 1
    assert loaded.meta["vocabulary_id"] == vocabulary.vocabulary_id
    assert loaded.meta["counts"]["keyframes"] == len(session[0].keyframes)
    for name, array in original.arrays.items():
        assert np.array_equal(loaded.arrays[name], array), name
    assert not [p for p in saved.parent.iterdir() if p.name.endswith(".tmp")]
    assert saved.stat().st_mode & 0o777 == 0o600  # a plan of someone's home


def test_a_loaded_map_restores_the_graph_the_database_and_the_grid(saved, session, vocabulary,
                                                                   camera):
    be, detector, mapper = session
    detector2 = LoopDetector(vocabulary, camera.K, camera.pose_base_camera)
    mapper2 = OccupancyMapper()
    be2 = restore(load_map(saved, vocabulary.vocabulary_id), camera,
                  loop_detector=detector2, occupancy=mapper2)
    ids, poses = be.optimized_poses()
    ids2, poses2 = be2.optimized_poses()
    assert np.array_equal(ids, ids2)
    assert np.abs(poses2[:, :3, 3] - poses[:, :3, 3]).max() < 0.01
    assert be2.loops() == be.loops()
    assert detector2.db.ids() == detector.db.ids()
    k = ids[3]
    assert np.array_equal(detector2.db.get(k).words, detector.db.get(k).words)
    assert np.array_equal(mapper2.occupancy_grid()[0], mapper.occupancy_grid()[0])
    assert set(mapper2.scans) == set(mapper.scans)
    # landmarks with their descriptors: what relocalization matches against
    view = be2.keyframe_landmarks(k)
    assert len(view.landmark_ids) > 20 and view.descriptors.any()


def rewrite(path, **changes):
    """Rewrite a saved map with some arrays (or the meta) changed."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["meta_json"].tobytes())
    meta.update(changes.pop("meta", {}))
    arrays["meta_json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    for k, v in changes.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v
    np.savez(path, **arrays)


def test_a_truncated_file_is_a_clear_error(saved, vocabulary):
    data = saved.read_bytes()
    saved.write_bytes(data[:len(data) // 2])
    with pytest.raises(MapFileError, match="unreadable map file"):
        load_map(saved, vocabulary.vocabulary_id)


def test_garbage_is_a_clear_error(saved, vocabulary):
    saved.write_bytes(os.urandom(5000))
    with pytest.raises(MapFileError, match=str(saved.name)):
        load_map(saved, vocabulary.vocabulary_id)


def test_an_empty_or_missing_file_is_a_clear_error(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(MapFileError):
        load_map(tmp_path / "empty.npz")
    with pytest.raises(MapFileError, match="no such map file"):
        load_map(tmp_path / "absent.npz")


def test_another_version_is_refused(saved, vocabulary):
    rewrite(saved, meta={"version": 2})
    with pytest.raises(MapFileError, match="map version 2"):
        load_map(saved, vocabulary.vocabulary_id)


def test_another_vocabulary_is_refused(saved):
    with pytest.raises(MapFileError, match="vocabulary"):
        load_map(saved, "0123456789abcdef")


def test_not_a_hearth_map_is_refused(saved, tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(MapFileError, match="not a hearth map"):
        load_map(other)
    rewrite(saved, meta={"format": "someone_elses_map"})
    with pytest.raises(MapFileError, match="format"):
        load_map(saved)


@pytest.mark.parametrize("damage, match", [
    ({"landmark_ids": None}, "missing"),
    ({"observation_uv": np.full((3, 3), np.nan)}, "rows|NaN"),
    ({"keyframe_pose_map_base": "nan"}, "NaN"),
    ({"observation_landmark": "dangling"}, "not in the map"),
    ({"keyframe_ids": "repeat"}, "repeats"),
    ({"loop_information": "negative"}, "positive definite"),
    ({"landmark_descriptors": "float"}, "dtype"),
])
def test_inconsistent_arrays_are_refused(saved, damage, match):
    with np.load(saved, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    (name, how), = damage.items()
    if isinstance(how, str):
        a = arrays[name].copy()
        if how == "nan":
            a[0, 0, 3] = np.nan
        elif how == "dangling":
            a[0] = 10**12
        elif how == "repeat":
            a[1] = a[0]
        elif how == "negative":
            a = -a
        elif how == "float":
            a = a.astype(np.float64)
        how = a
    rewrite(saved, **{name: how})
    with pytest.raises(MapFileError, match=match):
        load_map(saved)


def test_a_failed_write_leaves_the_old_map(saved, session, vocabulary, camera, monkeypatch):
    before = saved.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(map_store.np, "savez_compressed", disk_full)
    with pytest.raises(OSError):
        save_map(saved, make_map(session, vocabulary, camera))
    assert saved.read_bytes() == before
    assert not [p for p in saved.parent.iterdir() if p.name.endswith(".tmp")]


def test_an_inconsistent_map_is_never_written(saved, session, vocabulary, camera):
    m = make_map(session, vocabulary, camera)
    m.arrays["observation_keyframe"] = m.arrays["observation_keyframe"] + 10**9
    before = saved.read_bytes()
    with pytest.raises(MapFileError):
        save_map(saved, m)
    assert saved.read_bytes() == before


def test_an_empty_map_round_trips(tmp_path, camera):
    path = tmp_path / "empty_map.npz"
    save_map(path, build_map(Backend(camera).export_state(), "v"))
    loaded = load_map(path, "v")
    assert loaded.meta["counts"]["keyframes"] == 0
    assert restore(loaded, camera).stats()["keyframes"] == 0
