"""Stereo matching of left and right ORB features along rows: disparity, then metric depth.

On a rectified pair a point's two images lie on the same row, the right one ``d = fx b / Z``
pixels to the left. For every left feature:

1. candidates: right features within ``max_row_offset_px`` of its row (scaled with the
   pyramid level, whose corners are less precise), at most one pyramid level apart, whose
   disparity lies in ``[bf / max_depth_m, bf / min_depth_m]``;
2. descriptor match: the least Hamming distance, at most ``max_hamming``, clearly better
   than the runner-up (``ratio``), and each right feature used once (the best left wins);
3. sub-pixel refinement: an 11 x 11 patch around the left corner slides along the row of
   the right image over ``±search_px`` around the match; the sum of absolute differences
   (each patch minus its mean: robust to a gain difference between the cameras) has a
   minimum, and a parabola through it and its two neighbours gives the sub-pixel offset.
   A minimum on the window's edge, or a parabola offset beyond one pixel, is no match;
4. outliers: a SAD above ``sad_outlier_factor`` x the median SAD of the frame is dropped
   (a repeated texture matched to the wrong copy).

Depth is ``Z = bf / d``. Everything is vectorised over all features at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hearth_slam.features import Features, best_two, hamming, pairs_in_band, unique_by_target
from hearth_slam.stereo_camera import StereoRig


@dataclass(frozen=True)
class StereoMatchParams:
    max_row_offset_px: float = 2.0  # at pyramid level 0; times scale_factor**level
    scale_factor: float = 1.2  # the extractor's pyramid scale
    min_depth_m: float = 0.15
    max_depth_m: float = 20.0
    max_hamming: int = 75
    ratio: float = 0.9
    patch_half_px: int = 5
    search_px: int = 4
    sad_outlier_factor: float = 2.1

    def __post_init__(self) -> None:
        if not 0.0 < self.min_depth_m < self.max_depth_m:
            raise ValueError("need 0 < min_depth_m < max_depth_m")
        if self.patch_half_px < 1 or self.search_px < 1:
            raise ValueError("patch_half_px and search_px must be >= 1")


@dataclass(frozen=True)
class StereoMatches:
    """Per left feature: the refined right-image column and the depth; NaN where unmatched."""

    right_u_px: np.ndarray  # (N,) float32
    depth_m: np.ndarray  # (N,) float32

    @property
    def matched(self) -> np.ndarray:
        return np.isfinite(self.depth_m)


def _descriptor_matches(left: Features, right: Features, rig: StereoRig,
                        p: StereoMatchParams) -> tuple[np.ndarray, np.ndarray]:
    """(left index, right index) pairs that pass steps 1-2."""
    n = len(left)
    if n == 0 or len(right) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    scale = p.scale_factor ** left.octaves.astype(float)
    q, r = pairs_in_band(left.keypoints_px[:, 1], right.keypoints_px[:, 1],
                         p.max_row_offset_px * scale)
    disparity = left.keypoints_px[q, 0] - right.keypoints_px[r, 0]
    ok = ((disparity >= rig.bf / p.max_depth_m) & (disparity <= rig.bf / p.min_depth_m)
          & (np.abs(left.octaves[q].astype(int) - right.octaves[r].astype(int)) <= 1))
    q, r = q[ok], r[ok]
    dist = hamming(left.descriptors[q], right.descriptors[r])
    ok = dist <= p.max_hamming
    q, r, dist = q[ok], r[ok], dist[ok]
    best_r, best, second = best_two(q, r, dist, n)
    good = (best_r >= 0) & (best < p.ratio * second)
    li = np.flatnonzero(good)
    ri = best_r[li]
    keep = unique_by_target(ri, best[li])
    return li[keep], ri[keep]


def _refine_along_rows(left_image: np.ndarray, right_image: np.ndarray, u_left: np.ndarray,
                       v: np.ndarray, u_right: np.ndarray, p: StereoMatchParams
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel disparity at the integer pixels (round(u_left), round(v)) and its SAD; NaN
    where the window leaves the image or the minimum is not clear (step 3)."""
    h, w = left_image.shape
    ul = np.rint(u_left).astype(int)
    vv = np.rint(v).astype(int)
    ur = np.rint(u_right).astype(int)
    half, search = p.patch_half_px, p.search_px
    reach = half + search
    inside = ((vv - half >= 0) & (vv + half < h) & (ul - half >= 0) & (ul + half < w)
              & (ur - reach >= 0) & (ur + reach < w))
    disparity = np.full(len(ul), np.nan)
    sad_best = np.full(len(ul), np.nan)
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return disparity, sad_best
    ul, vv, ur = ul[idx], vv[idx], ur[idx]
    dy = np.arange(-half, half + 1)
    rows = (vv[:, None] + dy[None, :])[:, :, None]  # (n, 11, 1)
    left_patch = left_image[rows, (ul[:, None] + dy[None, :])[:, None, :]].astype(np.float32)
    left_patch -= left_patch.mean(axis=(1, 2), keepdims=True)
    dx = np.arange(-reach, reach + 1)
    strip = right_image[rows, (ur[:, None] + dx[None, :])[:, None, :]].astype(np.float32)
    windows = sliding_window_view(strip, 2 * half + 1, axis=2)  # (n, 11, 2s+1, 11)
    windows = windows - windows.mean(axis=(1, 3), keepdims=True)
    sad = np.abs(windows - left_patch[:, :, None, :]).sum(axis=(1, 3))  # (n, 2s+1)
    k = np.argmin(sad, axis=1)
    interior = (k > 0) & (k < 2 * search)
    kc = np.clip(k, 1, 2 * search - 1)
    rows_n = np.arange(len(k))
    s_minus, s0, s_plus = sad[rows_n, kc - 1], sad[rows_n, kc], sad[rows_n, kc + 1]
    curvature = s_minus + s_plus - 2.0 * s0
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(curvature > 0.0, 0.5 * (s_minus - s_plus) / curvature, np.nan)
    ok = interior & (np.abs(delta) <= 1.0)
    u_right_refined = ur + (kc - search) + delta
    disparity[idx[ok]] = (ul - u_right_refined)[ok]
    sad_best[idx[ok]] = s0[ok]
    return disparity, sad_best


def match_stereo(left_image: np.ndarray, right_image: np.ndarray, left: Features,
                 right: Features, rig: StereoRig, params: StereoMatchParams | None = None
                 ) -> StereoMatches:
    """Depth for the left features from a rectified pair (see the module's notes)."""
    p = params or StereoMatchParams()
    n = len(left)
    right_u = np.full(n, np.nan, dtype=np.float32)
    depth = np.full(n, np.nan, dtype=np.float32)
    li, ri = _descriptor_matches(left, right, rig, p)
    if len(li) == 0:
        return StereoMatches(right_u, depth)
    uv = left.keypoints_px[li].astype(float)
    disparity, sad = _refine_along_rows(left_image, right_image, uv[:, 0], uv[:, 1],
                                        right.keypoints_px[ri, 0].astype(float), p)
    ok = np.isfinite(disparity)
    if ok.any():
        ok &= sad <= p.sad_outlier_factor * np.median(sad[ok])
    ok &= (disparity >= rig.bf / p.max_depth_m) & (disparity <= rig.bf / p.min_depth_m)
    li, disparity = li[ok], disparity[ok]
    # the refined disparity belongs to the integer pixel; keep it at the keypoint's column
    right_u[li] = left.keypoints_px[li, 0] - disparity
    depth[li] = rig.bf / disparity
    return StereoMatches(right_u, depth)
