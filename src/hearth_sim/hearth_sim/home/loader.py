"""Reads and checks home files (``maps/<home>/home.yaml``) and change files
(``maps/<home>/changes/<name>.yaml``).

A home file is YAML (read with ``yaml.safe_load``; anchors and ``<<:`` merge keys work) with
the top-level keys ``name``, ``floor_texture``, ``map_resolution_m``, ``robot_start``, one
list per kind of element (``walls``, ``doors``, ``windows``, ``furniture``, ``rugs``,
``thresholds``, ``lights``, ``rooms``) and ``templates``, a mapping of shared settings that
entries merge in with ``<<: *anchor`` and that is not read otherwise. Each entry is a mapping
with the fields of its dataclass in ``model.py``; points are ``[x, y]`` lists; every angle
may be given as ``yaw_deg`` instead of ``yaw_rad``. Unknown keys are errors (a typo must not
silently fall back to a default). Quote the key ``"on"`` of a light (YAML 1.1 reads a bare
``on`` as true; the loader takes that as meant, too).

Every problem raises ``HomeError`` (a ``ValueError``) whose message names the file, the
element and the field, e.g. ``maps/apartment/home.yaml: walls[3] 'hall_w': zero length``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hearth_sim.home import geometry as geo
from hearth_sim.home.model import (
    Door,
    Furniture,
    FurnitureMove,
    Home,
    HomeChanges,
    Light,
    Pose2,
    Room,
    Rug,
    Threshold,
    Wall,
    Window,
)

ROBOT_RADIUS_M = 0.175  # hearth_description's base.radius_m: robot_start keeps this clear
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")  # safe in XML, SDF and topic names
FURNITURE_SHAPES = ("box", "cylinder")
SMALL_HOUSE_MAP = Path("shared/data/home-maps-aws-small-house/map.yaml")  # under <ws>/..

HOME_LISTS: dict[str, type] = {
    "walls": Wall,
    "doors": Door,
    "windows": Window,
    "furniture": Furniture,
    "rugs": Rug,
    "thresholds": Threshold,
    "lights": Light,
    "rooms": Room,
}
HOME_SCALARS = ("name", "floor_texture", "map_resolution_m", "robot_start")
TEMPLATES_KEY = "templates"  # a mapping of YAML anchors to merge from; otherwise not read


class HomeError(ValueError):
    """A home or change file that is corrupt or inconsistent; the message names the file, the
    element and the field."""


# ---------------------------------------------------------------------------- field parsing


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HomeError(f"{where}: expected a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise HomeError(f"{where}: not a finite number ({value!r})")
    return v


def _vector(n: int) -> Callable[[Any, str], tuple[float, ...]]:
    def parse(value: Any, where: str) -> tuple[float, ...]:
        if not isinstance(value, list | tuple) or len(value) != n:
            raise HomeError(f"{where}: expected a list of {n} numbers, got {value!r}")
        return tuple(_finite(v, f"{where}[{i}]") for i, v in enumerate(value))
    return parse


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise HomeError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise HomeError(f"{where}: expected true or false, got {value!r}")
    return value


_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "str": _string,
    "float": _finite,
    "bool": _boolean,
    "Point2": _vector(2),
    "tuple[float, float]": _vector(2),
    "tuple[float, float, float]": _vector(3),
}


def _label(kind: str, index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return f"{kind}[{index}] {name!r}" if isinstance(name, str) else f"{kind}[{index}]"


def _build(cls: type, entry: Any, where: str) -> Any:
    """One dataclass from its YAML mapping: every key known, required ones present, each value
    of its field's type; ``yaw_deg`` stands for ``yaw_rad``."""
    if not isinstance(entry, Mapping):
        raise HomeError(f"{where}: expected a mapping, got {entry!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    entry = dict(entry)
    if True in entry and "on" in fields and "on" not in entry:
        # YAML 1.1 reads an unquoted key `on` as the boolean true: take it as meant
        entry["on"] = entry.pop(True)
    if "yaw_deg" in entry and "yaw_rad" in fields:
        if "yaw_rad" in entry:
            raise HomeError(f"{where}: give yaw_rad or yaw_deg, not both")
        entry["yaw_rad"] = math.radians(_finite(entry.pop("yaw_deg"), f"{where}: yaw_deg"))
    unknown = sorted(str(k) for k in entry if k not in fields)
    if unknown:
        raise HomeError(f"{where}: unknown key {unknown[0]!r} "
                        f"(known: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        if name not in entry:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise HomeError(f"{where}: missing required field {name!r}")
            continue
        parse = _PARSERS.get(str(f.type))
        if parse is None:  # pragma: no cover - a model field of a type the loader lacks
            raise TypeError(f"no parser for {cls.__name__}.{name}: {f.type}")
        kwargs[name] = parse(entry[name], f"{where}: {name}")
    return cls(**kwargs)


def _read_yaml(path: Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise HomeError(f"{path}: cannot read ({e.strerror or e})") from e
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise HomeError(f"{path}: not valid YAML ({e})") from e


# ---------------------------------------------------------------------------- homes


def home_from_dict(data: Any, source: str = "<home>") -> Home:
    """A checked ``Home`` from the parsed YAML of a home file; ``source`` names it in errors."""
    if not isinstance(data, Mapping):
        raise HomeError(f"{source}: expected a mapping at the top level, got {data!r}")
    known = (*HOME_SCALARS, *HOME_LISTS, TEMPLATES_KEY)
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise HomeError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    if not isinstance(data.get(TEMPLATES_KEY, {}), Mapping):
        raise HomeError(f"{source}: {TEMPLATES_KEY}: expected a mapping of YAML anchors")
    if "name" not in data:
        raise HomeError(f"{source}: missing required field 'name'")
    if "walls" not in data:
        raise HomeError(f"{source}: missing required field 'walls'")
    kwargs: dict[str, Any] = {"name": _string(data["name"], f"{source}: name")}
    for key, cls in HOME_LISTS.items():
        entries = data.get(key) or []
        if not isinstance(entries, list):
            raise HomeError(f"{source}: {key}: expected a list, got {entries!r}")
        kwargs[key] = tuple(_build(cls, e, f"{source}: {_label(key, i, e)}")
                            for i, e in enumerate(entries))
    if "floor_texture" in data:
        kwargs["floor_texture"] = _string(data["floor_texture"], f"{source}: floor_texture")
    if "map_resolution_m" in data:
        kwargs["map_resolution_m"] = _finite(data["map_resolution_m"],
                                             f"{source}: map_resolution_m")
    if "robot_start" in data:
        kwargs["robot_start"] = _build(Pose2, data["robot_start"], f"{source}: robot_start")
    home = Home(**kwargs)
    validate_home(home, source)
    return home


def load_home(path: str | os.PathLike) -> Home:
    """Reads and checks ``maps/<home>/home.yaml``; raises ``HomeError`` naming the field."""
    return home_from_dict(_read_yaml(Path(path)), str(path))


def _positive(value: float, where: str) -> None:
    if not value > 0.0:
        raise HomeError(f"{where}: must be > 0, got {value:g}")


def _check_names(home: Home, source: str) -> None:
    seen: dict[str, str] = {}
    for key in HOME_LISTS:
        for i, item in enumerate(getattr(home, key)):
            where = f"{source}: {key}[{i}] {item.name!r}"
            if not NAME_PATTERN.match(item.name):
                raise HomeError(f"{where}: name: use letters, digits, '_' and '-', "
                                "starting with a letter")
            # rooms have a namespace of their own (a door may be named after its room)
            scope = "rooms" if key == "rooms" else "elements"
            tag = f"{scope}:{item.name}"
            if tag in seen:
                raise HomeError(f"{where}: duplicate name (already used by {seen[tag]})")
            seen[tag] = f"{key}[{i}]"


def _opening_polygon(wall: Wall, item: Door | Window, shrink_m: float = 1e-3) -> np.ndarray:
    s, _ = geo.wall_coordinates(wall, item.center_m)
    return geo.rectangle(geo.wall_point(wall, s),
                         (max(item.width_m - 2 * shrink_m, 1e-4),
                          max(wall.thickness_m - 2 * shrink_m, 1e-4)),
                         geo.wall_yaw(wall))


def _check_openings(home: Home, source: str) -> None:
    placed: dict[str, list[tuple[str, float, float, float, float]]] = {}
    items = [("doors", i, d) for i, d in enumerate(home.doors)]
    items += [("windows", i, w) for i, w in enumerate(home.windows)]
    for key, i, item in items:
        where = f"{source}: {key}[{i}] {item.name!r}"
        _positive(item.width_m, f"{where}: width_m")
        if isinstance(item, Door):
            _positive(item.height_m, f"{where}: height_m")
            z0, z1 = 0.0, item.height_m
        else:
            if not item.sill_m > 0.0:
                raise HomeError(f"{where}: sill_m: must be > 0 (a window down to the floor "
                                f"is a door), got {item.sill_m:g}")
            if not item.top_m > item.sill_m:
                raise HomeError(f"{where}: top_m: must be above sill_m ({item.sill_m:g}), "
                                f"got {item.top_m:g}")
            z0, z1 = item.sill_m, item.top_m
        wall = geo.wall_of(home, item.center_m)
        c = item.center_m
        if wall is None:
            raise HomeError(f"{where}: centre ({c[0]:.2f}, {c[1]:.2f}) is not in any wall")
        length = geo.wall_length(wall)
        s, _ = geo.wall_coordinates(wall, item.center_m)
        if item.width_m > length + 1e-9 or s - item.width_m / 2 < -1e-9 or (
                s + item.width_m / 2 > length + 1e-9):
            raise HomeError(f"{where}: {item.width_m:g} m wide opening does not fit in wall "
                            f"{wall.name!r} ({length:g} m)"
                            + ("" if item.width_m > length + 1e-9 else
                               f" at {s:.2f} m along it"))
        if z1 > wall.height_m + 1e-9:
            field = "height_m" if isinstance(item, Door) else "top_m"
            raise HomeError(f"{where}: {field}: {z1:g} m is above wall {wall.name!r} "
                            f"({wall.height_m:g} m)")
        for other_name, o_s0, o_s1, o_z0, o_z1 in placed.get(wall.name, []):
            if (s - item.width_m / 2 < o_s1 - 1e-9 and o_s0 + 1e-9 < s + item.width_m / 2
                    and z0 < o_z1 - 1e-9 and o_z0 + 1e-9 < z1):
                raise HomeError(f"{where}: overlaps opening {other_name!r} in wall "
                                f"{wall.name!r}")
        placed.setdefault(wall.name, []).append(
            (item.name, s - item.width_m / 2, s + item.width_m / 2, z0, z1))
        hole = _opening_polygon(wall, item)
        for other in home.walls:
            if other is wall or geo.wall_length(other) < 1e-9:
                continue
            o_lo, o_hi = geo.wall_extent(home, other)
            o_mid = geo.wall_point(other, (o_lo + o_hi) / 2)
            body = geo.rectangle(o_mid, (o_hi - o_lo, other.thickness_m), geo.wall_yaw(other))
            if geo.convex_polygons_overlap(hole, body):
                raise HomeError(f"{where}: opening is blocked by wall {other.name!r}")


def _check_inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    return box[0] - 1e-9 <= point[0] <= box[2] + 1e-9 and box[1] - 1e-9 <= point[1] <= (
        box[3] + 1e-9)


def _texture_checker() -> Callable[[str], bool] | None:
    """``hearth_sim.world.textures.is_texture_name`` where it imports (it needs OpenCV)."""
    try:
        from hearth_sim.world.textures import is_texture_name
    except ImportError:  # pragma: no cover - no renderer here: names are checked when built
        return None
    return is_texture_name


def _check_textures(home: Home, source: str) -> None:
    known = _texture_checker()
    if known is None:
        return
    if not known(home.floor_texture):
        raise HomeError(f"{source}: floor_texture: unknown texture {home.floor_texture!r}")
    for key in ("walls", "doors", "furniture", "rugs"):
        for i, item in enumerate(getattr(home, key)):
            if not known(item.texture):
                raise HomeError(f"{source}: {key}[{i}] {item.name!r}: texture: unknown "
                                f"texture {item.texture!r} (see hearth_sim.world.textures)")


def validate_home(home: Home, source: str = "<home>") -> None:
    """Checks a home's consistency; raises ``HomeError`` naming ``source`` and the field."""
    if not NAME_PATTERN.match(home.name):
        raise HomeError(f"{source}: name: use letters, digits, '_' and '-', "
                        f"starting with a letter, got {home.name!r}")
    if not home.walls:
        raise HomeError(f"{source}: walls: a home needs at least one wall")
    if not 0.0 < home.map_resolution_m <= 0.5:
        raise HomeError(f"{source}: map_resolution_m: must be in (0, 0.5], "
                        f"got {home.map_resolution_m:g}")
    _check_names(home, source)
    _check_textures(home, source)
    for i, w in enumerate(home.walls):
        where = f"{source}: walls[{i}] {w.name!r}"
        if geo.wall_length(w) < 1e-6:
            raise HomeError(f"{where}: zero length")
        _positive(w.thickness_m, f"{where}: thickness_m")
        _positive(w.height_m, f"{where}: height_m")
    _check_openings(home, source)
    for i, f in enumerate(home.furniture):
        where = f"{source}: furniture[{i}] {f.name!r}"
        if f.shape not in FURNITURE_SHAPES:
            raise HomeError(f"{where}: shape: must be one of {', '.join(FURNITURE_SHAPES)}, "
                            f"got {f.shape!r}")
        for k, v in enumerate(f.size_m):
            _positive(v, f"{where}: size_m[{k}]")
        if f.shape == "cylinder" and abs(f.size_m[0] - f.size_m[1]) > 1e-9:
            raise HomeError(f"{where}: size_m: a cylinder's first two sizes are its diameter "
                            f"and must be equal, got {f.size_m[0]:g} and {f.size_m[1]:g}")
        if f.elevation_m < 0.0:
            raise HomeError(f"{where}: elevation_m: must be >= 0, got {f.elevation_m:g}")
    for i, r in enumerate(home.rugs):
        where = f"{source}: rugs[{i}] {r.name!r}"
        for k, v in enumerate(r.size_m):
            _positive(v, f"{where}: size_m[{k}]")
        _positive(r.thickness_m, f"{where}: thickness_m")
        _positive(r.friction, f"{where}: friction")
        if not 0.0 <= r.slip < 1.0:
            raise HomeError(f"{where}: slip: must be in [0, 1), got {r.slip:g}")
    for i, t in enumerate(home.thresholds):
        where = f"{source}: thresholds[{i}] {t.name!r}"
        _positive(t.length_m, f"{where}: length_m")
        _positive(t.width_m, f"{where}: width_m")
        _positive(t.height_m, f"{where}: height_m")
    bbox = geo.bounds(home)
    max_height = max(w.height_m for w in home.walls)
    for i, light in enumerate(home.lights):
        where = f"{source}: lights[{i}] {light.name!r}"
        x, y, z = light.position_m
        if not _check_inside((x, y), bbox) or not 0.0 < z <= max_height + 1e-9:
            raise HomeError(
                f"{where}: position_m ({x:.2f}, {y:.2f}, {z:.2f}) is outside the walls' "
                f"bounding box ({bbox[0]:.2f}..{bbox[2]:.2f}, {bbox[1]:.2f}..{bbox[3]:.2f}, "
                f"0..{max_height:.2f})")
        if not 0.0 <= light.intensity <= 1.0:
            raise HomeError(f"{where}: intensity: must be in [0, 1], got {light.intensity:g}")
    for i, room in enumerate(home.rooms):
        where = f"{source}: rooms[{i}] {room.name!r}"
        if not (room.min_m[0] < room.max_m[0] and room.min_m[1] < room.max_m[1]):
            raise HomeError(f"{where}: max_m must exceed min_m in x and y")
        if not (_check_inside(room.min_m, bbox) and _check_inside(room.max_m, bbox)):
            raise HomeError(f"{where}: lies outside the walls' bounding box")
    start = (home.robot_start.x_m, home.robot_start.y_m)
    if not _check_inside(start, bbox):
        raise HomeError(f"{source}: robot_start ({start[0]:.2f}, {start[1]:.2f}) is outside "
                        "the walls")
    for name, poly in geo.floor_footprints(home):
        if geo.point_in_polygon(start, poly) or geo.point_polygon_distance(
                start, poly) < ROBOT_RADIUS_M:
            raise HomeError(f"{source}: robot_start ({start[0]:.2f}, {start[1]:.2f}) is inside "
                            f"obstacle {name!r} (the robot needs {ROBOT_RADIUS_M:g} m clear)")


# ---------------------------------------------------------------------------- changes


def changes_from_dict(data: Any, source: str = "<changes>") -> HomeChanges:
    """A ``HomeChanges`` from the parsed YAML of a change file (checked against a home only by
    ``apply_changes``)."""
    if not isinstance(data, Mapping):
        raise HomeError(f"{source}: expected a mapping at the top level, got {data!r}")
    known = ("name", "moved", "added", "doors_closed", "doors_opened")
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise HomeError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(known)})")
    if "name" not in data:
        raise HomeError(f"{source}: missing required field 'name'")
    kwargs: dict[str, Any] = {"name": _string(data["name"], f"{source}: name")}
    for key, cls in (("moved", FurnitureMove), ("added", Furniture)):
        entries = data.get(key) or []
        if not isinstance(entries, list):
            raise HomeError(f"{source}: {key}: expected a list, got {entries!r}")
        kwargs[key] = tuple(_build(cls, e, f"{source}: {_label(key, i, e)}")
                            for i, e in enumerate(entries))
    for key in ("doors_closed", "doors_opened"):
        entries = data.get(key) or []
        if not isinstance(entries, list):
            raise HomeError(f"{source}: {key}: expected a list of door names, got {entries!r}")
        kwargs[key] = tuple(_string(e, f"{source}: {key}[{i}]") for i, e in enumerate(entries))
    return HomeChanges(**kwargs)


def load_changes(path: str | os.PathLike) -> HomeChanges:
    """Reads ``maps/<home>/changes/<name>.yaml``."""
    return changes_from_dict(_read_yaml(Path(path)), str(path))


def apply_changes(home: Home, changes: HomeChanges, source: str | None = None) -> Home:
    """The home after ``changes``: movable pieces moved, new pieces added, doors closed and
    opened. Moving a piece that is not movable or not there, adding a name already used,
    naming a door that does not exist, or a result that fails ``validate_home`` (a box on
    robot_start, say) raises ``HomeError``. Closing a closed door (or opening an open one)
    is allowed and changes nothing."""
    src = source or f"changes {changes.name!r}"
    by_name = {f.name: f for f in home.furniture}
    moves: dict[str, Furniture] = {}
    for i, move in enumerate(changes.moved):
        where = f"{src}: moved[{i}] {move.name!r}"
        piece = by_name.get(move.name)
        if piece is None:
            raise HomeError(f"{where}: no furniture of that name in home {home.name!r}")
        if not piece.movable:
            raise HomeError(f"{where}: is not movable")
        if move.name in moves:
            raise HomeError(f"{where}: moved twice")
        moves[move.name] = dataclasses.replace(piece, center_m=move.center_m,
                                               yaw_rad=move.yaw_rad)
    furniture = [moves.get(f.name, f) for f in home.furniture]
    used = {item.name for key in HOME_LISTS if key != "rooms" for item in getattr(home, key)}
    for i, piece in enumerate(changes.added):
        if piece.name in used:
            raise HomeError(f"{src}: added[{i}] {piece.name!r}: name already used in home "
                            f"{home.name!r}")
        used.add(piece.name)
    furniture += list(changes.added)
    door_names = {d.name for d in home.doors}
    closed = set()
    opened = set()
    for key, target in (("doors_closed", closed), ("doors_opened", opened)):
        for i, name in enumerate(getattr(changes, key)):
            if name not in door_names:
                raise HomeError(f"{src}: {key}[{i}] {name!r}: no door of that name in home "
                                f"{home.name!r}")
            target.add(name)
    both = sorted(closed & opened)
    if both:
        raise HomeError(f"{src}: doors_opened: door {both[0]!r} is both closed and opened")
    doors = tuple(dataclasses.replace(d, closed=True) if d.name in closed else
                  dataclasses.replace(d, closed=False) if d.name in opened else d
                  for d in home.doors)
    result = dataclasses.replace(home, furniture=tuple(furniture), doors=doors)
    validate_home(result, f"{src} applied to home {home.name!r}")
    return result


# ---------------------------------------------------------------------------- finding homes


def workspace_root() -> Path:
    """$HEARTH_WS (set by setup_hearth.bash), else the source tree's workspace."""
    ws = os.environ.get("HEARTH_WS")
    # src/hearth_sim/hearth_sim/home/loader.py -> <workspace>
    return Path(ws) if ws else Path(__file__).resolve().parents[4]


def maps_dir() -> Path:
    return workspace_root() / "maps"


def small_house_map_path() -> Path:
    """The AWS small-house map_server map in the project's shared data (may be absent)."""
    return workspace_root().parent / SMALL_HOUSE_MAP


def resolve_home(name_or_path: str | os.PathLike) -> Home:
    """A home by name (``apartment``, ``house``: ``maps/<name>/home.yaml``; ``small_house``:
    extruded at run time from the shared AWS map), or by the path of a home file or of a
    map_server ``.yaml`` map."""
    from hearth_sim.home.occupancy import home_from_occupancy_map

    text = str(name_or_path)
    if text == "small_house":
        path = small_house_map_path()
        if not path.is_file():
            raise HomeError(f"{path}: the small-house map is not there (shared data absent)")
        return home_from_occupancy_map(path, "small_house")
    path = Path(text)
    if path.suffix not in (".yaml", ".yml"):
        path = maps_dir() / text / "home.yaml"
    data = _read_yaml(path)
    if isinstance(data, Mapping) and "image" in data and "walls" not in data:
        return home_from_occupancy_map(path, path.parent.name)
    return home_from_dict(data, str(path))
