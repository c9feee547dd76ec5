"""Benchmarks: each module has ``run(argv) -> dict``; figures are printed as JSON on the last line.

Run with ``./hearth bench <name>`` (or ``python -m hearth_eval.bench <name>``).
"""

BENCHMARKS = {
    "dds": "hearth_eval.bench.dds_latency",
    "fusion": "hearth_eval.bench.fusion_bench",
    "global": "hearth_eval.bench.global_planner_bench",
    "safety": "hearth_eval.bench.safety_bench",
    "sim": "hearth_eval.bench.sim_bench",
    "slam": "hearth_eval.bench.slam_bench",
    "trajectory": "hearth_eval.bench.trajectory_bench",
}
