"""Loop closure and relocalization: place recognition, then geometry (ROS-free).

A loop is accepted in four steps; each can only reject, because a false loop closure bends
the whole map and is worse than a missed one:

1. **Candidates.** The query keyframe's bag of words against the database
   (``place_recognition``), leaving out keyframes younger than ``min_gap_s``; a candidate's
   score must reach ``min_score`` and ``min_score_ratio`` times the query's score with the
   previous keyframe (the best a neighbour of the same place scores: it rescales the score
   to how distinctive the current view is).
2. **Geometry.** The query's ORB keypoints matched to the candidate's landmarks by
   descriptor (Hamming <= ``max_hamming``, ratio test ``match_ratio``), then
   ``cv2.solvePnPRansac`` (``reprojection_px``) on the candidate's 3D landmarks and the
   query's 2D keypoints, refined on the inliers: at least ``min_inliers`` inliers and an
   inlier share of ``min_inlier_ratio`` of the matches.
3. **Consistency.** A place must be verified by ``consistency`` consecutive query
   keyframes: a verified candidate continues a group of the previous query when it lies
   within ``consistency_window_s`` of that group's last candidate; groups that no query
   continues are dropped. A single coincidental view is never enough.
4. **The graph's own gate** (``Backend.add_loop``): the correction must fit the drift the
   odometry allows between the two keyframes.

The relative pose goes to ``Backend.add_loop`` in base_link frames with a diagonal
information: ``loop_rot_sigma_rad`` and ``loop_trans_sigma_m`` at ``min_inliers``,
shrinking as 1/sqrt(inliers / min_inliers) (more inliers, a better constrained PnP).

Relocalization (tracking lost, the robot lifted and set down) uses steps 1 and 2 with no
consistency and no time gap, a stricter ``reloc_min_inliers``, and gives the query camera's
pose in the map.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from hearth_slam import se3
from hearth_slam.backend import KeyframeLandmarks
from hearth_slam.place_recognition import BowDatabase, BowVector, Vocabulary, score

LandmarkSource = Callable[[int], KeyframeLandmarks | None]


@dataclass(frozen=True)
class LoopParams:
    candidates: int = 5  # best BoW candidates verified per query
    min_gap_s: float = 20.0  # candidates at least this much older than the query
    min_score: float = 0.03  # absolute BoW score floor
    min_score_ratio: float = 0.5  # x the query's score with its previous keyframe
    max_hamming: int = 64  # ORB match acceptance (of 256 bits)
    match_ratio: float = 0.8  # best / second-best Hamming distance
    reprojection_px: float = 3.0
    ransac_iterations: int = 300
    min_inliers: int = 30
    min_inlier_ratio: float = 0.4
    consistency: int = 3
    consistency_window_s: float = 10.0
    cooldown_keyframes: int = 5  # queries skipped after an accepted loop
    loop_rot_sigma_rad: float = math.radians(1.0)
    loop_trans_sigma_m: float = 0.03
    reloc_min_inliers: int = 40
    reloc_candidates: int = 10

    def __post_init__(self) -> None:
        if self.consistency < 1 or self.min_inliers < 6 or self.candidates < 1:
            raise ValueError("LoopParams: consistency >= 1, min_inliers >= 6, candidates >= 1")
        if not 0.0 < self.match_ratio <= 1.0 or not 0.0 <= self.min_inlier_ratio <= 1.0:
            raise ValueError("LoopParams: match_ratio in (0, 1], min_inlier_ratio in [0, 1]")


@dataclass(frozen=True)
class PnPResult:
    kf_id: int
    pose_candidate_query: np.ndarray  # T (4x4): the query camera in the candidate camera
    inliers: int
    matches: int


@dataclass(frozen=True)
class LoopDetection:
    """A verified, consistent loop: ``pose_a_b`` is the query keyframe's (``kf_b``)
    base_link in the candidate's (``kf_a``), with ``information`` (6x6, GTSAM order:
    rotation first) for ``Backend.add_loop``."""

    kf_a: int
    kf_b: int
    pose_a_b: np.ndarray
    information: np.ndarray
    inliers: int
    bow_score: float


@dataclass(frozen=True)
class Relocalization:
    kf_id: int  # the keyframe it matched
    pose_map_base: np.ndarray
    pose_map_camera: np.ndarray
    inliers: int
    matches: int


# ------------------------------------------------------------------------------ geometry


def match_descriptors(query: np.ndarray, train: np.ndarray, max_hamming: int,
                      ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (iq, it) of ORB matches query -> train passing the distance and ratio tests,
    each train row used at most once (the closest query wins)."""
    if len(query) == 0 or len(train) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(np.ascontiguousarray(query), np.ascontiguousarray(train), k=2)
    best: dict[int, tuple[float, int]] = {}
    for m in pairs:
        if len(m) < 2:
            continue
        a, b = m
        if a.distance <= max_hamming and a.distance < ratio * b.distance:
            prev = best.get(a.trainIdx)
            if prev is None or a.distance < prev[0]:
                best[a.trainIdx] = (a.distance, a.queryIdx)
    it = np.array(sorted(best), dtype=np.int64)
    iq = np.array([best[t][1] for t in it], dtype=np.int64)
    return iq, it


