"""Measures on a path given as an (N, 2) array of world points (ROS-free)."""

from __future__ import annotations

import itertools
import math

import numpy as np


def path_length(points: np.ndarray) -> float:
    """Length of the polyline (0 for fewer than two points)."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(points) < 2:
        return 0.0
    return float(np.sum(np.hypot(*np.diff(points, axis=0).T)))


def remaining_length(points: np.ndarray, xy: tuple[float, float]) -> float:
    """Length along the path from the point of it closest to ``xy`` to its end.

    The closest point is the projection onto the nearest segment; with one point the
    remaining length is the straight distance to it.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(points) == 0:
        return 0.0
    p = np.asarray(xy, dtype=float)
    if len(points) == 1:
        return float(math.hypot(*(points[0] - p)))
    a, b = points[:-1], points[1:]
    ab = b - a
    seg_len = np.hypot(ab[:, 0], ab[:, 1])
    denom = np.where(seg_len > 0.0, seg_len**2, 1.0)
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / denom, 0.0, 1.0)
    proj = a + t[:, None] * ab
    dist = np.hypot(*(proj - p).T)
    i = int(np.argmin(dist))
    return float((1.0 - t[i]) * seg_len[i] + np.sum(seg_len[i + 1 :]))


def resample(points: np.ndarray, spacing_m: float) -> np.ndarray:
    """The polyline with points every ``spacing_m`` or less along each segment; every
    original point is kept (corners stay corners), so the shape is unchanged."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(points) < 2 or not spacing_m > 0.0:
        return points.copy()
    out = [points[:1]]
    for a, b in itertools.pairwise(points):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / spacing_m))
        t = np.arange(1, n + 1)[:, None] / n
        out.append(a + t * (b - a))
    return np.concatenate(out)
