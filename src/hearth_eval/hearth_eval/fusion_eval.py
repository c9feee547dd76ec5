"""``./hearth eval fusion``: sensor fusion measured against the simulator's ground truth.

    python -m hearth_eval.eval fusion [--recording PATH] [--quick] [--out DIR] [--no-euroc]

1. Records the drive of ``config/scenarios/fusion_drive.yaml`` on the simulator (see
   :mod:`hearth_eval.fusion_record`) into ``runs/fusion/<timestamp>/`` (``recording.npz`` +
   ``manifest.json``), or loads one (``--recording``: re-runs the estimators without
   re-simulating).
2. Replays the recorded sensor streams, in the order the simulator delivered them, into
   (a) wheel-only odometry (``WheelOdometry``), (b) the EKF without gating
   (``EkfParams(gating=False, fuse_wheel_yaw_rate_with_gyro=True)``: wheels + gyro
   fused naively, no gates and no detectors), (c) the full EKF.
3. Drift over the ~100 m drive (before the normal driving), the lift bridged by the true
   transform (:mod:`hearth_eval.fusion_metrics`); also each segment on its own (before the
   lift, after the put-down) and the pose change each estimator made while the robot was held.
4. Detection of the full EKF's flags (``imu_saturated``, ``wheel_slip``, ``lifted``) against
   the ground-truth events over the whole recording (drive + normal driving): recall, false
   alarms per 10 minutes, latency per event (flag onset ``since_ns`` minus the event's true
   start, both on the sensors' clock; and the delay until the flag was visible, i.e. after
   the message that raised it was processed).
5. The EKF on the EuRoC IMU stream at rest (:mod:`hearth_eval.fusion_euroc`).

Prints a table and, as its last line, one JSON object with every figure; writes it to
``results.json`` beside the recording.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from hearth_eval.atomic_json import write_json_atomic
from hearth_eval.fusion_metrics import (
    NS,
    Trajectory,
    bridged_drift,
    drift_between,
    flag_intervals,
    ground_truth_events,
    match_detections,
    path_length_m,
)
from hearth_eval.fusion_record import (
    Recording,
    load_scenario,
    record_drive,
    workspace_root,
)
from hearth_fusion import ekf as ekf_core

FLAG_OF_EVENT = {"saturation": "imu_saturated", "slip": "wheel_slip", "lift": "lifted"}
GOAL_DRIFT_PCT = 1.0
GOAL_HEADING_DEG = 2.0
GOAL_RECALL = 0.95
GOAL_FALSE_ALARMS_PER_10MIN = 1.0


# ------------------------------------------------------------------------------ estimators


def make_geometry(ekf_mod, robot: dict):
    return ekf_mod.RobotGeometry(
        wheel_radius_m=robot["wheel_radius_m"],
        wheel_separation_m=robot["wheel_separation_m"],
        accel_full_scale_mps2=robot["accel_full_scale_mps2"],
        gyro_full_scale_radps=robot["gyro_full_scale_radps"],
    )


def _message_order(rec: Recording, with_vo: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(kind, index) of every sensor message in delivery order: by arrival, the IMU before
    the encoders within one physics step (as the simulator delivers them); kind 2: the
    front end's twists (tracked frames only), arriving after their compute time."""
    n_i, n_w = len(rec["imu_t_ns"]), len(rec["wheel_t_ns"])
    vo = np.flatnonzero(rec["vo_tracked"]) if with_vo and "vo_tracked" in rec.arrays \
        else np.zeros(0, np.int64)
    arrival = np.concatenate([rec["imu_arrival_ns"], rec["wheel_arrival_ns"],
                              rec["vo_arrival_ns"][vo] if len(vo) else np.zeros(0, np.int64)])
    kind = np.concatenate([np.zeros(n_i, np.int8), np.ones(n_w, np.int8),
                           np.full(len(vo), 2, np.int8)])
    index = np.concatenate([np.arange(n_i), np.arange(n_w), vo])
    order = np.lexsort((index, kind, arrival))
    return kind[order], index[order]


