"""The stereo rig: two cameras' calibrations (sensor_msgs/CameraInfo's K, D, R, P), and the
rectified pinhole model the front end works in (ROS-free).

Frames. Everything downstream of :meth:`StereoRig.rectify` lives in the **rectified left
camera frame**: optical axes (z forward, x right, y down), the right camera at ``x =
+baseline_m``, both images row-aligned. The rectified frame is the left camera's raw optical
frame (``stereo_left_optical``) rotated by CameraInfo's R: ``p_rect = R p_raw``, so the rectified
frame's pose in the raw one is ``T_raw_rect`` (rotation Rᵀ). For an already rectified pair
(the simulator: D = 0, R = I, P = [K | 0]) the two frames coincide and :meth:`rectify` returns
the images untouched.

Projection (rectified): ``u = fx X / Z + cx``, ``v = fy Y / Z + cy``, ``u_right = u - d`` with
disparity ``d = fx b / Z`` (b = ``baseline_m``), read from the right camera's
``P[0, 3] = -fx b`` as ROS defines it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant")


def _matrix(values, shape: tuple[int, ...], name: str) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.size != int(np.prod(shape)):
        raise ValueError(f"{name} must have {int(np.prod(shape))} numbers, got {a.size}")
    a = a.reshape(shape)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} has a non-finite value")
    return a


@dataclass(frozen=True)
class CameraCalibration:
    """One camera of the pair, as in sensor_msgs/CameraInfo (row-major K 3x3, R 3x3, P 3x4)."""

    width_px: int
    height_px: int
    K: np.ndarray
    D: np.ndarray
    R: np.ndarray
    P: np.ndarray
    distortion_model: str = "plumb_bob"

    @classmethod
    def from_camera_info_fields(cls, width: int, height: int, k, d, r, p,
                                distortion_model: str = "plumb_bob") -> CameraCalibration:
        """From the message's fields (``msg.width, msg.height, msg.k, msg.d, msg.r, msg.p,
        msg.distortion_model``). Raises ``ValueError`` for anything unusable."""
        if int(width) < 1 or int(height) < 1:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        model = distortion_model or "plumb_bob"
        if model not in DISTORTION_MODELS:
            raise ValueError(f"distortion model {model!r} is not supported "
                             f"(one of {', '.join(DISTORTION_MODELS)})")
        K = _matrix(k, (3, 3), "K")
        R = _matrix(r, (3, 3), "R")
        P = _matrix(p, (3, 4), "P")
        D = np.asarray(d, dtype=float).ravel() if len(d) else np.zeros(5)
        if not np.isfinite(D).all():
            raise ValueError("D has a non-finite value")
        if model == "equidistant" and D.size != 4:
            raise ValueError(f"equidistant distortion needs 4 coefficients, got {D.size}")
        if model != "equidistant" and D.size not in (4, 5, 8, 12, 14):
            raise ValueError(f"{model} distortion needs 4, 5, 8, 12 or 14 coefficients, "
                             f"got {D.size}")
        if K[0, 0] <= 0.0 or K[1, 1] <= 0.0 or P[0, 0] <= 0.0 or P[1, 1] <= 0.0:
            raise ValueError("focal lengths in K and P must be positive (uncalibrated camera?)")
        if not (np.allclose(R @ R.T, np.eye(3), atol=1e-6) and np.linalg.det(R) > 0.0):
            raise ValueError("R is not a rotation matrix")
        return cls(int(width), int(height), K, D, R, P, model)

    @property
    def is_rectified(self) -> bool:
        """No distortion, no rectifying rotation, P's intrinsics = K: nothing to remap."""
        return (not np.any(self.D) and np.allclose(self.R, np.eye(3), atol=1e-9)
                and np.allclose(self.P[:, :3], self.K, atol=1e-9))

    def rectification_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """cv2.remap maps from the raw image to the rectified one (fixed point, CV_16SC2)."""
        size = (self.width_px, self.height_px)
        if self.distortion_model == "equidistant":
            return cv2.fisheye.initUndistortRectifyMap(self.K, self.D, self.R, self.P[:, :3],
                                                       size, cv2.CV_16SC2)
        return cv2.initUndistortRectifyMap(self.K, self.D, self.R, self.P[:, :3], size,
                                           cv2.CV_16SC2)


