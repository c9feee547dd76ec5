"""Bucketed ORB covers the image; the vectorised matching helpers equal brute force; stereo
matching along rows gives sub-pixel disparity, hence metric depth."""

import cv2
import numpy as np
import pytest

from hearth_slam.features import (
    Features,
    OrbExtractor,
    OrbParams,
    best_two,
    bucket,
    hamming,
    match_descriptors,
    pairs_in_band,
)
from hearth_slam.stereo_matching import StereoMatchParams, match_stereo


def _cells_with_features(xy, cols, rows, w, h):
    c = np.clip((xy[:, 0] * cols / w).astype(int), 0, cols - 1)
    r = np.clip((xy[:, 1] * rows / h).astype(int), 0, rows - 1)
    return len(set(zip(c.tolist(), r.tolist(), strict=True)))


def test_bucketing_spreads_features_over_the_image_where_plain_orb_crowds_them(room, rig):
    img = room.render(np.eye(4), rig).astype(np.float32)
    # fainter texture everywhere but in one block: plain ORB puts most corners there
    faint = 128 + 0.4 * (img - 128)
    faint[:, :160] = img[:, :160]
    img = np.clip(faint, 0, 255).astype(np.uint8)
    plain = cv2.ORB_create(nfeatures=1000, fastThreshold=10).detect(img, None)
    plain_xy = np.array([k.pt for k in plain])
    params = OrbParams()
    ours = OrbExtractor(params).extract(img)
    assert len(ours) >= 900
    cells = params.grid_cols * params.grid_rows

    def covered(xy):
        return _cells_with_features(xy, params.grid_cols, params.grid_rows, 640, 400)

    def in_block(xy):
        return float(np.mean(xy[:, 0] < 160))

    assert covered(plain_xy) <= 0.75 * cells and in_block(plain_xy) > 0.75
    assert covered(ours.keypoints_px) >= 0.85 * cells and in_block(ours.keypoints_px) < 0.55
    assert ours.descriptors.shape == (len(ours), 32) and ours.descriptors.dtype == np.uint8


def test_a_dim_image_still_gives_features_spread_over_the_image(room, rig):
    img = room.render(np.eye(4), rig).astype(np.float32)
    dim = np.clip(20 + 0.12 * img, 0, 255).astype(np.uint8)  # a dark room, low contrast
    params = OrbParams()
    assert len(cv2.ORB_create(nfeatures=1000, fastThreshold=params.fast_threshold)
               .detect(dim, None)) < params.n_features
    ours = OrbExtractor(params).extract(dim)
    assert len(ours) >= 0.8 * params.n_features
    assert _cells_with_features(ours.keypoints_px, params.grid_cols, params.grid_rows,
                                640, 400) >= 0.9 * params.grid_cols * params.grid_rows


def test_bucket_keeps_the_strongest_per_cell_and_fills_up_from_the_rest():
    xy = np.array([[10, 10], [12, 12], [14, 14], [90, 90]], dtype=np.float32)
    response = np.array([1.0, 3.0, 2.0, 0.5], dtype=np.float32)
    keep = bucket(xy, response, 100, 100, n_keep=2, grid_cols=2, grid_rows=2)
    assert sorted(keep.tolist()) == [1, 3]  # one per non-empty cell, the strongest
    keep = bucket(xy, response, 100, 100, n_keep=3, grid_cols=2, grid_rows=2)
    assert sorted(keep.tolist()) == [1, 2, 3]


def test_a_blank_or_black_image_has_no_features():
    ex = OrbExtractor()
    for value in (0, 128):
        assert len(ex.extract(np.full((400, 640), value, np.uint8))) == 0


def test_matching_helpers_equal_brute_force():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (60, 32), dtype=np.uint8)
    d = hamming(a[:, None, :].repeat(60, 1).reshape(-1, 32), np.tile(b, (40, 1))).reshape(40, 60)
    assert d[3, 7] == int(np.unpackbits(a[3] ^ b[7]).sum())
    va, vb = rng.uniform(0, 100, 40), rng.uniform(0, 100, 60)
    q, r = pairs_in_band(va, vb, 5.0)
    brute = {(i, j) for i in range(40) for j in range(60) if abs(vb[j] - va[i]) <= 5.0}
    assert set(zip(q.tolist(), r.tolist(), strict=True)) == brute
    best_r, best, second = best_two(q, r, d[q, r], 40)
    for i in range(40):
        cands = sorted(d[i, j] for j in range(60) if (i, j) in brute)
        if cands:
            assert best[i] == cands[0] and d[i, best_r[i]] == cands[0]
            assert second[i] == (cands[1] if len(cands) > 1 else np.inf)
        else:
            assert best_r[i] == -1
    # a descriptor set matched to a noisy copy of itself finds itself
    noisy = a.copy()
    noisy[:, 0] ^= 1
    i, j = match_descriptors(a, noisy, 64, 0.8)
    assert len(i) == 40 and (i == j).all()


def test_stereo_depth_is_metric_with_sub_pixel_disparity(room, rig):
    T = np.eye(4)
    left, right = room.render_pair(T, rig, noise_std=1.0)
    ex = OrbExtractor()
    fl, fr = ex.extract(left), ex.extract(right)
    stereo = match_stereo(left, right, fl, fr, rig)
    ok = stereo.matched
    assert ok.sum() >= 0.4 * len(fl)
    true_z = room.depth_at(T, rig, fl.keypoints_px[ok])
    true_disparity = rig.bf / true_z
    disparity = fl.keypoints_px[ok, 0] - stereo.right_u_px[ok]
    err = np.abs(disparity - true_disparity)
    assert np.median(err) < 0.15  # px: sub-pixel refinement works
    assert np.mean(err < 0.5) > 0.93  # few gross mismatches survive
    assert np.median(np.abs(stereo.depth_m[ok] - true_z) / true_z) < 0.02


def test_stereo_matching_respects_the_depth_range_and_handles_nothing(room, rig):
    left, right = room.render_pair(np.eye(4), rig)
    ex = OrbExtractor()
    fl, fr = ex.extract(left), ex.extract(right)
    near_only = StereoMatchParams(min_depth_m=0.15, max_depth_m=1.0)  # the room is >= 1.6 m
    forced = match_stereo(left, right, fl, fr, rig, near_only)
    assert forced.matched.sum() <= 0.01 * len(fl)  # the true matches are out of range
    assert (forced.depth_m[forced.matched] <= 1.0).all()
    empty = match_stereo(left, right, Features.empty(), fr, rig)
    assert len(empty.depth_m) == 0
    with pytest.raises(ValueError):
        StereoMatchParams(min_depth_m=2.0, max_depth_m=1.0)
