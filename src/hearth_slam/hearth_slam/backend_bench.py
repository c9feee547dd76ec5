"""Back-end timing for ``./hearth bench slam`` (ROS-free; numbers, never asserts).

``measure(n_keyframes=...)`` drives the back end with the synthetic landmark world
(``synthetic_landmarks``: a 10 x 7 m room, laps of 18 m, 60 keyframes a lap, 150 stereo
observations a keyframe, drifting odometry, a loop factor every 5th keyframe after the
first lap, as verified loops would give) and reports:

- ``backend_ms_per_keyframe_median`` / ``_p95``: ``Backend.add_keyframe`` wall time (iSAM2
  update, landmark admission, finding the map's landmarks again, culling) of the keyframes
  that enter the graph; ``backend_ms_per_located_keyframe_median``: of those that only
  locate the robot in a place already mapped (no iSAM2 update);
- ``loop_ms_median``: ``Backend.add_loop`` (its extra iSAM2 iterations included);
- ``memory_per_keyframe_kb``: the process's resident memory growth over the run (GTSAM's
  C++ graph and the Python bookkeeping together) per keyframe added, and per keyframe kept
  in the graph (culling removes some);
- ``map_file_kb_per_keyframe``: the saved map's size per keyframe (``map_store``);
- ``tracking_stall_ms_max`` / ``_p99``: while ``BackendThread`` works through the same
  keyframes, the largest gaps a Python loop on the submitting thread sees (GTSAM holds the
  interpreter lock while it optimises); ``tracking_stall_idle_ms_max``: the same loop with
  the worker idle, for comparison.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def _rss_kb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    except OSError:
        pass
    import resource

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _scenario(n_keyframes: int, seed: int):
    from hearth_slam import synthetic_landmarks as sl
    from hearth_slam.backend import BackendCamera

    camera = BackendCamera.from_robot()
    rng = np.random.default_rng(seed)
    world = sl.room_world(rng)
    poses = sl.lap_poses(60, n_keyframes / 60.0)
    odom = sl.drifting_odometry(poses, rng, yaw_bias_rad_per_m=math.radians(0.5))
    return camera, sl.simulate_keyframes(world, camera, poses, rng, odometry=odom)


def _loop_for(kfs, k, keyframes) -> tuple[int, np.ndarray] | None:
    from hearth_slam import se3

    if k.kf_id < 60 or k.kf_id % 5:
        return None
    a = k.kf_id - 60
    while a not in keyframes and a > 0:
        a -= 1
    return a, se3.inverse(kfs[a].pose_map_base) @ k.pose_map_base


def _gaps_ms(stop: threading.Event) -> list[float]:
    """The gaps between iterations of a Python loop that sleeps 1 ms, until ``stop``."""
    gaps = []
    last = time.perf_counter()
    while not stop.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append((now - last) * 1e3)
        last = now
    return gaps


def measure(n_keyframes: int = 240, seed: int = 7, measure_stall: bool = True) -> dict:
    """The figures of the module doc (``measure_stall=False`` skips the second pass)."""
    from hearth_slam import synthetic_landmarks as sl
    from hearth_slam.backend import Backend
    from hearth_slam.map_store import build_map, save_map

    camera, kfs = _scenario(n_keyframes, seed)
    info = np.diag([1 / 0.01 ** 2] * 3 + [1 / 0.02 ** 2] * 3)
    rss0 = _rss_kb()
    be = Backend(camera)
    kf_ms, located_ms, loop_ms = [], [], []
    for k in kfs:
        tick = time.perf_counter()
        update = be.add_keyframe(k.kf_id, k.t_s, k.pose_odom_base, k.landmark_ids,
                                 k.stereo_uv, k.new_landmark_ids,
                                 new_descriptors=k.new_descriptors)
        (located_ms if update.skipped else kf_ms).append((time.perf_counter() - tick) * 1e3)
        loop = None if update.skipped else _loop_for(kfs, k, be.keyframes)
        if loop is not None:
            tick = time.perf_counter()
            be.add_loop(loop[0], k.kf_id, loop[1], info)
            loop_ms.append((time.perf_counter() - tick) * 1e3)
    rss1 = _rss_kb()
    ids, poses = be.optimized_poses()
    truth = np.array([kfs[i].pose_map_base[:3, 3] for i in ids])
    ate = sl.aligned_ate_rmse_m(poses[:, :3, 3], truth)
    with tempfile.TemporaryDirectory() as tmp:
        size = save_map(os.path.join(tmp, "map.npz"), build_map(be.export_state(), "bench"))

    stats = be.stats()
    out = {
        "backend_keyframes": n_keyframes,
        "backend_ms_per_keyframe_median": round(float(np.median(kf_ms)), 2),
        "backend_ms_per_keyframe_p95": round(float(np.percentile(kf_ms, 95)), 2),
        "backend_ms_per_located_keyframe_median": round(float(np.median(located_ms)), 2)
        if located_ms else None,
        "backend_loop_ms_median": round(float(np.median(loop_ms)), 2) if loop_ms else None,
        "memory_per_keyframe_kb": round((rss1 - rss0) / n_keyframes, 1),
        "memory_per_kept_keyframe_kb": round((rss1 - rss0) / max(stats["keyframes"], 1), 1),
        "backend_keyframes_kept": stats["keyframes"],
        "backend_keyframes_located_only": stats["keyframes_skipped"],
        "backend_keyframes_culled": stats["keyframes_culled"],
        "backend_landmarks": stats["landmarks"],
        "map_file_kb_per_keyframe": round(size / 1024 / max(stats["keyframes"], 1), 2),
        "backend_ate_m": round(ate, 4),
    }
    if measure_stall:
        out.update(_stall(camera, kfs))
    return out


def _stall(camera, kfs) -> dict:
    """The same keyframes through the worker thread, watching the submitting thread."""
    from hearth_slam.backend import Backend
    from hearth_slam.backend_thread import BackendThread, KeyframeInput

    stop = threading.Event()
    idle: list[float] = []
    t = threading.Thread(target=lambda: idle.extend(_gaps_ms(stop)))
    t.start()
    time.sleep(0.5)
    stop.set()
    t.join()
    worker = BackendThread(Backend(camera), max_queue=len(kfs) + 1).start()
    gaps: list[float] = []
    stop = threading.Event()
    watcher = threading.Thread(target=lambda: gaps.extend(_gaps_ms(stop)))
    watcher.start()
    for k in kfs:
        worker.submit_keyframe(KeyframeInput(
            k.kf_id, k.t_s, k.pose_odom_base, k.landmark_ids, k.stereo_uv,
            k.new_landmark_ids, new_descriptors=k.new_descriptors))
        time.sleep(0.01)  # keyframes arrive over time, as from tracking
    worker.wait_idle(120.0)
    stop.set()
    watcher.join()
    worker.stop()
    return {
        "tracking_stall_ms_max": round(max(gaps, default=0.0), 2),
        "tracking_stall_ms_p99": round(float(np.percentile(gaps, 99)), 2) if gaps else None,
        "tracking_stall_idle_ms_max": round(max(idle, default=0.0), 2),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 240)))
