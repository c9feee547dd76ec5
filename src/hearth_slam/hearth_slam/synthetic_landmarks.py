"""A synthetic landmark world for the back end's tests and bench (ROS-free, numpy only).

A rectangular room whose walls carry point landmarks (each with a random 256-bit ORB-like
descriptor), the robot driving laps of a rounded rectangle inside it, and what a front end
would hand the back end at each keyframe:

- the fused odometry pose, drifting as wheels and a gyro drift (a scale error, a heading
  bias per metre, random walk);
- stereo measurements (uL, uR, v) of the landmarks in view, with pixel noise;
- landmark ids as a front end assigns them: a world point keeps its id while it stays in
  view; when it comes back after ``track_gap_keyframes`` unseen, it gets a new id (the
  front end tracks locally, so a revisit re-maps the place and drift stays until a loop
  closure ties the two together).

Everything is seeded; the same arguments give the same world.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from hearth_slam import se3
from hearth_slam.backend import BackendCamera


@dataclass(frozen=True)
class LandmarkWorld:
    points_map: np.ndarray  # (P, 3)
    descriptors: np.ndarray  # (P, 32) uint8


@dataclass(frozen=True)
class SyntheticKeyframe:
    kf_id: int
    t_s: float
    pose_map_base: np.ndarray  # the truth
    pose_odom_base: np.ndarray  # the drifting odometry
    world_index: np.ndarray  # (N,) which world point each observation is
    landmark_ids: np.ndarray  # (N,) front-end ids
    stereo_uv: np.ndarray  # (N, 3)
    keypoint_descriptors: np.ndarray  # (N, 32) uint8, a few bits flipped from the world's
    new_landmark_ids: np.ndarray  # (M,)
    new_descriptors: np.ndarray  # (M, 32)


def yaw_pose(x_m: float, y_m: float, yaw_rad: float, z_m: float = 0.0) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return se3.make(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), [x_m, y_m, z_m])


def room_world(rng: np.random.Generator, size_m: tuple[float, float] = (10.0, 7.0),
               n_points: int = 3000, height_m: tuple[float, float] = (0.05, 2.2),
               origin_m: tuple[float, float] = (0.0, 0.0)) -> LandmarkWorld:
    """Points on the four walls of a room with its lower-left corner at ``origin_m``."""
    w, h = size_m
    perimeter = 2.0 * (w + h)
    s = rng.uniform(0.0, perimeter, n_points)
    z = rng.uniform(*height_m, n_points)
    xy = np.empty((n_points, 2))
    for n, d in enumerate(s):
        if d < w:
            xy[n] = (d, 0.0)
        elif d < w + h:
            xy[n] = (w, d - w)
        elif d < 2 * w + h:
            xy[n] = (2 * w + h - d, h)
        else:
            xy[n] = (0.0, perimeter - d)
    xy += np.asarray(origin_m)
    desc = rng.integers(0, 256, (n_points, 32), dtype=np.uint8)
    return LandmarkWorld(np.column_stack([xy, z]), desc)


def lap_poses(n_per_lap: int, laps: float, centre_m: tuple[float, float] = (5.0, 3.5),
              half_size_m: tuple[float, float] = (3.0, 1.8),
              corner_radius_m: float = 0.8) -> list[np.ndarray]:
    """base_link poses (4x4) along a rounded rectangle driven anticlockwise, facing along
    the path, ``n_per_lap`` evenly spaced poses per lap."""
    a, b, r = half_size_m[0] - corner_radius_m, half_size_m[1] - corner_radius_m, \
        corner_radius_m
    straight = [2 * a, 2 * b, 2 * a, 2 * b]
    arc = 0.5 * math.pi * r
    length = sum(straight) + 4 * arc
    poses = []
    for n in range(round(n_per_lap * laps)):
        d = (n / n_per_lap % 1.0) * length
        # walk the pieces: bottom straight (east), corner, right straight (north), ...
        x, y, yaw = centre_m[0] - a, centre_m[1] - b - r, 0.0
        for side in range(4):
            if d <= straight[side]:
                x += d * math.cos(yaw)
                y += d * math.sin(yaw)
                break
            x += straight[side] * math.cos(yaw)
            y += straight[side] * math.sin(yaw)
            d -= straight[side]
            if d <= arc:
                phi = d / r
                cx, cy = x - r * math.sin(yaw), y + r * math.cos(yaw)
                x = cx + r * math.sin(yaw + phi)
                y = cy - r * math.cos(yaw + phi)
                yaw += phi
                break
            cx, cy = x - r * math.sin(yaw), y + r * math.cos(yaw)
            yaw += 0.5 * math.pi
            x = cx + r * math.sin(yaw)
            y = cy - r * math.cos(yaw)
            d -= arc
        poses.append(yaw_pose(x, y, yaw))
    return poses


def drifting_odometry(poses_map_base: list[np.ndarray], rng: np.random.Generator,
                      scale_error: float = 0.01, yaw_bias_rad_per_m: float = math.radians(0.3),
                      noise_m_per_sqrt_m: float = 0.003,
                      noise_rad_per_sqrt_m: float = math.radians(0.05)) -> list[np.ndarray]:
    """T_odom_base along the poses: each true step scaled, yawed by a bias per metre and
    perturbed; odometry starts at the identity at the first pose."""
    out = [np.eye(4)]
    for p0, p1 in itertools.pairwise(poses_map_base):
        step = se3.inverse(p0) @ p1
        d = float(np.linalg.norm(step[:3, 3]))
        dyaw = math.atan2(step[1, 0], step[0, 0])
        dyaw += yaw_bias_rad_per_m * d + rng.normal(0.0, noise_rad_per_sqrt_m * math.sqrt(d))
        t = step[:3, 3] * (1.0 + scale_error) + rng.normal(0.0, noise_m_per_sqrt_m
                                                           * math.sqrt(d), 3) * [1, 1, 0]
        out.append(out[-1] @ yaw_pose(t[0], t[1], dyaw))
    return out


def observe(world: LandmarkWorld, camera: BackendCamera, pose_map_base: np.ndarray,
            width_px: int, height_px: int, max_depth_m: float = 6.0) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Indices of the world points in view and their exact (uL, uR, v)."""
    T_cam_map = se3.inverse(pose_map_base @ camera.pose_base_camera)
    pc = se3.transform_points(T_cam_map, world.points_map)
    front = (pc[:, 2] > 0.3) & (pc[:, 2] < max_depth_m)
    idx = np.nonzero(front)[0]
    uv = camera.project(pc[idx])
    inside = ((uv[:, 0] >= 0) & (uv[:, 0] < width_px) & (uv[:, 1] >= 0)
              & (uv[:, 2] >= 0) & (uv[:, 2] < height_px))
    return idx[inside], uv[inside]


