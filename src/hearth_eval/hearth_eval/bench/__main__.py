"""``python -m hearth_eval.bench <name> [args]``: run one benchmark, JSON on the last line."""

from __future__ import annotations

import importlib
import json
import sys

from hearth_eval.bench import BENCHMARKS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown benchmark '{argv[0]}'", file=sys.stderr)
        print("benchmarks: " + ", ".join(sorted(BENCHMARKS)), file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    figures = importlib.import_module(BENCHMARKS[argv[0]]).run(argv[1:])
    if figures:  # helper processes of a benchmark return nothing
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
