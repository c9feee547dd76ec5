"""Pose from known geometry: PnP-RANSAC and the motion-only refinement recover known poses,
reject wrong correspondences, and report a covariance that matches their actual error."""

import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam.frame import Frame
from hearth_slam.tracking import (
    TrackingParams,
    estimate_pose,
    match_by_projection,
    refine_pose,
    solve_pnp_ransac,
)

PARAMS = TrackingParams()


def _scene(rig, rng, n=200):
    """World points seen by a camera at a known pose, their stereo pixels (with noise)."""
    T_world_cam = se3.make(se3.so3_exp([0.05, -0.3, 0.02]), [0.4, -0.1, 0.3])
    p_cam = np.column_stack([rng.uniform(-2, 2, n), rng.uniform(-1, 1, n),
                             rng.uniform(1.0, 6.0, n)])
    u, v, ur = rig.project(p_cam)
    inside = (u > 0) & (u < rig.width_px) & (v > 0) & (v < rig.height_px)
    p_cam, u, v, ur = p_cam[inside], u[inside], v[inside], ur[inside]
    points_world = se3.transform_points(T_world_cam, p_cam)
    return T_world_cam, points_world, np.column_stack([u, v]), ur


def test_pnp_ransac_then_refinement_recover_a_known_pose_despite_wrong_matches(rig):
    rng = np.random.default_rng(1)
    T_true, pts, uv, ur = _scene(rig, rng)
    uv = uv + rng.normal(scale=0.7, size=uv.shape)
    ur = ur + rng.normal(scale=0.7, size=ur.shape)
    n = len(pts)
    wrong = rng.random(n) < 0.3  # 30 % of the matches are wrong
    uv[wrong] = rng.uniform([0, 0], [rig.width_px, rig.height_px], size=(wrong.sum(), 2))
    ur[wrong] = uv[wrong, 0] - rng.uniform(1, 30, wrong.sum())
    ur[rng.random(n) < 0.3] = np.nan  # some keypoints have no stereo match
    guess = T_true @ se3.exp([0.05, -0.03, 0.08, 0.02, 0.03, -0.02])  # a rough prior
    ransac = solve_pnp_ransac(pts, uv, rig.K, guess, PARAMS)
    assert ransac is not None
    _, ransac_inliers = ransac
    assert ransac_inliers[~wrong].mean() > 0.9
    est = refine_pose(pts, uv, ur, np.zeros(n, np.int8), rig, ransac[0], PARAMS, ransac_inliers)
    assert est is not None
    err = se3.log(se3.inverse(T_true) @ est.T_world_cam)
    assert np.linalg.norm(err[:3]) < 0.01  # m
    assert np.degrees(np.linalg.norm(err[3:])) < 0.1
    assert not est.inliers[wrong].any()  # every wrong match found out
    assert est.inliers[~wrong].mean() > 0.9


def test_the_pose_covariance_is_honest_over_many_trials(rig):
    """Normalised estimation error squared (NEES) of the 6-dof pose: its mean is 6 when the
    covariance is right; the inflation rules may only make it smaller."""
    rng = np.random.default_rng(2)
    nees = []
    for _ in range(60):
        T_true, pts, uv, ur = _scene(rig, rng, n=120)
        uv = uv + rng.normal(scale=1.0, size=uv.shape)
        ur = ur + rng.normal(scale=1.0, size=ur.shape)
        est = refine_pose(pts, uv, ur, np.zeros(len(pts), np.int8), rig, T_true, PARAMS)
        xi = se3.log(se3.inverse(est.T_world_cam) @ T_true)  # T_true = T_est exp(xi)
        nees.append(xi @ np.linalg.solve(est.covariance, xi))
    assert 3.0 < np.mean(nees) < 7.5


def test_too_few_correspondences_fail_cleanly(rig):
    rng = np.random.default_rng(3)
    T_true, pts, uv, ur = _scene(rig, rng, n=40)
    few = slice(0, PARAMS.min_inliers - 1)
    assert solve_pnp_ransac(pts[few], uv[few], rig.K, T_true, PARAMS) is None
    assert refine_pose(pts[few], uv[few], ur[few], np.zeros(len(pts[few]), np.int8), rig,
                       T_true, PARAMS) is None
    # all wrong: random pixels, no consensus
    junk = rng.uniform([0, 0], [rig.width_px, rig.height_px], size=uv.shape)
    assert solve_pnp_ransac(pts, junk, rig.K, T_true, PARAMS) is None


def test_map_points_are_matched_to_keypoints_near_their_predicted_projection(rig):
    rng = np.random.default_rng(4)
    T_true, pts, uv, ur = _scene(rig, rng, n=150)
    descriptors = rng.integers(0, 256, (len(pts), 32), dtype=np.uint8)
    order = rng.permutation(len(pts))  # the frame lists its keypoints in another order
    depth = rig.bf / (uv[order, 0] - ur[order])
    frame = Frame(0.0, (uv[order] + rng.normal(scale=0.5, size=uv.shape)).astype(np.float32),
                  np.zeros(len(pts), np.int8), descriptors[order], ur[order].astype(np.float32),
                  depth.astype(np.float32), rig.back_project(uv[order, 0], uv[order, 1], depth))
    predicted = T_true @ se3.exp([0.01, 0.0, -0.02, 0.0, 0.01, 0.0])  # a few px off
    m = match_by_projection(pts, descriptors, predicted, frame, rig, 15.0, PARAMS)
    assert len(m.keypoint_idx) > 0.9 * len(pts)
    assert (order[m.keypoint_idx] == m.point_rows).all()  # every match the right one
    est = estimate_pose(pts[m.point_rows], frame, m.keypoint_idx, rig, predicted, PARAMS)
    assert est is not None
    assert np.linalg.norm(se3.log(se3.inverse(T_true) @ est.T_world_cam)[:3]) < 0.01
    # a prediction far off (30 deg) finds next to nothing in the window
    far = T_true @ se3.exp([0, 0, 0, 0, 0.5, 0])
    assert len(match_by_projection(pts, descriptors, far, frame, rig, 15.0,
                                   PARAMS).keypoint_idx) < 0.1 * len(pts)


def test_tracking_parameters_are_checked():
    with pytest.raises(ValueError):
        TrackingParams(min_inliers=30, min_matches=20)
    with pytest.raises(ValueError):
        TrackingParams(search_radius_px=0.0)
