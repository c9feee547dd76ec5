"""Two-view geometry from the front end's features: the relative pose of two calibrated views
from an essential matrix (no depth needed).

Used where there is no stereo depth: the real TUM colour frames (the front end's features and
matching checked against mocap ground truth), and by a relocalizer to check a candidate view.
Features are :class:`~hearth_slam.features.OrbExtractor`'s; matches are mutual nearest
neighbours in Hamming distance that pass the ratio test; ``cv2.findEssentialMat`` (MAGSAC++,
``threshold_px``) and ``cv2.recoverPose`` (the cheirality check picks the one of four
decompositions with the points in front of both cameras) give the rotation and the direction
of translation (its scale is unobservable from two views).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hearth_slam.features import Features, match_descriptors


@dataclass(frozen=True)
class TwoViewParams:
    max_hamming: int = 64
    ratio: float = 0.8
    threshold_px: float = 1.0
    confidence: float = 0.999
    min_inliers: int = 30


@dataclass(frozen=True)
class RelativePose:
    R_2_1: np.ndarray  # (3, 3): p_2 = R_2_1 p_1 + t for points in camera 1's frame
    t_2_1_unit: np.ndarray  # (3,) unit vector
    n_matches: int
    n_inliers: int


def relative_pose_essential(a: Features, b: Features, K: np.ndarray,
                            params: TwoViewParams | None = None) -> RelativePose | None:
    """The pose of view b relative to view a (rotation, translation direction), or None when
    fewer than ``min_inliers`` matches agree."""
    p = params or TwoViewParams()
    i, j = match_descriptors(a.descriptors, b.descriptors, p.max_hamming, p.ratio)
    if len(i) < max(p.min_inliers, 5):
        return None
    pa = a.keypoints_px[i].astype(np.float64)
    pb = b.keypoints_px[j].astype(np.float64)
    E, mask = cv2.findEssentialMat(pa, pb, K, method=cv2.USAC_MAGSAC, prob=p.confidence,
                                   threshold=p.threshold_px)
    if E is None or E.shape != (3, 3):
        return None
    n, R, t, _ = cv2.recoverPose(E, pa, pb, K, mask=mask)
    if n < p.min_inliers:
        return None
    return RelativePose(R, t.ravel() / np.linalg.norm(t), len(i), int(n))
