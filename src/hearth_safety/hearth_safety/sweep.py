"""The footprint swept along a path, checked against the obstacle cells (ROS-free, numpy).

A path is a sequence of base_link poses (x, y, yaw, in the frame of the robot *now*) with
the time (s from now) at which the robot is to be at each. It is first densified so that
consecutive poses are at most ``step_m`` and ``step_rad`` apart (a 2 cm chair leg cannot
slip between two poses), then every obstacle cell is put into every pose's frame and the
footprint's signed distance is taken, for all poses and cells at once ((K, M) arrays).

A pose collides when a cell lies within the footprint grown by ``padding_m``. A cell that
is within it already at the first pose (the robot stands next to it) only counts where the
path brings it nearer by more than ``APPROACH_M``: the robot may always move away.

The first colliding pose gives the time to collision (its time), the free distance (the
path length before it) and the free turn (the yaw swept before it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hearth_safety.footprint import Footprint

APPROACH_M = 0.01


@dataclass(frozen=True)
class Path:
    """Poses (K, 3) x_m, y_m, yaw_rad in base_link now; times_s (K,) from now; the
    cumulative path length (K,) and cumulative |yaw change| (K,) from the first pose."""

    poses: np.ndarray
    times_s: np.ndarray
    length_m: np.ndarray
    turn_rad: np.ndarray

    def __len__(self) -> int:
        return len(self.poses)


@dataclass(frozen=True)
class SweepResult:
    path: Path
    hit_index: int | None  # first colliding pose, None: free over the whole path
    ttc_s: float  # its time (inf when free)
    free_distance_m: float  # path length before it (inf when free)
    free_turn_rad: float  # yaw swept before it (inf when free)

    @property
    def collides(self) -> bool:
        return self.hit_index is not None


def _path(poses: np.ndarray, times: np.ndarray) -> Path:
    d = np.diff(poses[:, :2], axis=0)
    seg = np.hypot(d[:, 0], d[:, 1])
    turn = np.abs(_wrap(np.diff(poses[:, 2])))
    return Path(poses, times, np.concatenate([[0.0], np.cumsum(seg)]),
                np.concatenate([[0.0], np.cumsum(turn)]))


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2.0 * np.pi) - np.pi


def densify(poses: np.ndarray, times_s: np.ndarray, step_m: float, step_rad: float) -> Path:
    """Linear interpolation (yaw along the short way) so that no two consecutive poses are
    more than ``step_m`` / ``step_rad`` apart."""
    poses = np.asarray(poses, dtype=float).reshape(-1, 3)
    times_s = np.asarray(times_s, dtype=float).reshape(-1)
    if len(poses) < 2:
        return _path(poses, times_s)
    d = np.diff(poses, axis=0)
    d[:, 2] = _wrap(d[:, 2])
    n = np.maximum(1, np.ceil(np.maximum(np.hypot(d[:, 0], d[:, 1]) / step_m,
                                         np.abs(d[:, 2]) / step_rad))).astype(np.int64)
    seg = np.repeat(np.arange(len(d)), n)
    frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    out = poses[seg] + d[seg] * frac[:, None]
    t = times_s[seg] + np.diff(times_s)[seg] * frac
    out = np.vstack([out, poses[-1:]])
    out[:, 2] = _wrap(out[:, 2])
    return _path(out, np.concatenate([t, times_s[-1:]]))


def arc(v_mps: float, w_radps: float, duration_s: float, min_length_m: float,
        step_m: float, step_rad: float) -> Path:
    """The path of a constant command (v, w) from base_link now: ``duration_s`` of it, and
    at least ``min_length_m`` of path when it moves (the stopping distance), timed at the
    command's own speed. Rotation in place sweeps ``|w| * duration_s``; no motion: one pose."""
    if abs(v_mps) > 1e-6:
        length = max(abs(v_mps) * duration_s, min_length_m)
        curvature = w_radps / v_mps  # signed, per metre travelled forward or back
        n = max(1, math.ceil(max(length / step_m, abs(curvature) * length / step_rad)))
        s = np.linspace(0.0, length, n + 1)
        sign = math.copysign(1.0, v_mps)
        yaw = curvature * s * sign
        if abs(curvature) > 1e-9:
            x = np.sin(curvature * s) / curvature
            y = (1.0 - np.cos(curvature * s)) / curvature
        else:
            x, y = s, np.zeros_like(s)
        poses = np.column_stack([sign * x, y, yaw])  # backwards: mirrored along x
        return Path(poses, s / abs(v_mps), s, np.abs(yaw))
    if abs(w_radps) > 1e-6:
        angle = abs(w_radps) * duration_s
        n = max(1, math.ceil(angle / step_rad))
        a = np.linspace(0.0, angle, n + 1)
        poses = np.column_stack([np.zeros_like(a), np.zeros_like(a),
                                 math.copysign(1.0, w_radps) * a])
        return Path(poses, a / abs(w_radps), np.zeros_like(a), a)
    return Path(np.zeros((1, 3)), np.zeros(1), np.zeros(1), np.zeros(1))


def check(footprint: Footprint, padding_m: float, path: Path,
          obstacles_xy: np.ndarray) -> SweepResult:
    """The first pose of ``path`` at which the footprint grown by ``padding_m`` touches an
    obstacle cell (centres ``obstacles_xy`` (M, 2) in base_link)."""
    free = SweepResult(path, None, math.inf, math.inf, math.inf)
    if len(path) < 2 or len(obstacles_xy) == 0:
        return free
    reach = footprint.bounding_radius_m + padding_m
    lo = path.poses[:, :2].min(axis=0) - reach
    hi = path.poses[:, :2].max(axis=0) + reach
    o = obstacles_xy[np.all((obstacles_xy >= lo) & (obstacles_xy <= hi), axis=1)]
    if len(o) == 0:
        return free
    px, py, pyaw = (path.poses[:, k, None] for k in range(3))
    dx, dy = o[None, :, 0] - px, o[None, :, 1] - py
    if footprint.radius_m is not None:  # a circle does not care about yaw
        sd = np.hypot(dx, dy) - footprint.radius_m
    else:
        c, s = np.cos(pyaw), np.sin(pyaw)
        sd = footprint.signed_distance(c * dx + s * dy, -s * dx + c * dy)
    start = sd[0]
    touching = sd < padding_m
    touching &= (start >= padding_m) | (sd < start - APPROACH_M)
    hits = np.flatnonzero(touching.any(axis=1))
    if len(hits) == 0:
        return free
    k = int(hits[0])
    return SweepResult(path, k, float(path.times_s[k]), float(path.length_m[k]),
                       float(path.turn_rad[k]))
