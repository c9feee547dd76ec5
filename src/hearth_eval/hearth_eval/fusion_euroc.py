"""The EKF on the real EuRoC V1_01 IMU stream, at rest (ROS-free).

Data: ``<workspace>/../shared/data/euroc-v1_01-micro-stereo-imu-gt/`` (see its ORIGIN.txt).

- IMU: ``mav0/imu0/data.csv``: ADIS16448 at 200 Hz, columns ``timestamp [ns], w_RS_S_x,
  w_RS_S_y, w_RS_S_z [rad/s], a_RS_S_x, a_RS_S_y, a_RS_S_z [m/s²]`` in the sensor frame S
  (``mav0/imu0/sensor.yaml``: T_BS = identity, so S is the MAV's body frame B).
- Ground-truth biases: ``groundtruth/V1_01_easy_vicon2gt_openvins.csv`` (OpenVINS' vicon2gt
  re-estimate, at the camera stamps), the only file with bias columns: ``time(ns), px, py,
  pz, qw, qx, qy, qz, vx, vy, vz, bwx, bwy, bwz, bax, bay, baz`` in the IMU frame. (The other
  ground-truth files are poses only.)
- The window: the rig stands on the floor before take-off over the imaged window (the 95
  stereo pairs of ``mav0/cam0/data.csv``, 4.7 s; ground-truth motion ~2 mm).

Axes. The EKF's gyro state is the rate about base_link's z, which points up. The ADIS's axes
are not base_link's: at rest the accelerometer reads (9.09, 0.13, -3.69) m/s², so the sensor's
+x is roughly up (the MAV stands tilted ~22°). We take the vertical from the data: the unit
vector ``u`` of the mean specific force over the window (gravity's reaction points up), and
rotate each sample by the smallest rotation R with ``R u = +z``: the EKF then sees a level
robot, and its bias is the bias about the true vertical. The ground truth's bias about that
axis is ``u · (bwx, bwy, bwz)`` (averaged over the window); we report ``bwx`` (the nearest
sensor axis) too.

The robot's EKF also wants wheels: a rig at rest is a robot whose encoders do not move, so
encoder samples at 50 Hz with constant positions are fed on the IMU's clock (a zero-velocity
measurement; the EKF cannot tell wheels that stand still from a robot that does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path("..") / "shared" / "data" / "euroc-v1_01-micro-stereo-imu-gt"
BIAS_FILE = Path("groundtruth") / "V1_01_easy_vicon2gt_openvins.csv"


def euroc_dir(workspace: Path) -> Path:
    return (workspace / DATA_DIR).resolve()


@dataclass(frozen=True)
class ImuStream:
    t_ns: np.ndarray  # (N,) int64
    gyro_radps: np.ndarray  # (N, 3) sensor frame
    accel_mps2: np.ndarray  # (N, 3) sensor frame


def read_imu_csv(path: str | Path) -> ImuStream:
    """EuRoC ``imu0/data.csv`` (the header line starts with '#')."""
    raw = np.loadtxt(path, delimiter=",", comments="#", dtype=np.float64)
    t = np.loadtxt(path, delimiter=",", comments="#", usecols=0, dtype=np.int64)
    if raw.ndim != 2 or raw.shape[1] != 7:
        raise ValueError(f"{path}: expected 7 columns, got {raw.shape}")
    return ImuStream(t, raw[:, 1:4], raw[:, 4:7])


def read_bias_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """OpenVINS vicon2gt csv: (t_ns, gyro bias (N, 3) rad/s)."""
    raw = np.loadtxt(path, delimiter=",", comments="#", dtype=np.float64)
    t = np.loadtxt(path, delimiter=",", comments="#", usecols=0, dtype=np.int64)
    if raw.ndim != 2 or raw.shape[1] != 17:
        raise ValueError(f"{path}: expected 17 columns, got {raw.shape}")
    return t, raw[:, 11:14]


def imaged_window(folder: Path) -> tuple[int, int]:
    """First and last stamp of the stereo images (the rig is at rest over them)."""
    t = np.loadtxt(folder / "mav0" / "cam0" / "data.csv", delimiter=",", comments="#",
                   usecols=0, dtype=np.int64)
    return int(t[0]), int(t[-1])


def level_rotation(up: np.ndarray) -> np.ndarray:
    """The smallest rotation taking the unit vector ``up`` to +z."""
    u = np.asarray(up, float) / np.linalg.norm(up)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(u, z)
    s, c = np.linalg.norm(v), float(u @ z)
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = v / s
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    ang = math.atan2(s, c)
    return np.eye(3) + math.sin(ang) * K + (1 - math.cos(ang)) * K @ K


def run_euroc(workspace: Path, make_ekf, wheel_rate_hz: float = 50.0) -> dict:
    """Feed the at-rest window to a fresh EKF; the bias it converges to vs the truth.

    ``make_ekf()`` returns an object with ``add_imu``, ``add_wheels``, ``state()``.
    Returns a dict of figures, or ``{"skipped": why}`` when the data is absent.
    """
    folder = euroc_dir(workspace)
    imu_file = folder / "mav0" / "imu0" / "data.csv"
    if not imu_file.is_file() or not (folder / BIAS_FILE).is_file():
        return {"skipped": f"{folder} absent"}
    imu = read_imu_csv(imu_file)
    t0, t1 = imaged_window(folder)
    sel = (imu.t_ns >= t0) & (imu.t_ns <= t1)
    t, gyro, accel = imu.t_ns[sel], imu.gyro_radps[sel], imu.accel_mps2[sel]
    up = accel.mean(axis=0)
    u = up / np.linalg.norm(up)
    R = level_rotation(u)
    tb, bw = read_bias_csv(folder / BIAS_FILE)
    bsel = (tb >= t0) & (tb <= t1)
    bias_true = bw[bsel].mean(axis=0)
    true_vertical = float(u @ bias_true)

    ekf = make_ekf()
    period = round(1e9 / wheel_rate_hz)
    next_wheel = int(t[0])
    history = []
    rejected = 0
    for k in range(len(t)):
        tk = int(t[k])
        while next_wheel <= tk:
            if ekf.add_wheels(next_wheel, 0.0, 0.0) is not None:
                rejected += 1
            next_wheel += period
        if ekf.add_imu(tk, R @ accel[k], R @ gyro[k]) is not None:
            rejected += 1
        if k % 20 == 0:
            st = ekf.state()
            history.append((st.t_ns, st.gyro_bias_radps))
    if hasattr(ekf, "flush"):
        ekf.flush()
    st = ekf.state()
    est = float(st.gyro_bias_radps)
    # when it settled within 0.1 mrad/s of its final value for good
    settle = None
    for tk, b in reversed(history):
        if abs(b - est) > 1e-4:
            break
        settle = (tk - int(t[0])) / 1e9
    sigma = float(np.sqrt(st.covariance[5, 5])) if np.shape(st.covariance) == (6, 6) else None
    return {
        "window_s": round((t1 - t0) / 1e9, 3),
        "samples": len(t),
        "vertical_in_imu_frame": [round(float(v), 4) for v in u],
        "tilt_from_imu_x_deg": round(math.degrees(math.acos(min(1.0, abs(u[0])))), 2),
        "bias_file": str(BIAS_FILE),
        "true_gyro_bias_imu_radps": [round(float(v), 6) for v in bias_true],
        "true_gyro_bias_vertical_radps": round(true_vertical, 6),
        "ekf_gyro_bias_radps": round(est, 6),
        "ekf_bias_sigma_radps": None if sigma is None else round(sigma, 6),
        "error_radps": round(est - true_vertical, 6),
        "error_vs_bwx_radps": round(est - float(bias_true[0]), 6),
        "mean_vertical_gyro_radps": round(float((gyro @ u).mean()), 6),
        "settled_after_s": None if settle is None else round(settle, 2),
        "rejected": rejected,
    }
