"""``./hearth eval nav``: the navigation scenario suite, every variant on the same episodes.

    ./hearth eval nav [--suite quick|full] [--variants a,b,...] [--jobs N]
                      [--scenarios NAME,...] [--seeds 1,2] [--planner-seeds N]
                      [--out DIR]

An episode is a scenario file of ``config/scenarios/nav/`` with a seed, as the suite lists
them (``config/scenarios/nav/suites.yaml``; schema in :mod:`hearth_eval.nav_scenario`). Each
runs in the in-process closed loop (:mod:`hearth_eval.planner_loop`): MuJoCo with the
home, its rugs and sills, the people (social-force agents on routes, hearth_sim's walkers,
scripted walkers or a replay), the scenario's clutter, timed events, lighting and injected
latency; the robot's own ToF perception, obstacle tracker and local costmap; the global
path from hearth_planning's global planner on the home's map; the local planner variant at
10 Hz on simulated time; hearth_fusion's EKF on the simulated IMU and wheels beside it.

Every requested variant (:mod:`hearth_eval.nav_variants`, the ablations and baselines
(a)..(g); (a) is hearth as designed) runs every episode with the same seed: the same people,
sensor noise and physics until the robots' paths differ. The metrics are
:mod:`hearth_eval.nav_metrics`'s. Printed: one table (rows the variants, columns the metrics:
mean ± half-width of the 95 % interval), the issue's goals checked, then the summary as
JSON on the last line. Everything, per episode and variant, goes to
``runs/nav/<timestamp>/results.json`` (written atomically). Progress goes to stderr.

The local planner samples its candidates from a seeded sequence. ``--planner-seeds N`` runs
every episode with seeds 0..N-1 (each its own episode, paired across the variants): on the
full suite (a) reached 36 of 37 goals with seed 0 and 34 with seed 1, so a change worth
fewer episodes than that needs more than one planner seed to show.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hearth_eval.atomic_json import write_json_atomic
from hearth_eval.nav_metrics import ATE_NOTE, METRICS, aggregate, episode_key, format_estimate

CROWDED_PEOPLE = 3  # an episode with this many people or more is "crowded"


# ----------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class BuiltinVariant:
    """hearth's own planner, as ``nav_variants.Variant`` describes a variant; used when
    ``hearth_eval.nav_variants`` is not there (variants a and b only)."""

    key: str
    name: str
    description: str
    planner_overrides: dict = field(default_factory=dict)
    latency_compensation: bool = True

    def make_planner(self, limits, params):
        from hearth_trajectory.planner import LocalPlanner

        return LocalPlanner(limits, params)


BUILTIN_VARIANTS = {
    "a": BuiltinVariant("a", "hearth", "hearth as designed, default configuration"),
    "b": BuiltinVariant("b", "no latency comp.", "latency compensation off",
                        latency_compensation=False),
}


def available_variants() -> dict[str, Any]:
    """``nav_variants.VARIANTS`` when that module is there, else variants a and b."""
    try:
        from hearth_eval.nav_variants import VARIANTS
    except ModuleNotFoundError as exc:
        if exc.name != "hearth_eval.nav_variants":
            raise  # the module is there but needs something missing: say so
        return dict(BUILTIN_VARIANTS)
    return dict(VARIANTS)


def select_variants(spec: str | None) -> dict[str, Any]:
    """``a,b,f`` -> those variants, in that order; None: every available one."""
    known = available_variants()
    if not spec:
        return known
    keys = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in keys if k not in known]
    if unknown or not keys:
        raise ValueError(f"unknown variant(s) {', '.join(unknown) if unknown else repr(spec)} "
                         f"(available: {', '.join(known)})")
    return {k: known[k] for k in dict.fromkeys(keys)}


def probe_variants(variants: dict[str, Any]) -> dict[str, str]:
    """Builds each variant's planner once, as the loop will: {key: why it cannot be built}
    for those that cannot (a missing package, an override the planner's config lacks)."""
    from hearth_common.config import load_config
    from hearth_description.robot_model import load_robot_params
    from hearth_trajectory.config import LocalPlannerConfig, motion_limits, planner_params

    robot = load_robot_params()
    broken: dict[str, str] = {}
    for key, v in variants.items():
        try:
            cfg = load_config(LocalPlannerConfig, {
                "latency_compensation": v.latency_compensation, **v.planner_overrides})
            v.make_planner(motion_limits(cfg, robot), planner_params(cfg, robot))
        except Exception as exc:  # report it, run the others
            broken[key] = f"{type(exc).__name__}: {exc}"
    return broken


# ----------------------------------------------------------------------------- one run


def run_episode(nav, variant_key: str, planner_seed: int = 0) -> dict[str, Any]:
    """One episode (a validated ``NavScenario`` with its seed) with one variant and the
    planner's sampling seed ``planner_seed``: the metrics row. A run that raises gives a row
    with ``error`` (and no success)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from hearth_description.robot_model import load_robot_params
    from hearth_eval.nav_metrics import LegBound, episode_metrics
    from hearth_eval.nav_route import GlobalRoute, free_space_lower_bound, home_map
    from hearth_eval.nav_scenario import loop_scenario
    from hearth_eval.planner_loop import LoopOptions, run_scenario

    variant = available_variants()[variant_key]
    row: dict[str, Any] = {
        "scenario": nav.name, "seed": nav.base.seed, "planner_seed": planner_seed,
        "variant": variant_key, "home": nav.home, "people": nav.people_count,
        "crowded": nav.people_count >= CROWDED_PEOPLE, "clutter": len(nav.clutter),
        "latency": bool(nav.base.latency_s)}
    t0 = time.perf_counter()
    try:
        robot = load_robot_params()
        scn = loop_scenario(nav, robot.base.radius_m)
        opt = LoopOptions(candidates=None, seed=nav.base.seed, planner_seed=planner_seed,
                          latency_compensation=variant.latency_compensation,
                          planner_overrides=dict(variant.planner_overrides),
                          planner_factory=variant.make_planner)
        result = run_scenario(scn, opt)
        empty = GlobalRoute(home_map(nav.home), robot.base.radius_m, shortest=True)
        lim = robot.limits
        bounds = []
        for leg in result.legs:
            lb = free_space_lower_bound(empty, leg.start_xy, leg.goal_xy,
                                        lim.max_linear_speed_mps, lim.max_linear_accel_mps2,
                                        stop_within_m=scn.goal_radius_m)
            bounds.append(LegBound(lb.length_m, lb.time_s))
        row.update(episode_metrics(result, bounds))
        row["crossed_at_s"] = crossed(nav, result.episode)
    except Exception as exc:  # one broken run must not lose the others
        import traceback

        row.update({"success": False, "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=8)})
    row["wall_s"] = round(time.perf_counter() - t0, 2)
    return row


def crossed(nav, episode) -> dict[str, float | None]:
    """When the robot's centre first crossed each rug and threshold the scenario names in
    ``disturbances.crosses`` (None: never)."""
    from hearth_eval.run_metrics import crossings, rectangle
    from hearth_sim.home.loader import resolve_home

    home = resolve_home(nav.home)
    names = set(nav.base.crosses)
    areas = {r.name: rectangle(r.center_m, r.size_m, r.yaw_rad)
             for r in home.rugs if r.name in names}
    areas |= {t.name: rectangle(t.center_m, (t.length_m, t.width_m), t.yaw_rad)
              for t in home.thresholds if t.name in names}
    return {k: None if v is None else round(v, 2) for k, v in crossings(episode, areas).items()}


def _run_task(task: tuple) -> dict[str, Any]:
    return run_episode(*task)


# ----------------------------------------------------------------------------- the suite


def episodes(suite: str, scenarios: list[str] | None = None,
             seeds: list[int] | None = None) -> list:
    """The suite's episodes as validated ``NavScenario`` objects (with their seeds),
    restricted to ``scenarios`` (names) and ``seeds`` when given."""
    from hearth_eval.nav_scenario import load_nav_scenario, load_suite

    out = []
    cache: dict[str, Any] = {}
    for spec in load_suite(suite).episodes:
        if scenarios and spec.scenario not in scenarios:
            continue
        if seeds is not None and spec.seed not in seeds:
            continue
        if spec.path not in cache:
            cache[spec.path] = load_nav_scenario(spec.path)
        out.append(cache[spec.path].with_seed(spec.seed))
    return out


def complete_episodes(rows: list[dict], variants: dict[str, Any]) -> list[dict]:
    """The rows of the episodes (scenario, seed, planner seed) that every variant has a row
    for."""
    have: dict[tuple, set] = {}
    for r in rows:
        have.setdefault(episode_key(r), set()).add(r["variant"])
    whole = {ep for ep, keys in have.items() if keys >= set(variants)}
    return [r for r in rows if episode_key(r) in whole]


def run_suite(eps: list, variants: dict[str, Any], jobs: int = 1,
              log=None, planner_seeds: int = 1) -> list[dict[str, Any]]:
    """Every episode with every variant and each planner seed ``0..planner_seeds-1``
    (episode by episode); rows in that order. A line per
    finished run goes to ``log`` (default: stderr). Interrupted (Ctrl-C), it stops the runs
    still to come and returns the rows finished so far: an hour of runs is not lost."""
    log = log if log is not None else sys.stderr
    tasks = [(nav, key, ps) for nav in eps for ps in range(planner_seeds) for key in variants]
    rows: list[dict[str, Any] | None] = [None] * len(tasks)
    t0 = time.perf_counter()

    def report(k: int, row: dict) -> None:
        rows[k] = row
        done = sum(r is not None for r in rows)
        print(f"[{done}/{len(tasks)} {time.perf_counter() - t0:6.0f} s] "
              f"{_describe(row, variants)}", file=log, flush=True)

    try:
        if jobs <= 1:
            for k, task in enumerate(tasks):
                report(k, _run_task(task))
        else:
            _run_pool(tasks, jobs, report)
    except KeyboardInterrupt:
        done = sum(r is not None for r in rows)
        print(f"interrupted: {done} of {len(tasks)} runs done; keeping those", file=log,
              flush=True)
    return [r for r in rows if r is not None]


def _run_pool(tasks: list, jobs: int, report) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: MuJoCo's EGL context and numba do not survive a fork
    ex = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {ex.submit(_run_task, task): k for k, task in enumerate(tasks)}
        for fut in as_completed(futures):
            k = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # the worker died
                nav, key, ps = tasks[k]
                row = {"scenario": nav.name, "seed": nav.base.seed, "planner_seed": ps,
                       "variant": key,
                       "success": False, "error": f"worker: {type(exc).__name__}: {exc}"}
            report(k, row)
    finally:  # interrupted: the runs not started are dropped, not waited for
        ex.shutdown(wait=False, cancel_futures=True)


def _describe(row: dict, variants: dict) -> str:
    v = variants.get(row["variant"])
    ps = f"/{row['planner_seed']}" if row.get("planner_seed") else ""
    head = (f"{row['scenario']} seed {row['seed']}{ps} "
            f"({row['variant']} {getattr(v, 'name', '')})")
    if "error" in row:
        return f"{head}: ERROR {row['error']}"
    t, lb = row.get("time_s"), row.get("lower_bound_s")
    times = f"{t:.1f} s (LB {lb:.1f})" if t is not None and lb is not None else row["status"]
    return (f"{head}: {'success' if row['success'] else 'FAILED'}, {times}, hits "
            f"{row['collisions_people']} people / {row['collisions_objects']} objects, "
            f"{row['wall_s']:.0f} s wall")


# ----------------------------------------------------------------------------- summary


def summarize(rows: list[dict], variants: dict[str, Any]) -> dict[str, Any]:
    """Aggregates per variant (all episodes, and the crowded ones) and the issue's goals."""
    by: dict[str, list[dict]] = {k: [r for r in rows if r["variant"] == k] for k in variants}
    agg = {k: aggregate(v) for k, v in by.items()}
    crowded = {k: aggregate([r for r in v if r.get("crowded")]) for k, v in by.items()}
    return {"aggregates": agg, "crowded": crowded, "goals": check_goals(by, agg)}


def check_goals(by: dict[str, list[dict]], agg: dict) -> list[dict[str, Any]]:
    """The issue's goals for (a): each as {goal, value, ok} (ok None when not measurable)."""
    from hearth_eval.nav_metrics import paired_difference

    out: list[dict[str, Any]] = []
    if "a" not in agg:
        return out
    a = agg["a"]

    def goal(text: str, value: Any, ok: bool | None) -> None:
        out.append({"goal": text, "value": value, "ok": ok})

    sr = a["success"].value
    goal("(a) success >= 98 %", None if sr is None else round(sr, 1),
         None if sr is None else sr >= 98.0)
    hits = a["collisions_people"].value
    goal("(a) zero collisions with people", hits, None if hits is None else hits == 0)
    tr = a["time_ratio"].value
    goal("(a) time <= 1.3x the free-space lower bound (mean)",
         None if tr is None else round(tr, 3), None if tr is None else tr <= 1.3)
    if "f" in agg:
        for key, what in (("jerk_linear_rms_mps3", "linear"),
                          ("jerk_angular_rms_radps3", "angular")):
            ja, jf = a[key].value, agg["f"][key].value
            ok = None if ja is None or jf is None else ja <= 0.5 * jf
            goal(f"(a) {what} jerk RMS <= half of (f)'s",
                 None if ok is None else f"{ja:.2f} vs {jf:.2f}", ok)
    crowded_a = [r for r in by["a"] if r.get("crowded")]
    for other in ("d", "e"):
        if other not in agg:
            continue
        ca = sum(a[k].value or 0 for k in ("collisions_people", "collisions_objects"))
        co = sum(agg[other][k].value or 0 for k in ("collisions_people", "collisions_objects"))
        goal(f"(a) collisions <= ({other})'s", f"{ca:.0f} vs {co:.0f}", ca <= co)
        crowded_o = [r for r in by[other] if r.get("crowded")]
        d = paired_difference(crowded_a, crowded_o, "time_ratio")
        # met only when the whole interval says faster: a point estimate is no evidence
        ok = None if d.value is None or d.hi is None else d.hi < 0.0
        value = None if d.value is None else (
            f"mean {d.value:+.3f}, 95 % interval [{d.lo:+.3f}, {d.hi:+.3f}], {d.n} episodes "
            "both reached" if d.lo is not None else f"{d.value:+.3f} over {d.n}")
        goal(f"(a) faster than ({other}) in crowded episodes (time/LB, a - {other} < 0)",
             value, ok)
    return out


def format_table(summary: dict, variants: dict[str, Any], key: str = "aggregates") -> str:
    head = ["variant"] + [h for _k, h, _f, _a in METRICS]
    lines = []
    for vk, v in variants.items():
        agg = summary[key][vk]
        lines.append([f"{vk} {getattr(v, 'name', '')}"]
                     + [format_estimate(agg[k], f) for k, _h, f, _a in METRICS])
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*head), *(fmt.format(*r) for r in lines)])


