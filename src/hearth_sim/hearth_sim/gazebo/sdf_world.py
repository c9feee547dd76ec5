"""The Gazebo Harmonic world of a home (ROS-free): SDF generated from the same home description
as the MuJoCo world.

``home_to_sdf(home)`` returns the text of one SDF ``<world>`` (SDF 1.9, for gz-sim 8):

- physics with a 1 ms step, gravity, the scene, and the world systems the robot needs:
  physics, user commands (``ros_gz_sim create`` spawns through it), the scene broadcaster,
  sensors (ogre2 render engine, for the cameras and the ToF) and the IMU;
- the sun (a directional light) and each ceiling light as a point light (a light that is off
  is there with no diffuse light, so that it can be switched on by name);
- a ground plane, a ceiling over the whole home on top of the tallest wall (so that the sun
  comes in through the windows only; leave it out to look in from above), and one static
  model per wall piece (walls split around door and window openings by
  ``hearth_sim.home.geometry.wall_pieces``), per closed door panel, per piece of furniture
  (box or cylinder), per rug (a thin box whose ``<surface>`` carries the rug's friction) and
  per threshold bump.

Surfaces get plain colours, one per texture name (the MuJoCo world's procedural images are
not exported). Models are named ``<kind>_<element name>`` (see ``model_name``); the world
frame is the home's: x east, y north, z up, the floor at z = 0. The robot is not part of the
world: ``launch/gazebo.launch.xml`` spawns it from its URDF.

Command line (writes the file atomically; also accepts a home's name, see
``hearth_sim.home.loader.resolve_home``)::

    python -m hearth_sim.gazebo.sdf_world maps/apartment/home.yaml -o build/gazebo/apartment.sdf
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from hearth_common.atomic_file import atomic_write
from hearth_description.robot_model import STANDARD_GRAVITY_MPS2
from hearth_sim.home import geometry
from hearth_sim.home.model import Furniture, Home, Light, Rug, Threshold

SDF_VERSION = "1.9"  # all the world needs; sdformat 14 (Harmonic) reads it as it is
PHYSICS_STEP_S = 0.001
REAL_TIME_FACTOR = 1.0
RENDER_ENGINE = "ogre2"

# World systems: (plugin library, system class).
WORLD_SYSTEMS = (
    ("gz-sim-physics-system", "gz::sim::systems::Physics"),
    ("gz-sim-user-commands-system", "gz::sim::systems::UserCommands"),
    ("gz-sim-scene-broadcaster-system", "gz::sim::systems::SceneBroadcaster"),
    ("gz-sim-sensors-system", "gz::sim::systems::Sensors"),
    ("gz-sim-imu-system", "gz::sim::systems::Imu"),
)

# Lighting (renderer units: colours 0..1).
AMBIENT_RGB = (0.35, 0.35, 0.35)
BACKGROUND_RGB = (0.65, 0.72, 0.8)
SUN_RGB = (0.9, 0.88, 0.8)
SUN_DIRECTION = (-0.4, 0.25, -0.88)  # from the south-east, high in the sky
SUN_HEIGHT_M = 10.0
LAMP_RGB = (1.0, 0.95, 0.85)  # a warm white, scaled by each light's intensity
LAMP_RANGE_M = 8.0
LAMP_ATTENUATION = (0.5, 0.1, 0.05)  # constant, linear, quadratic
SPECULAR = 0.1  # specular share of the light and of every material

FLOOR_FRICTION = 1.0
FLOOR_MARGIN_M = 2.0  # the visible floor reaches this far past the walls
CEILING_THICKNESS_M = 0.1
CEILING_TEXTURE = "ceiling"

# Plain colours standing in for hearth_sim.world.textures' images (by base name, the part
# before ':'); other names get a colour of their own from a CRC of the name.
TEXTURE_RGB = {
    "plaster": (0.9, 0.88, 0.84),
    "wallpaper": (0.82, 0.78, 0.68),
    "brick": (0.62, 0.3, 0.22),
    "concrete": (0.62, 0.62, 0.6),
    "ceiling": (0.95, 0.95, 0.95),
    "floorboards": (0.66, 0.5, 0.33),
    "tiles": (0.84, 0.86, 0.86),
    "carpet": (0.45, 0.42, 0.4),
    "wood": (0.55, 0.37, 0.2),
    "painted_wood": (0.88, 0.86, 0.8),
    "fabric": (0.35, 0.42, 0.55),
    "leather": (0.4, 0.25, 0.15),
    "metal": (0.7, 0.7, 0.72),
    "books": (0.5, 0.3, 0.3),
    "door": (0.6, 0.45, 0.3),
    "rug": (0.6, 0.25, 0.2),
}
THRESHOLD_TEXTURE = "wood"

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


# ---------------------------------------------------------------------------- helpers


def _num(value: float) -> str:
    """A finite number as SDF text ('0.25', '-1.5', '1e-06'); NaN or Inf is an error."""
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"not a finite number: {value!r}")
    text = f"{v:.9g}"
    return "0" if text in ("0", "-0") else text


def _nums(values: Iterable[float]) -> str:
    return " ".join(_num(v) for v in values)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def model_name(kind: str, name: str) -> str:
    """The SDF model name of a home element: ``<kind>_<name>``, characters other than letters,
    digits and ``_`` replaced by ``_`` (``wall``, ``"hall_s#living.lintel"`` ->
    ``wall_hall_s_living_lintel``)."""
    return f"{kind}_{_NAME_CHARS.sub('_', name)}"


def texture_rgb(texture: str) -> tuple[float, float, float]:
    """The plain colour standing in for a texture name (``"plaster:3"`` -> plaster's)."""
    base = texture.split(":", 1)[0]
    if base in TEXTURE_RGB:
        return TEXTURE_RGB[base]
    crc = zlib.crc32(base.encode())
    return tuple(0.3 + 0.6 * ((crc >> shift) & 0xFF) / 255.0 for shift in (0, 8, 16))


def _pose(xyz: Sequence[float], yaw_rad: float = 0.0) -> str:
    return _nums((*xyz, 0.0, 0.0, yaw_rad))


def _material(parent: ET.Element, texture: str) -> None:
    rgb = texture_rgb(texture)
    material = _sub(parent, "material")
    _sub(material, "ambient", _nums((*rgb, 1.0)))
    _sub(material, "diffuse", _nums((*rgb, 1.0)))
    _sub(material, "specular", _nums((SPECULAR, SPECULAR, SPECULAR, 1.0)))


def _friction(collision: ET.Element, mu: float) -> None:
    ode = _sub(_sub(_sub(collision, "surface"), "friction"), "ode")
    _sub(ode, "mu", _num(mu))
    _sub(ode, "mu2", _num(mu))


class _World:
    """Builds the <world> element; keeps model names unique."""

    def __init__(self, name: str):
        self.sdf = ET.Element("sdf", version=SDF_VERSION)
        self.world = _sub(self.sdf, "world", name=name)
        self.names: set[str] = set()

    def unique(self, name: str) -> str:
        candidate, k = name, 2
        while candidate in self.names:
            candidate, k = f"{name}_{k}", k + 1
        self.names.add(candidate)
        return candidate

    def static_model(self, name: str, xyz: Sequence[float], yaw_rad: float, shape: str,
                     size: Sequence[float], texture: str,
                     friction: float | None = None) -> ET.Element:
        """A static model of one box (``size`` x, y, z) or cylinder (``size`` = diameter,
        height) whose centre is at ``xyz``, turned by ``yaw_rad``."""
        model = _sub(self.world, "model", name=self.unique(name))
        _sub(model, "static", "true")
        _sub(model, "pose", _pose(xyz, yaw_rad))
        link = _sub(model, "link", name="link")
        for part in ("collision", "visual"):
            el = _sub(link, part, name=part)
            geom = _sub(el, "geometry")
            if shape == "box":
                _sub(_sub(geom, "box"), "size", _nums(size))
            elif shape == "cylinder":
                cylinder = _sub(geom, "cylinder")
                _sub(cylinder, "radius", _num(size[0] / 2.0))
                _sub(cylinder, "length", _num(size[1]))
            else:
                raise ValueError(f"model {name!r}: unknown shape {shape!r}")
            if part == "collision" and friction is not None:
                _friction(el, friction)
            if part == "visual":
                _material(el, texture)
        return model


# ---------------------------------------------------------------------------- the world


def _setup(w: _World) -> None:
    world = w.world
    physics = _sub(world, "physics", name="1ms", type="dart")
    _sub(physics, "max_step_size", _num(PHYSICS_STEP_S))
    _sub(physics, "real_time_factor", _num(REAL_TIME_FACTOR))
    _sub(world, "gravity", _nums((0.0, 0.0, -STANDARD_GRAVITY_MPS2)))
    for filename, name in WORLD_SYSTEMS:
        plugin = _sub(world, "plugin", filename=filename, name=name)
        if name.endswith("::Sensors"):
            _sub(plugin, "render_engine", RENDER_ENGINE)
    scene = _sub(world, "scene")
    _sub(scene, "ambient", _nums((*AMBIENT_RGB, 1.0)))
    _sub(scene, "background", _nums((*BACKGROUND_RGB, 1.0)))
    _sub(scene, "shadows", "true")
    _sub(scene, "grid", "false")


def _sun(w: _World) -> None:
    sun = _sub(w.world, "light", type="directional", name="sun")
    _sub(sun, "cast_shadows", "true")
    _sub(sun, "pose", _pose((0.0, 0.0, SUN_HEIGHT_M)))
    _sub(sun, "diffuse", _nums((*SUN_RGB, 1.0)))
    _sub(sun, "specular", _nums((SPECULAR, SPECULAR, SPECULAR, 1.0)))
    _sub(sun, "direction", _nums(SUN_DIRECTION))


def _lamp(w: _World, light: Light) -> None:
    level = light.intensity if light.on else 0.0
    el = _sub(w.world, "light", type="point", name=w.unique(model_name("light", light.name)))
    _sub(el, "cast_shadows", "false")
    _sub(el, "pose", _pose(light.position_m))
    _sub(el, "diffuse", _nums((*(level * c for c in LAMP_RGB), 1.0)))
    _sub(el, "specular", _nums((*(level * SPECULAR for _ in range(3)), 1.0)))
    attenuation = _sub(el, "attenuation")
    _sub(attenuation, "range", _num(LAMP_RANGE_M))
    for tag, value in zip(("constant", "linear", "quadratic"), LAMP_ATTENUATION, strict=True):
        _sub(attenuation, tag, _num(value))


def _ground(w: _World, home: Home) -> None:
    xmin, ymin, xmax, ymax = geometry.bounds(home)
    size = (xmax - xmin + 2 * FLOOR_MARGIN_M, ymax - ymin + 2 * FLOOR_MARGIN_M)
    model = _sub(w.world, "model", name=w.unique("ground_plane"))
    _sub(model, "static", "true")
    _sub(model, "pose", _pose(((xmin + xmax) / 2.0, (ymin + ymax) / 2.0, 0.0)))
    link = _sub(model, "link", name="link")
    for part in ("collision", "visual"):
        el = _sub(link, part, name=part)
        plane = _sub(_sub(el, "geometry"), "plane")
        _sub(plane, "normal", "0 0 1")
        _sub(plane, "size", _nums(size))
        if part == "collision":
            _friction(el, FLOOR_FRICTION)
        else:
            _material(el, home.floor_texture)


def _ceiling(w: _World, home: Home) -> None:
    xmin, ymin, xmax, ymax = geometry.bounds(home)
    bottom = max((b.top_m for b in geometry.wall_pieces(home)), default=0.0)
    xyz = ((xmin + xmax) / 2.0, (ymin + ymax) / 2.0, bottom + CEILING_THICKNESS_M / 2.0)
    w.static_model("ceiling", xyz, 0.0, "box", (xmax - xmin, ymax - ymin, CEILING_THICKNESS_M),
                   CEILING_TEXTURE)


def _box(w: _World, kind: str, box: geometry.Box) -> None:
    w.static_model(model_name(kind, box.name), box.center_m, box.yaw_rad, "box", box.size_m,
                   box.texture)


def _furniture(w: _World, f: Furniture) -> None:
    height = f.size_m[2]
    xyz = (f.center_m[0], f.center_m[1], f.elevation_m + height / 2.0)
    size = f.size_m if f.shape == "box" else (f.size_m[0], height)
    w.static_model(model_name("furniture", f.name), xyz, f.yaw_rad, f.shape, size, f.texture)


def _rug(w: _World, r: Rug) -> None:
    xyz = (r.center_m[0], r.center_m[1], r.thickness_m / 2.0)
    w.static_model(model_name("rug", r.name), xyz, r.yaw_rad, "box",
                   (r.size_m[0], r.size_m[1], r.thickness_m), r.texture, friction=r.friction)


def _threshold(w: _World, t: Threshold) -> None:
    xyz = (t.center_m[0], t.center_m[1], t.height_m / 2.0)
    w.static_model(model_name("threshold", t.name), xyz, t.yaw_rad, "box",
                   (t.length_m, t.width_m, t.height_m), THRESHOLD_TEXTURE)


def home_to_sdf(home: Home, ceiling: bool = True) -> str:
    """The Gazebo Harmonic SDF world of ``home`` (see the module's description), with its
    ceiling unless ``ceiling`` is false."""
    w = _World(_NAME_CHARS.sub("_", home.name) or "home")
    _setup(w)
    _sun(w)
    for light in home.lights:
        _lamp(w, light)
    _ground(w, home)
    if ceiling:
        _ceiling(w, home)
    for piece in geometry.wall_pieces(home):
        _box(w, "wall", piece)
    for panel in geometry.door_panels(home):
        _box(w, "door", panel)
    for f in home.furniture:
        _furniture(w, f)
    for r in home.rugs:
        _rug(w, r)
    for t in home.thresholds:
        _threshold(w, t)
    ET.indent(w.sdf, space="  ")
    body = ET.tostring(w.sdf, encoding="unicode")
    header = (f'<?xml version="1.0"?>\n<!-- Gazebo Harmonic world of the home "{home.name}", '
              "generated by hearth_sim.gazebo.sdf_world from its home description: "
              "do not edit. -->\n")
    return header + body + "\n"


# ---------------------------------------------------------------------------- command line


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    that a reader never sees half a file."""
    with atomic_write(path) as f:
        f.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hearth_sim.gazebo.sdf_world",
        description="Write the Gazebo Harmonic SDF world of a home (maps/<home>/home.yaml).",
    )
    parser.add_argument("home", help="a home file (maps/<home>/home.yaml) or a home's name")
    parser.add_argument("-o", "--output", type=Path,
                        help="the .sdf file to write (default: print to stdout)")
    parser.add_argument("--no-ceiling", action="store_true",
                        help="leave the ceiling out (to look into the rooms from above)")
    args = parser.parse_args(argv)

    from hearth_sim.home.loader import resolve_home  # reads and validates the home file

    try:
        home = resolve_home(args.home)
        text = home_to_sdf(home, ceiling=not args.no_ceiling)
    except (OSError, ValueError) as exc:
        print(f"sdf_world: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
        return 0
    write_atomically(args.output, text)
    start = home.robot_start
    print(f"wrote {args.output} (home {home.name!r}); spawn the robot at its start with\n"
          f"  ros2 launch launch/gazebo.launch.xml home:={home.name} "
          f"world:={args.output.resolve()} "
          f"x:={_num(start.x_m)} y:={_num(start.y_m)} yaw:={_num(start.yaw_rad)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
