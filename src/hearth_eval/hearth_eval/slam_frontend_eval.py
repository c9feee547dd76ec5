"""``./hearth eval slam_frontend``: the V-SLAM front end (stereo visual odometry) against
ground truth, on real images and on the simulator.

1. **EuRoC V1_01 at rest** (``../shared/data/euroc-v1_01-micro-stereo-imu-gt``, 95 raw stereo
   pairs 752x480, rectified by the front end): the estimated camera motion over the 4.7 s
   (final and largest; goal < 5 mm and < 0.2 deg). For reference, what the images
   themselves say: the vertical shift of the rectified left image between the first and the
   last pair (phase correlation), as a pitch angle; the rig is not perfectly still. And the
   twist covariance's honesty: the mean NEES of the reported twist against zero motion
   (6 when the covariance is right).
2. **TUM fr3 office** (20 colour frames ~1 s apart, mocap ground truth, no depth): every
   pair with enough overlap for ORB (ground-truth rotation <= 30 deg and baseline <= 1 m)
   gets an essential-matrix estimate from the front end's features
   (``hearth_slam.two_view``); the relative rotation error's median and 90th percentile,
   the translation direction's median error, and how many pairs succeed.
3. **Simulated drive** (MuJoCo, the apartment, 640x400 at 10 Hz): a weaving run down the
   hallway, a turn on the spot, and back; VO alone (no prior) and VO with an odometry-like
   prior (ground truth with 2 % speed and 0.2 deg/s yaw-rate error): RPE per metre (relative
   pose error over every 1 m stretch: translation % and deg/m), end-point drift, twist
   RMSE, the twist NEES (mean 6 if honest), frames lost, ms per frame.

``--quick`` skips the simulated drive. Table first, JSON on the last line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np


def _data_dir() -> Path:
    from hearth_slam.datasets import shared_data_dir

    return shared_data_dir()


def _angle_deg(T: np.ndarray) -> float:
    from hearth_slam import se3

    return math.degrees(se3.rotation_angle_rad(T))


# ------------------------------------------------------------------------------ EuRoC
def euroc_at_rest(root: Path) -> dict:
    import cv2

    from hearth_slam import se3
    from hearth_slam.datasets import euroc_stereo
    from hearth_slam.stereo_camera import StereoRig
    from hearth_slam.visual_odometry import VisualOdometry

    data = euroc_stereo(root)
    rig = StereoRig.from_camera_info_fields(data.left_info, data.right_info)
    vo = VisualOdometry(rig)
    outs = [vo.track(*data.images(k), t * 1e-9) for k, t in enumerate(data.t_ns)]
    moves = [se3.inverse(outs[0].T_world_cam) @ o.T_world_cam for o in outs]
    first = rig.rectify(*data.images(0))[0]
    last = rig.rectify(*data.images(len(outs) - 1))[0]
    (dx, dy), _ = cv2.phaseCorrelate(np.float32(first), np.float32(last))
    nees = [o.twist_base @ np.linalg.solve(o.twist_covariance, o.twist_base)
            for o in outs if o.twist_base is not None]
    rot = se3.so3_log(moves[-1][:3, :3])
    return {
        "frames": len(outs),
        "tracked": sum(o.tracked for o in outs),
        "final_translation_mm": round(1e3 * float(np.linalg.norm(moves[-1][:3, 3])), 3),
        "final_rotation_deg": round(_angle_deg(moves[-1]), 4),
        "max_translation_mm": round(1e3 * max(float(np.linalg.norm(m[:3, 3])) for m in moves), 3),
        "max_rotation_deg": round(max(_angle_deg(m) for m in moves), 4),
        "final_pitch_deg": round(math.degrees(rot[0]), 4),
        "image_shift_px": [round(dx, 3), round(dy, 3)],
        "image_shift_pitch_deg": round(math.degrees(math.atan2(dy, rig.fy)), 4),
        "twist_nees_mean": round(float(np.mean(nees)), 2),
        "keyframes": len(vo.pop_keyframes()),
        "goal": "< 5 mm and < 0.2 deg",
        "goal_met": bool(max(float(np.linalg.norm(m[:3, 3])) for m in moves) < 0.005
                         and max(_angle_deg(m) for m in moves) < 0.2),
    }


# ------------------------------------------------------------------------------ TUM
def tum_pairs(root: Path, n_features: int) -> dict:
    from hearth_slam import se3
    from hearth_slam.datasets import tum_office
    from hearth_slam.features import OrbExtractor, OrbParams
    from hearth_slam.two_view import relative_pose_essential

    seq = tum_office(root)
    extractor = OrbExtractor(OrbParams(n_features=n_features))
    feats = [extractor.extract(seq.image(k)) for k in range(len(seq.t_s))]
    truth = [seq.pose_at(t) for t in seq.t_s]
    rot_err, dir_err, pairs = [], [], 0
    for a in range(len(feats)):
        for b in range(a + 1, len(feats)):
            if truth[a] is None or truth[b] is None:
                continue
            T_b_a = se3.inverse(truth[b]) @ truth[a]
            if _angle_deg(T_b_a) > 30.0 or np.linalg.norm(T_b_a[:3, 3]) > 1.0:
                continue
            pairs += 1
            est = relative_pose_essential(feats[a], feats[b], seq.K)
            if est is None:
                continue
            rot_err.append(math.degrees(se3.rotation_angle_rad(est.R_2_1.T @ T_b_a[:3, :3])))
            t = T_b_a[:3, 3] / np.linalg.norm(T_b_a[:3, 3])
            dir_err.append(math.degrees(math.acos(float(np.clip(est.t_2_1_unit @ t, -1, 1)))))
    return {
        "frames": len(feats),
        "frames_with_ground_truth": sum(t is not None for t in truth),
        "features": n_features,
        "overlapping_pairs": pairs,
        "succeeded": len(rot_err),
        "rotation_error_median_deg": round(float(np.median(rot_err)), 3) if rot_err else None,
        "rotation_error_p90_deg": round(float(np.percentile(rot_err, 90)), 3)
        if rot_err else None,
        "translation_direction_error_median_deg": round(float(np.median(dir_err)), 2)
        if dir_err else None,
        "overlap_rule": "ground-truth rotation <= 30 deg and baseline <= 1 m",
    }


# ------------------------------------------------------------------------------ simulator
def _command(t_s: float) -> tuple[float, float]:
    """Down the apartment's hallway weaving, a turn on the spot, and back."""
    if t_s < 0.5:
        return 0.0, 0.0
    if t_s < 8.5:  # heading swings +-9 deg about the hallway's axis
        return 0.4, 0.25 * math.cos(2 * math.pi * (t_s - 0.5) / 4.0)
    if t_s < 12.5:
        return 0.0, 0.8
    return 0.4, 0.0


