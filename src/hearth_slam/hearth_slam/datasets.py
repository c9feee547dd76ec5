"""Readers for the real image data in ``<workspace>/../shared/data/`` (see its README.md).

- EuRoC V1_01 micro (``euroc-v1_01-micro-stereo-imu-gt``): 95 raw stereo pairs 752x480 at
  20 Hz, the rig at rest. ``mav0/cam{0,1}/sensor.yaml`` give each camera's pinhole
  intrinsics, radial-tangential distortion and pose ``T_BS`` in the body frame. The pair is
  not rectified: :func:`euroc_stereo` rectifies it with ``cv2.stereoRectify`` (zero
  disparity at infinity, only valid pixels) and returns the two cameras as CameraInfo fields
  (raw K, D; rectifying R; rectified P), which is what a ROS stereo driver publishes.
- TUM RGB-D fr3 long office (``tum-rgbd-fr3-long-office-sparse-gt``): 20 colour frames about
  1 s apart, fr3 intrinsics (no distortion), and mocap ground truth (``timestamp tx ty tz qx
  qy qz qw``, the camera's pose in the world). No depth images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from hearth_slam import se3

EUROC = "euroc-v1_01-micro-stereo-imu-gt"
TUM_OFFICE = "tum-rgbd-fr3-long-office-sparse-gt"


def shared_data_dir(start: Path | None = None) -> Path:
    """``../shared/data`` beside the workspace that holds this package (or ``start``)."""
    here = Path(start) if start is not None else Path(__file__).resolve()
    for parent in [here, *here.parents]:
        candidate = parent.parent / "shared" / "data"
        if (parent / "src").is_dir() and candidate.is_dir():
            return candidate
    return Path("/work/shared/data")  # the project machine's layout


# ------------------------------------------------------------------------------ EuRoC


@dataclass(frozen=True)
class EurocStereo:
    left_info: dict  # CameraInfo fields: width, height, k, d, r, p, distortion_model
    right_info: dict
    T_body_cam0: np.ndarray  # raw cam0 optical frame in the MAV body frame
    t_ns: np.ndarray  # (N,) stamps of the pairs present in both cameras
    left_paths: list[Path]
    right_paths: list[Path]

    def images(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Pair ``k`` as mono8 arrays."""
        left = cv2.imread(str(self.left_paths[k]), cv2.IMREAD_GRAYSCALE)
        right = cv2.imread(str(self.right_paths[k]), cv2.IMREAD_GRAYSCALE)
        if left is None or right is None:
            raise OSError(f"cannot read stereo pair {k}: {self.left_paths[k]}")
        return left, right


def _read_euroc_sensor(path: Path) -> dict:
    text = "\n".join(line for line in path.read_text().splitlines()
                     if not line.startswith("%"))  # OpenCV's "%YAML:1.0" directive
    data = yaml.safe_load(text)
    if data.get("camera_model") != "pinhole" or data.get("distortion_model") != \
            "radial-tangential":
        raise ValueError(f"{path}: expected a pinhole radial-tangential camera")
    fu, fv, cu, cv = (float(v) for v in data["intrinsics"])
    return {
        "K": np.array([[fu, 0.0, cu], [0.0, fv, cv], [0.0, 0.0, 1.0]]),
        "D": np.array(data["distortion_coefficients"], dtype=float),
        "T_BS": np.array(data["T_BS"]["data"], dtype=float).reshape(4, 4),
        "size": tuple(int(v) for v in data["resolution"]),
    }


def _euroc_stamps(csv: Path) -> dict[int, Path]:
    out = {}
    for line in csv.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        stamp, name = line.split(",")
        path = csv.parent / "data" / name.strip()
        if path.is_file():
            out[int(stamp)] = path
    return out


def euroc_stereo(root: Path) -> EurocStereo:
    """The rectified calibration and the image pairs of the EuRoC folder ``root``."""
    mav = Path(root) / "mav0"
    c0 = _read_euroc_sensor(mav / "cam0" / "sensor.yaml")
    c1 = _read_euroc_sensor(mav / "cam1" / "sensor.yaml")
    T_c1_c0 = se3.inverse(c1["T_BS"]) @ c0["T_BS"]
    size = c0["size"]
    R1, R2, P1, P2, *_ = cv2.stereoRectify(
        c0["K"], c0["D"], c1["K"], c1["D"], size, T_c1_c0[:3, :3], T_c1_c0[:3, 3:].copy(),
        flags=cv2.CALIB_ZERO_DISPARITY, alpha=0.0)
    left, right = ({"width": size[0], "height": size[1], "k": c["K"].ravel(), "d": c["D"],
                    "r": R.ravel(), "p": P.ravel(), "distortion_model": "plumb_bob"}
                   for c, R, P in ((c0, R1, P1), (c1, R2, P2)))
    s0, s1 = _euroc_stamps(mav / "cam0" / "data.csv"), _euroc_stamps(mav / "cam1" / "data.csv")
    stamps = sorted(set(s0) & set(s1))
    return EurocStereo(left, right, c0["T_BS"], np.array(stamps, dtype=np.int64),
                       [s0[t] for t in stamps], [s1[t] for t in stamps])


# ------------------------------------------------------------------------------ TUM


@dataclass(frozen=True)
class TumSequence:
    K: np.ndarray  # (3, 3), no distortion
    t_s: np.ndarray  # (N,) frame stamps
    image_paths: list[Path]
    gt_t_s: np.ndarray  # (M,)
    gt_poses_world_cam: np.ndarray  # (M, 4, 4)

    def image(self, k: int) -> np.ndarray:
        """Frame ``k`` as mono8."""
        img = cv2.imread(str(self.image_paths[k]), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise OSError(f"cannot read {self.image_paths[k]}")
        return img

    def pose_at(self, t_s: float, max_gap_s: float = 0.02) -> np.ndarray | None:
        """Ground-truth camera pose nearest ``t_s`` (None if none within ``max_gap_s``)."""
        k = int(np.argmin(np.abs(self.gt_t_s - t_s)))
        return self.gt_poses_world_cam[k] if abs(self.gt_t_s[k] - t_s) <= max_gap_s else None


def tum_office(root: Path) -> TumSequence:
    root = Path(root)
    calib = yaml.safe_load("\n".join(
        line for line in (root / "TUM3_calibration_pyslam.yaml").read_text().splitlines()
        if not line.startswith("%")))
    K = np.array([[calib["Camera.fx"], 0.0, calib["Camera.cx"]],
                  [0.0, calib["Camera.fy"], calib["Camera.cy"]], [0.0, 0.0, 1.0]])
    paths = sorted((root / "rgb").glob("*.png"), key=lambda p: float(p.stem))
    gt = np.loadtxt(root / "groundtruth.txt", comments="#")
    poses = np.stack([se3.from_quaternion(row[4:8], row[1:4]) for row in gt])
    return TumSequence(K, np.array([float(p.stem) for p in paths]), paths, gt[:, 0], poses)
