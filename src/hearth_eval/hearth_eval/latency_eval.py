"""``./hearth eval latency``: the local planner's latency compensation, on versus off.

With ``--latency-ms`` (300) of sensing latency injected (the pose and the depth frames reach
the planner that late; the tracks come from those frames), the same scenario runs with the
planner's latency compensation on and off, on the same seeds (``hearth_eval.planner_loop``:
MuJoCo, the house's living room, one scripted person walking head-on towards the robot and
another crossing its way; the robot's own perception). Per run:
path-tracking error (RMS distance of the true position from the route), jerk (RMS of the true
forward speed's second derivative) and the smallest gap to a person (between the discs).
The path-tracking error is that of the robot against its own committed plan (/local_plan):
each cycle, the distance between the true position and where the previous cycle's plan said
the robot would be now. (The distance from the route is printed too; going around people
leaves the route on purpose.)
Compensation must be better on each, as a mean over the seeds, and with it the robot must
touch nobody and nothing (contacts with people, walls, doors, furniture; the simulator's
ground truth). The exit status is 0 only then.

    python -m hearth_eval.eval latency [--seeds 3] [--latency-ms 300] [--candidates 1000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def living_room_scenario(seed: int):
    """The house's living room (open floor between the sofa, the coffee table and the TV):
    the robot crosses it west to east; one person walks head-on towards it, another crosses
    its way. The people are scripted: they do not give way (the head-on one walks to where
    the robot started). 20 s: letting them pass takes the robot a while."""
    from hearth_eval.planner_loop import Scenario, ScriptedCrowd

    rng = np.random.default_rng(seed)
    crowd = ScriptedCrowd(
        routes=[
            np.array([[5.6, 1.5 + rng.uniform(-0.15, 0.15)], [1.3, 1.6]]),  # head-on
            np.array([[3.6 + rng.uniform(-0.3, 0.3), 3.5], [3.6, 0.8]]),  # across
        ],
        speeds_mps=[0.8 + rng.uniform(-0.1, 0.1), 0.7 + rng.uniform(-0.1, 0.1)],
        starts_s=[rng.uniform(0.0, 0.5), 1.5 + rng.uniform(0.0, 1.0)],
    )
    route = np.array([[1.4, 1.5], [5.4, 1.5]])
    return Scenario("living room, 2 people", "house", (1.4, 1.5, 0.0), route, crowd,
                    duration_s=20.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth eval latency", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--latency-ms", type=float, default=300.0)
    ap.add_argument("--candidates", type=int, default=1000)
    args = ap.parse_args(argv)

    from hearth_eval.planner_loop import LoopOptions, run_scenario

    rows = []
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        for on in (True, False):
            opt = LoopOptions(sensing_latency_s=args.latency_ms * 1e-3,
                              latency_compensation=on, candidates=args.candidates, seed=seed)
            r = run_scenario(living_room_scenario(seed), opt)
            rows.append({"seed": seed, "compensation": on, "reached": r.reached,
                         "time_s": r.time_s, "tracking_error_rms_m": r.tracking_error_rms_m,
                         "route_error_rms_m": r.route_error_rms_m,
                         "jerk_rms_mps3": r.jerk_rms_mps3,
                         "min_person_gap_m": r.min_person_clearance_m,
                         "contacts": r.solid_contacts})
            print(f"seed {seed} compensation {'on ' if on else 'off'}: "
                  f"{'reached' if r.reached else 'NOT reached'} in {r.time_s:5.1f} s, "
                  f"tracking error {r.tracking_error_rms_m:.3f} m RMS (route "
                  f"{r.route_error_rms_m:.2f}), jerk {r.jerk_rms_mps3:.2f} m/s³ "
                  f"RMS, closest to a person {r.min_person_clearance_m:.2f} m, "
                  f"contacts {r.solid_contacts or 'none'}", flush=True)

    def mean(on: bool, key: str) -> float:
        return float(np.mean([r[key] for r in rows if r["compensation"] is on]))

    keys = [("tracking_error_rms_m", "path-tracking error RMS (m)", False),
            ("jerk_rms_mps3", "jerk RMS (m/s³)", False),
            ("min_person_gap_m", "smallest gap to a person (m)", True)]
    print(f"\n{args.latency_ms:g} ms sensing latency, {args.seeds} seeds "
          f"({time.perf_counter() - t0:.0f} s):")
    print(f"{'':32s}{'on':>10s}{'off':>10s}  better")
    summary = {}
    for key, label, higher in keys:
        on, off = mean(True, key), mean(False, key)
        better = on > off if higher else on < off
        summary[key] = {"on": round(on, 4), "off": round(off, 4), "compensation_better": better}
        print(f"{label:32s}{on:10.3f}{off:10.3f}  {'yes' if better else 'NO'}")
    better = all(v["compensation_better"] for v in summary.values())
    contacts_on = sum(len(r["contacts"]) > 0 for r in rows if r["compensation"])
    contacts_off = sum(len(r["contacts"]) > 0 for r in rows if not r["compensation"])
    reached = {on: sum(r["reached"] for r in rows if r["compensation"] is on)
               for on in (True, False)}
    print(f"{'runs with a contact':32s}{contacts_on:10d}{contacts_off:10d}  "
          f"{'yes' if contacts_on == 0 else 'NO'}")
    print(f"{'runs reaching the goal':32s}{reached[True]:10d}{reached[False]:10d}")
    ok = better and contacts_on == 0
    print(json.dumps({"latency_ms": args.latency_ms, "seeds": args.seeds, "summary": summary,
                      "all_better": better, "runs_with_contact": {"on": contacts_on,
                                                                  "off": contacts_off},
                      "runs_reached": {"on": reached[True], "off": reached[False]},
                      "passed": ok, "runs": rows}, default=str))
    return 0 if ok else 1
