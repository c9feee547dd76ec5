"""Totals over the JUnit XML files a test run left (colcon's per-package pytest.xml and the
workspace tests), printed as one closing line: ``hearth: N passed, N failed, N skipped``.

Exits 1 when no test ran at all, so an empty suite is never mistaken for a green one.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(paths: list[Path]) -> dict[str, int]:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for path in paths:
        root = ET.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
        for suite in suites:
            for key in totals:
                totals[key] += int(suite.get(key, 0))
    return totals


def main(argv: list[str]) -> int:
    base = Path(argv[0] if argv else "build")
    files = sorted(base.glob("*/pytest.xml")) + sorted(base.glob("workspace_tests.xml"))
    t = count(files)
    failed = t["failures"] + t["errors"]
    passed = t["tests"] - failed - t["skipped"]
    print(f"hearth: {passed} passed, {failed} failed, {t['skipped']} skipped")
    return 0 if t["tests"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
