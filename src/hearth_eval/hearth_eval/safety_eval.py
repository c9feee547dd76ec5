"""``./hearth eval safety``: the safety controller in closed loop on the MuJoCo simulator.

    python -m hearth_eval.eval safety [--trials 20] [--seed 0] [--gap-m 0.7] [--quick]

A person steps out of a doorway in front of the driving robot. Each trial, in-process (no
DDS): ``MujocoSim`` in the apartment (physics at 1 kHz, the ToF rendered at robot.yaml's
15 Hz, the motor board's ramp at robot.yaml's limits), the robot driving east along the
hallway's centre line at a cruise speed, commanded as the local planner does (a constant
command and its stamped rollout as /local_plan, at 10 Hz; a small heading correction keeps it
on the line; the planner does not see the person). Odometry is the simulator's ground truth
(the `world` frame stands for odom) at 100 Hz. Every ToF frame goes through
``SafetyController.process_depth`` at its capture time; the watchdog ticks at 50 Hz; a command
reaches the motor board ``--latency-s`` later (processing and DDS; see ``./hearth bench
safety``).

The person (``hearth_sim.people.scripted.StepOut``) waits inside the kitchen (south) or the
study (north), out of the ToF's sight, and walks out through the door into the hallway, to
stand on the robot's line (a lateral offset drawn per trial), timed so that its body enters
the robot's swept corridor (|y_person - y_robot| < r_robot + r_person) when the gap between
the robot's front and the person is ``--gap-m`` (0.7 m): a pop-up obstacle 0.7 m ahead. It
stands there ``--stay-s``, then walks back; the robot must then drive on.

Per trial, seeded (``--seed`` + trial): the cruise speed (0.6-0.8 m/s), the person's walking
speed (1.0-1.5 m/s), the door, the lateral offset (+-0.15 m), the start position and the phase
of the ToF frames against the step-out. Measured from ground truth: contacts of the robot with
the person (``/ground_truth/contacts``' source), the minimum distance between the robot's
footprint and the person's body (capsule radius ``PERSON_RADIUS_M``), the gap at which the
person really appeared, whether the emergency stop was used, and whether and when the robot
resumed its cruise after the person left. Prints a table and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

HALL_Y_M = 4.0  # the apartment hallway's centre line (maps/apartment/home.yaml)
DOORS = {  # name: (door centre x, wall y, which side the room is: -1 south, +1 north)
    "kitchen": (8.0, 3.4, -1.0),
    "study": (8.25, 4.6, 1.0),
}
WAIT_INSIDE_M = 0.6  # the person waits this far inside the room from the wall's centre line
START_X_M = 5.6
PLAN_PERIOD_NS = 100_000_000
ODOM_PERIOD_NS = 10_000_000
WATCHDOG_PERIOD_NS = 20_000_000


@dataclass
class Trial:
    seed: int
    door: str
    cruise_mps: float
    person_speed_mps: float
    lateral_m: float
    appeared_gap_m: float | None = None  # robot front to person when it entered the corridor
    min_distance_m: float = math.inf  # footprint to the person's body over the trial
    person_contacts: int = 0
    other_contacts: int = 0
    emergency_stops: int = 0
    stopped_after_s: float | None = None  # from the appearance to standing still
    resumed_after_s: float | None = None  # from the person clearing the corridor to cruise
    max_decel_mps2: float = 0.0
    frames: int = 0
    wall_s: float = 0.0


def _build(seed: int, args: argparse.Namespace):
    from hearth_common.config import load_config
    from hearth_description.robot_model import expand_xacro, load_robot_params
    from hearth_sim import mujoco_sim
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import resolve_home
    from hearth_sim.people.scripted import ScriptedCrowd, StepOut
    from hearth_sim.world.assemble import PERSON_RADIUS_M

    rng = np.random.default_rng(seed)
    robot = load_robot_params()
    r_robot = robot.base.radius_m
    door = list(DOORS)[seed % 2]
    door_x, wall_y, side = DOORS[door]
    trial = Trial(seed, door, float(rng.uniform(0.6, 0.8)), float(rng.uniform(1.0, 1.5)),
                  float(rng.uniform(-0.15, 0.15)))
    person_x = door_x + float(rng.uniform(-0.1, 0.1))
    wait_y = wall_y + side * WAIT_INSIDE_M
    stop_y = HALL_Y_M + trial.lateral_m
    # When the body enters the corridor, the robot's front is gap_m short of the person.
    corridor = r_robot + PERSON_RADIUS_M
    enter_after_s = (abs(wait_y - HALL_Y_M) - corridor) / trial.person_speed_mps
    robot_x_at_entry = person_x - PERSON_RADIUS_M - args.gap_m - r_robot
    trigger_x = robot_x_at_entry - trial.cruise_mps * enter_after_s
    script = StepOut((person_x, wait_y), (person_x, stop_y), trial.person_speed_mps,
                     (trigger_x, HALL_Y_M), 0.0, stay_s=args.stay_s)
    crowd = ScriptedCrowd([script], radius_m=PERSON_RADIUS_M)
    start_x = START_X_M + float(rng.uniform(-0.1, 0.1))
    cfg = load_config(SimConfig, {
        "home_file": "apartment", "start_pose": f"{start_x} {HALL_Y_M} 0.0", "seed": seed,
        "people_rate_hz": 100.0, "screen_camera_rate_hz": 0.0})
    sim = mujoco_sim.MujocoSim(resolve_home("apartment"), robot, cfg, crowd, seed,
                               urdf_xml=expand_xacro())
    # The ToF is the only camera the safety layer uses: the others are not rendered.
    sim.camera_rates_hz = {"tof": sim.camera_rates_hz["tof"]}
    start_delay_ns = int(rng.integers(0, round(1e9 / sim.camera_rates_hz["tof"])))
    return sim, crowd, trial, robot, start_delay_ns


def _controller(sim, robot):
    from hearth_common.config import load_config
    from hearth_description.robot_model import expand_xacro
    from hearth_safety.config import SafetyConfig, controller_params
    from hearth_safety.controller import SafetyController
    from hearth_safety.depth_projection import PinholeCamera
    from hearth_safety.mounting import frame_in_base

    params = controller_params(load_config(SafetyConfig), robot)
    ctl = SafetyController(params, mounting=frame_in_base(expand_xacro(), "tof_optical"))
    intr = sim.cameras.tof.intrinsics
    ctl.set_camera(PinholeCamera.from_k(intr.width_px, intr.height_px, intr.K.reshape(-1)))
    return ctl


def _rollout(x: float, y: float, yaw: float, v: float, w: float, t_ns: int):
    """The planner's committed trajectory: its command for 3 s, a stamp each 0.1 s."""
    times = np.arange(1, 31) * 0.1
    yaws = yaw + w * times
    if abs(w) > 1e-9:
        xs = x + v / w * (np.sin(yaws) - math.sin(yaw))
        ys = y - v / w * (np.cos(yaws) - math.cos(yaw))
    else:
        xs, ys = x + v * times * math.cos(yaw), y + v * times * math.sin(yaw)
    return t_ns + np.round(times * 1e9).astype(np.int64), np.column_stack([xs, ys, yaws])


