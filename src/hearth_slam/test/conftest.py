"""Shared test scenes: a ray-cast textured room seen by an ideal rectified stereo pair, and
the real data folders (tests using them skip when absent)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam.datasets import EUROC, TUM_OFFICE
from hearth_slam.stereo_camera import StereoRig, rectified_camera_info_fields

WIDTH, HEIGHT, FX, BASELINE = 640, 400, 330.0, 0.08
SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def sim_like_rig() -> StereoRig:
    """The simulator's pair: 640x400, fx = fy = 330 px, 8 cm baseline, rectified."""
    K = np.array([[FX, 0.0, (WIDTH - 1) / 2], [0.0, FX, (HEIGHT - 1) / 2], [0.0, 0.0, 1.0]])
    return StereoRig.from_camera_info_fields(
        *rectified_camera_info_fields(K, WIDTH, HEIGHT, BASELINE))


def _texture(seed: int, size: int = 512) -> np.ndarray:
    """Smooth blotches plus sharp-edged patches: corners everywhere, no repeats."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((size // 16, size // 16)).astype(np.float32)
    img = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    img = (img - img.mean()) / img.std()
    out = np.clip(128 + 35 * img, 0, 255).astype(np.uint8)
    for _ in range(300):
        x, y = rng.integers(0, size - 30, 2)
        w, h = rng.integers(5, 30, 2)
        out[y:y + h, x:x + w] = rng.integers(0, 256)
    return out


class Room:
    """A box room (walls, floor, ceiling) with a different texture on each face, in a world
    frame whose axes are the optical frame's at the origin (z forward, x right, y down)."""

    PX_PER_M = 120.0  # texture period 4.3 m: no repeat across a wall

    def __init__(self, seed: int = 0) -> None:
        # (point on the plane, normal, texture axes e1, e2)
        self.planes = [
            (np.array([0, 0, 4.0]), np.array([0, 0, -1.0]), np.array([1.0, 0, 0]),
             np.array([0, 1.0, 0])),  # front wall
            (np.array([-2.0, 0, 0]), np.array([1.0, 0, 0]), np.array([0, 0, 1.0]),
             np.array([0, 1.0, 0])),  # left wall
            (np.array([2.0, 0, 0]), np.array([-1.0, 0, 0]), np.array([0, 0, 1.0]),
             np.array([0, 1.0, 0])),  # right wall
            (np.array([0, 0.6, 0]), np.array([0, -1.0, 0]), np.array([1.0, 0, 0]),
             np.array([0, 0, 1.0])),  # floor
            (np.array([0, -1.8, 0]), np.array([0, 1.0, 0]), np.array([1.0, 0, 0]),
             np.array([0, 0, 1.0])),  # ceiling
            (np.array([0, 0, -4.0]), np.array([0, 0, 1.0]), np.array([1.0, 0, 0]),
             np.array([0, 1.0, 0])),  # back wall
        ]
        self.textures = [_texture(seed * 10 + k) for k in range(len(self.planes))]

    def render(self, T_world_cam: np.ndarray, rig: StereoRig) -> np.ndarray:
        """The mono8 image of a camera at ``T_world_cam`` (rectified intrinsics of ``rig``)."""
        u, v = np.meshgrid(np.arange(rig.width_px, dtype=np.float32),
                           np.arange(rig.height_px, dtype=np.float32))
        R = T_world_cam[:3, :3].astype(np.float32)
        x, y = (u - rig.cx) / rig.fx, (v - rig.cy) / rig.fy
        rays = [R[i, 0] * x + R[i, 1] * y + R[i, 2] for i in range(3)]  # world directions
        origin = T_world_cam[:3, 3]
        best = np.full(u.shape, np.inf, np.float32)
        image = np.zeros(u.shape, np.uint8)
        for (p0, n, e1, e2), tex in zip(self.planes, self.textures, strict=True):
            denom = rays[0] * n[0] + rays[1] * n[1] + rays[2] * n[2]
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.float32((p0 - origin) @ n) / denom
            hit = np.isfinite(s) & (s > 0) & (s < best)
            d = origin - p0
            a = (d @ e1 + s * (rays[0] * e1[0] + rays[1] * e1[1] + rays[2] * e1[2]))
            b = (d @ e2 + s * (rays[0] * e2[0] + rays[1] * e2[1] + rays[2] * e2[2]))
            size = tex.shape[0]
            sampled = cv2.remap(tex, np.mod(a * self.PX_PER_M, size).astype(np.float32),
                                np.mod(b * self.PX_PER_M, size).astype(np.float32),
                                cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
            image[hit] = sampled[hit]
            best[hit] = s[hit]
        return image

    def depth_at(self, T_world_cam: np.ndarray, rig: StereoRig, uv: np.ndarray) -> np.ndarray:
        """True depth (z in the camera frame, m) of the surface seen at pixels ``uv`` (N, 2)."""
        uv = np.asarray(uv, dtype=float)
        rays_cam = np.column_stack([(uv[:, 0] - rig.cx) / rig.fx, (uv[:, 1] - rig.cy) / rig.fy,
                                    np.ones(len(uv))])
        rays = rays_cam @ T_world_cam[:3, :3].T
        origin = T_world_cam[:3, 3]
        best = np.full(len(uv), np.inf)
        for p0, n, _, _ in self.planes:
            with np.errstate(divide="ignore", invalid="ignore"):
                s = ((p0 - origin) @ n) / (rays @ n)
            ok = np.isfinite(s) & (s > 0)
            best = np.where(ok & (s < best), s, best)
        return best  # z = s because rays_cam has z = 1

    def render_pair(self, T_world_cam: np.ndarray, rig: StereoRig, noise_std: float = 1.0,
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        T_right = T_world_cam @ se3.make(np.eye(3), [rig.baseline_m, 0.0, 0.0])
        gen = rng or np.random.default_rng(0)
        out = []
        for T in (T_world_cam, T_right):
            img = self.render(T, rig).astype(np.float32)
            img += gen.standard_normal(img.shape).astype(np.float32) * noise_std
            out.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
        return out[0], out[1]


@pytest.fixture(scope="session")
def rig() -> StereoRig:
    return sim_like_rig()


@pytest.fixture(scope="session")
def room() -> Room:
    return Room(seed=1)


@pytest.fixture(scope="session")
def euroc_dir() -> Path:
    path = SHARED_DATA / EUROC
    if not (path / "mav0" / "cam0" / "data.csv").is_file():
        pytest.skip(f"EuRoC data not present at {path}")
    return path


@pytest.fixture(scope="session")
def tum_dir() -> Path:
    path = SHARED_DATA / TUM_OFFICE
    if not (path / "groundtruth.txt").is_file():
        pytest.skip(f"TUM data not present at {path}")
    return path


class SimDrive:
    """Stereo pairs rendered by the simulator (MuJoCo) on a short drive, with ground truth."""

    def __init__(self, seconds: float = 3.0) -> None:
        from hearth_common.config import load_config
        from hearth_description.robot_model import expand_xacro, load_robot_params
        from hearth_sim.config import SimConfig
        from hearth_sim.home.loader import resolve_home
        from hearth_sim.mujoco_sim import MujocoSim
        from hearth_sim.sensors.cameras import camera_info_fields
        from hearth_slam.stereo_camera import mount_from_urdf

        cfg = load_config(SimConfig, {"stereo_rate_hz": 10.0, "tof_rate_hz": 0.01,
                                      "screen_camera_rate_hz": 0.01})
        params = load_robot_params(None)
        sim = MujocoSim(resolve_home(cfg.home_file), params, cfg, None, 0)
        self.t_ns, self.left, self.right, self.T_world_base = [], [], [], []
        try:
            for k in range(round(seconds / sim.dt_s)):
                t_s = k * sim.dt_s
                out = sim.step(*((0.0, 0.0) if t_s < 0.5 else (0.3, 0.2)))
                for frame in out.stereo:
                    truth = sim.robot_truth()
                    w, x, y, z = truth.quat_wxyz
                    self.t_ns.append(frame.t_ns)
                    self.left.append(frame.images[0])
                    self.right.append(frame.images[1])
                    self.T_world_base.append(se3.from_quaternion([x, y, z, w],
                                                                 truth.position_m))
            intr = sim.cameras.stereo_left.intrinsics
        finally:
            sim.close()
        baseline = params.stereo.baseline_m
        self.left_info = camera_info_fields(intr, "stereo_left_optical")
        self.right_info = camera_info_fields(intr, "stereo_right_optical", baseline, right=True)
        self.T_base_optical = mount_from_urdf(expand_xacro(), "stereo_left_optical")

    def rig(self) -> StereoRig:
        return StereoRig.from_camera_info_fields(
            *[{k: info[k] for k in ("width", "height", "k", "d", "r", "p")}
              for info in (self.left_info, self.right_info)])


@pytest.fixture(scope="session")
def sim_drive() -> SimDrive:
    return SimDrive()
