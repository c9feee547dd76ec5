"""The front end end to end on a ray-cast textured room: it follows a known drive, reports
the body twist of base_link with a covariance that covers its error, and when the images
stop carrying features (darkness, a blank wall, blur) it says it is lost, follows the prior,
and starts a new map as soon as it can."""

import cv2
import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam.visual_odometry import (
    FrontEndParams,
    TrackingState,
    VisualOdometry,
    twist_message_fields,
)

DT_S = 0.1
# the hearth robot's left optical frame in base_link (URDF): z forward, x right, y down
T_BASE_CAM = np.array([[0.0, 0.0, 1.0, 0.075], [-1.0, 0.0, 0.0, 0.04],
                       [0.0, -1.0, 0.0, 0.40], [0.0, 0.0, 0.0, 1.0]])


def _drive(n, v_mps=0.4, w_radps=0.3, start_back_m=1.5):
    """Base poses of a robot driving a gentle left arc, in a world whose axes are the
    starting camera's (the room's frame), starting ``start_back_m`` behind its centre."""
    T_world_base0 = se3.make(np.eye(3), [0, 0, -start_back_m]) @ se3.inverse(T_BASE_CAM)
    step = se3.exp(np.array([v_mps, 0, 0, 0, 0, w_radps]) * DT_S)
    poses = [T_world_base0]
    for _ in range(n - 1):
        poses.append(poses[-1] @ step)
    return poses, np.array([v_mps, 0, 0, 0, 0, w_radps])


def _run(vo, room, rig, base_poses, images=None, priors=True):
    outs = []
    for k, T_wb in enumerate(base_poses):
        left, right = images[k] if images is not None else room.render_pair(
            T_wb @ T_BASE_CAM, rig, rng=np.random.default_rng(k))
        prior = se3.inverse(base_poses[k - 1]) @ T_wb if (priors and k) else None
        outs.append(vo.track(left, right, 10.0 + k * DT_S, prior))
    return outs


def test_it_follows_a_drive_and_reports_the_body_twist_with_an_honest_covariance(room, rig):
    poses, twist_true = _drive(25)
    vo = VisualOdometry(rig, T_BASE_CAM)
    outs = _run(vo, room, rig, poses, priors=False)  # vision alone: no odometry prior
    assert all(o.tracked for o in outs)
    assert outs[0].restarted and outs[0].keyframe_id == 0
    truth = se3.inverse(poses[0]) @ poses[-1]
    est = se3.inverse(outs[0].T_world_base) @ outs[-1].T_world_base
    err = se3.inverse(truth) @ est
    travelled = 24 * DT_S * 0.4
    assert np.linalg.norm(err[:3, 3]) < 0.01 * travelled  # < 1 % drift over 2.4 s
    assert np.degrees(se3.rotation_angle_rad(err)) < 0.3
    nees = []
    for o in outs[1:]:
        assert o.twist_base is not None and o.twist_covariance.shape == (6, 6)
        e = o.twist_base - twist_true
        nees.append(e @ np.linalg.solve(o.twist_covariance, e))
        assert abs(e[0]) < 0.02 and abs(e[5]) < 0.01  # m/s, rad/s
    assert np.mean(nees) < 12.0  # 6 when exact; the rules only inflate
    keyframes = vo.pop_keyframes()
    assert len(keyframes) >= 2 and vo.pop_keyframes() == []
    # what the back end gets: each observed landmark where the keyframe saw it
    seen_ids = set()
    for kf in keyframes:
        observed = kf.point_ids >= 0
        assert np.isfinite(kf.points_world_m[observed]).all()
        assert not kf.new_points[~observed].any()
        assert seen_ids.isdisjoint(kf.point_ids[kf.new_points])  # new means new
        seen_ids.update(kf.point_ids[observed].tolist())
        u, v, u_right = rig.project(se3.transform_points(se3.inverse(kf.T_world_cam),
                                                         kf.points_world_m[observed]))
        assert np.median(np.abs(u - kf.keypoints_px[observed, 0])) < 1.0
        assert np.median(np.abs(v - kf.keypoints_px[observed, 1])) < 1.0
        stereo = observed & np.isfinite(kf.right_u_px)
        assert np.median(np.abs(u_right - kf.right_u_px[observed])[stereo[observed]]) < 1.0
    assert keyframes[1].new_points.sum() < (keyframes[1].point_ids >= 0).sum()  # reuses