def format_goals(goals: list[dict]) -> str:
    mark = {True: "met", False: "NOT met", None: "n/a"}
    return "\n".join(f"  {mark[g['ok']]:<8}{g['goal']}: {g['value']}" for g in goals)


# ----------------------------------------------------------------------------- output


def _json_default(o: Any) -> Any:
    if hasattr(o, "as_dict"):
        return o.as_dict()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return str(o)


def run_dir(out: str | None) -> Path:
    from hearth_eval.scenario import workspace_root

    if out:
        return Path(out)
    base = workspace_root() / "runs" / "nav" / datetime.now().strftime("%Y%m%d-%H%M%S")
    path, k = base, 1
    while path.exists():
        path, k = base.with_name(f"{base.name}-{k}"), k + 1
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth eval nav", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="quick", help="a suite of suites.yaml (quick, full)")
    ap.add_argument("--variants", default=None,
                    help="comma-separated variant keys (default: every available one)")
    ap.add_argument("--jobs", type=int, default=1, help="episodes run in parallel processes")
    ap.add_argument("--scenarios", default=None, help="only these scenarios (names, commas)")
    ap.add_argument("--seeds", default=None, help="only these seeds (commas)")
    ap.add_argument("--planner-seeds", type=int, default=1, metavar="N",
                    help="run every episode with the local planner's sampling seeds 0..N-1 "
                    "(the variants compared on each): how much of an outcome is the "
                    "planner's luck")
    ap.add_argument("--out", default=None, help="results folder (default runs/nav/<time>)")
    ap.add_argument("--from-results", default=None, metavar="RESULTS_JSON",
                    help="print the table and the goals of a past run again (no run)")
    args = ap.parse_args(argv)
    from hearth_eval.scenario import ScenarioError

    if args.from_results:
        return reprint(Path(args.from_results))

    if args.jobs < 1:
        ap.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.planner_seeds < 1:
        ap.error(f"--planner-seeds must be >= 1, got {args.planner_seeds}")
    try:
        variants = select_variants(args.variants)
    except ValueError as exc:
        print(f"hearth eval nav: {exc}", file=sys.stderr)
        return 2
    broken = probe_variants(variants)
    if broken and args.variants:  # asked for by name: it must run
        for key, why in broken.items():
            print(f"hearth eval nav: variant {key} cannot be built: {why}", file=sys.stderr)
        return 2
    for key, why in broken.items():  # every available one: run those that can be built
        print(f"hearth eval nav: variant {key} left out, it cannot be built: {why}",
              file=sys.stderr)
        variants.pop(key)
    try:
        seeds = None if args.seeds is None else [int(s) for s in args.seeds.split(",")]
    except ValueError:
        ap.error(f"--seeds must be integers separated by commas, got {args.seeds!r}")
    names = None if args.scenarios is None else [s.strip() for s in args.scenarios.split(",")]
    try:
        eps = episodes(args.suite, names, seeds)
    except ScenarioError as exc:
        print(f"hearth eval nav: {exc}", file=sys.stderr)
        return 2
    if not eps:
        print("hearth eval nav: no episode left to run", file=sys.stderr)
        return 2
    started = datetime.now()
    t0 = time.perf_counter()
    print(f"hearth eval nav: suite '{args.suite}', {len(eps)} episodes "
          f"({len({e.home for e in eps})} homes) x {len(variants)} variants"
          + (f" x {args.planner_seeds} planner seeds" if args.planner_seeds > 1 else "")
          + f", {args.jobs} job(s)", file=sys.stderr, flush=True)
    rows = run_suite(eps, variants, args.jobs, planner_seeds=args.planner_seeds)
    wall_s = time.perf_counter() - t0
    expected = len(eps) * len(variants) * args.planner_seeds
    if not rows:
        print("hearth eval nav: interrupted before any run finished", file=sys.stderr)
        return 130
    # Interrupted: the variants are compared on the episodes every one of them finished.
    summary = summarize(complete_episodes(rows, variants), variants)
    out = run_dir(args.out)
    errors = [r for r in rows if "error" in r]
    results = {
        "suite": args.suite, "started": started.isoformat(timespec="seconds"),
        "wall_s": round(wall_s, 1), "jobs": args.jobs, "cpu_count": os.cpu_count(),
        "planner_seeds": args.planner_seeds,
        "variants": {k: {"name": getattr(v, "name", k),
                         "description": getattr(v, "description", "")}
                     for k, v in variants.items()},
        "episodes": [{**e.to_dict(), "seed": e.base.seed} for e in eps],
        "runs": rows,
        "aggregates": {k: {m: e.as_dict() for m, e in v.items()}
                       for k, v in summary["aggregates"].items()},
        "aggregates_crowded": {k: {m: e.as_dict() for m, e in v.items()}
                               for k, v in summary["crowded"].items()},
        "goals": summary["goals"], "errors": len(errors), "notes": {"ate": ATE_NOTE},
        "variants_left_out": broken,
        "interrupted": len(rows) < expected, "runs_expected": expected,
    }
    write_json_atomic(out / "results.json", results, default=_json_default, sort_keys=False)

    print_summary(results, summary, variants, out / "results.json")
    return 1 if errors else 0


