"""Depth image -> 3D points in base_link, and base_link points -> pixels (ROS-free, numpy).

The ToF's image is 32FC1 metres *along the optical axis* (the z of the optical frame, x
right, y down), not the range along the ray. A pixel (u, v) with depth d is the point
``d * (K^-1 [u, v, 1])`` in the optical frame, so with the ray ``r_uv = K^-1 [u, v, 1]``
turned into base_link once at start (``R_base_optical @ r_uv``) a frame costs one
multiply-add per pixel and coordinate: ``p_base = t_base_optical + d * r_base_uv``.
Distortion is not modelled (the simulated ToF has none; a real one is undistorted upstream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics of a depth image (pixels): what /tof/camera_info's K, width and height say."""

    width_px: int
    height_px: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if self.width_px < 1 or self.height_px < 1:
            raise ValueError(f"image size must be positive, got {self.width_px}x{self.height_px}")
        for name in ("fx", "fy", "cx", "cy"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"camera {name} must be finite, got {getattr(self, name)!r}")
        if self.fx <= 0.0 or self.fy <= 0.0:
            raise ValueError(f"camera focal lengths must be > 0, got fx={self.fx}, fy={self.fy}")

    @classmethod
    def from_k(cls, width_px: int, height_px: int, k: list[float] | np.ndarray) -> PinholeCamera:
        """From a row-major 3x3 camera matrix (CameraInfo.k). Raises ValueError if invalid."""
        k = np.asarray(k, dtype=float).reshape(-1)
        if k.size != 9:
            raise ValueError(f"camera matrix needs 9 values, got {k.size}")
        return cls(int(width_px), int(height_px), float(k[0]), float(k[4]), float(k[2]),
                   float(k[5]))


@dataclass(frozen=True)
class Mounting:
    """The optical frame's pose in base_link: ``p_base = rotation @ p_optical + translation``."""

    rotation: np.ndarray  # (3, 3) R_base_optical
    translation_m: np.ndarray  # (3,) t_base_optical

    def __post_init__(self) -> None:
        r = np.asarray(self.rotation, dtype=float)
        t = np.asarray(self.translation_m, dtype=float)
        if r.shape != (3, 3) or t.shape != (3,) or not (np.all(np.isfinite(r))
                                                        and np.all(np.isfinite(t))):
            raise ValueError("mounting needs a finite 3x3 rotation and a 3-vector")
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-6):
            raise ValueError("mounting rotation is not orthonormal")
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation_m", t)


class DepthProjector:
    """Precomputed rays of a camera at its mounting; every ``stride``-th pixel is used."""

    def __init__(self, camera: PinholeCamera, mounting: Mounting, min_range_m: float,
                 max_range_m: float, stride: int = 1) -> None:
        self.camera = camera
        self.mounting = mounting
        self.min_range_m = float(min_range_m)
        self.max_range_m = float(max_range_m)
        self.stride = int(stride)
        v, u = np.mgrid[0:camera.height_px, 0:camera.width_px]
        rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy,
                         np.ones(u.shape)], axis=-1)  # optical frame, z = 1
        rays_base = rays @ mounting.rotation.T
        st = rays_base[::self.stride, ::self.stride]
        # One contiguous float32 plane per coordinate: the per-frame work is elementwise.
        self._ray_x = np.ascontiguousarray(st[..., 0], dtype=np.float32)
        self._ray_y = np.ascontiguousarray(st[..., 1], dtype=np.float32)
        self._ray_z = np.ascontiguousarray(st[..., 2], dtype=np.float32)
        self._origin = mounting.translation_m.astype(np.float32)
        self._r_opt_base = mounting.rotation.T  # base -> optical
        self._t = mounting.translation_m
        # Where each ray would meet the floor (z = 0 in base_link), as optical depth: a pixel
        # with no return whose floor lies beyond the sensor's range saw nothing in range.
        with np.errstate(divide="ignore", invalid="ignore"):
            floor = np.where(rays_base[..., 2] < 0.0,
                             -mounting.translation_m[2] / rays_base[..., 2], np.inf)
        self._open_sky = floor > self.max_range_m

    @property
    def shape(self) -> tuple[int, int]:
        return self.camera.height_px, self.camera.width_px

    def points_base(self, depth_m: np.ndarray) -> np.ndarray:
        """The points (N, 3) float32 in base_link of the valid pixels: finite, within the
        sensor's range. NaN and out-of-range pixels are dropped."""
        d = depth_m[::self.stride, ::self.stride] if self.stride > 1 else depth_m
        # NaN compares false: it fails both bounds and is dropped here.
        valid = (d >= self.min_range_m) & (d <= self.max_range_m)
        dv = d[valid]
        ox, oy, oz = self._origin
        out = np.empty((dv.size, 3), dtype=np.float32)
        np.multiply(self._ray_x[valid], dv, out=out[:, 0])
        np.multiply(self._ray_y[valid], dv, out=out[:, 1])
        np.multiply(self._ray_z[valid], dv, out=out[:, 2])
        out += (ox, oy, oz)
        return out

    def depth_behind(self, points_base: np.ndarray, depth_m: np.ndarray,
                     tolerance_m: float) -> np.ndarray:
        """For points (M, 3) in base_link: True where the image sees up to or past the point
        (its pixel's depth is at least the point's depth minus ``tolerance_m``), i.e. where
        the frame would show an obstacle there or the space there is free. False where the
        point is outside the image, behind the camera, hidden behind something nearer (the
        chassis), or its pixel has no return (NaN) although the floor along that ray lies
        within the sensor's range (a dropout proves nothing). A NaN pixel whose ray would
        meet the floor only beyond the range saw nothing in range: free."""
        m = len(points_base)
        out = np.zeros(m, dtype=bool)
        if m == 0:
            return out
        p = (points_base - self._t) @ self._r_opt_base.T  # optical frame
        z = p[:, 2]
        front = z > 1e-3
        cam = self.camera
        u = np.full(m, -1, dtype=np.int64)
        v = np.full(m, -1, dtype=np.int64)
        u[front] = np.rint(cam.fx * p[front, 0] / z[front] + cam.cx)
        v[front] = np.rint(cam.fy * p[front, 1] / z[front] + cam.cy)
        inside = front & (u >= 0) & (u < cam.width_px) & (v >= 0) & (v < cam.height_px)
        d = depth_m[v[inside], u[inside]]
        ok = (d >= self.min_range_m) & (d <= self.max_range_m)
        seen = (ok & (d >= z[inside] - tolerance_m)) | (d > self.max_range_m)
        # NaN where even the floor along the ray is out of range: nothing was in range.
        seen |= np.isnan(d) & self._open_sky[v[inside], u[inside]]
        out[inside] = seen
        return out