def run_trial(seed: int, args: argparse.Namespace) -> tuple[Trial, list[float]]:
    """One trial; returns its figures and the controller's processing time per frame (s)."""
    from hearth_sim.world.assemble import PERSON_RADIUS_M, person_name

    tick = time.perf_counter()
    sim, _crowd, trial, robot, start_delay_ns = _build(seed, args)
    ctl = _controller(sim, robot)
    r_robot = robot.base.radius_m
    person_body = sim.data.body(person_name(0))
    latency_ns = round(args.latency_s * 1e9)
    pending: list[tuple[int, tuple[float, float]]] = []
    cmd = (0.0, 0.0)
    nav = (0.0, 0.0)
    processing_s: list[float] = []
    appeared_ns = cleared_ns = None
    prev_v, prev_t = 0.0, 0
    end_ns = None
    try:
        while True:
            out = sim.step(*cmd)
            t = out.t_ns
            truth = sim.robot_truth()
            x, y, yaw = float(truth.position_m[0]), float(truth.position_m[1]), truth.yaw_rad
            v = float(truth.linear_mps[0])
            if t % ODOM_PERIOD_NS == 0:
                ctl.add_odom(t, x, y, yaw, v, float(truth.angular_radps[2]), t)
            if t % PLAN_PERIOD_NS == 0:  # the local planner at 10 Hz
                cruise = trial.cruise_mps if t >= start_delay_ns else 0.0
                w = float(np.clip(-2.0 * (y - HALL_Y_M) - 2.0 * yaw, -0.5, 0.5))
                nav = (cruise, w * (cruise > 0.0))
                ctl.set_command(*nav, t)
                ctl.set_plan(*_rollout(x, y, yaw, *nav, t), t)
            for frame in out.tof:
                t0 = time.perf_counter()
                decision = ctl.process_depth(frame.t_ns, frame.images[0], t)
                processing_s.append(time.perf_counter() - t0)
                pending.append((t + latency_ns, (decision.linear_mps, decision.angular_radps)))
                trial.frames += 1
            if not out.tof and t % WATCHDOG_PERIOD_NS == 0:
                decision = ctl.tick(t)
                if decision is not None:
                    pending.append((t + latency_ns, (decision.linear_mps,
                                                     decision.angular_radps)))
            while pending and pending[0][0] <= t:
                cmd = pending.pop(0)[1]
            if out.contacts:
                for c in out.contacts:
                    if c.other_kind == "person":
                        trial.person_contacts += 1
                    else:
                        trial.other_contacts += 1
            # Ground truth: the person's body where the physics has it.
            px, py = float(person_body.xpos[0]), float(person_body.xpos[1])
            gap = math.hypot(px - x, py - y) - r_robot - PERSON_RADIUS_M
            trial.min_distance_m = min(trial.min_distance_m, gap)
            in_corridor = abs(py - y) < r_robot + PERSON_RADIUS_M and px > x
            if appeared_ns is None and in_corridor:
                appeared_ns = t
                trial.appeared_gap_m = px - PERSON_RADIUS_M - (x + r_robot)
            if appeared_ns is not None and trial.stopped_after_s is None and abs(v) < 0.01:
                trial.stopped_after_s = (t - appeared_ns) * 1e-9
            if appeared_ns is not None and cleared_ns is None and not in_corridor:
                cleared_ns = t
            if cleared_ns is not None and trial.resumed_after_s is None and \
                    v >= 0.9 * trial.cruise_mps:
                trial.resumed_after_s = (t - cleared_ns) * 1e-9
            if t - prev_t >= 20_000_000:  # deceleration over 20 ms of ground truth
                if prev_t:
                    trial.max_decel_mps2 = max(trial.max_decel_mps2,
                                               (prev_v - v) / ((t - prev_t) * 1e-9))
                prev_v, prev_t = v, t
            if end_ns is None and (trial.resumed_after_s is not None or x > 9.0):
                end_ns = t + 200_000_000
            if (end_ns is not None and t >= end_ns) or t > round(args.max_s * 1e9):
                break
    finally:
        sim.close()
    trial.emergency_stops = ctl.counts["emergency_stops"]
    trial.wall_s = time.perf_counter() - tick
    return trial, processing_s


