"""Synthetic ToF depth frames by ray casting a small scene (ROS-free, numpy): for the tests,
the benchmark and experiments in a notebook.

The scene is the floor (z = 0), boxes (a centre, a size and a yaw) and vertical cylinders,
in a world frame; the robot's own chassis (a vertical cylinder around base_link, what the
ToF's lowest rows see on the real robot) moves with it. Each pixel's depth is where its ray
first meets a surface, as the distance along the optical axis (what the ToF reports), NaN
outside the sensor's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hearth_safety.depth_projection import Mounting, PinholeCamera


@dataclass(frozen=True)
class Box:
    center_m: tuple[float, float, float]  # x, y, z of its centre in the world
    size_m: tuple[float, float, float]  # extent along its own x, y, z
    yaw_rad: float = 0.0


@dataclass(frozen=True)
class Cylinder:
    """A vertical cylinder standing on the floor (a person, a table leg)."""

    center_xy_m: tuple[float, float]
    radius_m: float
    height_m: float
    bottom_m: float = 0.0


@dataclass(frozen=True)
class Scene:
    boxes: tuple[Box, ...] = ()
    cylinders: tuple[Cylinder, ...] = ()
    floor: bool = True


@dataclass(frozen=True)
class Chassis:
    """The robot's body as the ToF sees it: a cylinder around base_link."""

    radius_m: float = 0.175
    bottom_m: float = 0.02
    top_m: float = 0.10


def tof_camera(width_px: int = 160, height_px: int = 120, hfov_rad: float = 1.571) -> PinholeCamera:
    """Square pixels, principal point at the image centre (the simulator's convention)."""
    f = width_px / (2.0 * math.tan(0.5 * hfov_rad))
    return PinholeCamera(width_px, height_px, f, f, (width_px - 1) / 2.0, (height_px - 1) / 2.0)


@dataclass
class DepthRenderer:
    camera: PinholeCamera
    mounting: Mounting
    min_range_m: float = 0.1
    max_range_m: float = 4.0
    chassis: Chassis | None = field(default_factory=Chassis)

    def __post_init__(self) -> None:
        c = self.camera
        v, u = np.mgrid[0:c.height_px, 0:c.width_px]
        rays = np.stack([(u - c.cx) / c.fx, (v - c.cy) / c.fy, np.ones(u.shape)], axis=-1)
        self._rays_base = (rays.reshape(-1, 3) @ self.mounting.rotation.T)  # optical z = 1

    def render(self, scene: Scene, pose_world_base: tuple[float, float, float] = (0.0, 0.0, 0.0)
               ) -> np.ndarray:
        """The depth image (H, W) float32 metres seen from base_link at the pose."""
        x0, y0, yaw = pose_world_base
        cy, sy = math.cos(yaw), math.sin(yaw)
        rot = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        d = self._rays_base @ rot.T
        o = np.array([x0, y0, 0.0]) + rot @ self.mounting.translation_m
        t = np.full(len(d), np.inf)
        if scene.floor:
            with np.errstate(divide="ignore", invalid="ignore"):
                tf = -o[2] / d[:, 2]
            t = np.where((d[:, 2] < 0.0) & (tf > 0.0), np.minimum(t, tf), t)
        for box in scene.boxes:
            t = np.minimum(t, _box_hits(o, d, box))
        cyls = list(scene.cylinders)
        if self.chassis is not None:
            cyls.append(Cylinder((x0, y0), self.chassis.radius_m,
                                 self.chassis.top_m - self.chassis.bottom_m, self.chassis.bottom_m))
        for cyl in cyls:
            t = np.minimum(t, _cylinder_hits(o, d, cyl))
        t[(t < self.min_range_m) | (t > self.max_range_m)] = np.nan
        return t.reshape(self.camera.height_px, self.camera.width_px).astype(np.float32)


def _box_hits(o: np.ndarray, d: np.ndarray, box: Box) -> np.ndarray:
    """Ray parameter of the first hit on a (yawed) box, inf where none (slab method)."""
    c, s = math.cos(box.yaw_rad), math.sin(box.yaw_rad)
    rel = o - np.asarray(box.center_m)
    ol = np.array([c * rel[0] + s * rel[1], -s * rel[0] + c * rel[1], rel[2]])
    dl = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]])
    half = 0.5 * np.asarray(box.size_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - ol) / dl
        t2 = (half - ol) / dl
    lo = np.nanmax(np.minimum(t1, t2), axis=1)
    hi = np.nanmin(np.maximum(t1, t2), axis=1)
    hit = (lo <= hi) & (hi > 0.0)
    return np.where(hit, np.where(lo > 0.0, lo, hi), np.inf)


def _cylinder_hits(o: np.ndarray, d: np.ndarray, cyl: Cylinder) -> np.ndarray:
    """Ray parameter of the first hit on a vertical cylinder (side and top), inf where none."""
    px, py = o[0] - cyl.center_xy_m[0], o[1] - cyl.center_xy_m[1]
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = 2.0 * (px * d[:, 0] + py * d[:, 1])
    cc = px * px + py * py - cyl.radius_m ** 2
    disc = b * b - 4.0 * a * cc
    out = np.full(len(d), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(np.maximum(disc, 0.0))
        for t in ((-b - root) / (2.0 * a), (-b + root) / (2.0 * a)):
            z = o[2] + t * d[:, 2]
            ok = (disc >= 0.0) & (a > 0.0) & (t > 0.0) & (z >= cyl.bottom_m) & \
                (z <= cyl.bottom_m + cyl.height_m)
            out = np.where(ok, np.minimum(out, t), out)
        top = cyl.bottom_m + cyl.height_m
        tt = (top - o[2]) / d[:, 2]
        xt, yt = px + tt * d[:, 0], py + tt * d[:, 1]
        ok = (tt > 0.0) & (xt * xt + yt * yt <= cyl.radius_m ** 2)
    return np.where(ok, np.minimum(out, tt), out)