def pnp(points_camera: np.ndarray, keypoints_px: np.ndarray, K: np.ndarray,
        reprojection_px: float, iterations: int,
        seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """RANSAC PnP then Levenberg-Marquardt on the inliers: (T_object_camera (4x4): the
    query camera's pose in the points' frame, inlier mask) or None."""
    obj = np.ascontiguousarray(points_camera, dtype=np.float64).reshape(-1, 3)
    img = np.ascontiguousarray(keypoints_px, dtype=np.float64).reshape(-1, 2)
    if len(obj) < 6:
        return None
    cv2.setRNGSeed(seed)  # RANSAC's sampling: the same input gives the same answer
    ok, rvec, tvec, inl = cv2.solvePnPRansac(
        obj, img, K, None, iterationsCount=iterations, reprojectionError=reprojection_px,
        confidence=0.999, flags=cv2.SOLVEPNP_EPNP)
    if not ok or inl is None or len(inl) < 6:
        return None
    idx = inl.reshape(-1)
    rvec, tvec = cv2.solvePnPRefineLM(obj[idx], img[idx], K, None, rvec, tvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, K, None)
    depth = (cv2.Rodrigues(rvec)[0] @ obj.T + tvec.reshape(3, 1))[2]
    err = np.linalg.norm(proj.reshape(-1, 2) - img, axis=1)
    mask = (err <= reprojection_px) & (depth > 0.0)
    R = cv2.Rodrigues(rvec)[0]
    T_camera_object = se3.make(R, tvec.reshape(3))
    if not np.isfinite(T_camera_object).all():
        return None
    return se3.inverse(T_camera_object), mask


def verify(candidate: KeyframeLandmarks, keypoints_px: np.ndarray, descriptors: np.ndarray,
           K: np.ndarray, params: LoopParams, min_inliers: int) -> PnPResult | None:
    """Step 2 (geometry) of a candidate; None when it fails."""
    iq, it = match_descriptors(descriptors, candidate.descriptors, params.max_hamming,
                               params.match_ratio)
    if len(iq) < min_inliers:
        return None
    solved = pnp(candidate.points_camera[it], keypoints_px[iq], K, params.reprojection_px,
                 params.ransac_iterations)
    if solved is None:
        return None
    T, mask = solved
    n = int(mask.sum())
    if n < min_inliers or n < params.min_inlier_ratio * len(iq):
        return None
    return PnPResult(candidate.kf_id, T, n, len(iq))


# ------------------------------------------------------------------------------ detector


@dataclass
class _Group:
    t_s: float  # the time of its latest candidate keyframe
    count: int


class LoopDetector:
    """Bag-of-words database of keyframes + verification + consistency (module doc)."""

    def __init__(self, vocabulary: Vocabulary, K: np.ndarray, pose_base_camera: np.ndarray,
                 params: LoopParams | None = None) -> None:
        self.vocabulary = vocabulary
        self.K = np.asarray(K, dtype=float)
        self.T_base_camera = np.asarray(pose_base_camera, dtype=float)
        self.p = params or LoopParams()
        self.db = BowDatabase()
        self.t_of: dict[int, float] = {}
        self._groups: list[_Group] = []
        self._previous: BowVector | None = None
        self._cooldown = 0
        self.counts = {"queries": 0, "candidates": 0, "verified": 0, "detected": 0,
                       "skipped": 0}

    def remove_keyframe(self, kf_id: int) -> None:
        """Forget a keyframe (culled by the back end)."""
        self.db.remove(kf_id)
        self.t_of.pop(kf_id, None)

    def add_keyframe(self, kf_id: int, t_s: float, descriptors: np.ndarray) -> BowVector:
        """Put a keyframe in the database without querying (a loaded map)."""
        bow = self.vocabulary.bow(descriptors)
        self.db.add(kf_id, bow)
        self.t_of[kf_id] = float(t_s)
        return bow

    def skip(self, kf_id: int, t_s: float, descriptors: np.ndarray) -> None:
        """Put a keyframe in the database without querying: the graph has already tied it
        to the map (it found an earlier visit's landmarks again), a loop would add nothing.
        It breaks the run of consecutive queries a consistent loop needs."""
        bow = self.add_keyframe(kf_id, t_s, np.asarray(descriptors, dtype=np.uint8))
        self._previous = bow
        self._groups = []
        self.counts["skipped"] += 1

    def add_bow(self, kf_id: int, t_s: float, bow: BowVector) -> None:
        self.db.add(kf_id, bow)
        self.t_of[kf_id] = float(t_s)

    def candidates(self, bow: BowVector, t_s: float, n: int, min_gap_s: float,
                   min_score: float) -> list[tuple[int, float]]:
        recent = [k for k, t in self.t_of.items() if t > t_s - min_gap_s]
        found = self.db.query(bow, max_results=n + len(recent), min_score=min_score)
        recent_set = set(recent)
        return [(k, s) for k, s in found if k not in recent_set][:n]

    def process(self, kf_id: int, t_s: float, keypoints_px: np.ndarray,
                descriptors: np.ndarray, landmarks: LandmarkSource) -> LoopDetection | None:
        """Query with a new keyframe, then add it to the database. ``keypoints_px`` (N, 2)
        and ``descriptors`` (N, 32) are all its ORB features (left image, rectified);
        ``landmarks(kf)`` gives a candidate's landmarks (``Backend.keyframe_landmarks``)."""
        p = self.p
        kps = np.asarray(keypoints_px, dtype=float).reshape(-1, 2)
        desc = np.asarray(descriptors, dtype=np.uint8).reshape(-1, 32)
        bow = self.vocabulary.bow(desc)
        self.counts["queries"] += 1
        reference = score(bow, self._previous) if self._previous is not None else 0.0
        self._previous = bow
        detection = None
        if self._cooldown > 0:
            self._cooldown -= 1
            self._groups = []
        else:
            threshold = max(p.min_score, p.min_score_ratio * reference)
            verified: list[tuple[PnPResult, float]] = []
            for cand, s in self.candidates(bow, t_s, p.candidates, p.min_gap_s, threshold):
                self.counts["candidates"] += 1
                data = landmarks(cand)
                if data is None:
                    continue
                result = verify(data, kps, desc, self.K, p, p.min_inliers)
                if result is not None:
                    verified.append((result, s))
            self.counts["verified"] += len(verified)
            detection = self._consistent(kf_id, verified)
        self.add_bow(kf_id, t_s, bow)
        return detection

    def _consistent(self, kf_id: int,
                    verified: list[tuple[PnPResult, float]]) -> LoopDetection | None:
        p = self.p
        groups: list[_Group] = []
        best: tuple[int, PnPResult, float] | None = None
        for result, s in verified:
            t = self.t_of.get(result.kf_id)
            if t is None:
                continue
            prior = [g.count for g in self._groups if abs(g.t_s - t) <= p.consistency_window_s]
            group = _Group(t, 1 + max(prior, default=0))
            groups.append(group)
            if group.count >= p.consistency and (
                    best is None or result.inliers > best[1].inliers):
                best = (group.count, result, s)
        self._groups = groups
        if best is None:
            return None
        _, result, s = best
        self._groups = []
        self._cooldown = p.cooldown_keyframes
        self.counts["detected"] += 1
        T_b = self.T_base_camera
        pose_a_b = T_b @ result.pose_candidate_query @ se3.inverse(T_b)
        return LoopDetection(result.kf_id, kf_id, pose_a_b, self.information(result.inliers),
                             result.inliers, s)

    def information(self, inliers: int) -> np.ndarray:
        """The 6x6 information (GTSAM order: rotation first) of a loop measured by a PnP
        with ``inliers`` inliers: ``loop_rot_sigma_rad`` and ``loop_trans_sigma_m`` at
        ``min_inliers``, shrinking as sqrt(min_inliers / inliers)."""
        p = self.p
        scale = math.sqrt(p.min_inliers / max(int(inliers), p.min_inliers))
        sig = np.array([p.loop_rot_sigma_rad] * 3 + [p.loop_trans_sigma_m] * 3) * scale
        return np.diag(1.0 / sig ** 2)

    def relocalize(self, keypoints_px: np.ndarray, descriptors: np.ndarray,
                   landmarks: LandmarkSource, max_kf_id: int | None = None
                   ) -> Relocalization | None:
        """The query frame's pose in the map from the best verified keyframe (most inliers
        among the ``reloc_candidates`` best BoW matches; only keyframes up to ``max_kf_id``
        when given: the map as it was before tracking was lost), or None."""
        p = self.p
        kps = np.asarray(keypoints_px, dtype=float).reshape(-1, 2)
        desc = np.asarray(descriptors, dtype=np.uint8).reshape(-1, 32)
        if len(desc) == 0:
            return None
        bow = self.vocabulary.bow(desc)
        best: PnPResult | None = None
        best_data: KeyframeLandmarks | None = None
        for cand, _ in self.db.query(bow, max_results=p.reloc_candidates, max_kf_id=max_kf_id,
                                     min_score=p.min_score):
            data = landmarks(cand)
            if data is None:
                continue
            result = verify(data, kps, desc, self.K, p, p.reloc_min_inliers)
            if result is not None and (best is None or result.inliers > best.inliers):
                best, best_data = result, data
        if best is None or best_data is None:
            return None
        T_map_camera = best_data.pose_map_camera @ best.pose_candidate_query
        return Relocalization(best.kf_id, T_map_camera @ se3.inverse(self.T_base_camera),
                              T_map_camera, best.inliers, best.matches)
