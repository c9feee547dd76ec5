"""The ROS-free launch XML reader and the process runner that replaces ``ros2 launch`` here.

Parser tests use small launch files written to a temporary folder; the runner tests start the
fixture package in ``test/fixtures/launch_ws`` (installed into a temporary prefix the way
colcon would) as real processes with real rclpy, each test on its own ROS domain.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WS = Path(__file__).resolve().parents[1]
FIXTURE_WS = Path(__file__).resolve().parent / "fixtures" / "launch_ws"
if str(WS / "tools") not in sys.path:
    sys.path.insert(0, str(WS / "tools"))

from hearth_tools.launch_runner import launched, node_command, resolve_executable  # noqa: E402
from hearth_tools.launch_xml import LaunchError, NodeSpec, parse_launch_file  # noqa: E402

# The fixture package's console scripts (its setup.py says the same; test_launch_files checks).
FIXTURE_SCRIPTS = {
    "talker": "fixture_pkg.talker_node:main",
    "crasher": "fixture_pkg.crasher_node:main",
}


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"<launch>\n{body}\n</launch>\n")
    return path


def parse(path: Path, **args: str) -> list[NodeSpec]:
    return parse_launch_file(path, args, package_share=lambda p: Path("/share") / p)


# --------------------------------------------------------------------------- substitutions


def test_substitutions_var_env_dirname_and_nesting(tmp_path, monkeypatch):
    monkeypatch.setenv("HEARTH_TEST_COLOR", "blue")
    monkeypatch.delenv("HEARTH_TEST_UNSET", raising=False)
    f = write(tmp_path, "a.launch.xml", """
  <arg name="size" default="3"/>
  <let name="label" value="$(var size)-$(env HEARTH_TEST_COLOR)"/>
  <node pkg="p" exec="e" name="n">
    <param name="label" value="$(var label)"/>
    <param name="fallback" value="$(env HEARTH_TEST_UNSET '$(dirname)/x y')"/>
    <param name="share" value="$(find-pkg-share p)/config"/>
    <param name="dollar" value="cost $5"/>
  </node>""")
    (node,) = parse(f)
    assert node.inline_params == {
        "label": "3-blue",
        "fallback": f"{tmp_path}/x y",
        "share": "/share/p/config",
        "dollar": "cost $5",
    }
    (node,) = parse(f, size="7")
    assert node.inline_params["label"] == "7-blue"


def test_find_pkg_share_uses_the_ament_index(tmp_path, monkeypatch):
    prefix = tmp_path / "prefix"
    (prefix / "share/ament_index/resource_index/packages").mkdir(parents=True)
    (prefix / "share/ament_index/resource_index/packages/pkg_a").touch()
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"{tmp_path / 'empty'}{os.pathsep}{prefix}")
    f = write(tmp_path, "a.launch.xml", """
  <node pkg="pkg_a" exec="e"><param from="$(find-pkg-share pkg_a)/config/e.yaml"/></node>""")
    (node,) = parse_launch_file(f)
    assert node.params_files == [f"{prefix}/share/pkg_a/config/e.yaml"]
    bad = write(tmp_path, "b.launch.xml", '<let name="x" value="$(find-pkg-share nope)"/>')
    with pytest.raises(LaunchError, match=r"b\.launch\.xml:2: .*package 'nope' not found"):
        parse_launch_file(bad)


# --------------------------------------------------------------------------- structure


def test_include_passes_args_and_sees_the_callers_arguments(tmp_path):
    write(tmp_path, "child.launch.xml", """
  <arg name="speed" default="1.0"/>
  <arg name="robot" default="default-robot"/>
  <let name="inner" value="yes"/>
  <node pkg="p" exec="child" name="$(var robot)">
    <param name="speed" value="$(var speed)"/>
  </node>""")
    parent = write(tmp_path, "parent.launch.xml", """
  <arg name="fast" default="2.5"/>
  <include file="$(dirname)/child.launch.xml">
    <arg name="speed" value="$(var fast)"/>
  </include>
  <node pkg="p" exec="parent" name="after"/>""")
    child, after = parse(parent)
    assert (child.name, child.inline_params) == ("default-robot", {"speed": "2.5"})
    assert after.name == "after"
    # Command-line arguments reach included files too, as with ros2 launch.
    child, _ = parse(parent, robot="r2", fast="9")
    assert (child.name, child.inline_params) == ("r2", {"speed": "9"})
    # What the included file sets with <let> stays in it.
    leaky = write(tmp_path, "leaky.launch.xml", """
  <include file="$(dirname)/child.launch.xml"/>
  <let name="x" value="$(var inner)"/>""")
    with pytest.raises(LaunchError, match=r"leaky\.launch\.xml:4: .*undefined launch argument"):
        parse(leaky)


def test_if_and_unless(tmp_path):
    f = write(tmp_path, "a.launch.xml", """
  <arg name="sim" default="true"/>
  <node pkg="p" exec="sim" if="$(var sim)"/>
  <node pkg="p" exec="robot" unless="$(var sim)"/>
  <include file="$(dirname)/does_not_exist.launch.xml" if="false"/>
  <group if="0"><node pkg="p" exec="never"/></group>
  <node pkg="p" exec="always" unless="FALSE"/>""")
    assert [n.executable for n in parse(f)] == ["sim", "always"]
    assert [n.executable for n in parse(f, sim="false")] == ["robot", "always"]
    with pytest.raises(LaunchError, match=r'a\.launch\.xml:4: <node>: if="maybe" must be'):
        parse(f, sim="maybe")


def test_group_scopes_namespace_and_arguments(tmp_path):
    f = write(tmp_path, "a.launch.xml", """
  <group>
    <push_ros_namespace namespace="robot1"/>
    <let name="who" value="inner"/>
    <node pkg="p" exec="e" name="a"/>
    <node pkg="p" exec="e" name="b" namespace="arm"/>
    <node pkg="p" exec="e" name="c" namespace="/abs"/>
  </group>
  <let name="who" value="outer"/>
  <node pkg="p" exec="e" name="$(var who)"/>""")
    nodes = parse(f)
    assert [(n.name, n.namespace) for n in nodes] == [
        ("a", "/robot1"), ("b", "/robot1/arm"), ("c", "/abs"), ("outer", None),
    ]


def test_remaps_params_and_args_reach_the_command_line(tmp_path):
    f = write(tmp_path, "a.launch.xml", """
  <arg name="topic" default="/scan"/>
  <node pkg="p" exec="e" name="planner" namespace="nav" output="screen" args="--verbose 'a b'">
    <param from="/cfg/planner.yaml"/>
    <param name="rate_hz" value="10.0"/>
    <param name="use_sim_time" value="true"/>
    <remap from="depth" to="$(var topic)"/>
  </node>""")
    (node,) = parse(f)
    assert node_command(node, "/pfx/lib/p/e") == [
        "/pfx/lib/p/e", "--verbose", "a b", "--ros-args",
        "-r", "__node:=planner", "-r", "__ns:=/nav",
        "--params-file", "/cfg/planner.yaml",
        "-p", "rate_hz:=10.0", "-p", "use_sim_time:=true",
        "-r", "depth:=/scan",
    ]
    assert node.output == "screen"
    assert node_command(NodeSpec("p", "e"), "/x") == ["/x"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ('<executable cmd="ls"/>', 2, "<executable>: unknown or misplaced tag"),
        ('<node pkg="p" exec="e" ns="x"/>', 2, "unknown attribute 'ns'"),
        ('<node exec="e"/>', 2, "missing required attribute 'pkg'"),
        ('\n<node pkg="p" exec="e">\n  <rosparam/>\n</node>', 4, "only <param> and <remap>"),
        ('<include file="$(dirname)/missing.launch.xml"/>', 2, "included launch file not found"),
        ('<include file="other.launch.xml"/>', 2, "relative include"),
        ('<let name="x" value="$(command ls)"/>', 2, "unknown substitution '$(command ...)'"),
        ('<let name="x" value="$(var nope)"/>', 2, "undefined launch argument 'nope'"),
        ('<let name="x" value="$(env HEARTH_TEST_UNSET)"/>', 2, "'HEARTH_TEST_UNSET' is not set"),
        ('<let name="x" value="$(var a"/>', 2, "unterminated substitution"),
        ('<arg name="map"/>', 2, "required launch argument 'map' not given"),
        ('<node pkg="p" exec="e" if="1" unless="1"/>', 2, "either 'if' or 'unless'"),
        ("<node pkg='p' exec='e'>", 3, "malformed XML"),
    ],
)
def test_bad_files_give_a_clear_error_with_file_and_line(tmp_path, monkeypatch, body, line,
                                                         message):
    monkeypatch.delenv("HEARTH_TEST_UNSET", raising=False)
    f = write(tmp_path, "bad.launch.xml", body)
    with pytest.raises(LaunchError) as info:
        parse(f)
    assert f"{f}:{line}:" in str(info.value)
    assert message in str(info.value)


def test_missing_file_and_wrong_root(tmp_path):
    with pytest.raises(LaunchError, match="cannot read launch file"):
        parse(tmp_path / "nope.launch.xml")
    f = tmp_path / "root.launch.xml"
    f.write_text("<roslaunch/>")
    with pytest.raises(LaunchError, match="root element must be <launch>"):
        parse(f)


def test_include_cycle_is_an_error(tmp_path):
    f = write(tmp_path, "loop.launch.xml", '<include file="$(dirname)/loop.launch.xml"/>')
    with pytest.raises(LaunchError, match="include cycle"):
        parse(f)


# --------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def fixture_prefix(tmp_path_factory) -> Path:
    """The fixture package installed as colcon would: ament index, share/, lib/<pkg>/<exec>."""
    prefix = tmp_path_factory.mktemp("install") / "fixture_pkg"
    src = FIXTURE_WS / "src" / "fixture_pkg"
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / "fixture_pkg").touch()
    shutil.copytree(src / "config", prefix / "share" / "fixture_pkg" / "config")
    lib = prefix / "lib" / "fixture_pkg"
    lib.mkdir(parents=True)
    paths = [str(src), str(WS / "src" / "hearth_common")]
    for exe, target in FIXTURE_SCRIPTS.items():
        module, func = target.split(":")
        script = lib / exe
        script.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path[:0] = {paths!r}\n"
            f"from {module} import {func}\nsys.exit({func}())\n"
        )
        script.chmod(0o755)
    return prefix


@pytest.fixture
def ros_env(fixture_prefix, monkeypatch) -> dict[str, str]:
    """An environment with the fixture package on AMENT_PREFIX_PATH and a domain of its own."""
    from hearth_common.testing import pick_domain_id

    def prepend(var: str, path: Path) -> None:
        monkeypatch.setenv(var, os.pathsep.join([str(path), os.environ.get(var, "")]))

    prepend("AMENT_PREFIX_PATH", fixture_prefix)
    prepend("PYTHONPATH", WS / "tools")
    monkeypatch.setenv("ROS_DOMAIN_ID", str(pick_domain_id()))
    return dict(os.environ)


def test_resolve_executable(fixture_prefix, ros_env):
    assert resolve_executable(NodeSpec("fixture_pkg", "talker")) == (
        fixture_prefix / "lib" / "fixture_pkg" / "talker"
    )
    with pytest.raises(LaunchError, match="executable 'nope' of package 'fixture_pkg'"):
        resolve_executable(NodeSpec("fixture_pkg", "nope", source="x.launch.xml:3"))


def test_launched_talker_publishes_with_its_name_params_and_remap(ros_env):
    import rclpy
    from std_msgs.msg import String

    from hearth_common.testing import ros_context, spin_until

    out = io.StringIO()
    got: list[str] = []
    with ros_context(int(ros_env["ROS_DOMAIN_ID"])) as ctx:
        probe = rclpy.create_node("probe", context=ctx)
        probe.create_subscription(String, "/fixture/chatter", lambda m: got.append(m.data), 10)
        file = FIXTURE_WS / "launch" / "talker.launch.xml"
        with launched(file, {"greeting": "hi-from-test"}, stream=out) as session:
            (talker,) = session.processes
            ok = spin_until(
                [probe], lambda: len(got) >= 3 or talker.returncode is not None, timeout_s=60
            )
            names = probe.get_node_names_and_namespaces()
        probe.destroy_node()
    assert ok and got, out.getvalue()
    # The inline <param> overrides the params file's greeting; the file's rate_hz applies.
    assert got[0].startswith("hi-from-test #") and got[0].endswith("at 20 Hz"), got[0]
    assert ("chatty", "/") in names
    assert session.stop() == 0, out.getvalue()
    assert "[chatty-1]" in out.getvalue()


def run_cli(args: list[str], env: dict[str, str], timeout_s: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "hearth_tools.launch_runner", *args],
        env=env, capture_output=True, text=True, timeout=timeout_s, cwd=WS,
    )


def test_cli_duration_stops_cleanly(ros_env):
    result = run_cli(
        [str(FIXTURE_WS / "launch" / "talker.launch.xml"), "greeting:=x", "--duration", "4"],
        ros_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[chatty-1] [INFO]" in result.stdout  # the node's log line, prefixed
    assert "4 s elapsed; stopping" in result.stdout
    assert "all 1 processes stopped cleanly" in result.stdout


def test_cli_crashing_node_fails_the_launch(ros_env):
    result = run_cli([str(FIXTURE_WS / "launch" / "crash.launch.xml")], ros_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "crasher-2 died with exit code 3" in result.stdout
    assert "crashing on purpose" in result.stdout


def test_cli_bad_file_and_bad_argument(ros_env, tmp_path):
    bad = write(tmp_path, "bad.launch.xml", '<node pkg="fixture_pkg" exec="talker" typo="1"/>')
    result = run_cli([str(bad)], ros_env)
    assert result.returncode == 2
    assert f"{bad}:2:" in result.stderr and "unknown attribute 'typo'" in result.stderr
    result = run_cli([str(bad), "novalue"], ros_env)
    assert result.returncode == 2 and "name:=value" in result.stderr


def test_cli_dry_run_prints_the_command_lines(ros_env, fixture_prefix):
    result = run_cli([str(FIXTURE_WS / "launch" / "crash.launch.xml"), "--dry-run"], ros_env)
    assert result.returncode == 0, result.stderr
    talker, crasher = result.stdout.splitlines()
    assert talker.startswith(f"{fixture_prefix}/lib/fixture_pkg/talker --ros-args")
    assert "-r chatter:=/fixture/chatter" in talker
    assert crasher.endswith("-r __node:=crasher -p exit_code:=3")


def test_sigint_to_the_runner_stops_every_node(ros_env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "hearth_tools.launch_runner",
         str(FIXTURE_WS / "launch" / "talker.launch.xml")],
        env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=WS,
    )
    lines = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:  # wait until the node has logged that it runs
            lines.append(line)
            if "[chatty-1] [INFO]" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert "SIGINT received; stopping" in output
    assert "all 1 processes stopped cleanly" in output
