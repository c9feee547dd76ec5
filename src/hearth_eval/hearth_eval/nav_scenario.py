"""The navigation suite's scenarios and suites as data (ROS-free).

A scenario of the suite, ``config/scenarios/nav/<name>.yaml``, is a scenario file of
:mod:`hearth_eval.scenario` (the demo's schema: home, seed, duration_s, goal_timeout_s,
start, goals, people, disturbances, latency, lighting), validated by it, with two additions:

``people.agents``
    people on given routes: a list of ``{route: [[x_m, y_m], ...], start_s, speed_mps}``
    (``start_s`` and ``speed_mps`` a number or a ``[low, high]`` range the seed draws from).
    With ``model: social_force`` they are social-force people
    (:class:`hearth_eval.nav_people.RoutedSocialForceCrowd`: they walk the route at that
    desired speed, keep off each other, the walls and the robot, pause about 0.6 m short
    of their last waypoint, then walk on from room to room), beside ``count`` of
    hearth_sim's room-to-room walkers; with
    ``model: scripted`` they walk the polyline at exactly that speed and give way to nobody
    (:class:`hearth_eval.planner_loop.ScriptedCrowd`). ``model: replay`` replays an ETH/UCY
    file as the demo does (``replay_file`` relative to the workspace or absolute).
``clutter``
    ``{mapped: true|false, pieces: [{name, shape: box|cylinder, center_m, size_m, yaw_deg}]}``:
    objects set down in the home; on the map the global and the local planner get when
    ``mapped`` (known clutter), else seen only by the ToF.

The disturbances the in-process suite honours: the home's rugs and thresholds (driven over
where the route crosses them, the physics as the demo's), ``dark`` and ``light`` events and
the lighting (which the ToF, an active sensor, does not see: they matter to V-SLAM, which
this suite does not run), and injected latency (``tof``; ``wheels``/``imu`` delay /odom).
``lift`` and ``power`` events are refused: the suite has no relocalization to recover with.

A suite file, ``config/scenarios/nav/suites.yaml``, names the episodes of each suite:
``<suite>: [{scenario: <name>, seeds: [1, 2, 3]}, ...]`` (no ``seeds``: the file's seed).
Every problem raises :class:`hearth_eval.scenario.ScenarioError` naming the file and key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hearth_eval.scenario import (
    Scenario,
    ScenarioError,
    check_against_home,
    scenario_from_dict,
    workspace_root,
)

SUITES_FILE = "suites.yaml"
NAV_MODELS = ("none", "social_force", "scripted", "replay")
SHAPES = ("box", "cylinder")
SUPPORTED_EVENTS = ("dark", "light")
PERSON_RADIUS_M = 0.25  # hearth_sim's body radius: a route's waypoints leave room for it


@dataclass(frozen=True)
class Agent:
    """A person on a route; ``start_s`` and ``speed_mps`` are (low, high) ranges."""

    route: tuple[tuple[float, float], ...]
    start_s: tuple[float, float]
    speed_mps: tuple[float, float]


@dataclass(frozen=True)
class ClutterPiece:
    name: str
    shape: str
    center_m: tuple[float, float]
    size_m: tuple[float, float, float]
    yaw_rad: float = 0.0


@dataclass(frozen=True)
class NavScenario:
    """A suite scenario: the demo schema's :class:`Scenario` and the additions above."""

    base: Scenario
    people_model: str = "none"  # NAV_MODELS
    agents: tuple[Agent, ...] = ()
    clutter: tuple[ClutterPiece, ...] = ()
    clutter_mapped: bool = True
    path: str = ""

    @property
    def name(self) -> str:
        return self.base.name

    @property
    def home(self) -> str:
        return self.base.home

    @property
    def people_count(self) -> int:
        """How many people walk about (routed and random; a replay's at most)."""
        if self.people_model == "replay":
            return self.base.people.replay_max
        return len(self.agents) + self.base.people.count

    def with_seed(self, seed: int) -> NavScenario:
        return replace(self, base=replace(self.base, seed=int(seed)))

    def to_dict(self) -> dict[str, Any]:
        return {**self.base.to_dict(), "people_model": self.people_model,
                "agents": [a.__dict__ for a in self.agents],
                "clutter": {"mapped": self.clutter_mapped,
                            "pieces": [c.__dict__ for c in self.clutter]},
                "path": self.path}


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode of a suite: a scenario file and a seed."""

    scenario: str  # the file's name without .yaml
    path: str
    seed: int


@dataclass(frozen=True)
class Suite:
    name: str
    episodes: tuple[EpisodeSpec, ...] = field(default_factory=tuple)


# ----------------------------------------------------------------------------- loading


def nav_dir() -> Path:
    return workspace_root() / "config" / "scenarios" / "nav"


def nav_scenario_path(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text:
        return Path(text)
    return nav_dir() / f"{text}.yaml"


def _fail(source: str, key: str, message: str) -> ScenarioError:
    return ScenarioError(f"{source}: '{key}': {message}")


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None


def _num(value: Any, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            float(value)):
        raise _fail(source, key, f"must be a finite number, got {value!r}")
    return float(value)


def _range(value: Any, source: str, key: str, lo: float, hi: float) -> tuple[float, float]:
    """A number or [low, high] within [lo, hi] -> (low, high)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise _fail(source, key, f"must be a number or [low, high], got {value!r}")
        a, b = (_num(v, source, key) for v in value)
    else:
        a = b = _num(value, source, key)
    if not lo <= a <= b <= hi:
        raise _fail(source, key, f"must lie in [{lo:g}, {hi:g}] with low <= high, "
                    f"got {value!r}")
    return a, b


