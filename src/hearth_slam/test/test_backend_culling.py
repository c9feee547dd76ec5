"""The graph grows with places, not with time: a robot drives three laps of a room whose
front end gives its landmarks new ids on every revisit (as hearth's does once a point has
left its local map). Each revisit keyframe finds the earlier lap's landmarks again (fusion),
and the keyframes of the revisit, whose landmarks the earlier lap's keyframes already hold,
are culled; the graph stays whole and iSAM2 agrees with a batch solve."""

import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam import synthetic_landmarks as sl
from hearth_slam.backend import Backend, BackendCamera

LAP = 30  # keyframes per 18 m lap


@pytest.fixture(scope="module")
def camera():
    return BackendCamera.from_robot()


@pytest.fixture(scope="module")
def laps(camera):
    rng = np.random.default_rng(3)
    world = sl.room_world(rng, n_points=1500)
    poses = sl.lap_poses(LAP, 3.0)
    return sl.simulate_keyframes(world, camera, poses, rng, max_observations=80,
                                 odometry=sl.drifting_odometry(poses, rng))


def add(be, k):
    return be.add_keyframe(k.kf_id, k.t_s, k.pose_odom_base, k.landmark_ids, k.stereo_uv,
                           k.new_landmark_ids, new_descriptors=k.new_descriptors)


def true_loop(kfs, a, b):
    return (se3.inverse(kfs[a].pose_map_base) @ kfs[b].pose_map_base,
            np.diag([1e4] * 3 + [2500.0] * 3))


@pytest.fixture(scope="module")
def three_laps(camera, laps):
    """The three laps, a loop closure (a true loop factor, as place recognition gives one)
    where laps 2 and 3 begin; the graph's size at the end of each lap, and the front end's
    ids that were fused (renamed) along the way."""
    be = Backend(camera)
    sizes, renamed = [], {}
    for k in laps:
        be.last_update = add(be, k)
        renamed.update({j: entry[0] for j, entry in be._alias.items()})
        if k.kf_id in (LAP, 2 * LAP):
            assert be.add_loop(k.kf_id - LAP, k.kf_id, *true_loop(laps, k.kf_id - LAP,
                                                                  k.kf_id)).accepted
        if (k.kf_id + 1) % LAP == 0:
            sizes.append(be.stats())
    return be, sizes, renamed


def test_revisits_add_no_keyframes_the_map_grows_with_places(three_laps):
    _, sizes, _ = three_laps
    first, last = sizes[0], sizes[-1]
    assert last["keyframes_added"] + last["keyframes_skipped"] == 3 * LAP
    assert last["landmarks_fused"] > 10 * LAP  # the revisits found the first lap's map
    # revisit keyframes only locate the robot, but for one a metre that ties the trajectory
    # to the map (these are 0.6 m apart: about every other one); most of those go again
    assert last["keyframes_skipped"] >= 0.35 * (2 * LAP)
    assert last["keyframes_culled"] >= 0.5 * (last["keyframes_added"] - first["keyframes_added"])
    # two more laps: the map holds about what the first lap made
    for key in ("keyframes", "landmarks", "factors"):
        assert last[key] <= 1.5 * first[key], key


def test_culling_keeps_the_graph_whole_and_isam2_consistent(three_laps, camera, laps):
    be, _, _ = three_laps
    ids, poses = be.optimized_poses()
    alive = set(ids.tolist())
    # one odometry chain through every keyframe left: culled ones are bridged
    for a, b in zip(ids[:-1].tolist(), ids[1:].tolist(), strict=True):
        assert be._odom_out[a].kf_b == b
    # iSAM2 holds exactly the keyframes and landmarks of the bookkeeping (but for what the
    # last update culled: its removal rides on the next update)
    in_graph = {j for j, lm in be.landmarks.items() if lm.in_graph}
    keys = np.array(be.isam.calculateEstimate().keys(), dtype=np.uint64).tolist()
    poses_left = {k & ((1 << 56) - 1) for k in keys if (k >> 56) == ord("x")}
    assert poses_left - alive == {c.kf_id for c in be.last_update.culled}
    assert alive <= poses_left
    assert {k & ((1 << 56) - 1) for k in keys if (k >> 56) == ord("l")} >= in_graph
    for lm in be.landmarks.values():  # every landmark is seen by two keyframes still there
        if lm.in_graph:
            assert len(lm.obs) >= 2 and set(lm.obs) <= alive
    # iSAM2's incremental answer agrees with a batch solve of the same factors
    batch = Backend.from_state(camera, be.export_state())
    assert np.abs(batch.optimized_poses()[1][:, :3, 3] - poses[:, :3, 3]).max() < 0.01
    # and the map is as good as before: the keyframes left are within 2.5 cm (aligned)
    assert sl.aligned_ate_rmse_m(poses[:, :3, 3],
                                 [laps[i].pose_map_base[:3, 3] for i in ids]) < 0.025


