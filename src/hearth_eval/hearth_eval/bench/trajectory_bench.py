"""How fast the local planner scores candidates: ``./hearth bench trajectory``.

The scene (``trajectory_scene``): a full 6 x 6 m local costmap at 5 cm with walls and
furniture, 5 tracked people, a bending path. Figures, each the median and 95th percentile
over ``--cycles`` on one core:

* ``evaluate``: one stage of ``--candidates`` x 30 steps: sample, roll out (the jerk-limited
  trajectory space), all critics (static and people collision probabilities, survival,
  progress, jerk, comfort, heading), pick the best. The work pytorch-mppi does per command.
* ``cycle``: hearth's whole planning cycle (``LocalPlanner.plan``) with ``--candidates`` in
  all stages (Sobol stage + 2 cross-entropy refinements), including the path's cost-to-go
  field and the people's forecast.
* the peer: pytorch-mppi's ``MPPI.command`` (CPU, ``torch.set_num_threads(1)``) with the same
  samples and steps, on the same dynamics and costs ported to torch
  (``trajectory_torch_peer``); the port is checked against hearth's costs first.

State evaluations per second = candidates x steps / time. Goal: >= 2,000 x 30 with a cycle
p95 <= 25 ms, and no slower than pytorch-mppi on identical work.

The peer needs ``pip install --no-deps -r tools/requirements/bench-peers.txt`` (torch's
wheel wants a newer setuptools than colcon allows, so it is not in the workspace's pins);
without it the peer's figures are null.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

GOAL_CANDIDATES = 2000
GOAL_P95_MS = 25.0


def _stats(samples_s: list[float]) -> dict:
    a = np.asarray(samples_s) * 1e3
    return {"median_ms": round(float(np.median(a)), 3),
            "p95_ms": round(float(np.percentile(a, 95)), 3)}


def run(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="hearth bench trajectory", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=int, default=GOAL_CANDIDATES)
    ap.add_argument("--cycles", type=int, default=60, help="timed cycles per figure")
    ap.add_argument("--no-peer", action="store_true", help="skip pytorch-mppi")
    args = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

    from hearth_eval.bench.trajectory_scene import LIMITS, make_scene, planner_scene
    from hearth_trajectory.critics import Evaluation, evaluate
    from hearth_trajectory.planner import LocalPlanner, PlannerParams, PlanningInput
    from hearth_trajectory.sampling import KnotSpace, SobolSource
    from hearth_trajectory.trajectory_space import StartState, rollout

    bs = make_scene()
    params = PlannerParams(candidates=args.candidates, min_candidates=args.candidates,
                           overrun_fraction=1e9)  # no shedding while measuring
    steps = params.steps
    od = bs.odom
    start = StartState(od.x_m, od.y_m, od.yaw_rad, od.v_mps, od.w_radps)
    scene, _ = planner_scene(bs, params, start, 0.0)
    planner = LocalPlanner(LIMITS, params)
    space = KnotSpace(LIMITS, steps, params.dt_s, params.knots)
    source = SobolSource(space.dims, seed=1)

    def evaluate_once() -> tuple[np.ndarray, np.ndarray]:
        targets = space.targets(space.from_unit(source.uniform(args.candidates)))
        roll = rollout(start, targets, LIMITS, params.dt_s)
        costs = evaluate(planner.critics, Evaluation(roll, scene, params.comfort_sigma_m))
        return targets, costs.total

    def cycle_once(k: int) -> float:
        t = 0.1 * k
        res = planner.plan(PlanningInput(t, type(od)(t, od.x_m, od.y_m, od.yaw_rad, od.v_mps,
                                                     od.w_radps, od.pose_cov_xy),
                                         bs.path_xy, 1, bs.distance, 0.05,
                                         type(bs.tracks)(t, *[getattr(bs.tracks, f) for f in (
                                             "ids", "positions", "velocities", "covariances",
                                             "radii")])))
        return res.compute_s

    for _ in range(3):  # compile and warm up
        evaluate_once()
        cycle_once(0)
    eval_s, cycle_s = [], []
    for k in range(args.cycles):
        t0 = time.perf_counter()
        evaluate_once()
        eval_s.append(time.perf_counter() - t0)
        cycle_s.append(cycle_once(k + 1))
    work = args.candidates * steps
    ev, cy = _stats(eval_s), _stats(cycle_s)
    out = {
        "candidates": args.candidates, "steps": steps, "people": len(bs.tracks),
        "costmap_cells": int(bs.distance.values.size),
        "evaluate": ev, "cycle": cy,
        "state_evals_per_s": round(work / (ev["median_ms"] * 1e-3)),
        "goal_met": bool(args.candidates >= GOAL_CANDIDATES and cy["p95_ms"] <= GOAL_P95_MS),
        "peer": None,
    }
    print(f"hearth: {args.candidates} candidates x {steps} steps, 5 people, "
          f"{bs.distance.values.shape[0]}x{bs.distance.values.shape[1]} costmap, one core")
    print(f"  evaluate (one stage):  median {ev['median_ms']:7.2f} ms  p95 {ev['p95_ms']:7.2f} ms"
          f"  {out['state_evals_per_s']:,} state evaluations/s")
    print(f"  planning cycle:        median {cy['median_ms']:7.2f} ms  p95 {cy['p95_ms']:7.2f} ms"
          f"  (goal p95 <= {GOAL_P95_MS:g} ms at >= {GOAL_CANDIDATES})")

    if not args.no_peer:
        out["peer"] = _peer(scene, start, params, args, evaluate_once, ev)
    return out


def _peer(scene, start, params, args, evaluate_once, ev) -> dict | None:
    try:
        import pytorch_mppi
        import torch
    except ImportError as exc:
        print(f"peer: pytorch-mppi not installed ({exc}); "
              "pip install --no-deps -r tools/requirements/bench-peers.txt")
        return None
    from hearth_eval.bench.trajectory_torch_peer import TorchPeer

    torch.set_num_threads(1)
    peer = TorchPeer(scene, start, params, params.comfort_sigma_m)
    # The port computes hearth's costs: check on the same targets.
    targets, ours = evaluate_once()
    theirs = peer.rollout_costs(targets[:256])
    err = float(np.max(np.abs(theirs - ours[:256])))
    mppi = peer.mppi(args.candidates)
    for _ in range(2):
        mppi.command(peer.x0)
    times = []
    for _ in range(args.cycles):
        t0 = time.perf_counter()
        mppi.command(peer.x0)
        times.append(time.perf_counter() - t0)
    st = _stats(times)
    ratio = st["median_ms"] / ev["median_ms"]
    print(f"pytorch-mppi {pytorch_mppi.__name__} (torch {torch.__version__}, 1 thread), same "
          f"dynamics and costs (max cost difference of the port {err:.1e}):")
    print(f"  command:               median {st['median_ms']:7.2f} ms  p95 {st['p95_ms']:7.2f} ms")
    print(f"  ratio pytorch-mppi / hearth on identical work: {ratio:.2f}x")
    return {**st, "torch": torch.__version__, "port_max_cost_diff": err,
            "ratio_peer_over_hearth": round(ratio, 2)}