def record_sim_drive(seconds: float) -> dict:
    """Stereo pairs and base_link ground truth at their stamps, from MujocoSim."""
    from hearth_common.config import load_config
    from hearth_description.robot_model import expand_xacro, load_robot_params
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import resolve_home
    from hearth_sim.mujoco_sim import MujocoSim
    from hearth_sim.sensors.cameras import camera_info_fields
    from hearth_slam import se3
    from hearth_slam.stereo_camera import mount_from_urdf

    cfg = load_config(SimConfig, {"stereo_rate_hz": 10.0, "tof_rate_hz": 0.01,
                                  "screen_camera_rate_hz": 0.01})
    params = load_robot_params(cfg.robot_params_file or None)
    sim = MujocoSim(resolve_home(cfg.home_file), params, cfg, None, cfg.seed)
    rec = {"t_ns": [], "left": [], "right": [], "T_world_base": []}
    try:
        for k in range(round(seconds / sim.dt_s)):
            out = sim.step(*_command(k * sim.dt_s))
            for frame in out.stereo:
                truth = sim.robot_truth()
                w, x, y, z = truth.quat_wxyz
                rec["t_ns"].append(frame.t_ns)
                rec["left"].append(frame.images[0])
                rec["right"].append(frame.images[1])
                rec["T_world_base"].append(se3.from_quaternion([x, y, z, w], truth.position_m))
        intr = sim.cameras.stereo_left.intrinsics
    finally:
        sim.close()
    rec["left_info"] = camera_info_fields(intr, "stereo_left_optical")
    rec["right_info"] = camera_info_fields(intr, "stereo_right_optical",
                                           params.stereo.baseline_m, right=True)
    rec["T_base_optical"] = mount_from_urdf(expand_xacro(), "stereo_left_optical")
    return rec


