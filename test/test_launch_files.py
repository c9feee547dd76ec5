"""Every launch file parses, and every node it starts exists and accepts the parameters it gets.

A static check, no build needed: ``$(find-pkg-share p)`` is read as ``src/p``, each node's
executable must be a console script in ``src/<pkg>/setup.py`` (read with ``ast``, not run), and
the node module named by that entry point must define ``NODE_CONFIG``, a config dataclass that
declares every key of the node's params file and every ``<param>`` the launch file sets (the
values must also pass the config's own validation). A package not yet in ``src/`` is skipped
and named; the checker itself is tested on the fixture package in ``test/fixtures/launch_ws``.

External ROS packages (ros_gz_sim, ros_gz_bridge, robot_state_publisher: not in ``src/``)
are checked against the allow-lists ``EXTERNAL_NODES`` and ``EXTERNAL_LAUNCH_FILES`` instead:
a node of theirs must be an executable listed there, and get only the parameters listed
there (any that names a file of this workspace must exist). An ``<include>`` of one of their
launch files (gz_sim.launch.py is Python, which hearth's XML reader cannot read) must be
listed there and pass only the arguments listed; the reader is then given an empty stand-in
for it, so that it skips the include and checks everything else in the file as usual. A
hearth package is never looked up in the allow-lists: its nodes need their setup.py entry
points and ``NODE_CONFIG`` as above.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.metadata
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

WS = Path(__file__).resolve().parents[1]
FIXTURE_WS = Path(__file__).resolve().parent / "fixtures" / "launch_ws"
if str(WS / "tools") not in sys.path:
    sys.path.insert(0, str(WS / "tools"))
if str(WS / "src" / "hearth_common") not in sys.path:
    sys.path.append(str(WS / "src" / "hearth_common"))

from hearth_common.config import (  # noqa: E402
    ROS_BUILTIN_PARAMETERS,
    ConfigError,
    config_fields,
    load_config,
    read_params_file,
)
from hearth_tools.launch_xml import NodeSpec, parse_launch_file  # noqa: E402

LAUNCH_FILES = sorted((WS / "launch").glob("*.launch.xml"))

# The node table of docs/developing.md: package, executable, node name.
NODE_TABLE = {
    ("hearth_sim", "sim_node", "sim"),
    ("hearth_description", "state_publisher", "state_publisher"),
    ("hearth_fusion", "fusion_node", "fusion"),
    ("hearth_slam", "slam_node", "slam"),
    ("hearth_planning", "global_planner_node", "global_planner"),
    ("hearth_perception", "obstacle_tracker_node", "obstacle_tracker"),
    ("hearth_trajectory", "local_planner_node", "local_planner"),
    ("hearth_safety", "safety_node", "safety"),
    ("hearth_eval", "topic_monitor", "topic_monitor"),
}

# External ROS packages that launch files may use (launch/gazebo.launch.xml), with what each
# documents. (package, executable) -> the ROS parameters a launch file may set on that node.
EXTERNAL_NODES: dict[tuple[str, str], frozenset[str]] = {
    # ros_gz_sim's create spawns a model (also from -name/-topic/-x... arguments).
    ("ros_gz_sim", "create"): frozenset({
        "use_sim_time", "world", "file", "string", "topic", "name", "allow_renaming",
        "x", "y", "z", "R", "P", "Y",
    }),
    ("ros_gz_bridge", "parameter_bridge"): frozenset({
        "use_sim_time", "config_file", "subscription_heartbeat", "expand_gz_topic_names",
        "override_timestamps_with_wall_time", "publish_optical_frame",
        "override_frame_id_string", "override_frame_transform",
    }),
    ("robot_state_publisher", "robot_state_publisher"): frozenset({
        "use_sim_time", "robot_description", "publish_frequency", "ignore_timestamp",
        "frame_prefix",
    }),
}
# (package, launch file in its share directory) -> the arguments it declares.
EXTERNAL_LAUNCH_FILES: dict[tuple[str, str], frozenset[str]] = {
    ("ros_gz_sim", "launch/gz_sim.launch.py"): frozenset({
        "gz_args", "gz_version", "ign_args", "ign_version", "debugger", "on_exit_shutdown",
    }),
}
EXTERNAL_PACKAGES = frozenset(p for p, _ in (*EXTERNAL_NODES, *EXTERNAL_LAUNCH_FILES))
_PKG_SHARE_FILE = re.compile(r"^\$\(find-pkg-share\s+([A-Za-z0-9_]+)\)/(.+)$")


# --------------------------------------------------------------------------- the checker


def console_scripts(setup_py: Path) -> dict[str, str]:
    """``{executable: "module:function"}`` from ``setup(entry_points=...)``, read statically.

    Understands string constants, module-level string variables, f-strings and ``+``. Falls
    back to the installed distribution's metadata when the file is written some other way.
    """
    tree = ast.parse(setup_py.read_text(), str(setup_py))
    names: dict[str, object] = {}

    def value(node: ast.AST) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.JoinedStr):
            return "".join(
                str(value(v.value)) if isinstance(v, ast.FormattedValue) else str(value(v))
                for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return value(node.left) + value(node.right)  # type: ignore[operator]
        if isinstance(node, (ast.List, ast.Tuple)):
            return [value(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {value(k): value(v) for k, v in zip(node.keys, node.values, strict=True)}
        raise ValueError(f"{setup_py}:{node.lineno}: cannot read '{ast.unparse(node)}'")

    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                with contextlib.suppress(ValueError):  # not a constant: not needed
                    names[target.id] = value(stmt.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup":
            for kw in node.keywords:
                if kw.arg != "entry_points":
                    continue
                try:
                    entries = value(kw.value)["console_scripts"]  # type: ignore[index]
                except (ValueError, KeyError, TypeError):
                    return _installed_console_scripts(setup_py.parent.name)
                scripts = {}
                for entry in entries:
                    name, _, target = str(entry).partition("=")
                    scripts[name.strip()] = target.strip()
                return scripts
    return {}


def _installed_console_scripts(package: str) -> dict[str, str]:
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return {}
    return {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}


def node_config_class(target: str, package_dir: Path) -> type:
    """The ``NODE_CONFIG`` of the module an entry point ``module:function`` names.

    Every package of the same ``src/`` goes on the path, as node modules import each other's.
    """
    for setup_py in sorted(package_dir.parent.glob("*/setup.py")):
        if str(setup_py.parent) not in sys.path:
            sys.path.append(str(setup_py.parent))
    module = importlib.import_module(target.partition(":")[0].strip())
    config = getattr(module, "NODE_CONFIG", None)
    if config is None:
        raise AttributeError(f"module {module.__name__} does not define NODE_CONFIG")
    return config


def is_external(package: str, ws: Path) -> bool:
    """An allow-listed external package, and not one of the workspace's own."""
    return package in EXTERNAL_PACKAGES and not (ws / "src" / package).exists()


