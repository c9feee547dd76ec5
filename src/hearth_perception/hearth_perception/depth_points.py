"""Depth images to 3-D points (ROS-free).

A ToF depth image (``32FC1`` metres, or ``16UC1`` millimetres) holds, per pixel, the depth
along the optical axis (REP-118): the point of pixel (u, v) with depth d is, in the camera's
optical frame (z forward, x right, y down),

    p = d * ((u - cx) / fx, (v - cy) / fy, 1).

:class:`DepthProjector` precomputes those rays for the intrinsics ``K`` (camera_info's K) and
an optional pixel stride, then maps a depth image to points in any frame given the 4x4
transform ``T_target_camera``. Pixels that are NaN, infinite, zero/negative or outside
[``min_range_m``, ``max_range_m``] give no point.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

ENCODINGS = ("32FC1", "16UC1")


def intrinsics_from_k(k: Sequence[float]) -> np.ndarray:
    """The 3x3 ``K`` from camera_info's row-major ``k`` (9 numbers).

    Raises ValueError unless fx, fy > 0 and every entry is finite.
    """
    K = np.asarray(k, dtype=float)
    if K.size != 9:
        raise ValueError(f"K must have 9 entries, got {K.size}")
    K = K.reshape(3, 3)
    if not np.all(np.isfinite(K)) or K[0, 0] <= 0.0 or K[1, 1] <= 0.0:
        raise ValueError(f"K must be finite with fx, fy > 0, got {K.ravel().tolist()}")
    return K


def decode_depth_image(
    data: bytes | bytearray | memoryview | np.ndarray,
    height: int,
    width: int,
    step: int,
    encoding: str,
    is_bigendian: bool = sys.byteorder == "big",
) -> np.ndarray:
    """The depth in metres, (height, width) float32, from a sensor_msgs/Image's fields.

    ``32FC1`` is metres (NaN where no return); ``16UC1`` millimetres (0 where no return,
    becomes NaN). Raises ValueError for another encoding or a buffer of the wrong size.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"depth encoding {encoding!r} not supported (one of {ENCODINGS})")
    itemsize = 4 if encoding == "32FC1" else 2
    if height <= 0 or width <= 0 or step < width * itemsize:
        raise ValueError(f"bad image geometry {width}x{height}, step {step}")
    buf = np.frombuffer(bytes(data) if not isinstance(data, np.ndarray) else data.tobytes(),
                        dtype=np.uint8)
    if buf.size < step * height:
        raise ValueError(f"image data holds {buf.size} bytes, expected {step * height}")
    rows = buf[: step * height].reshape(height, step)[:, : width * itemsize]
    order = ">" if is_bigendian else "<"
    kind = f"{order}f4" if encoding == "32FC1" else f"{order}u2"
    img = np.ascontiguousarray(rows).view(kind).reshape(height, width)
    if encoding == "32FC1":
        return img.astype(np.float32)
    out = img.astype(np.float32) * np.float32(0.001)
    out[img == 0] = np.nan
    return out


def transform_matrix(
    xyz: Sequence[float], quat_xyzw: Sequence[float]
) -> np.ndarray:
    """The 4x4 homogeneous transform of a translation and a unit quaternion (x, y, z, w)."""
    x, y, z, w = (float(v) for v in quat_xyzw)
    norm = math.sqrt(x * x + y * y + z * z + w * w)
    if not (math.isfinite(norm) and norm > 1e-9) or not all(math.isfinite(v) for v in xyz):
        raise ValueError(f"bad transform {xyz}, {quat_xyzw}")
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    T = np.eye(4)
    T[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    T[:3, 3] = [float(v) for v in xyz]
    return T


class DepthProjector:
    """Depth image -> points, for one camera's intrinsics and image size.

    ``stride_px`` keeps every n-th pixel in each direction (2: a quarter of the points).
    """

    def __init__(
        self,
        K: np.ndarray,
        width_px: int,
        height_px: int,
        *,
        stride_px: int = 1,
        min_range_m: float = 0.0,
        max_range_m: float = math.inf,
    ) -> None:
        K = intrinsics_from_k(np.asarray(K, dtype=float).ravel())
        if width_px <= 0 or height_px <= 0 or stride_px < 1:
            raise ValueError(f"bad size {width_px}x{height_px} or stride {stride_px}")
        if not (0.0 <= min_range_m < max_range_m):
            raise ValueError(f"need 0 <= min_range_m < max_range_m, got {min_range_m}, "
                             f"{max_range_m}")
        self.K = K
        self.width_px, self.height_px, self.stride_px = int(width_px), int(height_px), stride_px
        self.min_range_m, self.max_range_m = float(min_range_m), float(max_range_m)
        fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        u = np.arange(0, width_px, stride_px, dtype=float)
        v = np.arange(0, height_px, stride_px, dtype=float)
        uu, vv = np.meshgrid(u, v)
        # rays (pixels, 3) in the optical frame, scaled so that their z is 1
        self.rays = np.column_stack([((uu - cx) / fx).ravel(), ((vv - cy) / fy).ravel(),
                                     np.ones(uu.size)])
        # the pixels of the image's left and right border columns (a body cut by the edge of
        # the view shows there)
        last = (width_px - 1) // stride_px * stride_px
        self.on_side_border = ((uu == 0) | (uu == last)).ravel()
        #: horizontal half field of view (rad), from the intrinsics
        self.half_fov_rad = float(max(math.atan(cx / fx), math.atan((width_px - cx) / fx)))

    def _depths(self, depth_m: np.ndarray) -> np.ndarray:
        d = np.asarray(depth_m)
        if d.shape != (self.height_px, self.width_px):
            raise ValueError(f"depth image is {d.shape[::-1] if d.ndim == 2 else d.shape}, "
                             f"the intrinsics are for {self.width_px}x{self.height_px}")
        s = self.stride_px
        return d[::s, ::s].ravel().astype(float)

    def _valid(self, depth_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self._depths(depth_m)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(d) & (d > 0.0) & (d >= self.min_range_m) & (d <= self.max_range_m)
        return d, ok

    def points_camera(self, depth_m: np.ndarray) -> np.ndarray:
        """Points (N, 3) in the optical frame (m) of the valid pixels."""
        d, ok = self._valid(depth_m)
        return self.rays[ok] * d[ok, None]

    def side_border(self, depth_m: np.ndarray) -> np.ndarray:
        """(N,) for the points of :meth:`points_camera` (same order): whether the point comes
        from the image's leftmost or rightmost (sampled) column."""
        return self.on_side_border[self._valid(depth_m)[1]]

    def points_in(self, depth_m: np.ndarray, T_target_camera: np.ndarray) -> np.ndarray:
        """Points (N, 3) in the target frame: ``T_target_camera`` (4, 4) maps optical-frame
        coordinates into it."""
        T = np.asarray(T_target_camera, dtype=float)
        if T.shape != (4, 4) or not np.all(np.isfinite(T)):
            raise ValueError("T_target_camera must be a finite 4x4 matrix")
        p = self.points_camera(depth_m)
        return p @ T[:3, :3].T + T[:3, 3]
