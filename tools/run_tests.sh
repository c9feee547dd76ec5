#!/usr/bin/env bash
# The test suite, as `./hearth test` runs it (the env script must be sourced): lint, each
# package's tests through `colcon test`, then the workspace tests in test/. Exits non-zero if
# anything failed, or if a stage collected no test at all.
set -uo pipefail
WS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$WS"
failed=()

echo "== lint: ruff check"
ruff check . || failed+=("ruff")

echo "== package tests: colcon test"
find build -maxdepth 2 -name pytest.xml -delete 2>/dev/null
colcon test --base-paths src --return-code-on-test-failure \
  --event-handlers console_cohesion+ summary+ \
  --pytest-args -q -p no:cacheprovider || failed+=("colcon test")
colcon test-result --test-result-base build || true

# Without ROS, the CI underlay's pure-Python TF buffer is ours to test too.
suites=(test)
[ "${HEARTH_MODE:-}" = wheels ] && suites+=(tools/ci_underlay/tf2_lite/test)
echo "== workspace tests: pytest ${suites[*]}"
python -m pytest -q -p no:cacheprovider --junit-xml=build/workspace_tests.xml "${suites[@]}" "$@"
rc=$?
[ $rc -eq 5 ] && echo "pytest collected no workspace tests" >&2
[ $rc -ne 0 ] && failed+=("workspace tests (pytest exit $rc)")

echo "== summary"
python -m hearth_tools.test_summary build || failed+=("no test results")
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "all stages passed"