@dataclass
class StereoRig:
    """A calibrated stereo pair and its rectified pinhole model (see the module's notes)."""

    left: CameraCalibration
    right: CameraCalibration
    _maps: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        lc, rc = self.left, self.right
        if (lc.width_px, lc.height_px) != (rc.width_px, rc.height_px):
            raise ValueError(f"left is {lc.width_px}x{lc.height_px}, right "
                             f"{rc.width_px}x{rc.height_px}: a stereo pair needs one size")
        if not np.allclose(lc.P[:, :3], rc.P[:, :3], rtol=1e-6, atol=1e-6):
            raise ValueError("left and right P differ in their intrinsics: not a rectified pair")
        if (abs(lc.P[0, 3]) > 1e-9 * lc.P[0, 0] or abs(lc.P[1, 3]) > 1e-6
                or abs(rc.P[1, 3]) > 1e-6):
            raise ValueError("P[0:2, 3] must be 0 for the left camera and P[1, 3] 0 for both "
                             "(horizontal stereo, left camera as reference)")
        if not self.baseline_m > 0.0:
            raise ValueError(f"right camera P[0, 3] = {rc.P[0, 3]:g} gives baseline "
                             f"{self.baseline_m:g} m; it must be -fx * baseline < 0")

    @classmethod
    def from_camera_info_fields(cls, left: dict, right: dict) -> StereoRig:
        """From two dicts of CameraInfo fields (keys width, height, k, d, r, p and optionally
        distortion_model)."""
        return cls(CameraCalibration.from_camera_info_fields(**left),
                   CameraCalibration.from_camera_info_fields(**right))

    # --- the rectified pinhole model
    @property
    def width_px(self) -> int:
        return self.left.width_px

    @property
    def height_px(self) -> int:
        return self.left.height_px

    @property
    def fx(self) -> float:
        return float(self.left.P[0, 0])

    @property
    def fy(self) -> float:
        return float(self.left.P[1, 1])

    @property
    def cx(self) -> float:
        return float(self.left.P[0, 2])

    @property
    def cy(self) -> float:
        return float(self.left.P[1, 2])

    @property
    def K(self) -> np.ndarray:
        """The rectified intrinsics (3, 3)."""
        return self.left.P[:, :3].copy()

    @property
    def baseline_m(self) -> float:
        return float(-self.right.P[0, 3] / self.right.P[0, 0])

    @property
    def bf(self) -> float:
        """fx times baseline (px m): disparity times depth."""
        return self.fx * self.baseline_m

    @property
    def needs_rectification(self) -> bool:
        return not (self.left.is_rectified and self.right.is_rectified)

    @property
    def T_raw_rect(self) -> np.ndarray:
        """The rectified left frame in the left camera's raw optical frame (4x4)."""
        T = np.eye(4)
        T[:3, :3] = self.left.R.T
        return T

    # --- images
    def rectify(self, left_image: np.ndarray, right_image: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Row-aligned, undistorted mono8 images (the inputs themselves if already so)."""
        size = (self.height_px, self.width_px)
        for name, img in (("left", left_image), ("right", right_image)):
            if img.ndim != 2 or img.dtype != np.uint8:
                raise ValueError(f"{name} image must be mono8 (H, W) uint8, got "
                                 f"{img.dtype} {img.shape}")
            if img.shape != size:
                raise ValueError(f"{name} image is {img.shape[1]}x{img.shape[0]}, the "
                                 f"calibration says {size[1]}x{size[0]}")
        if not self.needs_rectification:
            return left_image, right_image
        if not self._maps:
            self._maps["left"] = self.left.rectification_maps()
            self._maps["right"] = self.right.rectification_maps()
        out = []
        for side, img in (("left", left_image), ("right", right_image)):
            m1, m2 = self._maps[side]
            out.append(cv2.remap(img, m1, m2, cv2.INTER_LINEAR))
        return out[0], out[1]

    # --- geometry
    def project(self, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, u_right) pixels (N,) of points (N, 3) in the rectified left frame."""
        p = np.atleast_2d(np.asarray(points_cam, dtype=float))
        z = p[:, 2]
        u = self.fx * p[:, 0] / z + self.cx
        v = self.fy * p[:, 1] / z + self.cy
        return u, v, u - self.bf / z

    def depth_from_disparity(self, disparity_px: np.ndarray) -> np.ndarray:
        """Depth Z (m) along the optical axis; NaN where the disparity is not positive."""
        d = np.asarray(disparity_px, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > 0.0, self.bf / d, np.nan)

    def back_project(self, u_px: np.ndarray, v_px: np.ndarray, depth_m: np.ndarray
                     ) -> np.ndarray:
        """Points (N, 3) in the rectified left frame from pixels and depth (NaN stays NaN)."""
        z = np.asarray(depth_m, dtype=float)
        x = (np.asarray(u_px, dtype=float) - self.cx) * z / self.fx
        y = (np.asarray(v_px, dtype=float) - self.cy) * z / self.fy
        return np.column_stack([x, y, z])


def rectified_camera_info_fields(K: np.ndarray, width_px: int, height_px: int,
                                 baseline_m: float) -> tuple[dict, dict]:
    """CameraInfo fields (left, right) of an ideal rectified pair sharing ``K``."""
    P_left = np.zeros((3, 4))
    P_left[:, :3] = K
    P_right = P_left.copy()
    P_right[0, 3] = -K[0, 0] * baseline_m
    common = {"width": width_px, "height": height_px, "k": np.ravel(K), "d": np.zeros(5),
              "r": np.eye(3).ravel()}
    return dict(common, p=P_left.ravel()), dict(common, p=P_right.ravel())


def mount_from_urdf(urdf_xml: str, frame: str, base_frame: str = "base_link") -> np.ndarray:
    """``T_base_frame`` (4x4): the pose of a fixed-mounted ``frame`` (e.g.
    ``stereo_left_optical``) in ``base_frame``, composed along the URDF's fixed joints.
    Raises ``ValueError`` when the chain is missing or has a moving joint."""
    from hearth_description.robot_model import joint_transform, parse_urdf
    from hearth_slam import se3

    by_child = {j.child: j for j in parse_urdf(urdf_xml)}
    T = np.eye(4)
    child = frame
    while child != base_frame:
        joint = by_child.get(child)
        if joint is None:
            raise ValueError(f"URDF: no joint chain from '{base_frame}' to '{frame}'")
        if joint.type != "fixed":
            raise ValueError(f"URDF: joint '{joint.name}' between '{base_frame}' and "
                             f"'{frame}' is {joint.type}, not fixed")
        ft = joint_transform(joint)
        T = se3.from_quaternion(ft.rotation_xyzw, ft.translation_m) @ T
        child = joint.parent
    return T