def simulate_keyframes(world: LandmarkWorld, camera: BackendCamera,
                       poses_map_base: list[np.ndarray], rng: np.random.Generator, *,
                       width_px: int = 640, height_px: int = 400,
                       pixel_sigma_px: float = 0.7, max_observations: int = 150,
                       track_gap_keyframes: int = 3, dt_s: float = 1.0,
                       odometry: list[np.ndarray] | None = None,
                       flipped_bits: int = 8) -> list[SyntheticKeyframe]:
    """What the front end hands the back end at each pose (see the module doc)."""
    odom = odometry if odometry is not None else drifting_odometry(poses_map_base, rng)
    track_id = np.full(len(world.points_map), -1, dtype=np.int64)
    last_seen = np.full(len(world.points_map), -10**9, dtype=np.int64)
    strength = rng.random(len(world.points_map))
    next_id = 0
    out = []
    for k, (T, T_odom) in enumerate(zip(poses_map_base, odom, strict=True)):
        idx, uv = observe(world, camera, T, width_px, height_px)
        if len(idx) > max_observations:  # the strongest corners, the same ones each frame
            pick = np.sort(np.argsort(-strength[idx])[:max_observations])
            idx, uv = idx[pick], uv[pick]
        uv = uv + rng.normal(0.0, pixel_sigma_px, uv.shape)
        uv[:, 1] = np.minimum(uv[:, 1], uv[:, 0] - 0.1)
        fresh = k - last_seen[idx] > track_gap_keyframes
        new_ids = []
        for i in idx[fresh]:
            track_id[i] = next_id
            new_ids.append(next_id)
            next_id += 1
        last_seen[idx] = k
        desc = world.descriptors[idx].copy()
        bits = rng.integers(0, 256, (len(idx), flipped_bits))
        for col in range(flipped_bits):
            desc[np.arange(len(idx)), bits[:, col] // 8] ^= (1 << (bits[:, col] % 8)).astype(
                np.uint8)
        new = np.array(new_ids, dtype=np.int64)
        out.append(SyntheticKeyframe(k, k * dt_s, T, T_odom, idx, track_id[idx].copy(), uv,
                                     desc, new, desc[fresh].copy()))
    return out


def aligned_ate_rmse_m(estimated_xyz: np.ndarray, true_xyz: np.ndarray) -> float:
    """RMSE (m) of positions after the best rigid (SE(3), no scale) alignment (Umeyama)."""
    A = np.asarray(estimated_xyz, dtype=float)
    B = np.asarray(true_xyz, dtype=float)
    ma, mb = A.mean(axis=0), B.mean(axis=0)
    U, _, Vt = np.linalg.svd((B - mb).T @ (A - ma))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = U @ D @ Vt
    err = (A - ma) @ R.T + mb - B
    return float(np.sqrt((err ** 2).sum(axis=1).mean()))
