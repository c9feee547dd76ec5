"""ORB features spread over the image, and the descriptor arithmetic the matchers share.

Extraction (:class:`OrbExtractor`). OpenCV's ORB keeps the strongest corners of the whole
image, which crowd into the most textured patch (a picture on a wall) and leave the rest
bare; pose estimates from one patch are poorly conditioned. So the extractor detects several
times more corners than it needs (``detect_factor``), then buckets them on a ``grid_cols`` x
``grid_rows`` grid: each cell keeps its strongest ``n_features / cells`` (by Harris response),
and cells with fewer leave their share to the strongest of the rest. An image with fewer
corners than ``n_features`` (a dim room, a plain wall with a little grain) is detected again
with the lower ``min_fast_threshold``. (Lowering it only in the cells short of corners was
tried: on EuRoC it replaced a quarter of the stereo-matchable corners by faint ones that
rarely match.)
Descriptors are computed only for the kept corners.

Matching helpers (vectorised, no Python loop over features):
:func:`pairs_in_band` lists the candidate pairs whose rows lie within a radius (stereo rows,
or the window around a projection), :func:`hamming` scores them, :func:`best_two` keeps each
query's best candidate and the runner-up distance for the ratio test.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DESCRIPTOR_BYTES = 32


@dataclass(frozen=True)
class OrbParams:
    n_features: int = 1000
    grid_cols: int = 8
    grid_rows: int = 5
    detect_factor: float = 2.5  # corners detected per feature kept, before bucketing
    fast_threshold: int = 10  # grey levels
    min_fast_threshold: int = 5  # detect again with this when an image has too few corners
    scale_factor: float = 1.2
    n_levels: int = 8
    edge_threshold_px: int = 19  # border left out (ORB's patch is 31 px)

    def __post_init__(self) -> None:
        if self.n_features < 10 or self.grid_cols < 1 or self.grid_rows < 1:
            raise ValueError("n_features must be >= 10 and the grid at least 1x1")
        if self.detect_factor < 1.0 or not 1.0 < self.scale_factor <= 2.0:
            raise ValueError("detect_factor must be >= 1 and scale_factor in (1, 2]")


@dataclass(frozen=True)
class Features:
    """Keypoints of one image: pixel coordinates (u right, v down) at full resolution."""

    keypoints_px: np.ndarray  # (N, 2) float32
    octaves: np.ndarray  # (N,) int8, pyramid level the corner was found on
    responses: np.ndarray  # (N,) float32, Harris score
    descriptors: np.ndarray  # (N, 32) uint8

    def __len__(self) -> int:
        return len(self.keypoints_px)

    @classmethod
    def empty(cls) -> Features:
        return cls(np.zeros((0, 2), np.float32), np.zeros(0, np.int8), np.zeros(0, np.float32),
                   np.zeros((0, DESCRIPTOR_BYTES), np.uint8))


def bucket(keypoints_px: np.ndarray, responses: np.ndarray, width_px: int, height_px: int,
           n_keep: int, grid_cols: int, grid_rows: int) -> np.ndarray:
    """Indices of at most ``n_keep`` keypoints spread over the grid (see the module's notes),
    strongest first within each cell."""
    n = len(keypoints_px)
    if n <= n_keep:
        return np.arange(n)
    col = np.clip((keypoints_px[:, 0] * grid_cols / width_px).astype(int), 0, grid_cols - 1)
    row = np.clip((keypoints_px[:, 1] * grid_rows / height_px).astype(int), 0, grid_rows - 1)
    cell = row * grid_cols + col
    order = np.lexsort((-responses, cell))  # by cell, strongest first
    sorted_cell = cell[order]
    first_of_cell = np.searchsorted(sorted_cell, sorted_cell, side="left")
    rank = np.arange(n) - first_of_cell
    quota = int(np.ceil(n_keep / (grid_cols * grid_rows)))
    keep = order[rank < quota]
    if len(keep) >= n_keep:
        keep = keep[np.argsort(-responses[keep], kind="stable")[:n_keep]]
    else:
        rest = order[rank >= quota]
        rest = rest[np.argsort(-responses[rest], kind="stable")[:n_keep - len(keep)]]
        keep = np.concatenate([keep, rest])
    return keep


class OrbExtractor:
    """Bucketed ORB (OpenCV) on mono8 images."""

    def __init__(self, params: OrbParams | None = None) -> None:
        self.params = p = params or OrbParams()
        self._orb = self._make(p.fast_threshold)
        self._orb_faint = self._make(p.min_fast_threshold)

    def _make(self, fast_threshold: int) -> cv2.ORB:
        p = self.params
        return cv2.ORB_create(
            nfeatures=int(p.n_features * p.detect_factor), scaleFactor=p.scale_factor,
            nlevels=p.n_levels, edgeThreshold=p.edge_threshold_px, patchSize=31,
            fastThreshold=fast_threshold)

    def extract(self, image: np.ndarray) -> Features:
        """The image's features (possibly none: a dark or blank image)."""
        p = self.params
        corners = self._orb.detect(image, None)
        if len(corners) < p.n_features and p.min_fast_threshold < p.fast_threshold:
            corners = self._orb_faint.detect(image, None)  # a dim or faint image
        if not corners:
            return Features.empty()
        xy = np.array([k.pt for k in corners], dtype=np.float32)
        response = np.array([k.response for k in corners], dtype=np.float32)
        keep = bucket(xy, response, image.shape[1], image.shape[0], p.n_features,
                      p.grid_cols, p.grid_rows)
        corners, descriptors = self._orb.compute(image, [corners[i] for i in keep])
        if descriptors is None or not corners:
            return Features.empty()
        return Features(
            np.array([k.pt for k in corners], dtype=np.float32),
            np.array([k.octave for k in corners], dtype=np.int8),
            np.array([k.response for k in corners], dtype=np.float32),
            np.ascontiguousarray(descriptors, dtype=np.uint8))


# ------------------------------------------------------------------------ matching helpers


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Hamming distances (N,) int32 between descriptor arrays (N, 32) uint8."""
    return np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=1, dtype=np.int32)


def pairs_in_band(query_v: np.ndarray, ref_v: np.ndarray, radius
                  ) -> tuple[np.ndarray, np.ndarray]:
    """All pairs ``(q, r)`` with ``|ref_v[r] - query_v[q]| <= radius`` (a scalar or one per
    query), as two index arrays: a sort and two binary searches, no N x M matrix."""
    query_v = np.asarray(query_v, dtype=float)
    ref_v = np.asarray(ref_v, dtype=float)
    order = np.argsort(ref_v, kind="stable")
    sorted_v = ref_v[order]
    lo = np.searchsorted(sorted_v, query_v - radius, side="left")
    hi = np.searchsorted(sorted_v, query_v + radius, side="right")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    q = np.repeat(np.arange(len(query_v)), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    r = order[starts + np.arange(total)]
    return q, r


def best_two(query: np.ndarray, ref: np.ndarray, dist: np.ndarray, n_query: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each query index in ``range(n_query)``: its best candidate ``ref`` (-1 if none), the
    best distance and the second-best distance (``inf`` if one or no candidate)."""
    best_ref = np.full(n_query, -1, dtype=np.int64)
    best = np.full(n_query, np.inf)
    second = np.full(n_query, np.inf)
    if len(query) == 0:
        return best_ref, best, second
    order = np.lexsort((dist, query))
    q, r, d = query[order], ref[order], dist[order]
    first = np.ones(len(q), dtype=bool)
    first[1:] = q[1:] != q[:-1]
    best_ref[q[first]] = r[first]
    best[q[first]] = d[first]
    runner_up = np.zeros(len(q), dtype=bool)
    runner_up[1:] = first[:-1] & ~first[1:]
    second[q[runner_up]] = d[runner_up]
    return best_ref, best, second


def match_descriptors(a: np.ndarray, b: np.ndarray, max_hamming: int, ratio: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i into a, j into b) of descriptor arrays: mutual nearest neighbours in
    Hamming distance, at most ``max_hamming``, passing the ratio test. Exhaustive (OpenCV's
    brute-force matcher): for when there is no predicted position to search around."""
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if len(a) < 2 or len(b) < 2:
        return none
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    ab = matcher.knnMatch(a, b, k=2)
    back = np.full(len(b), -1, dtype=np.int64)
    for m in matcher.match(b, a):
        back[m.queryIdx] = m.trainIdx
    pairs = [(m[0].queryIdx, m[0].trainIdx) for m in ab
             if len(m) == 2 and m[0].distance <= max_hamming
             and m[0].distance < ratio * m[1].distance and back[m[0].trainIdx] == m[0].queryIdx]
    if not pairs:
        return none
    ij = np.array(pairs, dtype=np.int64)
    return ij[:, 0], ij[:, 1]


def unique_by_target(target: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """A mask keeping, among entries that share a ``target``, only the one of least ``dist``."""
    keep = np.zeros(len(target), dtype=bool)
    if len(target) == 0:
        return keep
    order = np.lexsort((dist, target))
    first = np.ones(len(order), dtype=bool)
    first[1:] = target[order][1:] != target[order][:-1]
    keep[order[first]] = True
    return keep