@contextlib.contextmanager
def package_shares(ws: Path) -> Iterator[Callable[[str], Path]]:
    """``$(find-pkg-share p)`` for the static checks: ``ws/src/p``; for an allow-listed
    external package, a temporary folder holding an empty XML stand-in (declaring the
    documented arguments) for each of its allow-listed launch files."""
    with tempfile.TemporaryDirectory(prefix="hearth-external-share-") as tmp:
        for (package, relpath), launch_args in EXTERNAL_LAUNCH_FILES.items():
            stub = Path(tmp) / package / relpath
            stub.parent.mkdir(parents=True, exist_ok=True)
            declared = "".join(f'  <arg name="{a}" default=""/>\n' for a in sorted(launch_args))
            stub.write_text(f"<launch>\n{declared}</launch>\n")

        def share(package: str) -> Path:
            return Path(tmp) / package if is_external(package, ws) else ws / "src" / package

        yield share


def parse_with_externals(launch_file: Path, ws: Path, args: dict[str, str] | None = None):
    """The nodes ``launch_file`` starts, includes of external launch files skipped."""
    with package_shares(ws) as share:
        return parse_launch_file(launch_file, args, package_share=share)


def check_external_includes(launch_file: Path, ws: Path) -> list[str]:
    """Problems with the ``<include>``s of external launch files in ``launch_file`` itself
    (each launch file of the workspace is checked on its own)."""
    problems = []
    for el in ET.parse(launch_file).getroot().iter("include"):
        match = _PKG_SHARE_FILE.match(el.get("file", "").strip())
        if not match or not is_external(match.group(1), ws):
            continue
        key = (match.group(1), match.group(2))
        where = f"{launch_file}: <include> of {key[0]}'s {key[1]}"
        if key not in EXTERNAL_LAUNCH_FILES:
            problems.append(f"{where}: not in the allow-list EXTERNAL_LAUNCH_FILES")
            continue
        unknown = sorted({a.get("name", "") for a in el.iter("arg")} - EXTERNAL_LAUNCH_FILES[key])
        if unknown:
            problems.append(f"{where}: argument(s) {', '.join(unknown)} not declared by it "
                            f"(declared: {', '.join(sorted(EXTERNAL_LAUNCH_FILES[key]))})")
    return problems