def print_summary(results: dict, summary: dict, variants: dict[str, Any],
                  path: Path) -> None:
    """The table(s), the goals, the notes, then the summary as JSON on the last line."""
    runs = complete_episodes(results["runs"], variants)
    if results.get("interrupted"):
        print(f"INTERRUPTED: {len(results['runs'])} of {results['runs_expected']} runs done; "
              f"the table compares the variants on the {len(runs) // max(len(variants), 1)} "
              "episodes they all finished")
    eps = {episode_key(r): r for r in runs}
    n_crowded = sum(bool(r.get("crowded")) for r in eps.values())
    homes = {r.get("home") for r in eps.values()}
    wall_s = results["wall_s"]
    seeds = results.get("planner_seeds", 1)
    print(f"navigation suite '{results['suite']}': {len(eps)} episodes in {len(homes)} homes "
          f"({n_crowded} crowded)"
          + (f" (each scenario seed with {seeds} planner seeds)" if seeds > 1 else "")
          + f", every variant on the same seeds; {wall_s / 60:.1f} min "
          f"wall with {results['jobs']} job(s) on {results['cpu_count']} cores")
    print("mean ± half-width of the 95 % interval (success: Wilson; others: bootstrap over "
          "episodes); hits: totals; time/LB, path/LB: successful episodes")
    print(format_table(summary, variants))
    if n_crowded and n_crowded < len(eps):
        print(f"\ncrowded episodes only ({n_crowded}):")
        print(format_table(summary, variants, "crowded"))
    if summary["goals"]:
        print("\nthe issue's goals:")
        print(format_goals(summary["goals"]))
    print(f"\n{ATE_NOTE}.")
    for key, why in results.get("variants_left_out", {}).items():
        print(f"variant {key} left out: it cannot be built here ({why})")
    errors = [r for r in runs if "error" in r]
    if errors:
        print(f"{len(errors)} run(s) failed with an error (see results.json):")
        for r in errors[:5]:
            print(f"  {r['scenario']} seed {r['seed']} ({r['variant']}): {r['error']}")
    print(f"results: {path}")
    print(json.dumps({
        "suite": results["suite"], "episodes": len(eps), "variants": list(variants),
        "wall_s": wall_s, "jobs": results["jobs"], "errors": len(errors),
        "results": str(path),
        "aggregates": {k: {m: e.value if e.value is None else round(e.value, 4)
                           for m, e in v.items()} for k, v in summary["aggregates"].items()},
        "goals": {g["goal"]: g["ok"] for g in summary["goals"]},
    }, default=_json_default))


def reprint(path: Path) -> int:
    """``--from-results``: the summary of a past run's results.json, recomputed."""
    try:
        results = json.loads(path.read_text())
        variants = {k: BuiltinVariant(k, v["name"], v.get("description", ""))
                    for k, v in results["variants"].items()}
        summary = summarize(complete_episodes(results["runs"], variants), variants)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"hearth eval nav: {path}: not a results.json of the suite ({exc})",
              file=sys.stderr)
        return 2
    print_summary(results, summary, variants, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