def test_the_prior_is_the_odometry_motion_of_base_link(room, rig):
    poses, _ = _drive(6, v_mps=0.8, w_radps=1.5)  # fast: 8 deg a frame
    vo = VisualOdometry(rig, T_BASE_CAM)
    outs = _run(vo, room, rig, poses, priors=True)
    assert all(o.tracked for o in outs)
    # garbage priors are refused, not swallowed
    with pytest.raises(ValueError, match="rigid"):
        vo.track(*room.render_pair(poses[-1] @ T_BASE_CAM, rig), 20.0, np.ones((4, 4)))


def test_darkness_blank_wall_and_blur_lose_tracking_then_it_restarts(room, rig):
    poses, twist_true = _drive(16, w_radps=0.0)
    rng = np.random.default_rng(7)
    images = [room.render_pair(T @ T_BASE_CAM, rig, rng=np.random.default_rng(k))
              for k, T in enumerate(poses)]
    dark = np.clip(rng.normal(3, 2, (2, 400, 640)), 0, 255).astype(np.uint8)
    wall = np.full((400, 640), 140, np.uint8)
    for k in (4, 5, 6):
        images[k] = (dark[0], dark[1])  # lights out: sensor noise only
    images[9] = (wall, wall)  # a blank wall fills the view
    images[12] = tuple(cv2.blur(img, (61, 9)) for img in images[12])  # a hard shake
    vo = VisualOdometry(rig, T_BASE_CAM)
    outs = _run(vo, room, rig, poses, images=images, priors=True)
    states = [o.state for o in outs]
    for k in (4, 5, 6, 9, 12):
        assert states[k] is TrackingState.LOST, k
        assert outs[k].twist_base is None and twist_message_fields(outs[k]) is None
        # the pose follows the prior through the dark
        drift = se3.inverse(poses[0]) @ poses[k] @ se3.inverse(
            se3.inverse(outs[0].T_world_base) @ outs[k].T_world_base)
        assert np.linalg.norm(drift[:3, 3]) < 0.02
    assert vo.frames_lost == 0
    for k in (7, 10, 13):  # light is back: a new map starts here, flagged for the back end
        assert outs[k].restarted and outs[k].keyframe_id is not None
    keyframes = {kf.id: kf for kf in vo.pop_keyframes()}
    assert keyframes[outs[7].keyframe_id].after_loss
    for k in (8, 11, 14, 15):  # and the next frames are tracked against it
        assert outs[k].tracked and outs[k].twist_base is not None
        assert outs[k].twist_base[0] == pytest.approx(twist_true[0], abs=0.03)


def test_bad_input_is_a_clear_error(room, rig):
    vo = VisualOdometry(rig, T_BASE_CAM)
    left, right = room.render_pair(np.eye(4), rig)
    with pytest.raises(ValueError, match="mono8"):
        vo.track(left.astype(np.float32), right, 1.0)
    vo.track(left, right, 1.0)
    with pytest.raises(ValueError, match="not after"):
        vo.track(left, right, 1.0)
    with pytest.raises(ValueError, match="rigid"):
        VisualOdometry(rig, np.full((4, 4), np.nan))
    with pytest.raises(ValueError):
        FrontEndParams(covariance_inflation=0.5)


def test_the_message_fields_carry_the_twist_in_base_link_with_a_positive_covariance(room, rig):
    poses, _ = _drive(2)
    vo = VisualOdometry(rig, T_BASE_CAM)
    outs = _run(vo, room, rig, poses)
    fields = twist_message_fields(outs[1], "base_link")
    assert fields["frame_id"] == "base_link" and fields["stamp_s"] == outs[1].t_s
    assert fields["linear"][0] == pytest.approx(0.4, abs=0.03)
    cov = np.array(fields["covariance"]).reshape(6, 6)
    assert np.allclose(cov, cov.T) and np.linalg.eigvalsh(cov)[0] > 0.0
    assert twist_message_fields(outs[0]) is None  # the first frame has no motion yet
