"""A bad params file stops a node at start with one clear line naming the key and the reason.

Each case starts an installed node as its own process with a params file that is wrong in one
way, and reads what it says and how it exits.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from hearth_common.testing import pick_domain_id
from hearth_tools.launch_runner import resolve_executable
from hearth_tools.launch_xml import NodeSpec

CASES = [
    # (package, executable, node name, key, value, what the line must say)
    ("hearth_fusion", "fusion_node", "fusion", "publish_rate_hz", 5000.0, "above its maximum"),
    ("hearth_fusion", "fusion_node", "fusion", "publish_rate_hz", "fast", "expected a number"),
    ("hearth_fusion", "fusion_node", "fusion", "publish_rate_hx", 100.0, "unknown parameter"),
    ("hearth_safety", "safety_node", "safety", "cmd_timeout_s", -1.0, "below its minimum"),
    ("hearth_sim", "sim_node", "sim", "real_time_factor", "1x", "expected a number"),
    ("hearth_planning", "global_planner_node", "global_planner", "map_yam", "x", "unknown"),
    ("hearth_trajectory", "local_planner_node", "local_planner", "rate_hz", 0.0, "below"),
    ("hearth_slam", "slam_node", "slam", "publish_rate_hz", [1, 2], "expected a number"),
    ("hearth_perception", "obstacle_tracker_node", "obstacle_tracker", "pixel_stride", 0,
     "below its minimum"),
]


@pytest.mark.parametrize(("package", "executable", "name", "key", "value", "says"), CASES,
                         ids=[f"{c[2]}.{c[3]}={c[4]!r}" for c in CASES])
def test_bad_params_file_stops_the_node_with_one_line(tmp_path: Path, package, executable,
                                                       name, key, value, says):
    params = tmp_path / "bad.yaml"
    params.write_text(yaml.safe_dump({name: {"ros__parameters": {key: value}}}))
    exe = resolve_executable(NodeSpec(package=package, executable=executable, name=name))
    env = dict(os.environ, ROS_DOMAIN_ID=str(pick_domain_id()))
    proc = subprocess.run(
        [str(exe), "--ros-args", "-r", f"__node:={name}", "--params-file", str(params)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "configuration error" in ln]
    assert len(lines) == 1, proc.stderr
    assert key in lines[0] and says in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