def _fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth eval safety", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20, help="seeded trials (default 20)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first trial (default 0)")
    ap.add_argument("--gap-m", type=float, default=0.7,
                    help="robot front to person when it enters the path (default 0.7)")
    ap.add_argument("--stay-s", type=float, default=1.5,
                    help="how long the person stands in the path (default 1.5)")
    ap.add_argument("--latency-s", type=float, default=0.02,
                    help="depth frame to wheels: processing and DDS (default 0.02)")
    ap.add_argument("--max-s", type=float, default=9.0, help="simulated seconds per trial")
    ap.add_argument("--quick", action="store_true", help="3 trials")
    ap.add_argument("--out", help="also write the JSON figures to this file")
    args = ap.parse_args(argv)
    n = 3 if args.quick else args.trials

    trials: list[Trial] = []
    processing: list[float] = []
    header = (f"{'seed':>4} {'door':>7} {'v m/s':>6} {'walk':>5} {'lat m':>6} {'gap m':>6} "
              f"{'min d m':>8} {'contact':>7} {'e-stop':>6} {'stop s':>6} {'resume s':>8} "
              f"{'decel':>6} {'wall s':>6}")
    print(header)
    for k in range(n):
        trial, proc = run_trial(args.seed + k, args)
        trials.append(trial)
        processing += proc
        print(f"{trial.seed:>4} {trial.door:>7} {trial.cruise_mps:6.2f} "
              f"{trial.person_speed_mps:5.2f} {trial.lateral_m:6.2f} "
              f"{_fmt(trial.appeared_gap_m):>6} {trial.min_distance_m:8.3f} "
              f"{trial.person_contacts:>7} {trial.emergency_stops:>6} "
              f"{_fmt(trial.stopped_after_s, '.2f'):>6} {_fmt(trial.resumed_after_s, '.2f'):>8} "
              f"{trial.max_decel_mps2:6.2f} {trial.wall_s:6.1f}", flush=True)

    contacts = sum(t.person_contacts for t in trials)
    mins = np.array([t.min_distance_m for t in trials])
    resumed = sum(t.resumed_after_s is not None for t in trials)
    proc_ms = np.array(processing) * 1e3
    figures = {
        "what": "person stepping out of a doorway into the driving robot's path "
                f"({args.gap_m} m ahead), MuJoCo apartment, safety controller in closed loop",
        "trials": n,
        "seeds": [t.seed for t in trials],
        "person_contacts": contacts,
        "trials_with_contact": sum(t.person_contacts > 0 for t in trials),
        "other_contacts": sum(t.other_contacts for t in trials),
        "min_distance_m": round(float(mins.min()), 4),
        "min_distance_median_m": round(float(np.median(mins)), 4),
        "appeared_gap_m": {"min": round(min(t.appeared_gap_m or math.nan for t in trials), 4),
                           "max": round(max(t.appeared_gap_m or math.nan for t in trials), 4)},
        "emergency_stops": sum(t.emergency_stops for t in trials),
        "resumed_trials": resumed,
        "resume_after_clear_s_median": (round(float(np.median(
            [t.resumed_after_s for t in trials if t.resumed_after_s is not None])), 3)
            if resumed else None),
        "processing_ms_per_frame": {
            "n": int(proc_ms.size),
            "median": round(float(np.median(proc_ms)), 4) if proc_ms.size else None,
            "p95": round(float(np.percentile(proc_ms, 95)), 4) if proc_ms.size else None,
        },
        "latency_s": args.latency_s,
        "per_trial": [{k: (round(v, 4) if isinstance(v, float) else v)
                       for k, v in asdict(t).items()} for t in trials],
    }
    ok = contacts == 0
    proc = figures["processing_ms_per_frame"]
    print(f"\n{'PASS' if ok else 'FAIL'}: {contacts} person contacts in {n} trials; minimum "
          f"distance {figures['min_distance_m']:.3f} m (median "
          f"{figures['min_distance_median_m']:.3f} m); resumed in {resumed}/{n}; processing "
          f"{proc['median']} ms/frame median, {proc['p95']} p95 (sim frames, wall time)")
    line = json.dumps(figures, sort_keys=True)
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(line + "\n")
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
