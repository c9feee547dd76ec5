"""``./hearth eval slam``: V-SLAM (``hearth_slam.slam_system``) on the simulator, against its
ground truth.

    python -m hearth_eval.eval slam [--recording DIR] [--quick] [--jobs N]

1. Records the drives of ``config/scenarios/slam_tour.yaml`` on the simulator
   (:mod:`hearth_eval.slam_record`) into ``runs/slam/<timestamp>/`` (``tour/``: stereo 10 Hz,
   ToF 5 Hz, IMU, encoders, truth, plus the dark renders of sequence b; ``session2/``), or
   loads them (``--recording``: re-runs the estimator without re-simulating).
2. The fused odometry is the fusion EKF (hearth_fusion, defaults) replayed on the recorded
   IMU and encoders; ``SlamSystem`` gets each stereo pair with the odometry at its stamp and
   the ToF images, in-process, exactly as the node feeds it (``wait_for_backend``: each pair
   waits for the back end, so a run is repeatable). The map frame is anchored at the true
   start pose (``set_initial_pose``, as the simulator's /initialpose does).
3. Sequences, JSON per sequence:

   (a) the ~57 m tour, with loop closure, and again with the back end's place recognition
       off (no loops, no relocalization): ATE RMSE after SE(3) alignment (Umeyama) of the
       final keyframe trajectory and of the online pose (what /slam/pose said at each pair),
       RPE per metre (1 m and 10 m stretches, online), end-point drift, loop closures
       accepted and false (each loop's measured relative pose against the truth), tracking
       lost time; the /map grid against the home.
   (b) the same tour with the lights dimming to darkness for 20 s (the home's lights only:
       the robot's IR illuminator comes on in the dark, as the simulator has it): the error
       through the dark, tracking lost, how long after the lights came back it relocalized.
   (b') the same with the illuminator off too (black images: the front end is lost, the
       odometry carries the pose, relocalization after the lights).
   (c) the next day (furniture moved), a new session on the map saved by (a): the time from
       the start to the relocalization, its error, and the ATE after it.

The sequences run side by side in ``--jobs`` processes (2: this machine's cores). Prints a
table and, as its last line, one JSON object; writes it to ``results.json`` in the folder.
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
from hearth_eval.slam_record import (
    Recording,
    fused_odometry,
    load_scenario,
    odometry_at,
    record_drive,
    workspace_root,
)

GOAL_ATE_M = 0.03
GOAL_DRIFT_PCT = 1.0
GOAL_RELOC_S = 5.0
FALSE_LOOP_M = 0.25  # a loop's measured relative pose this far from the truth is false
FALSE_LOOP_DEG = 5.0


# ------------------------------------------------------------------------------ metrics


def umeyama_se3(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) minimising sum |dst - (R src + t)|^2 over rotations (no scale): Umeyama
    (1991) on point sets (N, 3)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    cov = (dst - mu_d).T @ (src - mu_s) / len(src)
    U, _, Vt = np.linalg.svd(cov)
    S = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        S[2, 2] = -1.0
    R = U @ S @ Vt
    return R, mu_d - R @ mu_s


def ate(est: np.ndarray, truth: np.ndarray) -> dict:
    """ATE of poses (N, 4, 4) against the truth: RMSE after SE(3) alignment, and raw (the
    map anchored at the true start, no alignment)."""
    p, q = est[:, :3, 3], truth[:, :3, 3]
    R, t = umeyama_se3(p, q)
    aligned = np.linalg.norm(p @ R.T + t - q, axis=1)
    raw = np.linalg.norm(p - q, axis=1)
    return {"n": len(p), "rmse_m": round(float(np.sqrt(np.mean(aligned ** 2))), 4),
            "max_m": round(float(aligned.max()), 4),
            "unaligned_rmse_m": round(float(np.sqrt(np.mean(raw ** 2))), 4),
            "unaligned_max_m": round(float(raw.max()), 4)}


def _angle_deg(T: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(0.5 * (np.trace(T[:3, :3]) - 1.0), -1, 1))))


def path_lengths(truth: np.ndarray) -> np.ndarray:
    steps = np.linalg.norm(np.diff(truth[:, :2, 3], axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def rpe(est: np.ndarray, truth: np.ndarray, stretch_m: float) -> dict:
    """Relative pose error over every stretch of ``stretch_m`` of path: translation % of
    the stretch and deg per metre."""
    inv = np.linalg.inv
    dist = path_lengths(truth)
    trans, rot = [], []
    for i in range(len(truth)):
        j = int(np.searchsorted(dist, dist[i] + stretch_m))
        if j >= len(truth):
            break
        length = dist[j] - dist[i]
        err = inv(inv(truth[i]) @ truth[j]) @ (inv(est[i]) @ est[j])
        trans.append(float(np.linalg.norm(err[:3, 3])) / length)
        rot.append(_angle_deg(err) / length)
    if not trans:
        return {"stretches": 0}
    return {"stretch_m": stretch_m, "stretches": len(trans),
            "translation_pct": round(100 * float(np.mean(trans)), 3),
            "translation_pct_p95": round(100 * float(np.percentile(trans, 95)), 3),
            "rotation_deg_per_m": round(float(np.mean(rot)), 4)}


def loop_truth(system, truth_of) -> dict:
    """Every loop the back end was offered (place recognition and relocalization), its
    measured relative pose against the truth (``truth_of(kf_id)``: the keyframe's true
    T_world_base, or None): accepted and false counts."""
    inv = np.linalg.inv
    accepted = false_accepted = rejected = false_rejected = 0
    errors = []
    for det, decision in system.backend.loop_decisions:
        Ta, Tb = truth_of(det.kf_a), truth_of(det.kf_b)
        if Ta is None or Tb is None:
            continue
        err = inv(inv(Ta) @ Tb) @ det.pose_a_b
        e_m, e_deg = float(np.linalg.norm(err[:3, 3])), _angle_deg(err)
        false = e_m > FALSE_LOOP_M or e_deg > FALSE_LOOP_DEG
        if decision.accepted:
            accepted += 1
            false_accepted += false
            errors.append((e_m, e_deg))
        else:
            rejected += 1
            false_rejected += false
    e = np.array(errors).reshape(-1, 2)
    return {"accepted": accepted, "false": false_accepted,
            "rejected_by_gate": rejected, "rejected_that_were_false": false_rejected,
            "accepted_error_median_m": round(float(np.median(e[:, 0])), 4) if len(e) else None,
            "accepted_error_max_m": round(float(e[:, 0].max()), 4) if len(e) else None,
            "accepted_error_max_deg": round(float(e[:, 1].max()), 3) if len(e) else None,
            "false_rule": f"> {FALSE_LOOP_M} m or > {FALSE_LOOP_DEG} deg from the truth"}


def occupancy_vs_home(system, home_name: str, changes: str = "") -> dict | None:
    """How the /map grid agrees with the home: the share of its occupied cells within 10 cm
    of a true obstacle, and of its free cells that are truly free."""
    from scipy.ndimage import distance_transform_edt

    from hearth_sim.home.loader import apply_changes, load_changes, maps_dir, resolve_home
    from hearth_sim.home.occupancy import rasterize

    grid = system.occupancy_grid()
    if grid is None:
        return None
    data, (x0, y0), res = grid
    home = resolve_home(home_name)
    if changes:
        home = apply_changes(home, load_changes(maps_dir() / home_name / "changes"
                                                / f"{changes}.yaml"))
    raster = rasterize(home, res)
    occ_true = raster.data == 100
    dist_m = distance_transform_edt(~occ_true) * res
    rows, cols = np.nonzero(data == 100)
    xs, ys = x0 + (cols + 0.5) * res, y0 + (rows + 0.5) * res
    r = np.floor((ys - raster.origin_xy_m[1]) / res).astype(int)
    c = np.floor((xs - raster.origin_xy_m[0]) / res).astype(int)
    inside = (r >= 0) & (r < occ_true.shape[0]) & (c >= 0) & (c < occ_true.shape[1])
    near = np.zeros(len(r), bool)
    near[inside] = dist_m[r[inside], c[inside]] <= 0.10
    fr, fc = np.nonzero(data == 0)
    fxs, fys = x0 + (fc + 0.5) * res, y0 + (fr + 0.5) * res
    rr = np.floor((fys - raster.origin_xy_m[1]) / res).astype(int)
    cc = np.floor((fxs - raster.origin_xy_m[0]) / res).astype(int)
    ok = (rr >= 0) & (rr < occ_true.shape[0]) & (cc >= 0) & (cc < occ_true.shape[1])
    free_ok = np.zeros(len(rr), bool)
    free_ok[ok] = ~occ_true[rr[ok], cc[ok]]
    return {"occupied_cells": len(r), "free_cells": len(rr),
            "occupied_within_10cm_of_an_obstacle": round(float(near.mean()), 4) if len(r)
            else None,
            "free_cells_truly_free": round(float(free_ok.mean()), 4) if len(rr) else None,
            "renders": system.counts["renders"]}


# ------------------------------------------------------------------------------ one run


def make_system(rec: Recording, loop_closure: bool):
    import cv2

    from hearth_slam.place_recognition import Vocabulary, default_vocabulary_path
    from hearth_slam.slam_system import SlamParams, SlamSystem
    from hearth_slam.stereo_camera import StereoRig

    cv2.setNumThreads(1)
    keys = ("width", "height", "k", "d", "r", "p")
    rig = StereoRig.from_camera_info_fields(
        *[{k: rec.manifest[s][k] for k in keys} for s in ("stereo_left_info",
                                                          "stereo_right_info")])
    params = SlamParams(wait_for_backend=True, loop_closure=loop_closure,
                        landmarks_period_s=60.0)  # nobody draws them here
    system = SlamSystem(params, Vocabulary.load(default_vocabulary_path()))
    system.configure_camera(rig, rec["stereo_pose_base_left_optical"])
    return system


def run_slam(rec: Recording, system, anchor: bool, label: str, progress=print,
             map_at: tuple[int, ...] = ()) -> dict:
    """Feed the recording to the system; per pair: the online pose and state; the map's
    size (``SlamSystem.map_size``) after the pairs in ``map_at`` and at the end."""
    odo_t, odo = fused_odometry(rec)
    t_ns = rec["stereo_t_ns"]
    T_odom = odometry_at(t_ns, odo_t, odo)
    T_odom_tof = odometry_at(rec["tof_t_ns"], odo_t, odo)
    truth = rec["stereo_pose_world_base"]
    if anchor:
        system.set_initial_pose(truth[0], T_odom[0])
    online = np.zeros((len(t_ns), 4, 4))
    states, localized, ms = [], [], []
    sizes: dict[int, dict] = {}
    tof_t = rec["tof_t_ns"]
    ti = 0
    wall0 = time.perf_counter()
    for k in range(len(t_ns)):
        while ti < len(tof_t) and tof_t[ti] <= t_ns[k]:
            system.add_tof(tof_t[ti] * 1e-9, rec["tof_depth_m"][ti], rec["tof_K"],
                           rec["tof_pose_base_optical"], T_odom_tof[ti])
            ti += 1
        tick = time.perf_counter()
        r = system.process_stereo(t_ns[k] * 1e-9, rec["stereo_left"][k], rec["stereo_right"][k],
                                  T_odom[k])
        ms.append(1e3 * (time.perf_counter() - tick))
        online[k] = r.pose_map_base
        states.append(r.vo.state.value)
        localized.append(r.localized)
        if k in map_at:
            system.update_occupancy()
            sizes[k] = system.map_size()
        if k % 500 == 0 or k == len(t_ns) - 1:
            system.update_occupancy()
            s = system.status()
            progress(f"  {label}: pair {k + 1}/{len(t_ns)}, {s['keyframes_in_graph']} keyframes,"
                     f" {s['loops']} loops, {time.perf_counter() - wall0:.0f} s")
    system.update_occupancy()
    sizes[len(t_ns) - 1] = system.map_size()
    return {"online": online, "T_odom": T_odom, "states": np.array(states),
            "localized": np.array(localized), "ms": np.array(ms),
            "wall_s": time.perf_counter() - wall0, "map_sizes": sizes}


def truth_lookup(system, rec: Recording, first_kf: int = 0):
    """kf_id -> its true T_world_base (keyframes from ``first_kf`` on are this recording's),
    or None."""
    t_index = {int(t): k for k, t in enumerate(rec["stereo_t_ns"])}
    truth = rec["stereo_pose_world_base"]

    def truth_of(kf: int):
        t = system.keyframe_t_s.get(int(kf))
        k = None if t is None or kf < first_kf else t_index.get(round(t * 1e9))
        return None if k is None else truth[k]
    return truth_of


def figures(rec: Recording, system, run: dict, t0_index: int = 0, truth_of=None,
            first_kf: int = 0) -> dict:
    """ATE, RPE, loops, lost time of one run (from pair ``t0_index`` on; keyframes from
    ``first_kf`` on; ``truth_of`` for the loops' keyframes of earlier sessions)."""
    t_ns = rec["stereo_t_ns"]
    truth = rec["stereo_pose_world_base"]
    t_index = {int(t): k for k, t in enumerate(t_ns)}
    ids, poses, _ = system.keyframe_graph()
    kt = [t_index.get(round(system.keyframe_t_s[int(i)] * 1e9)) if i >= first_kf else None
          for i in ids]
    mine = np.array([k is not None and k >= t0_index for k in kt], dtype=bool)
    kidx = np.array([k for k in kt if k is not None and k >= t0_index], dtype=int)
    online, states = run["online"][t0_index:], run["states"][t0_index:]
    tr = truth[t0_index:]
    dt = np.diff(t_ns[t0_index:], prepend=t_ns[t0_index]) * 1e-9
    started = np.cumsum(states == "tracking") > 0
    lost = (states != "tracking") & started
    dist = path_lengths(tr)
    end_err = float(np.linalg.norm(online[-1][:2, 3] - tr[-1][:2, 3]))
    stats = system.snapshot.stats
    back_ms = [d.update_ms for _, d in system.backend.loop_decisions if d.accepted]
    refine_ms = [d.refine_ms for _, d in system.backend.loop_decisions
                 if d.accepted and d.refine_ms > 0.0]
    return {
        "pairs": len(online), "path_m": round(float(dist[-1]), 2),
        "keyframes_in_graph": int(mine.sum()), "keyframes_added": stats.get("keyframes_added"),
        "keyframes_culled": stats.get("keyframes_culled"), "landmarks": stats.get("landmarks"),
        "ate_keyframes_final": ate(poses[mine], truth[kidx]) if mine.any() else None,
        "ate_online": ate(online, tr),
        "rpe_1m": rpe(online, tr, 1.0), "rpe_10m": rpe(online, tr, 10.0),
        "end_drift_pct": round(100 * end_err / max(float(dist[-1]), 1e-9), 3),
        "loops": loop_truth(system, truth_of or truth_lookup(system, rec, first_kf)),
        "tracking_lost_s": round(float(dt[lost].sum()), 2),
        "tracking_lost_pairs": int(lost.sum()),
        "ms_per_pair_median": round(float(np.median(run["ms"][t0_index:])), 1),
        "ms_per_pair_p95": round(float(np.percentile(run["ms"][t0_index:], 95)), 1),
        # an accepted loop's first iSAM2 iteration (map->odom goes out after it), and the
        # further iterations of a large correction (a second map->odom after them)
        "loop_update_ms_median": round(float(np.median(back_ms)), 1) if back_ms else None,
        "loop_refine_ms_median": round(float(np.median(refine_ms)), 1) if refine_ms
        else None,
        "loops_refined": len(refine_ms),
        "wall_s": round(run["wall_s"], 1),
    }


def new_ground_end(t_s: np.ndarray, truth: np.ndarray, min_gap_s: float = 20.0,
                   radius_m: float = 0.5, turn_deg: float = 45.0) -> int:
    """The last pair on new ground: no pose at least ``min_gap_s`` earlier lies within
    ``radius_m`` and ``turn_deg`` of it (the drive after it only revisits)."""
    xy = truth[:, :2, 3]
    yaw = np.arctan2(truth[:, 1, 0], truth[:, 0, 0])
    new = np.ones(len(t_s), dtype=bool)
    for i in range(len(t_s)):
        old = t_s < t_s[i] - min_gap_s
        if old.any():
            turn = np.abs(np.angle(np.exp(1j * (yaw[old] - yaw[i]))))
            new[i] = not ((np.linalg.norm(xy[old] - xy[i], axis=1) <= radius_m)
                          & (turn <= math.radians(turn_deg))).any()
    return int(np.nonzero(new)[0][-1])


def map_figures(rec: Recording, system, run: dict, end_new: int | None) -> dict:
    """Keyframes created, culled and alive, and the map's size at the end and, when
    ``end_new`` is given, at the end of new ground (before the revisits) and how much the
    revisits added."""
    sizes = run["map_sizes"]
    last = max(sizes)
    stats = system.snapshot.stats
    # created: every keyframe the back end was offered; located only: in a place already
    # mapped, not added; culled: added, then removed as redundant
    out = {"keyframes_created": stats.get("keyframes_added", 0)
           + stats.get("keyframes_skipped", 0),
           "keyframes_located_only": stats.get("keyframes_skipped"),
           "keyframes_culled": stats.get("keyframes_culled"),
           "keyframes_alive": stats.get("keyframes"),
           "keyframes_fused": stats.get("keyframes_fused"),
           "landmarks_fused": stats.get("landmarks_fused"),
           "loop_queries_skipped": stats.get("loop_queries_skipped"),
           "at_end": sizes[last]}
    if end_new is not None and end_new in sizes and end_new < last:
        dist = path_lengths(rec["stereo_pose_world_base"])
        before, after = sizes[end_new], sizes[last]
        revisit_m = float(dist[last] - dist[end_new])
        out["at_end_of_new_ground"] = {"pair": end_new, "path_m": round(float(dist[end_new]), 1),
                                       **before}
        out["revisits"] = {
            "path_m": round(revisit_m, 1),
            **{f"{key}_added": after[key] - before[key]
               for key in ("keyframes_created", "keyframes_skipped", "keyframes_culled",
                           "keyframes", "landmarks", "total_bytes")},
            "bytes_per_m_of_revisit": round((after["total_bytes"] - before["total_bytes"])
                                            / max(revisit_m, 1e-9)),
            "bytes_per_m_of_new_ground": round(before["total_bytes"]
                                               / max(float(dist[end_new]), 1e-9))}
    return out


# ------------------------------------------------------------------------------ sequences


def sequence_a(rec: Recording, loops: bool, map_path: Path | None, progress) -> dict:
    """One variant of (a): with loop closure (its map saved to ``map_path``) or without."""
    name = "with loop closure" if loops else "without loop closure"
    system = make_system(rec, loops)
    end_new = new_ground_end(rec["stereo_t_ns"] * 1e-9, rec["stereo_pose_world_base"])
    run = run_slam(rec, system, True, f"(a) {name}", progress, map_at=(end_new,))
    f = figures(rec, system, run)
    f["map"] = map_figures(rec, system, run, end_new)
    if loops:
        f["occupancy"] = occupancy_vs_home(system, rec.manifest["scenario"]["home"])
        if map_path is not None:
            size, counts = system.save_map(map_path)
            f["saved_map"] = {"bytes": size, **counts}
    system.close()
    return f


def goals_a(w: dict, wo: dict) -> dict:
    ate_w = (w["ate_keyframes_final"] or {}).get("rmse_m")
    return {
        "ate_with_loop_closure_m": ate_w, "ate_goal_m": GOAL_ATE_M,
        "ate_goal_met": ate_w is not None and ate_w <= GOAL_ATE_M,
        "drift_without_loop_closure_pct": wo["rpe_10m"].get("translation_pct"),
        "end_drift_without_loop_closure_pct": wo["end_drift_pct"],
        "drift_goal_pct": GOAL_DRIFT_PCT,
        "drift_goal_met": (wo["rpe_10m"].get("translation_pct", math.inf) <= GOAL_DRIFT_PCT
                           and wo["end_drift_pct"] <= GOAL_DRIFT_PCT),
        "no_false_loops": w["loops"]["false"] == 0,
    }


def sequence_b(rec: Recording, progress, label: str = "(b) darkness") -> dict:
    dk = rec.manifest["darkness"]
    system = make_system(rec, True)
    run = run_slam(rec, system, True, label, progress)
    f = figures(rec, system, run)
    f["map"] = map_figures(rec, system, run, None)
    t_s = rec["stereo_t_ns"] * 1e-9
    truth = rec["stereo_pose_world_base"]
    err = np.linalg.norm(run["online"][:, :2, 3] - truth[:, :2, 3], axis=1)
    t_dark0 = dk["dim_start_s"] + dk["dim_s"]
    t_light = dk["dim_start_s"] + dk["dim_s"] + dk["dark_s"]
    in_dark = (t_s >= dk["dim_start_s"]) & (t_s < t_light)
    states = run["states"]
    lost_idx = np.nonzero((states != "tracking") & (t_s >= dk["dim_start_s"] - 1))[0]
    back_idx = np.nonzero((states == "tracking") & (t_s >= t_light))[0]
    relocs = [e for e in system.relocalizations if e.t_s >= t_dark0 - dk["dim_s"]]
    loops_after = [(a, b) for a, b in system.loops if system.keyframe_t_s.get(b, 0) >= t_light]
    first_loop_t = min((system.keyframe_t_s[b] for _, b in loops_after), default=None)
    lost_in_dark = bool(len(lost_idx)) and t_s[lost_idx[0]] < t_light
    # nothing to relocalize from when tracking held through the dark
    reloc_t = (relocs[0].t_s if relocs else first_loop_t) if lost_in_dark else None
    after = (t_s >= (reloc_t if reloc_t is not None else math.inf))
    f["darkness"] = {
        "dim_start_s": dk["dim_start_s"], "dark_from_s": t_dark0, "lights_back_s": t_light,
        "tracking_held_through_the_dark": not lost_in_dark,
        "tracking_lost_at_s": round(float(t_s[lost_idx[0]]), 2) if len(lost_idx) else None,
        "tracking_back_at_s": round(float(t_s[back_idx[0]]), 2) if len(back_idx) else None,
        "error_in_the_dark_max_m": round(float(err[in_dark].max()), 4) if in_dark.any()
        else None,
        "error_at_lights_back_m": round(float(err[np.searchsorted(t_s, t_light)]), 4),
        "relocalized_at_s": round(reloc_t, 2) if reloc_t is not None else None,
        "relocalized_after_lights_s": round(reloc_t - t_light, 2) if reloc_t is not None
        else None,
        "relocalized_by": ("relocalization" if relocs else "loop closure") if reloc_t
        is not None else None,
        "error_after_relocalization_rmse_m": round(float(np.sqrt(np.mean(err[after] ** 2))),
                                                   4) if after.any() else None,
    }
    system.close()
    return f


def sequence_c(rec: Recording, map_path: Path, progress, tour: Recording | None = None
               ) -> dict:
    """(c) on the map of (a); ``tour`` (a's recording) gives the old keyframes' truth."""
    from hearth_slam.map_store import MapFileError

    system = make_system(rec, True)
    try:
        counts = system.load_map(map_path)
    except MapFileError as exc:
        system.close()
        return {"error": str(exc)}
    first_new = int(system.vo.next_ids()[0])
    new_truth = truth_lookup(system, rec, first_new)
    old_truth = None if tour is None else truth_lookup(system, tour)

    def truth_of(kf: int):
        if kf >= first_new:
            return new_truth(kf)
        return None if old_truth is None else old_truth(kf)
    run = run_slam(rec, system, False, "(c) session 2", progress)
    t_s = rec["stereo_t_ns"] * 1e-9
    truth = rec["stereo_pose_world_base"]
    loc = run["localized"]
    first = int(np.argmax(loc)) if loc.any() else None
    f: dict = {"map_loaded": counts, "relocalized": first is not None}
    if first is not None:
        event = next((e for e in system.relocalizations if e.odometry_broken), None)
        err = np.linalg.norm(run["online"][:, :2, 3] - truth[:, :2, 3], axis=1)
        yaw_err = [abs(_angle_deg(np.linalg.inv(truth[k]) @ run["online"][k]))
                   for k in range(first, len(t_s))]
        f.update({
            "relocalized_after_s": round(float(t_s[first] - t_s[0]), 2),
            "goal_s": GOAL_RELOC_S,
            "goal_met": float(t_s[first] - t_s[0]) <= GOAL_RELOC_S,
            "relocalization_inliers": None if event is None else event.inliers,
            "relocalization_error_m": round(float(err[first]), 4),
            "error_after_m_rmse": round(float(np.sqrt(np.mean(err[first:] ** 2))), 4),
            "error_after_m_max": round(float(err[first:].max()), 4),
            "heading_error_after_deg_max": round(float(max(yaw_err)), 3),
        })
        f.update(figures(rec, system, run, first, truth_of, first_new))
        f["map"] = map_figures(rec, system, run, None)
        f["occupancy"] = occupancy_vs_home(system, rec.manifest["scenario"]["home"],
                                           rec.manifest["drive"]["changes"])
    system.close()
    return f


# ------------------------------------------------------------------------------ jobs
# Each sequence runs in its own process (two at a time on two cores: a SLAM run is one
# tracking thread and one back-end thread sharing one interpreter lock); each loads its
# recording from disk.


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _job_record(folder: str, which: str, quick: bool) -> dict:
    scn = load_scenario(quick=quick)
    if which == "tour":
        rec = record_drive(scn, scn.tour, scn.darkness, progress=_progress)
    else:
        rec = record_drive(scn, scn.session2, None, progress=_progress)
    rec.save(Path(folder) / which)
    return {k: rec.manifest[k] for k in ("counts", "simulated_s", "record_wall_s",
                                         "planned_route_m")}


def _job_a(folder: str, loops: bool) -> dict:
    rec = Recording.load(Path(folder) / "tour")
    return sequence_a(rec, loops, Path(folder) / "tour.map.npz" if loops else None, _progress)


def _job_b(folder: str, illuminator: bool) -> dict:
    try:
        rec = Recording.load(Path(folder) / "tour").with_darkness(illuminator)
    except ValueError as exc:  # a recording made before the illuminator-off renders
        return {"error": str(exc)}
    label = "(b) darkness" if illuminator else "(b') darkness, illuminator off"
    out = sequence_b(rec, _progress, label)
    out["illuminator"] = illuminator
    return out


def _job_c(folder: str) -> dict:
    rec = Recording.load(Path(folder) / "session2")
    tour = Recording.load(Path(folder) / "tour", ("stereo_t_ns", "stereo_pose_world_base"))
    return sequence_c(rec, Path(folder) / "tour.map.npz", _progress, tour)


def main(argv: list[str] | None = None) -> int:
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    ap = argparse.ArgumentParser(prog="hearth eval slam", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recording", type=Path,
                    help="a runs/slam/<stamp> folder to replay (tour/, session2/)")
    ap.add_argument("--quick", action="store_true", help="the short tour (a smoke run)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="sequences run side by side (default: 2, the machine's cores)")
    args = ap.parse_args(argv)

    wall0 = time.perf_counter()
    out = args.recording or (workspace_root() / "runs" / "slam"
                             / datetime.now().strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    folder = str(out)
    pool = ProcessPoolExecutor(max_workers=max(1, args.jobs),
                               mp_context=multiprocessing.get_context("spawn"))
    with pool:
        recorded = {}
        if not args.recording:
            _progress(f"recording the tour (and its dark renders) and session 2 into {out}")
            jobs = {w: pool.submit(_job_record, folder, w, args.quick)
                    for w in ("tour", "session2")}
            recorded = {w: f.result() for w, f in jobs.items()}
        record_s = time.perf_counter() - wall0
        a_loop = pool.submit(_job_a, folder, True)
        a_open = pool.submit(_job_a, folder, False)
        b_job = pool.submit(_job_b, folder, True)
        b_black = pool.submit(_job_b, folder, False)
        a_with = a_loop.result()  # its saved map is session 2's
        c_job = pool.submit(_job_c, folder)
        result: dict = {
            "what": "V-SLAM on the simulator (hearth_slam.slam_system) vs ground truth",
            "recording": folder, "odometry": "fusion EKF replayed on IMU + encoders",
            "recorded": recorded,
            "a_tour": {"with_loop_closure": a_with,
                       "without_loop_closure": a_open.result()},
            "b_darkness": b_job.result(), "b_darkness_illuminator_off": b_black.result(),
            "c_second_session": c_job.result()}
    tour_manifest = json.loads((out / "tour" / "manifest.json").read_text())
    result["tour_route_m"] = round(tour_manifest["planned_route_m"], 1)
    result["tour_simulated_s"] = round(tour_manifest["simulated_s"], 1)
    a = result["a_tour"]
    a["goals"] = goals_a(a["with_loop_closure"], a["without_loop_closure"])
    result["wall_s"] = {"record": round(record_s, 1), "jobs": args.jobs,
                        "total": round(time.perf_counter() - wall0, 1)}

    b, c = result["b_darkness"], result["c_second_session"]
    b_off = result["b_darkness_illuminator_off"]
    for name, f in (("(a) with loop closure", a["with_loop_closure"]),
                    ("(a) without loop closure", a["without_loop_closure"]),
                    ("(b) darkness", b), ("(b') illuminator off", b_off)):
        if "error" in f:
            print(f"{name:<26} {f['error']}")
            continue
        k = f["ate_keyframes_final"] or {}
        print(f"{name:<26} path {f['path_m']} m: ATE keyframes {k.get('rmse_m')} m, online "
              f"{f['ate_online']['rmse_m']} m; RPE 1 m {f['rpe_1m'].get('translation_pct')} %, "
              f"10 m {f['rpe_10m'].get('translation_pct')} %; end drift "
              f"{f['end_drift_pct']} %; loops {f['loops']['accepted']} "
              f"(false {f['loops']['false']}); lost {f['tracking_lost_s']} s")
    for name, f in (("(a) with loop closure", a["with_loop_closure"]),
                    ("(a) without loop closure", a["without_loop_closure"])):
        m = f["map"]
        e = m["at_end"]
        print(f"{name:<26} keyframes created {m['keyframes_created']}, located only "
              f"{m['keyframes_located_only']}, culled {m['keyframes_culled']}, alive "
              f"{m['keyframes_alive']}; map {e['landmarks']} landmarks, "
              f"{e['total_bytes'] / 1e6:.2f} MB ({e['bytes_per_keyframe']} B per keyframe)")
        if "revisits" in m:
            n, r = m["at_end_of_new_ground"], m["revisits"]
            print(f"{'':<26} after {n['path_m']} m (new ground ends): {n['keyframes']} "
                  f"keyframes, {n['total_bytes'] / 1e6:.2f} MB; the last {r['path_m']} m of "
                  f"revisits created {r['keyframes_created_added']}, kept "
                  f"{r['keyframes_added']} keyframes, "
                  f"{r['total_bytes_added'] / 1e6:.2f} MB ({r['bytes_per_m_of_revisit']} B/m "
                  f"vs {r['bytes_per_m_of_new_ground']} B/m on new ground)")
    for name, f in (("(b)", b), ("(b')", b_off)):
        if "error" in f:
            continue
        d = f["darkness"]
        after = ("tracking held through the dark" if d["tracking_held_through_the_dark"]
                 else f"lost at {d['tracking_lost_at_s']} s, relocalized at "
                      f"{d['relocalized_at_s']} s ({d['relocalized_after_lights_s']} s after "
                      f"the lights, by {d['relocalized_by']})")
        print(f"{name} dark {d['dark_from_s']}-{d['lights_back_s']} s: lost "
              f"{f['tracking_lost_s']} s, max error in the dark {d['error_in_the_dark_max_m']} "
              f"m; {after}")
    if c.get("relocalized"):
        print(f"(c) second session: relocalized after {c['relocalized_after_s']} s "
              f"(goal {GOAL_RELOC_S} s: {'met' if c['goal_met'] else 'NOT met'}), error "
              f"{c['relocalization_error_m']} m; after it {c['error_after_m_rmse']} m RMSE")
    else:
        print(f"(c) second session: NOT relocalized ({c.get('error', 'no match')})")
    g = a["goals"]
    print(f"goals: ATE <= {GOAL_ATE_M} m with loops: {'met' if g['ate_goal_met'] else 'NOT met'};"
          f" drift <= {GOAL_DRIFT_PCT} % without: "
          f"{'met' if g['drift_goal_met'] else 'NOT met'}; total {result['wall_s']['total']} s")
    write_json_atomic(out / "results.json", result)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
