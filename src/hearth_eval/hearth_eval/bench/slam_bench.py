"""How fast V-SLAM runs: the front end per stereo frame, the back end per keyframe.

**Front end** (``hearth_slam.visual_odometry.VisualOdometry.track``) on the real EuRoC V1_01
images (``../shared/data/euroc-v1_01-micro-stereo-imu-gt``: 95 raw pairs, 752x480, loaded
into memory first) on **one core**: the process is pinned to one CPU, OpenCV runs one
thread (``cv2.setNumThreads(1)``) and the BLAS libraries one. Each frame is rectified,
ORB is extracted on both images, matched along rows, tracked against the local map (PnP,
refinement), keyframes decided. ``--repeats`` fresh runs over the sequence; median and p95
over all frames. Then the same frames through the stages alone (rectify, ORB left, ORB right,
stereo matching), median ms each; tracking is the rest. Goal: <= 50 ms (>= 20 frames/s).

**Back end**: a function plugged in by name (``--backend module:function``, default
``hearth_slam.backend_bench:measure``, the back end's own driver: iSAM2 per keyframe,
memory per keyframe). It is called with ``n_keyframes=--backend-keyframes`` and returns a
dict; its ``backend_ms_per_keyframe_median`` and ``memory_per_keyframe_kb`` fill this
bench's ``backend_ms_per_keyframe`` and ``memory_per_keyframe_kb``, and the whole dict is
under ``backend``. ``--no-backend`` (or a back end that does not import) leaves them null.
The back end runs with the process's CPU affinity restored (it measures its own thread).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import time

# one core: set before numpy loads its BLAS
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

GOAL_MS = 50.0
DEFAULT_BACKEND = "hearth_slam.backend_bench:measure"


def _pin_to_one_cpu() -> tuple[int | None, set[int] | None]:
    """(the CPU now used, the affinity before) or (None, None) where not supported."""
    try:
        before = set(os.sched_getaffinity(0))
        cpu = min(before)
        os.sched_setaffinity(0, {cpu})
        return cpu, before
    except (AttributeError, OSError):
        return None, None


def front_end(repeats: int) -> tuple[dict, list]:
    import cv2
    import numpy as np

    from hearth_eval.bench.stats import summarize_ms
    from hearth_slam.datasets import EUROC, euroc_stereo, shared_data_dir
    from hearth_slam.stereo_camera import StereoRig
    from hearth_slam.stereo_matching import match_stereo
    from hearth_slam.visual_odometry import VisualOdometry

    cv2.setNumThreads(1)
    root = shared_data_dir() / EUROC
    if not (root / "mav0").is_dir():
        return {"error": f"no EuRoC data in {root}"}, []
    data = euroc_stereo(root)
    rig = StereoRig.from_camera_info_fields(data.left_info, data.right_info)
    pairs = [data.images(k) for k in range(len(data.t_ns))]
    per_frame, keyframes, tracked = [], [], 0
    for _ in range(repeats):
        vo = VisualOdometry(rig)
        for (left, right), t_ns in zip(pairs, data.t_ns, strict=True):
            tick = time.perf_counter()
            out = vo.track(left, right, t_ns * 1e-9)
            per_frame.append(time.perf_counter() - tick)
            tracked += out.tracked
        keyframes = vo.pop_keyframes()
    stages: dict[str, list[float]] = {"rectify": [], "orb_left": [], "orb_right": [],
                                      "stereo_matching": []}
    vo = VisualOdometry(rig)
    for left, right in pairs:
        t0 = time.perf_counter()
        rl, rr = rig.rectify(left, right)
        t1 = time.perf_counter()
        fl = vo.extractor.extract(rl)
        t2 = time.perf_counter()
        fr = vo.extractor.extract(rr)
        t3 = time.perf_counter()
        match_stereo(rl, rr, fl, fr, rig, vo.params.stereo)
        t4 = time.perf_counter()
        for key, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stages[key].append(dt)
    stage_ms = {k: round(1e3 * float(np.median(v)), 2) for k, v in stages.items()}
    summary = summarize_ms(per_frame)
    stage_ms["tracking_and_keyframes"] = round(summary["median_ms"] - sum(stage_ms.values()), 2)
    return {
        "frames": len(per_frame),
        "tracked": tracked,
        "image_px": [rig.width_px, rig.height_px],
        "ms_per_frame": summary,
        "stage_median_ms": stage_ms,
    }, keyframes


def back_end(spec: str, n_keyframes: int) -> dict | None:
    module_name, _, func_name = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name or "measure")
    except (ImportError, AttributeError) as exc:
        print(f"back end {spec!r} not available ({exc}): backend figures are null")
        return None
    kwargs = {}
    if "n_keyframes" in inspect.signature(func).parameters:
        kwargs["n_keyframes"] = n_keyframes
    return func(**kwargs)


def run(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="hearth bench slam", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="runs over the sequence (default 3)")
    ap.add_argument("--backend", default=DEFAULT_BACKEND,
                    help=f"back-end measuring function, module:function (default "
                         f"{DEFAULT_BACKEND})")
    ap.add_argument("--backend-keyframes", type=int, default=240,
                    help="keyframes for the back-end measurement (default 240)")
    ap.add_argument("--no-backend", action="store_true", help="front end only")
    args = ap.parse_args(argv)

    cpu, affinity = _pin_to_one_cpu()
    front, _ = front_end(args.repeats)
    if affinity is not None:  # the back end measures its own thread against tracking's
        os.sched_setaffinity(0, affinity)
    if "error" in front:
        print(front["error"])
        median = p95 = None
    else:
        median, p95 = front["ms_per_frame"]["median_ms"], front["ms_per_frame"]["p95_ms"]
        print(f"front end, EuRoC {front['image_px'][0]}x{front['image_px'][1]}, one core "
              f"(cpu {cpu}): median {median} ms, p95 {p95} ms per stereo frame over "
              f"{front['frames']} frames; stages (median ms): {front['stage_median_ms']}; "
              f"goal <= {GOAL_MS:g} ms")
    backend = None if args.no_backend else back_end(args.backend, args.backend_keyframes)
    if backend is not None:
        print(f"back end ({args.backend}): {backend.get('backend_ms_per_keyframe_median')} ms "
              f"per keyframe (median), {backend.get('memory_per_keyframe_kb')} kB per keyframe")
    return {
        "what": "front end: VisualOdometry.track on the 95 EuRoC V1_01 stereo pairs (752x480, "
                "raw: rectified in the front end), one core; back end: see 'backend'",
        "front_end_ms_per_frame_median": median,
        "front_end_ms_per_frame_p95": p95,
        "front_end": front,
        "goal_ms": GOAL_MS,
        "goal_met": median is not None and median <= GOAL_MS,
        "cpu_pinned": cpu,
        "backend_ms_per_keyframe": None if backend is None
        else backend.get("backend_ms_per_keyframe_median"),
        "memory_per_keyframe_kb": None if backend is None
        else backend.get("memory_per_keyframe_kb"),
        "backend": backend,
    }