def rpe_per_metre(truth: list[np.ndarray], est: list[np.ndarray], valid: np.ndarray,
                  stretch_m: float = 1.0) -> dict:
    """Relative pose error over every stretch of ``stretch_m`` of path (starting at each
    frame whose stretch ends at a frame; both ends estimated)."""
    from hearth_slam import se3

    steps = [float(np.linalg.norm((se3.inverse(a) @ b)[:3, 3]))
             for a, b in itertools.pairwise(truth)]
    dist = np.concatenate([[0.0], np.cumsum(steps)])
    trans, rot = [], []
    for i in range(len(truth)):
        j = int(np.searchsorted(dist, dist[i] + stretch_m))
        if j >= len(truth) or not (valid[i] and valid[j]):
            continue
        length = dist[j] - dist[i]
        err = se3.inverse(se3.inverse(truth[i]) @ truth[j]) @ (se3.inverse(est[i]) @ est[j])
        trans.append(float(np.linalg.norm(err[:3, 3])) / length)
        rot.append(_angle_deg(err) / length)
    if not trans:
        return {"stretches": 0}
    return {"stretches": len(trans), "stretch_m": stretch_m,
            "translation_pct_mean": round(100 * float(np.mean(trans)), 3),
            "translation_pct_rmse": round(100 * float(np.sqrt(np.mean(np.square(trans)))), 3),
            "rotation_deg_per_m_mean": round(float(np.mean(rot)), 4)}