def check_external_node(spec: NodeSpec, ws: Path) -> list[str]:
    """Problems with a node of an allow-listed external package."""
    where = f"{spec.source}: {spec.package}/{spec.executable}"
    allowed = EXTERNAL_NODES.get((spec.package, spec.executable))
    if allowed is None:
        known = sorted(e for p, e in EXTERNAL_NODES if p == spec.package)
        return [f"{where}: executable not in the allow-list EXTERNAL_NODES "
                f"(allowed for {spec.package}: {', '.join(known) or 'none'})"]
    problems = []
    if spec.params_files:
        problems.append(f"{where}: params files are not checked for external nodes; "
                        "set their parameters inline")
    unknown = sorted(set(spec.inline_params) - allowed)
    if unknown:
        problems.append(f"{where}: parameter(s) {', '.join(unknown)} not documented for it "
                        f"(allowed: {', '.join(sorted(allowed))})")
    for key, value in spec.inline_params.items():
        path = Path(value)
        if path.is_absolute() and path.is_relative_to(ws) and not path.exists():
            problems.append(f"{where}: parameter {key}: file not found: {value}")
    return problems


def check_launch_file(
    launch_file: Path, ws: Path, args: dict[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """(problems, packages not in ``ws/src`` yet) for the nodes ``launch_file`` starts."""
    problems = check_external_includes(launch_file, ws)
    if problems:
        return problems, []
    nodes = parse_with_externals(launch_file, ws, args)
    missing: list[str] = []
    for spec in nodes:
        package_dir = ws / "src" / spec.package
        where = f"{spec.source}: {spec.package}/{spec.executable}"
        if not (package_dir / "setup.py").is_file():
            if is_external(spec.package, ws):
                problems.extend(check_external_node(spec, ws))
            else:
                missing.append(spec.package)
            continue
        scripts = console_scripts(package_dir / "setup.py")
        target = scripts.get(spec.executable)
        if target is None:
            problems.append(
                f"{where}: no console script '{spec.executable}' in setup.py "
                f"(it has: {', '.join(sorted(scripts)) or 'none'})"
            )
            continue
        if not spec.name:
            problems.append(f"{where}: the <node> has no name, so its params file cannot apply")
            continue
        try:
            config_cls = node_config_class(target, package_dir)
            declared = {f.name for f in config_fields(config_cls)} | ROS_BUILTIN_PARAMETERS
        except Exception as exc:  # an import error is a finding, not a crash of the test
            problems.append(f"{where}: cannot read NODE_CONFIG of {target}: {exc!r}")
            continue
        values: dict[str, object] = {}
        for params_file in map(Path, spec.params_files):
            if not params_file.is_file():
                problems.append(f"{where}: params file not found: {params_file}")
                continue
            doc = yaml.safe_load(params_file.read_text()) or {}
            sections = set(doc) if isinstance(doc, dict) else set()
            if not sections & {spec.name, "/" + spec.name, "/**"}:
                problems.append(
                    f"{where}: {params_file.name} has no section for node '{spec.name}' "
                    f"(it has: {', '.join(sorted(map(str, sections))) or 'none'})"
                )
            try:
                values.update(read_params_file(params_file, spec.name))
            except ConfigError as exc:
                problems.append(f"{where}: {exc}")
        for key, text in spec.inline_params.items():
            values[key] = yaml.safe_load(text)  # how ROS types a <param value="...">
        unknown = sorted(set(values) - declared)
        if unknown:
            problems.append(
                f"{where}: parameter(s) {', '.join(unknown)} not declared by "
                f"{config_cls.__name__} (declared: {', '.join(sorted(declared))})"
            )
            continue
        try:
            load_config(config_cls, values)
        except ConfigError as exc:
            problems.append(f"{where}: {exc}")
    return problems, missing


# --------------------------------------------------------------------------- hearth's files


def test_there_are_launch_files():
    names = {p.name for p in LAUNCH_FILES}
    assert {"sim.launch.xml", "navigation.launch.xml", "hearth.launch.xml",
            "demo.launch.xml"} <= names


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_node_exists_and_declares_its_parameters(launch_file):
    problems, missing = check_launch_file(launch_file, WS)
    assert not problems, "\n".join(problems)
    if missing:
        pytest.skip(f"not in src/ yet (the other nodes were checked): {sorted(set(missing))}")


def _nodes(name: str, **args: str):
    return parse_with_externals(WS / "launch" / name, WS, args)


def test_demo_starts_exactly_the_documented_nodes_with_their_params_files():
    nodes = _nodes("demo.launch.xml")
    assert {(n.package, n.executable, n.name) for n in nodes} == NODE_TABLE
    assert len(nodes) == len(NODE_TABLE)
    for n in nodes:
        assert n.namespace is None
        assert n.params_files == [str(WS / "src" / n.package / "config" / f"{n.name}.yaml")]


def test_sim_false_leaves_out_the_simulator():
    packages = {n.package for n in _nodes("hearth.launch.xml", sim="false")}
    assert "hearth_sim" not in packages
    assert "hearth_description" not in packages
    assert "hearth_fusion" in packages
    assert {n.package for n in _nodes("hearth.launch.xml")} >= {"hearth_sim", "hearth_fusion"}


@pytest.mark.parametrize("launch_file", LAUNCH_FILES, ids=lambda p: p.name)
def test_use_sim_time_defaults_to_true_and_reaches_every_node_but_the_clock(launch_file):
    def followers(nodes):  # the simulator is the clock: it runs on wall time
        return [n for n in nodes if n.package != "hearth_sim"]

    on = followers(_nodes(launch_file.name))
    assert all(n.inline_params["use_sim_time"] == "true" for n in on)
    off = followers(_nodes(launch_file.name, use_sim_time="false"))
    assert all(n.inline_params["use_sim_time"] == "false" for n in off)
    assert all("use_sim_time" not in n.inline_params
               for n in _nodes(launch_file.name) if n.package == "hearth_sim")


def test_map_yaml_reaches_the_global_planner():
    (planner,) = [n for n in _nodes("demo.launch.xml") if n.name == "global_planner"]
    default = Path(planner.inline_params["map_yaml"])
    assert default.resolve() == WS / "maps" / "apartment" / "map.yaml"
    (sim,) = [n for n in _nodes("demo.launch.xml", home="house") if n.name == "sim"]
    assert Path(sim.inline_params["home_file"]).resolve() == WS / "maps" / "house" / "home.yaml"
    (planner,) = [n for n in _nodes("demo.launch.xml", home="house") if n.name == "global_planner"]
    assert Path(planner.inline_params["map_yaml"]).resolve() == WS / "maps" / "house" / "map.yaml"
    (planner,) = [n for n in _nodes("demo.launch.xml", map_yaml="/tmp/m.yaml")
                  if n.name == "global_planner"]
    assert planner.inline_params["map_yaml"] == "/tmp/m.yaml"


def test_gazebo_runs_the_stack_on_gazebo_with_the_bridge_and_the_spawner():
    nodes = _nodes("gazebo.launch.xml")
    by_name = {n.name: n for n in nodes}
    navigation = {("hearth_fusion", "fusion"), ("hearth_slam", "slam"),
                  ("hearth_planning", "global_planner"), ("hearth_trajectory", "local_planner"),
                  ("hearth_perception", "obstacle_tracker"), ("hearth_safety", "safety")}
    assert {(n.package, n.name) for n in nodes} == navigation | {
        ("hearth_description", "state_publisher"), ("ros_gz_sim", "spawn_hearth"),
        ("ros_gz_bridge", "gz_bridge")}
    assert "hearth_sim" not in {n.package for n in nodes}  # Gazebo is the simulator and clock
    xacro_file = Path(by_name["state_publisher"].inline_params["xacro_file"])
    assert xacro_file == WS / "src/hearth_description/urdf/hearth_gazebo.urdf.xacro"
    assert xacro_file.is_file()
    bridge = by_name["gz_bridge"]
    assert Path(bridge.inline_params["config_file"]) == WS / "src/hearth_sim/config/gz_bridge.yaml"
    spawn = by_name["spawn_hearth"]
    assert spawn.executable == "create"
    assert spawn.extra_args[:4] == ["-name", "hearth", "-topic", "/robot_description"]
    assert {"-x=0.0", "-y=0.0", "-Y=0.0"} <= set(spawn.extra_args)
    (planner,) = [n for n in nodes if n.name == "global_planner"]
    assert Path(planner.inline_params["map_yaml"]).resolve() == WS / "maps/apartment/map.yaml"

    nodes = _nodes("gazebo.launch.xml", home="house", x="1.5", yaw="-0.5")
    spawn = next(n for n in nodes if n.name == "spawn_hearth")
    assert {"-x=1.5", "-Y=-0.5"} <= set(spawn.extra_args)
    (planner,) = [n for n in nodes if n.name == "global_planner"]
    assert Path(planner.inline_params["map_yaml"]).resolve() == WS / "maps/house/map.yaml"


def test_gazebo_includes_gz_sim_with_the_generated_world():
    root = ET.parse(WS / "launch" / "gazebo.launch.xml").getroot()
    (gz,) = [el for el in root.iter("include") if "ros_gz_sim" in el.get("file", "")]
    assert gz.get("file") == "$(find-pkg-share ros_gz_sim)/launch/gz_sim.launch.py"
    (gz_args,) = [a.get("value") for a in gz.iter("arg") if a.get("name") == "gz_args"]
    assert gz_args.startswith("-r ") and gz_args.endswith("$(var world)")
    declared: dict = {}
    with package_shares(WS) as share:
        parse_launch_file(WS / "launch" / "gazebo.launch.xml", package_share=share,
                          declared=declared)
    assert declared["world"].default == "$(dirname)/../build/gazebo/$(var home).sdf"


# --------------------------------------------------------------------------- the checker itself


def test_console_scripts_reads_plain_and_f_string_entries():
    scripts = console_scripts(FIXTURE_WS / "src" / "fixture_pkg" / "setup.py")
    assert scripts == {
        "talker": "fixture_pkg.talker_node:main",
        "crasher": "fixture_pkg.crasher_node:main",
    }


@pytest.mark.parametrize("name", ["talker.launch.xml", "crash.launch.xml"])
def test_checker_accepts_the_fixture_launch_files(name):
    assert check_launch_file(FIXTURE_WS / "launch" / name, FIXTURE_WS) == ([], [])


def test_checker_catches_an_undeclared_params_file_key():
    problems, _ = check_launch_file(FIXTURE_WS / "launch" / "talker_typo.launch.xml", FIXTURE_WS)
    assert len(problems) == 1
    assert "greting" in problems[0] and "TalkerConfig" in problems[0]


def test_checker_catches_a_missing_executable_a_bad_value_and_a_missing_package(tmp_path):
    launch_file = tmp_path / "bad.launch.xml"
    launch_file.write_text(
        """<launch>
  <node pkg="fixture_pkg" exec="nope" name="a"/>
  <node pkg="fixture_pkg" exec="talker" name="chatty">
    <param name="rate_hz" value="1000.0"/>
  </node>
  <node pkg="not_written_yet" exec="x" name="b"/>
</launch>
"""
    )
    problems, missing = check_launch_file(launch_file, FIXTURE_WS)
    assert len(problems) == 2
    assert "no console script 'nope'" in problems[0]
    assert "rate_hz" in problems[1] and "maximum" in problems[1]
    assert missing == ["not_written_yet"]


def _write_launch(tmp_path: Path, body: str) -> Path:
    launch_file = tmp_path / "ext.launch.xml"
    launch_file.write_text(f"<launch>\n{body}\n</launch>\n")
    return launch_file


def test_checker_accepts_allow_listed_external_nodes_and_includes(tmp_path):
    launch_file = _write_launch(tmp_path, """
  <include file="$(find-pkg-share ros_gz_sim)/launch/gz_sim.launch.py">
    <arg name="gz_args" value="-r world.sdf"/>
  </include>
  <node pkg="ros_gz_sim" exec="create" args="-name robot -topic /robot_description">
    <param name="use_sim_time" value="true"/>
  </node>
  <node pkg="ros_gz_bridge" exec="parameter_bridge" name="bridge">
    <param name="config_file" value="$(find-pkg-share fixture_pkg)/config/talker.yaml"/>
  </node>
  <node pkg="fixture_pkg" exec="talker" name="chatty">
    <param from="$(find-pkg-share fixture_pkg)/config/talker.yaml"/>
  </node>""")
    assert check_launch_file(launch_file, FIXTURE_WS) == ([], [])
    packages = [n.package for n in parse_with_externals(launch_file, FIXTURE_WS)]
    assert packages == ["ros_gz_sim", "ros_gz_bridge", "fixture_pkg"]


def test_checker_still_checks_the_rest_of_a_file_with_an_external_include(tmp_path):
    launch_file = _write_launch(tmp_path, """
  <include file="$(find-pkg-share ros_gz_sim)/launch/gz_sim.launch.py"/>
  <node pkg="fixture_pkg" exec="talker" name="chatty">
    <param name="rate_hz" value="1000.0"/>
  </node>""")
    problems, _ = check_launch_file(launch_file, FIXTURE_WS)
    assert len(problems) == 1 and "rate_hz" in problems[0]


def test_checker_catches_external_nodes_and_includes_off_the_allow_list(tmp_path):
    launch_file = _write_launch(tmp_path, """
  <node pkg="ros_gz_sim" exec="gzserver" name="server"/>
  <node pkg="ros_gz_bridge" exec="parameter_bridge" name="bridge">
    <param name="config_fle" value="x.yaml"/>
    <param name="config_file" value="$(find-pkg-share fixture_pkg)/config/nope.yaml"/>
  </node>""")
    problems, missing = check_launch_file(launch_file, FIXTURE_WS)
    assert missing == []
    assert len(problems) == 3
    assert "gzserver" in problems[0] and "EXTERNAL_NODES" in problems[0]
    assert "config_fle" in problems[1]
    assert "file not found" in problems[2] and "nope.yaml" in problems[2]

    launch_file = _write_launch(tmp_path, """
  <include file="$(find-pkg-share ros_gz_sim)/launch/gz_server.launch.py"/>
  <include file="$(find-pkg-share ros_gz_sim)/launch/gz_sim.launch.py">
    <arg name="gz_arg" value="-r"/>
  </include>""")
    problems, _ = check_launch_file(launch_file, FIXTURE_WS)
    assert len(problems) == 2
    assert "gz_server.launch.py" in problems[0] and "EXTERNAL_LAUNCH_FILES" in problems[0]
    assert "gz_arg" in problems[1]


def test_only_allow_listed_packages_outside_src_count_as_external(tmp_path):
    assert is_external("ros_gz_bridge", FIXTURE_WS)
    assert not is_external("fixture_pkg", FIXTURE_WS)  # in src/: setup.py rules apply
    assert not is_external("hearth_sim", WS)
    launch_file = _write_launch(tmp_path, '<node pkg="some_ros_pkg" exec="x" name="x"/>')
    assert check_launch_file(launch_file, FIXTURE_WS) == ([], ["some_ros_pkg"])
