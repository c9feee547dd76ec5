"""Navigation scenarios as data: ``config/scenarios/<name>.yaml`` (ROS-free).

One schema for the demo (``demo.yaml``) and the scenario suite: the home, where the robot
starts, the goals it is sent to one after another, the people walking about, the home's
bumps and rugs the route must cross, timed disturbances, injected sensor latency, lighting,
the seed and the time allowed. ``load_scenario`` validates every field against the home (its
rugs, thresholds, lights and rooms) and its occupancy map (every pose on free floor, with room
for the robot), and raises :class:`ScenarioError` with one line naming the file and the key.

``Scenario.sim_parameters()`` turns a scenario into the simulator's parameters (people, seed,
start pose, disturbance schedule, latency): what ``write_sim_params`` merges into hearth_sim's
``config/sim.yaml`` for the launch argument ``sim_params:=``.

Times are simulated seconds from the simulator's start; poses are in the world frame, which
is the map frame (V-SLAM's map starts at the robot's start pose, which the simulator
announces on /initialpose).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

# hearth_sim's sensors whose latency can be injected (hearth_sim.config.SENSORS).
LATENCY_SENSORS = ("stereo", "tof", "screen_camera", "imu", "wheels")
PEOPLE_MODELS = ("none", "social_force", "replay")
_KEYS = {"name", "description", "home", "seed", "duration_s", "goal_timeout_s", "start",
         "goals", "people", "disturbances", "latency", "lighting"}


class ScenarioError(ValueError):
    """A scenario file is missing, malformed, or names what its home does not have."""


@dataclass(frozen=True)
class Goal:
    """A pose to reach (world = map frame)."""

    name: str
    x_m: float
    y_m: float
    yaw_rad: float


@dataclass(frozen=True)
class People:
    """Who walks about: ``count`` social-force walkers (each walks a route of room targets
    drawn from the seed, and reacts to the others and to the robot), or a replayed ETH/UCY
    recording centred on ``replay_room``, or nobody."""

    model: str = "none"
    count: int = 0
    replay_file: str = ""
    replay_room: str = ""
    replay_max: int = 8


@dataclass(frozen=True)
class Lighting:
    """At ``dim_at_s`` the ceiling lights named in ``lights_off`` go off (the sun through the
    windows and the sky's ambient light stay: the home dims, it does not go black)."""

    dim_at_s: float | None = None
    lights_off: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    home: str
    seed: int
    duration_s: float  # the whole run, at most
    goal_timeout_s: float  # one goal, at most
    start: tuple[float, float, float]  # x_m, y_m, yaw_rad
    goals: tuple[Goal, ...]
    people: People = field(default_factory=People)
    crosses: tuple[str, ...] = ()  # the home's thresholds and rugs the tour drives over
    schedule: tuple[str, ...] = ()  # hearth_sim disturbance events, '<t_s> <kind> <args>'
    latency_s: Mapping[str, float] = field(default_factory=dict)  # sensor -> injected delay
    lighting: Lighting = field(default_factory=Lighting)
    description: str = ""
    source: str = "<scenario>"

    def disturbance_schedule(self) -> str:
        """The simulator's ``disturbance_schedule``: the timed events and the dimming."""
        events = list(self.schedule)
        if self.lighting.dim_at_s is not None:
            events += [f"{self.lighting.dim_at_s:g} light {name} off"
                       for name in self.lighting.lights_off]
        return "; ".join(events)

    def sim_parameters(self) -> dict[str, Any]:
        """hearth_sim's parameters that this scenario sets (``config/sim.yaml`` keys)."""
        x, y, yaw = self.start
        params: dict[str, Any] = {
            "seed": int(self.seed),
            "start_pose": f"{x:.4f} {y:.4f} {yaw:.6f}",
            "people": self.people.count if self.people.model == "social_force" else 0,
            "people_replay_file": (self.people.replay_file if self.people.model == "replay"
                                   else ""),
            "disturbance_schedule": self.disturbance_schedule(),
        }
        if self.people.model == "replay":
            params["people_replay_room"] = self.people.replay_room
            params["people_replay_max"] = self.people.replay_max
        for sensor in LATENCY_SENSORS:
            params[f"{sensor}_latency_s"] = float(self.latency_s.get(sensor, 0.0))
        return params

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of the scenario (for metrics.json)."""
        return {
            "name": self.name, "description": self.description, "home": self.home,
            "seed": self.seed,
            "duration_s": self.duration_s, "goal_timeout_s": self.goal_timeout_s,
            "start": {"x_m": self.start[0], "y_m": self.start[1], "yaw_rad": self.start[2]},
            "goals": [g.__dict__ for g in self.goals],
            "people": self.people.__dict__, "crosses": list(self.crosses),
            "schedule": list(self.schedule), "latency_s": dict(self.latency_s),
            "lighting": {"dim_at_s": self.lighting.dim_at_s,
                         "lights_off": list(self.lighting.lights_off)},
        }


# ----------------------------------------------------------------------------- loading


def workspace_root() -> Path:
    """$HEARTH_WS (set by setup_hearth.bash), else the source tree's workspace."""
    ws = os.environ.get("HEARTH_WS")
    return Path(ws) if ws else Path(__file__).resolve().parents[3]


def scenario_path(name_or_path: str | os.PathLike) -> Path:
    """``demo`` -> ``<workspace>/config/scenarios/demo.yaml``; a path stays a path."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        return Path(text)
    return workspace_root() / "config" / "scenarios" / f"{text}.yaml"


def load_scenario(name_or_path: str | os.PathLike, *, check_home: bool = True) -> Scenario:
    """Reads and validates a scenario file (see the module docstring). ``check_home=False``
    skips the checks against the home and its map (for a scenario of a home not at hand)."""
    path = scenario_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    scenario = scenario_from_dict(data, str(path), default_name=path.stem)
    return check_against_home(scenario) if check_home else scenario


def _fail(source: str, key: str, message: str) -> ScenarioError:
    return ScenarioError(f"{source}: '{key}': {message}")


def _number(value: Any, source: str, key: str, *, min_value: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(source, key, f"must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise _fail(source, key, f"must be finite, got {value!r}")
    if min_value is not None and out < min_value:
        raise _fail(source, key, f"must be >= {min_value:g}, got {value!r}")
    return out


def _pose(value: Any, source: str, key: str) -> tuple[float, float, float]:
    """[x_m, y_m, yaw_deg] -> (x_m, y_m, yaw_rad)."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise _fail(source, key, f"must be [x_m, y_m, yaw_deg], got {value!r}")
    x, y, yaw_deg = (_number(v, source, key) for v in value)
    return x, y, math.radians(yaw_deg)


def _mapping(value: Any, source: str, key: str, allowed: set[str]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(source, key, f"must be a mapping, got {value!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _fail(source, key, f"unknown key(s) {', '.join(unknown)} "
                    f"(known: {', '.join(sorted(allowed))})")
    return value


def _names(value: Any, source: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _fail(source, key, f"must be a list of names, got {value!r}")
    return tuple(value)


def scenario_from_dict(data: Any, source: str = "<scenario>",
                       default_name: str = "scenario") -> Scenario:
    """A scenario from its YAML content; checks types and ranges, not the home."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{source}: a scenario is a mapping of keys, got {type(data).__name__}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ScenarioError(f"{source}: unknown key(s) {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(_KEYS))})")
    for key in ("home", "start", "goals"):
        if key not in data:
            raise _fail(source, key, "missing")
    if not isinstance(data["home"], str) or not data["home"]:
        raise _fail(source, "home", f"must be a home's name, got {data['home']!r}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise _fail(source, "seed", f"must be an integer >= 0, got {seed!r}")

    goals_raw = data["goals"]
    if not isinstance(goals_raw, list) or not goals_raw:
        raise _fail(source, "goals", "must be a non-empty list of {name, pose: [x_m, y_m, "
                    "yaw_deg]}")
    goals = []
    for i, g in enumerate(goals_raw):
        key = f"goals[{i}]"
        g = _mapping(g, source, key, {"name", "pose"})
        if "pose" not in g:
            raise _fail(source, key, "has no 'pose: [x_m, y_m, yaw_deg]'")
        x, y, yaw = _pose(g["pose"], source, f"{key}.pose")
        goals.append(Goal(str(g.get("name") or f"goal {i + 1}"), x, y, yaw))

    p = _mapping(data.get("people"), source, "people",
                 {"model", "count", "replay_file", "replay_room", "replay_max"})
    model = p.get("model", "none" if not p else "social_force")
    if model not in PEOPLE_MODELS:
        raise _fail(source, "people.model", f"must be one of {', '.join(PEOPLE_MODELS)}, "
                    f"got {model!r}")
    count = p.get("count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 50:
        raise _fail(source, "people.count", f"must be an integer in [0, 50], got {count!r}")
    if model == "replay" and not p.get("replay_file"):
        raise _fail(source, "people.replay_file", "is needed with model: replay")
    people = People(model, count if model == "social_force" else 0,
                    str(p.get("replay_file", "")), str(p.get("replay_room", "")),
                    int(p.get("replay_max", 8)))

    d = _mapping(data.get("disturbances"), source, "disturbances", {"crosses", "schedule"})
    schedule = _names(d.get("schedule"), source, "disturbances.schedule")
    for i, event in enumerate(schedule):
        words = event.split()
        if len(words) < 2 or ";" in event:
            raise _fail(source, f"disturbances.schedule[{i}]",
                        f"must be one event '<t_s> <kind> <args>', got {event!r}")
        _number(_float_or_text(words[0]), source, f"disturbances.schedule[{i}] time",
                min_value=0.0)

    lat = _mapping(data.get("latency"), source, "latency", set(LATENCY_SENSORS))
    latency = {k: _number(v, source, f"latency.{k}", min_value=0.0) for k, v in lat.items()}
    for k, v in latency.items():
        if v > 5.0:
            raise _fail(source, f"latency.{k}", f"must be <= 5 s (the simulator's limit), "
                        f"got {v:g}")

    li = _mapping(data.get("lighting"), source, "lighting", {"dim_at_s", "lights_off"})
    dim_at = li.get("dim_at_s")
    dim_at_s = None if dim_at is None else _number(dim_at, source, "lighting.dim_at_s",
                                                    min_value=0.0)
    off = li.get("lights_off", ())
    lights_off = ("all",) if off == "all" else _names(off, source, "lighting.lights_off")

    duration_s = _number(data.get("duration_s", 300.0), source, "duration_s", min_value=1.0)
    goal_timeout_s = _number(data.get("goal_timeout_s", duration_s), source, "goal_timeout_s",
                             min_value=1.0)
    return Scenario(
        name=str(data.get("name") or default_name), home=data["home"], seed=seed,
        duration_s=duration_s, goal_timeout_s=goal_timeout_s,
        start=_pose(data["start"], source, "start"), goals=tuple(goals), people=people,
        crosses=_names(d.get("crosses"), source, "disturbances.crosses"), schedule=schedule,
        latency_s=latency, lighting=Lighting(dim_at_s, lights_off),
        description=str(data.get("description", "")).strip(), source=source)


def _float_or_text(word: str) -> Any:
    try:
        return float(word)
    except ValueError:
        return word


def check_against_home(scenario: Scenario) -> Scenario:
    """Checks the names the scenario uses against its home, and every pose against the
    home's occupancy map (inside it, on free floor, with room for the robot's disc). Returns
    the scenario with ``lights_off: all`` expanded to the home's lights that are on. Raises
    :class:`ScenarioError`."""
    from hearth_description.robot_model import load_robot_params
    from hearth_planning.map_io import MapError, load_map
    from hearth_sim.home.loader import HomeError, maps_dir, resolve_home

    src = scenario.source
    try:
        home = resolve_home(scenario.home)
    except (HomeError, OSError) as exc:
        raise _fail(src, "home", f"{scenario.home!r}: {exc}") from None
    bumps_and_rugs = {t.name for t in home.thresholds} | {r.name for r in home.rugs}
    for name in scenario.crosses:
        if name not in bumps_and_rugs:
            raise _fail(src, "disturbances.crosses", f"home '{home.name}' has no threshold or "
                        f"rug '{name}' (it has: {', '.join(sorted(bumps_and_rugs))})")
    lights = {light.name for light in home.lights}
    if scenario.lighting.lights_off == ("all",):
        on = tuple(light.name for light in home.lights if light.on)
        scenario = replace(scenario, lighting=Lighting(scenario.lighting.dim_at_s, on))
    for name in scenario.lighting.lights_off:
        if name not in lights:
            raise _fail(src, "lighting.lights_off", f"home '{home.name}' has no light "
                        f"'{name}' (it has: {', '.join(sorted(lights))})")
    rooms = {room.name for room in home.rooms}
    if scenario.people.model == "replay" and scenario.people.replay_room and (
            scenario.people.replay_room not in rooms):
        raise _fail(src, "people.replay_room", f"home '{home.name}' has no room "
                    f"'{scenario.people.replay_room}' (it has: {', '.join(sorted(rooms))})")

    map_yaml = maps_dir() / scenario.home / "map.yaml"
    try:
        grid = load_map(map_yaml)
    except MapError as exc:
        raise _fail(src, "home", f"its map: {exc}") from None
    radius_m = load_robot_params().base.radius_m
    poses = [("start", scenario.start[:2])]
    poses += [(f"goals[{i}] ({g.name})", (g.x_m, g.y_m)) for i, g in enumerate(scenario.goals)]
    for key, xy in poses:
        problem = _pose_problem(grid, xy, radius_m)
        if problem:
            raise _fail(src, key, f"({xy[0]:.2f}, {xy[1]:.2f}) m {problem} in {map_yaml}")
    return scenario


def _pose_problem(grid, xy: tuple[float, float], radius_m: float) -> str:
    """Why the robot cannot stand at ``xy`` on the map (empty: it can)."""
    res = grid.resolution_m
    h, w = grid.data.shape
    col = (xy[0] - grid.origin_x_m) / res
    row = (xy[1] - grid.origin_y_m) / res
    if not (0.0 <= col < w and 0.0 <= row < h):
        return "is outside the map"
    r = math.ceil(radius_m / res)
    rows, cols = np.mgrid[-r:r + 1, -r:r + 1]
    inside = (rows * res) ** 2 + (cols * res) ** 2 <= radius_m ** 2
    rr, cc = int(row) + rows[inside], int(col) + cols[inside]
    if rr.min() < 0 or cc.min() < 0 or rr.max() >= h or cc.max() >= w:
        return "is too close to the map's edge for the robot"
    cells = grid.data[rr, cc]
    if grid.data[int(row), int(col)] != 0:
        return "is not on free floor"
    if np.any(cells != 0):
        return f"leaves no room for the robot (radius {radius_m:g} m): an obstacle is closer"
    return ""


def write_sim_params(scenario: Scenario, base_params: Path, out_path: Path) -> Path:
    """hearth_sim's params file ``base_params`` with the scenario's parameters merged in,
    written atomically to ``out_path`` (for the launch argument ``sim_params:=``)."""
    doc = yaml.safe_load(Path(base_params).read_text()) or {}
    params = doc.setdefault("sim", {}).setdefault("ros__parameters", {})
    params.update(scenario.sim_parameters())
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(f"# hearth_sim parameters for scenario '{scenario.name}' "
                   f"({scenario.source}), written by hearth_eval\n"
                   + yaml.safe_dump(doc, sort_keys=False))
    os.replace(tmp, out_path)
    return out_path