def test_the_front_end_keeps_sending_a_fused_landmark_under_its_own_id(three_laps, laps):
    be, _, renamed = three_laps
    assert renamed
    # later keyframes that sent a renamed id observe the landmark it became
    seen = [(k.kf_id, renamed[j]) for k in laps for j in k.landmark_ids.tolist()
            if j in renamed and k.kf_id in be.keyframes and renamed[j] in be.landmarks
            and j not in k.new_landmark_ids]
    assert seen
    assert np.mean([k in be.landmarks[j].obs for k, j in seen]) > 0.9


def test_fusion_takes_up_centimetres_and_leaves_more_to_a_loop_closure(three_laps, camera,
                                                                       laps):
    be, _, _ = three_laps
    a = min(j for j in be.keyframes if 3 <= j < LAP)  # a keyframe of lap 1 still there
    k = laps[a]
    for error_m, expect_fused in ((0.02, True), (0.10, False)):
        copy = Backend.from_state(camera, be.export_state())
        kf0, lm0 = copy.next_ids()
        # the same view again, with all-new ids, its first guess off by error_m sideways
        copy.set_map_odom(be.pose(a) @ sl.yaw_pose(0.0, error_m, 0.0))
        update = copy.add_keyframe(kf0, 1000.0, np.eye(4), k.landmark_ids + lm0,
                                   k.stereo_uv, k.landmark_ids + lm0,
                                   new_descriptors=k.keypoint_descriptors, odom_valid=False)
        if expect_fused:
            assert update.landmarks_fused >= 0.5 * len(k.landmark_ids)
            # the keyframe lands where its view says, not where the guess put it
            assert np.linalg.norm(copy.pose(kf0)[:3, 3] - be.pose(a)[:3, 3]) < 0.005
        else:
            assert update.landmarks_fused == 0


def test_standing_in_a_mapped_place_adds_nothing_and_stays_put(three_laps, camera, laps):
    be, _, _ = three_laps
    copy = Backend.from_state(camera, be.export_state())
    a = min(j for j in be.keyframes if 3 <= j < LAP)
    k = laps[a]
    kf0, lm0 = copy.next_ids()
    copy.set_map_odom(be.pose(a))  # relocalized there: odometry's origin is the view's pose
    copy.add_keyframe(kf0, 1000.0, np.eye(4), k.landmark_ids + lm0, k.stereo_uv,
                      k.landmark_ids + lm0, new_descriptors=k.keypoint_descriptors,
                      odom_valid=False)
    size = copy.stats()
    # the same view 40 times in 4 s (the front end's ids go on): each locates, none is
    # added, and a chain of localizations (each guess built on the last) neither drifts nor
    # bends
    for n in range(1, 41):
        update = copy.add_keyframe(kf0 + n, 1000.0 + 0.1 * n, np.eye(4), k.landmark_ids + lm0,
                                   k.stereo_uv)
        assert update.skipped
    assert copy.stats()["keyframes"] == size["keyframes"]
    assert copy.stats()["factors"] == size["factors"]
    T = copy.map_odom()
    assert se3.is_rigid(T, 1e-9)
    assert np.linalg.norm(T[:3, 3] - be.pose(a)[:3, 3]) < 0.01
    assert se3.rotation_angle_rad(se3.inverse(be.pose(a)) @ T) < np.radians(0.2)