def run_wheel_only(rec: Recording) -> dict:
    from hearth_fusion.wheel_odometry import WheelOdometry

    robot = rec.manifest["robot"]
    odo = WheelOdometry(wheel_radius_m=robot["wheel_radius_m"],
                        wheel_separation_m=robot["wheel_separation_m"])
    t, pos = rec["wheel_t_ns"], rec["wheel_pos_rad"]
    poses = np.zeros((len(t), 3))
    tick = time.perf_counter()
    for k in range(len(t)):
        odo.update(pos[k, 0], pos[k, 1], int(t[k]))
        poses[k] = (odo.x_m, odo.y_m, odo.yaw_rad)
    return {"traj": Trajectory(t.copy(), poses), "flags": {}, "wall_s": time.perf_counter() - tick,
            "rejected": {k: v for k, v in odo.rejected.items() if v}}


def run_ekf(rec: Recording, ekf_mod, params) -> dict:
    """Replay into an OdometryEKF; its pose after each encoder message (at its own state
    time) and its flags after every message."""
    ekf = ekf_mod.OdometryEKF(make_geometry(ekf_mod, rec.manifest["robot"]), params)
    kinds, idx = _message_order(rec, with_vo=params.use_visual_odometry)
    it, ia, acc, gyr = rec["imu_t_ns"], rec["imu_arrival_ns"], rec["imu_accel_mps2"], \
        rec["imu_gyro_radps"]
    wt, wa, wp = rec["wheel_t_ns"], rec["wheel_arrival_ns"], rec["wheel_pos_rad"]
    names = [*FLAG_OF_EVENT.values(), "needs_relocalization"]
    n = len(kinds)
    # each twist is the mean since the front end's previous pair, tracked or not (format 3
    # recordings before vo_interval_ns: the same from the pairs' stamps)
    vo_t = rec.arrays.get("vo_t_ns", np.zeros(0, np.int64))
    vo_interval_s = (rec["vo_interval_ns"] if "vo_interval_ns" in rec.arrays
                     else np.diff(vo_t, prepend=vo_t[:1] - NS // 10)) / NS
    seen_t = np.zeros(n, np.int64)
    active = {f: np.zeros(n, bool) for f in names}
    since: dict[str, list] = {f: [None] * n for f in names}
    pose_t: list[int] = []
    poses: list[tuple[float, float, float]] = []
    tick = time.perf_counter()
    for m in range(n):
        k = int(idx[m])
        if kinds[m] == 0:
            ekf.add_imu(int(it[k]), acc[k], gyr[k])
            seen_t[m] = ia[k]
        elif kinds[m] == 2:
            c = rec["vo_cov"][k]
            ekf.add_visual_odometry(int(rec["vo_t_ns"][k]), *rec["vo_vw"][k],
                                    [[c[0], c[1]], [c[1], c[2]]], vo_interval_s[k])
            seen_t[m] = rec["vo_arrival_ns"][k]
        else:
            ekf.add_wheels(int(wt[k]), float(wp[k, 0]), float(wp[k, 1]))
            seen_t[m] = wa[k]
            st = ekf.state()
            if not pose_t or st.t_ns > pose_t[-1]:
                pose_t.append(int(st.t_ns))
                poses.append((st.x_m, st.y_m, st.yaw_rad))
        flags = ekf.flags
        for f in names:
            fl = flags.get(f)
            if fl is not None and fl.active:
                active[f][m] = True
                since[f][m] = fl.since_ns
    if hasattr(ekf, "flush"):
        ekf.flush()
    st = ekf.state()
    if not pose_t or st.t_ns > pose_t[-1]:
        pose_t.append(int(st.t_ns))
        poses.append((st.x_m, st.y_m, st.yaw_rad))
    wall = time.perf_counter() - tick
    end = int(max(it[-1], wt[-1]))
    flag_iv = {f: flag_intervals(seen_t, active[f], since[f], end) for f in names}
    flag_seen = {f: flag_intervals(seen_t, active[f], None, end) for f in names}
    return {"traj": Trajectory(np.array(pose_t, np.int64), np.array(poses)),
            "flags": flag_iv, "flags_seen": flag_seen, "wall_s": wall,
            "updates_per_s": n / wall if wall > 0 else None,
            "final_bias_radps": float(st.gyro_bias_radps),
            "rejected": {k: v for k, v in dict(ekf.rejected).items() if v}}


# ------------------------------------------------------------------------------ evaluation


def truth_trajectory(rec: Recording) -> Trajectory:
    return Trajectory(rec["truth_t_ns"],
                      np.column_stack([rec["truth_pos_m"][:, :2], rec["truth_yaw_rad"]]))


def drift_figures(rec: Recording, est: Trajectory, truth: Trajectory) -> dict:
    seg = rec.manifest["segments"]
    t0, t1 = int(seg["drive_start_ns"]), int(seg["drive_end_ns"])
    xy, tt = rec["truth_pos_m"][:, :2], rec["truth_t_ns"]
    out: dict = {}
    if "lift_ns" in seg:
        pick, down = int(seg["lift_ns"]), int(seg["settled_ns"])
        d_before = path_length_m(xy, tt, t0, pick)
        d_after = path_length_m(xy, tt, down, t1)
        out["drive"] = bridged_drift(est, truth, t0, t1, d_before + d_after,
                                     (pick, down)).to_dict()
        out["before_lift"] = drift_between(est, truth, t0, pick, d_before).to_dict()
        out["after_put_down"] = drift_between(est, truth, down, t1, d_after).to_dict()
        a, b = est.at(pick), est.at(int(seg["put_down_ns"]))
        out["moved_while_lifted"] = {
            "position_m": round(math.hypot(b[0] - a[0], b[1] - a[1]), 4),
            "heading_deg": round(abs(math.degrees((b[2] - a[2] + math.pi) % (2 * math.pi)
                                                  - math.pi)), 3)}
    else:
        out["drive"] = drift_between(est, truth, t0, t1, path_length_m(xy, tt, t0, t1)).to_dict()
    return out


def detection_figures(rec: Recording, run: dict, events: dict) -> dict:
    seg = rec.manifest["segments"]
    t_all = (int(seg["drive_start_ns"]), int(seg["normal_end_ns"]))
    t_norm = (int(seg["drive_end_ns"]), int(seg["normal_end_ns"]))
    out = {}
    for kind, flag in FLAG_OF_EVENT.items():
        iv = run["flags"].get(flag, [])
        det = match_detections(events[kind], iv, t_all[1] - t_all[0]).to_dict()
        seen = match_detections(events[kind], run["flags_seen"].get(flag, []),
                                t_all[1] - t_all[0])
        lat = [x for x in seen.latency_s if x is not None]
        det["visible_latency_median_s"] = round(float(np.median(lat)), 4) if lat else None
        det["visible_latency_max_s"] = round(float(np.max(lat)), 4) if lat else None
        # false alarms within the normal driving alone (nothing should happen there)
        normal = [(a, b) for a, b in iv if b >= t_norm[0]]
        ev_norm = [(a, b) for a, b in events[kind] if b >= t_norm[0]]
        det["normal_driving"] = {
            "events": len(ev_norm),
            "false_alarms": match_detections(ev_norm, normal, t_norm[1] - t_norm[0]).false_alarms,
        }
        det["flag_intervals"] = len(iv)
        out[kind] = det
    reloc = run["flags"].get("needs_relocalization", [])
    if "put_down_ns" in seg:
        down = int(seg["put_down_ns"])
        out["needs_relocalization_after_put_down"] = any(
            b >= down and a <= down + 3 * NS for a, b in reloc)
    return out


def evaluate(rec: Recording, workspace: Path, euroc: bool = True) -> dict:
    truth = truth_trajectory(rec)
    robot = rec.manifest["robot"]
    events = ground_truth_events(
        rec.arrays, (robot["accel_full_scale_mps2"], robot["gyro_full_scale_radps"]),
        ekf_core.EkfParams().saturation_margin)  # the 2 %
    seg = rec.manifest["segments"]
    results: dict = {
        "recording": rec.manifest.get("path"),
        "scenario": rec.manifest["scenario"]["name"],
        "simulated_s": rec.manifest["simulated_s"],
        "record_wall_s": rec.manifest.get("record_wall_s"),
        "drive_s": (seg["drive_end_ns"] - seg["drive_start_ns"]) / NS,
        "normal_driving_s": (seg["normal_end_ns"] - seg["drive_end_ns"]) / NS,
        "true_gyro_bias_z_radps": rec.manifest["sim"]["imu_gyro_bias_radps"][2],
        "events": {k: len(v) for k, v in events.items()},
        "event_intervals_s": {k: [[round(a / NS, 3), round(b / NS, 3)] for a, b in v]
                              for k, v in events.items()},
        "variants": {},
    }
    # events within the drive (the acceptance's "3 bumps, a rug, one lift")
    t_end = seg["drive_end_ns"]
    results["events_in_drive"] = {k: sum(a <= t_end for a, _ in v) for k, v in events.items()}
    results["events_in_normal_driving"] = {k: sum(a > t_end for a, _ in v)
                                           for k, v in events.items()}

    runs: dict[str, dict] = {"wheel_only": run_wheel_only(rec)}
    runs["ekf_no_gating"] = run_ekf(rec, ekf_core, ekf_core.EkfParams(
        gating=False, fuse_wheel_yaw_rate_with_gyro=True, use_visual_odometry=False))
    if rec.arrays.get("vo_tracked") is not None and rec["vo_tracked"].any():
        # the EKF as in low-power mode (camera off): wheels and gyro, gated
        runs["ekf_no_vo"] = run_ekf(rec, ekf_core, ekf_core.EkfParams(use_visual_odometry=False))
    runs["ekf"] = run_ekf(rec, ekf_core, ekf_core.EkfParams())
    for name, run in runs.items():
        v = drift_figures(rec, run["traj"], truth)
        v["replay_wall_s"] = round(run["wall_s"], 2)
        if run.get("updates_per_s"):
            v["updates_per_s"] = round(run["updates_per_s"])
        if "final_bias_radps" in run:
            v["final_gyro_bias_radps"] = round(run["final_bias_radps"], 6)
        v["rejected"] = run["rejected"]
        if run["flags"]:
            v["detection"] = detection_figures(rec, run, events)
        results["variants"][name] = v
    ekf = results["variants"].get("ekf")
    if ekf is not None:
        d = ekf["drive"]
        det = ekf["detection"]
        results["goals"] = {
            "drift_pct_le_1": d["position_error_pct"] <= GOAL_DRIFT_PCT,
            "heading_deg_le_2": d["heading_error_deg"] <= GOAL_HEADING_DEG,
            **{f"{k}_recall_ge_95": (det[k]["recall"] or 0.0) >= GOAL_RECALL
               for k in FLAG_OF_EVENT},
            **{f"{k}_false_alarms_le_1_per_10min":
               det[k]["false_alarms_per_10min"] <= GOAL_FALSE_ALARMS_PER_10MIN
               for k in FLAG_OF_EVENT},
        }
    if euroc:
        from hearth_eval.fusion_euroc import run_euroc

        geom = make_geometry(ekf_core, rec.manifest["robot"])
        results["euroc"] = run_euroc(
            workspace, lambda: ekf_core.OdometryEKF(geom, ekf_core.EkfParams()))
    return results


# ------------------------------------------------------------------------------ report


def format_table(res: dict) -> str:
    lines = [f"fusion eval: {res['scenario']}, {res['simulated_s']:.0f} s simulated "
             f"(drive {res['drive_s']:.0f} s, normal driving {res['normal_driving_s']:.0f} s)",
             "events (drive / normal): " + ", ".join(
                 f"{k} {res['events_in_drive'][k]}/{res['events_in_normal_driving'][k]}"
                 for k in res["events"]), ""]
    lines.append(f"{'variant':<16}{'dist m':>8}{'pos err m':>11}{'% dist':>8}{'head deg':>10}"
                 f"{'pre-lift %':>12}{'post %':>8}{'lifted moved m':>16}")
    for name, v in res["variants"].items():
        d = v["drive"]
        pre = v.get("before_lift", {}).get("position_error_pct")
        post = v.get("after_put_down", {}).get("position_error_pct")
        mv = v.get("moved_while_lifted", {}).get("position_m")
        lines.append(f"{name:<16}{d['distance_m']:>8.1f}{d['position_error_m']:>11.3f}"
                     f"{d['position_error_pct']:>8.2f}{d['heading_error_deg']:>10.2f}"
                     f"{pre if pre is not None else '-':>12}{post if post is not None else '-':>8}"
                     f"{mv if mv is not None else '-':>16}")
    if "ekf" in res.get("variants", {}):
        det = res["variants"]["ekf"]["detection"]
        lines += ["", f"{'event (ekf)':<14}{'events':>7}{'recall':>8}{'FA':>4}{'FA/10min':>9}"
                  f"{'lat med s':>10}{'lat max s':>10}{'vis med s':>10}{'normal FA':>10}"]
        for k in FLAG_OF_EVENT:
            x = det[k]

            def f(v):
                return "-" if v is None else f"{v:.3f}"

            lines.append(f"{k:<14}{x['events']:>7}{f(x['recall']):>8}{x['false_alarms']:>4}"
                         f"{x['false_alarms_per_10min']:>9.2f}{f(x['latency_median_s']):>10}"
                         f"{f(x['latency_max_s']):>10}{f(x['visible_latency_median_s']):>10}"
                         f"{x['normal_driving']['false_alarms']:>10}")
    else:
        lines.append(f"ekf: {res.get('ekf', {}).get('skipped')}")
    eu = res.get("euroc")
    if eu:
        if "skipped" in eu:
            lines.append(f"euroc: skipped ({eu['skipped']})")
        else:
            lines.append(f"euroc at rest ({eu['window_s']} s): EKF gyro bias "
                         f"{eu['ekf_gyro_bias_radps']:.5f} rad/s vs truth (vertical) "
                         f"{eu['true_gyro_bias_vertical_radps']:.5f}: error "
                         f"{eu['error_radps']:+.5f} rad/s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth eval fusion", description=__doc__.split("\n")[0])
    ap.add_argument("--recording", help="a recording folder (or its recording.npz): re-run "
                    "the estimators on it without simulating")
    ap.add_argument("--quick", action="store_true", help="the short drive (tests, CI)")
    ap.add_argument("--scenario", help="scenario file (default config/scenarios/"
                    "fusion_drive.yaml)")
    ap.add_argument("--out", help="folder for the new recording (default runs/fusion/<time>)")
    ap.add_argument("--no-euroc", action="store_true", help="skip the EuRoC real-data check")
    args = ap.parse_args(argv)
    ws = workspace_root()
    if args.recording:
        rec = Recording.load(args.recording)
        folder = Path(args.recording)
        folder = folder if folder.is_dir() else folder.parent
        print(f"recording {folder} (recorded in {rec.manifest.get('record_wall_s', 0):.1f} s)",
              file=sys.stderr)
    else:
        scn = load_scenario(args.scenario, quick=args.quick)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = Path(args.out) if args.out else ws / "runs" / "fusion" / stamp
        cams = "stereo at 10 Hz into the V-SLAM front end" if scn.visual_odometry else "no cameras"
        print(f"recording {scn.name} on the simulator ({cams}) ...", file=sys.stderr)
        rec = record_drive(scn, progress=lambda s: print("  " + s, file=sys.stderr))
        rec.save(folder)
        print(f"recorded {rec.manifest['simulated_s']:.0f} s simulated in "
              f"{rec.manifest['record_wall_s']:.1f} s wall -> {folder}", file=sys.stderr)
    rec.manifest["path"] = str(folder)
    res = evaluate(rec, ws, euroc=not args.no_euroc)
    write_json_atomic(folder / "results.json", res)
    print(format_table(res))
    print(json.dumps(res, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