def _xy(value: Any, source: str, key: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _fail(source, key, f"must be [x_m, y_m], got {value!r}")
    return _num(value[0], source, key), _num(value[1], source, key)


def _agents(raw: Any, source: str) -> tuple[Agent, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(source, "people.agents", f"must be a list of {{route, start_s, speed_mps}}, "
                    f"got {raw!r}")
    out = []
    for i, a in enumerate(raw):
        key = f"people.agents[{i}]"
        if not isinstance(a, Mapping):
            raise _fail(source, key, f"must be a mapping {{route, start_s, speed_mps}}, "
                        f"got {a!r}")
        unknown = sorted(set(a) - {"route", "start_s", "speed_mps"})
        if unknown:
            raise _fail(source, key, f"unknown key(s) {', '.join(unknown)} "
                        "(known: route, speed_mps, start_s)")
        route = a.get("route")
        if not isinstance(route, list) or len(route) < 2:
            raise _fail(source, f"{key}.route", f"must be a list of 2 or more [x_m, y_m], "
                        f"got {route!r}")
        points = tuple(_xy(p, source, f"{key}.route[{k}]") for k, p in enumerate(route))
        out.append(Agent(points, _range(a.get("start_s", 0.0), source, f"{key}.start_s",
                                        0.0, 3600.0),
                         _range(a.get("speed_mps", 1.1), source, f"{key}.speed_mps", 0.1, 2.5)))
    return tuple(out)


def _clutter(raw: Any, source: str) -> tuple[tuple[ClutterPiece, ...], bool]:
    if raw is None:
        return (), True
    if not isinstance(raw, Mapping):
        raise _fail(source, "clutter", f"must be a mapping {{mapped, pieces}}, got {raw!r}")
    unknown = sorted(set(raw) - {"mapped", "pieces"})
    if unknown:
        raise _fail(source, "clutter", f"unknown key(s) {', '.join(unknown)} "
                    "(known: mapped, pieces)")
    mapped = raw.get("mapped", True)
    if not isinstance(mapped, bool):
        raise _fail(source, "clutter.mapped", f"must be true or false, got {mapped!r}")
    pieces_raw = raw.get("pieces", [])
    if not isinstance(pieces_raw, list):
        raise _fail(source, "clutter.pieces", f"must be a list, got {pieces_raw!r}")
    pieces, names = [], set()
    for i, p in enumerate(pieces_raw):
        key = f"clutter.pieces[{i}]"
        if not isinstance(p, Mapping):
            raise _fail(source, key, f"must be a mapping, got {p!r}")
        unknown = sorted(set(p) - {"name", "shape", "center_m", "size_m", "yaw_deg"})
        if unknown:
            raise _fail(source, key, f"unknown key(s) {', '.join(unknown)} "
                        "(known: center_m, name, shape, size_m, yaw_deg)")
        name = str(p.get("name") or f"clutter_{i}")
        if name in names:
            raise _fail(source, f"{key}.name", f"{name!r} is used twice")
        names.add(name)
        shape = p.get("shape", "box")
        if shape not in SHAPES:
            raise _fail(source, f"{key}.shape", f"must be one of {', '.join(SHAPES)}, "
                        f"got {shape!r}")
        size = p.get("size_m")
        if not isinstance(size, (list, tuple)) or len(size) != 3:
            raise _fail(source, f"{key}.size_m", f"must be [x_m, y_m, z_m], got {size!r}")
        size_m = tuple(_num(v, source, f"{key}.size_m") for v in size)
        if not all(0.02 <= v <= 3.0 for v in size_m):
            raise _fail(source, f"{key}.size_m", f"each must lie in [0.02, 3] m, got {size!r}")
        pieces.append(ClutterPiece(name, shape, _xy(p.get("center_m"), source,
                                                    f"{key}.center_m"),
                                   size_m, math.radians(_num(p.get("yaw_deg", 0.0), source,
                                                             f"{key}.yaw_deg"))))
    return tuple(pieces), mapped


def nav_scenario_from_dict(data: Any, source: str = "<scenario>",
                           default_name: str = "scenario") -> NavScenario:
    """A suite scenario from its YAML content; checks types and ranges, not the home."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario is a mapping of keys, got "
                            f"{type(data).__name__}")
    data = dict(data)
    pieces, mapped = _clutter(data.pop("clutter", None), source)
    people = data.get("people")
    agents: tuple[Agent, ...] = ()
    model = "none"
    if isinstance(people, Mapping):
        people = dict(people)
        agents = _agents(people.pop("agents", None), source)
        model = people.get("model", "social_force" if (people or agents) else "none")
        if model not in NAV_MODELS:
            raise _fail(source, "people.model", f"must be one of {', '.join(NAV_MODELS)}, "
                        f"got {model!r}")
        if model == "scripted":
            if people.get("count"):
                raise _fail(source, "people.count", "scripted people walk their routes only: "
                            "give them as agents")
            people["model"] = "none"
        if model in ("scripted", "social_force") and not agents and not people.get("count"):
            raise _fail(source, "people", f"model {model} with neither agents nor a count")
        if model in ("none", "replay") and agents:
            raise _fail(source, "people.agents", f"model {model} walks no routed agents "
                        "(social_force or scripted does)")
        data["people"] = people
    base = scenario_from_dict(data, source, default_name)
    for i, event in enumerate(base.schedule):
        kind = event.split()[1]
        if kind not in SUPPORTED_EVENTS:
            raise _fail(source, f"disturbances.schedule[{i}]", f"event '{kind}' is not run "
                        f"by the navigation suite (it runs: {', '.join(SUPPORTED_EVENTS)})")
    return NavScenario(base, model, agents, pieces, mapped, source)


def load_nav_scenario(name_or_path: str | Path, *, check_home: bool = True) -> NavScenario:
    """Reads and validates ``config/scenarios/nav/<name>.yaml`` (or a path): the schema,
    then (``check_home``) the names and poses against the home and its map, the clutter
    (pieces inside the home, clear of the start and the goals) and every route waypoint
    (on free floor with room for a person)."""
    path = nav_scenario_path(name_or_path)
    nav = nav_scenario_from_dict(_read_yaml(path), str(path), default_name=path.stem)
    if check_home:
        nav = replace(nav, base=check_against_home(nav.base))
        _check_nav_against_home(nav)
    return nav


def _check_nav_against_home(nav: NavScenario) -> None:
    from hearth_description.robot_model import load_robot_params
    from hearth_eval.nav_route import home_map
    from hearth_eval.scenario import _pose_problem
    from hearth_sim.home.loader import HomeError
    src = nav.path
    home_names = _home_piece_names(nav.home)
    for i, c in enumerate(nav.clutter):
        if c.name in home_names:
            raise _fail(src, f"clutter.pieces[{i}].name", f"{c.name!r} is a piece of the home "
                        "already")
    try:
        grid = home_map(nav.home, tuple(clutter_furniture(nav.clutter)), nav.base.start)
    except (HomeError, ValueError) as exc:
        raise _fail(src, "clutter", str(exc)) from None
    radius_m = load_robot_params().base.radius_m
    poses = [("start", nav.base.start[:2])]
    poses += [(f"goals[{i}] ({g.name})", (g.x_m, g.y_m)) for i, g in enumerate(nav.base.goals)]
    for key, xy in poses:
        problem = _pose_problem(grid, xy, radius_m)
        if problem:
            raise _fail(src, key, f"({xy[0]:.2f}, {xy[1]:.2f}) m {problem} with the clutter")
    for i, agent in enumerate(nav.agents):
        for k, xy in enumerate(agent.route):
            problem = _pose_problem(grid, xy, PERSON_RADIUS_M)
            if problem:
                problem = problem.replace("the robot", "a person")
                raise _fail(src, f"people.agents[{i}].route[{k}]",
                            f"({xy[0]:.2f}, {xy[1]:.2f}) m {problem}")


def _home_piece_names(home_name: str) -> set[str]:
    from hearth_sim.home.loader import resolve_home

    home = resolve_home(home_name)
    return {f.name for f in home.furniture}


def clutter_furniture(pieces: tuple[ClutterPiece, ...]) -> list:
    """The clutter as hearth_sim ``Furniture`` (boxes and cylinders standing on the floor)."""
    from hearth_sim.home.model import Furniture

    return [Furniture(c.name, c.shape, c.center_m, c.size_m, yaw_rad=c.yaw_rad,
                      texture="cardboard" if c.shape == "box" else "metal")
            for c in pieces]


def load_suite(name: str, suites_file: Path | None = None) -> Suite:
    """The episodes of suite ``name`` in ``config/scenarios/nav/suites.yaml``."""
    path = suites_file or nav_dir() / SUITES_FILE
    data = _read_yaml(path)
    if not isinstance(data, Mapping) or not data:
        raise ScenarioError(f"{path}: a suites file maps suite names to lists of episodes")
    if name not in data:
        raise ScenarioError(f"{path}: no suite {name!r} (it has: {', '.join(sorted(data))})")
    entries = data[name]
    if not isinstance(entries, list) or not entries:
        raise _fail(str(path), name, "must be a non-empty list of {scenario, seeds}")
    episodes: list[EpisodeSpec] = []
    for i, e in enumerate(entries):
        key = f"{name}[{i}]"
        if not isinstance(e, Mapping) or "scenario" not in e:
            raise _fail(str(path), key, f"must be {{scenario: <name>, seeds: [..]}}, got {e!r}")
        unknown = sorted(set(e) - {"scenario", "seeds"})
        if unknown:
            raise _fail(str(path), key, f"unknown key(s) {', '.join(unknown)} "
                        "(known: scenario, seeds)")
        scn_path = nav_scenario_path(e["scenario"])
        if not scn_path.is_file():
            raise _fail(str(path), f"{key}.scenario", f"no scenario file {scn_path}")
        seeds = e.get("seeds")
        if seeds is None:
            seeds = [load_nav_scenario(scn_path, check_home=False).base.seed]
        if (not isinstance(seeds, list) or not seeds or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
            raise _fail(str(path), f"{key}.seeds", f"must be a list of integers >= 0, "
                        f"got {seeds!r}")
        episodes += [EpisodeSpec(scn_path.stem, str(scn_path), s) for s in seeds]
    return Suite(name, tuple(episodes))


# ----------------------------------------------------------------------------- running


def draw_agents(nav: NavScenario) -> list[tuple[tuple, float, float]]:
    """Each agent's (route, start_s, speed_mps), drawn from the scenario's seed."""
    rng = np.random.default_rng([nav.base.seed, 7919])
    return [(a.route, float(rng.uniform(*a.start_s)), float(rng.uniform(*a.speed_mps)))
            for a in nav.agents]


def make_crowd(nav: NavScenario, robot_radius_m: float):
    """The scenario's people, fresh (a crowd is stepped by one run only)."""
    from hearth_eval.nav_people import PersonRoute, RoutedSocialForceCrowd
    from hearth_eval.nav_route import home_with
    from hearth_eval.planner_loop import ScriptedCrowd
    from hearth_sim.home import geometry

    b = nav.base
    if nav.people_model == "none":
        return None
    home = home_with(nav.home, tuple(clutter_furniture(nav.clutter)), b.start)
    drawn = draw_agents(nav)
    if nav.people_model == "scripted":
        return ScriptedCrowd([np.asarray(r, dtype=float) for r, _s, _v in drawn],
                             [v for _r, _s, v in drawn], [s for _r, s, _v in drawn])
    if nav.people_model == "social_force":
        routes = [PersonRoute(tuple(map(tuple, r)), s, v) for r, s, v in drawn]
        return RoutedSocialForceCrowd(geometry.obstacle_segments(home), home.rooms, routes,
                                      b.people.count, b.seed, robot_radius_m,
                                      robot_start_xy_m=b.start[:2])
    # replay: as the simulator node makes it
    from hearth_common.config import load_config
    from hearth_description.robot_model import load_robot_params
    from hearth_sim.config import SimConfig
    from hearth_sim.mujoco_sim import make_crowd as sim_crowd

    replay = Path(b.people.replay_file)
    if not replay.is_absolute():
        replay = workspace_root() / replay
    if not replay.is_file():
        raise ScenarioError(f"{nav.path}: 'people.replay_file': no file {replay}")
    cfg = load_config(SimConfig, {**b.sim_parameters(), "people_replay_file": str(replay)})
    return sim_crowd(home, cfg, load_robot_params())


def loop_scenario(nav: NavScenario, robot_radius_m: float):
    """The :class:`hearth_eval.planner_loop.Scenario` of a suite scenario: every goal's path
    from hearth_planning's global planner on the home's map (with the clutter when mapped),
    the people, the clutter, the timed events and the lighting, injected latency, fusion on;
    a blocked signal counts against the region ahead in the planner's memory, as the node's.
    """
    from hearth_eval.nav_route import GlobalRoute, home_map
    from hearth_eval.planner_loop import Scenario as LoopScenario

    b = nav.base
    added = tuple(clutter_furniture(nav.clutter))
    route = GlobalRoute(home_map(nav.home, added if nav.clutter_mapped else (), b.start),
                        robot_radius_m, memory=True)
    return LoopScenario(
        name=nav.name, home=nav.home, start=b.start, route=None, crowd=make_crowd(
            nav, robot_radius_m), duration_s=b.duration_s, added=added,
        added_mapped=nav.clutter_mapped, goals=tuple((g.x_m, g.y_m) for g in b.goals),
        goal_names=tuple(g.name for g in b.goals), plan_route=route.plan,
        report_blocked=route.report_blocked,
        goal_timeout_s=b.goal_timeout_s, disturbance_schedule=b.disturbance_schedule(),
        latency_s=dict(b.latency_s), fusion=True)