def sim_vo(rec: dict, with_prior: bool, seed: int = 0) -> dict:
    import cv2

    from hearth_slam import se3
    from hearth_slam.stereo_camera import StereoRig
    from hearth_slam.visual_odometry import VisualOdometry

    cv2.setNumThreads(1)
    keys = ("width", "height", "k", "d", "r", "p")
    rig = StereoRig.from_camera_info_fields(
        *[{k: info[k] for k in keys} for info in (rec["left_info"], rec["right_info"])])
    vo = VisualOdometry(rig, rec["T_base_optical"])
    truth, rng = rec["T_world_base"], np.random.default_rng(seed)
    outs, ms = [], []
    for k, t_ns in enumerate(rec["t_ns"]):
        prior = None
        if with_prior and k:
            xi = se3.log(se3.inverse(truth[k - 1]) @ truth[k])
            dt = (t_ns - rec["t_ns"][k - 1]) * 1e-9
            xi[:3] *= 1.0 + 0.02 * rng.standard_normal()  # wheel odometry: scale error
            xi[5] += math.radians(0.2) * dt * rng.standard_normal()  # gyro noise
            prior = se3.exp(xi)
        tick = time.perf_counter()
        outs.append(vo.track(rec["left"][k], rec["right"][k], t_ns * 1e-9, prior))
        ms.append(1e3 * (time.perf_counter() - tick))
    est = [se3.inverse(outs[0].T_world_base) @ o.T_world_base for o in outs]
    gt = [se3.inverse(truth[0]) @ T for T in truth]
    tracked = np.array([o.tracked for o in outs])
    errs, nees = [], []
    for k in range(1, len(outs)):
        o = outs[k]
        if o.twist_base is None:
            continue
        dt = o.t_s - outs[k - 1].t_s
        e = o.twist_base - se3.log(se3.inverse(gt[k - 1]) @ gt[k]) / dt
        errs.append(e)
        nees.append(float(e @ np.linalg.solve(o.twist_covariance, e)))
    path = sum(float(np.linalg.norm((se3.inverse(a) @ b)[:3, 3]))
               for a, b in itertools.pairwise(gt))
    end = se3.inverse(gt[-1]) @ est[-1]
    errs = np.array(errs)
    return {
        "prior": "ground truth + 2 % speed, 0.2 deg/s yaw-rate noise" if with_prior else "none",
        "frames": len(outs),
        "path_m": round(path, 3),
        "frames_lost": int((~tracked).sum()),
        "rpe": rpe_per_metre(gt, est, np.ones(len(gt), dtype=bool)),  # lost: predicted
        "end_drift_pct": round(100 * float(np.linalg.norm(end[:3, 3])) / path, 3),
        "end_rotation_deg": round(_angle_deg(end), 3),
        "twist_rmse": {"vx_mps": round(float(np.sqrt(np.mean(errs[:, 0] ** 2))), 4),
                       "vy_mps": round(float(np.sqrt(np.mean(errs[:, 1] ** 2))), 4),
                       "wz_radps": round(float(np.sqrt(np.mean(errs[:, 5] ** 2))), 4)},
        "twist_nees_mean": round(float(np.mean(nees)), 2),
        "twist_nees_median": round(float(np.median(nees)), 2),
        "twist_nees_over_99pct": round(float(np.mean(np.array(nees) > 16.81)), 3),
        "ms_per_frame_median": round(float(np.median(ms)), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth eval slam_frontend", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the simulated drive")
    ap.add_argument("--sim-seconds", type=float, default=16.0,
                    help="length of the simulated drive (default 16)")
    ap.add_argument("--tum-features", type=int, default=1000,
                    help="ORB features per TUM frame (default 1000, the front end's)")
    args = ap.parse_args(argv)

    import cv2

    cv2.setNumThreads(1)
    from hearth_slam.datasets import EUROC, TUM_OFFICE

    data = _data_dir()
    result: dict = {"what": "V-SLAM front end (hearth_slam.visual_odometry) vs ground truth"}
    if (data / EUROC / "mav0").is_dir():
        result["euroc_at_rest"] = e = euroc_at_rest(data / EUROC)
        print(f"EuRoC V1_01 at rest ({e['frames']} pairs, {e['tracked']} tracked): moved "
              f"{e['max_translation_mm']} mm / {e['max_rotation_deg']} deg at most, "
              f"{e['final_translation_mm']} mm / {e['final_rotation_deg']} deg at the end "
              f"(goal {e['goal']}: {'met' if e['goal_met'] else 'NOT met'}); the image "
              f"itself shifted {e['image_shift_px'][1]} px down = pitch "
              f"{e['image_shift_pitch_deg']} deg, VO pitch {e['final_pitch_deg']} deg; "
              f"twist NEES {e['twist_nees_mean']} (6 if honest)")
    else:
        result["euroc_at_rest"] = None
        print(f"EuRoC: no data in {data / EUROC} (skipped)")
    if (data / TUM_OFFICE / "groundtruth.txt").is_file():
        result["tum_pairs"] = t = tum_pairs(data / TUM_OFFICE, args.tum_features)
        print(f"TUM fr3 office: {t['succeeded']}/{t['overlapping_pairs']} overlapping pairs "
              f"succeed; rotation error median {t['rotation_error_median_deg']} deg, p90 "
              f"{t['rotation_error_p90_deg']} deg; translation direction median "
              f"{t['translation_direction_error_median_deg']} deg")
    else:
        result["tum_pairs"] = None
        print(f"TUM: no data in {data / TUM_OFFICE} (skipped)")
    if not args.quick:
        rec = record_sim_drive(args.sim_seconds)
        result["sim_drive"] = {}
        for name, with_prior in (("vision_only", False), ("with_odometry_prior", True)):
            r = result["sim_drive"][name] = sim_vo(rec, with_prior)
            rpe = r["rpe"]
            print(f"sim drive, {name}: {r['path_m']} m, {r['frames']} frames, "
                  f"{r['frames_lost']} lost; RPE {rpe.get('translation_pct_mean')} % and "
                  f"{rpe.get('rotation_deg_per_m_mean')} deg per metre; end drift "
                  f"{r['end_drift_pct']} %, {r['end_rotation_deg']} deg; twist RMSE "
                  f"{r['twist_rmse']}; NEES mean {r['twist_nees_mean']}, median "
                  f"{r['twist_nees_median']}; {r['ms_per_frame_median']} ms/frame")
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
