"""``./hearth eval <what> [args]``: the evaluations, one sub-command each.

    python -m hearth_eval.eval fusion [--recording PATH] [--quick]

Each sub-command is a module with ``main(argv) -> int``; later issues add ``nav``, ``slam``
and ``prediction`` here.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "fusion": ("hearth_eval.fusion_eval", "sensor fusion against the simulator's ground truth"),
    "latency": ("hearth_eval.latency_eval",
                "local planner: 300 ms sensing latency, compensation on vs off (simulator)"),
    "prediction": ("hearth_eval.prediction_eval",
                   "people prediction on real ETH/UCY pedestrians (ADE/FDE, calibration)"),
    "safety": ("hearth_eval.safety_eval",
               "safety controller in closed loop on the simulator: a person steps out"),
    "slam_frontend": ("hearth_eval.slam_frontend_eval",
                      "V-SLAM front end: EuRoC at rest, TUM pairs, simulated drive (RPE/m)"),
    "slam": ("hearth_eval.slam_eval",
             "V-SLAM on the simulator: tour with and without loop closure, darkness, day 2"),
    "nav": ("hearth_eval.nav_suite",
            "navigation scenario suite (--suite quick|full): every variant, same seeds"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: hearth eval <command> [args]\n\ncommands:", file=sys.stderr)
        for name, (_, what) in COMMANDS.items():
            print(f"  {name:<12}{what}", file=sys.stderr)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nunknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0 if argv else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
