"""A home (``hearth_sim.home.model.Home``) as MJCF fragments for MuJoCo (ROS-free).

``home_mjcf(home)`` gives the ``<asset>`` and ``<worldbody>`` contents; ``assemble.assemble``
wraps them into a complete model with the robot and people.

What is built (world frame: x east, y north, z up, floor z = 0)
    - ``floor``: a plane with the home's floor texture, repeating at its real size.
    - ``ceiling``: a box over the walls' bounds at the tallest wall's height; it casts the
      sun's shadow, so that the sun comes in through the windows only. It collides with
      nothing.
    - ``sky/<k>``: four emissive panels ``SKY_MARGIN_M`` outside the walls, what the
      windows show (``lighting.set_sky`` dims them at night); no collisions, no shadows.
    - ``wall/<piece>``: one box geom per ``geometry.wall_pieces`` box (walls split around
      doors and windows; a window is an opening, the sun shines through it).
    - ``door/<door>``: a closed door's leaf, a **mocap body** (geom ``door/<door>/leaf``), so
      that the simulator can swing it open or move it at run time (``data.mocap_pos/quat``).
    - ``furniture/<piece>``: a body per piece: a box or a cylinder from ``elevation_m`` up;
      a piece whose name contains "table" or "desk" (and stands on the floor) is a top and
      legs (a round table: top and pedestal). Movable pieces are **mocap bodies** so that
      they can be displaced at run time; fixed ones are static bodies. Geoms are named
      ``furniture/<piece>`` or ``furniture/<piece>/<part>``.
    - ``rug/<rug>``: a thin box with the rug's sliding friction (the robot drives onto it).
    - ``threshold/<threshold>``: a floor bump: a wide cylinder lying across the way, its
      chord at the floor ``length_m``, ``height_m`` proud (``threshold_bump``), so that
      wheels climb it.
    - ``light/<light>``: a ceiling light: a wide downward spotlight (the classic renderer
      has no point lights), no shadows, attenuated with distance and limited in range so it
      lights its own room more than the next.
    - ``sun``: a directional light that casts shadows (walls, ceiling and furniture cast
      them), and ``ambient``: a directional light with only an ambient term (the level of
      indirect light). ``lighting.py`` drives all of these at run time.

Collision groups (MuJoCo: two geoms collide when ``contype1 & conaffinity2`` or
``contype2 & conaffinity1`` is non-zero)
    ===========  =======  ===========  ============================================
    who          contype  conaffinity  collides with
    ===========  =======  ===========  ============================================
    world        1        0            the robot (never with itself: no wasted pairs)
    robot        2        5 (1|4)      the world and people; not with itself
    people       4        0            the robot only (they are mocap: walls are the
                                       people simulator's business)
    ===========  =======  ===========  ============================================
    World geoms are the floor, walls, door leaves, furniture, rugs and thresholds (the
    ceiling collides with nothing). ``robot_mjcf.py`` should use ``ROBOT_CONTYPE`` and
    ``ROBOT_CONAFFINITY``. Visual groups: world 0, people 1 (cameras render groups 0-2).

Materials have a little specular (the floor more), so that surfaces are not flat-shaded;
texture sizes are real (``textures.tile_size_m``), through per-element ``texrepeat``.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from hearth_sim.home import geometry
from hearth_sim.home.model import Furniture, Home, Light, Rug, Threshold
from hearth_sim.world import textures as tx

WORLD_CONTYPE = 1
WORLD_CONAFFINITY = 0
ROBOT_CONTYPE = 2
ROBOT_CONAFFINITY = 1 | 4
PERSON_CONTYPE = 4
PERSON_CONAFFINITY = 0
GROUP_WORLD = 0
GROUP_PEOPLE = 1

SUN_LIGHT = "sun"
AMBIENT_LIGHT = "ambient"
LIGHT_PREFIX = "light/"

TABLE_TOP_M = 0.04  # thickness of a table's top
TABLE_LEG_M = 0.05  # side of a table's square leg
SKY_MARGIN_M = 8.0  # the sky's panels stand this far outside the walls
SKY_HEIGHT_M = 20.0
SKY_MATERIAL = "mat/sky"
SKY_RGBA = (0.55, 0.68, 0.85, 1.0)
SKY_EMISSION = 0.7  # the sky's own light in daylight (lighting.set_sky changes it)
FLOOR_MARGIN_M = SKY_MARGIN_M + 1.0  # the floor plane reaches this far past the walls
CEILING_THICKNESS_M = 0.1
CEILING_LIGHT_CUTOFF_DEG = 75.0
CEILING_LIGHT_RANGE_M = 7.0
CEILING_LIGHT_DIFFUSE = 0.75  # diffuse light of a ceiling light at intensity 1
CEILING_LIGHT_ATTENUATION = (0.6, 0.0, 0.12)  # constant, linear, quadratic (Phong)


def _f(x: float) -> str:
    r = f"{float(x):.6g}"
    return "0" if r == "-0" else r


def _v(*xs: float) -> str:
    return " ".join(_f(x) for x in xs)


def _yaw_quat(yaw_rad: float) -> str:
    return _v(math.cos(yaw_rad / 2.0), 0.0, 0.0, math.sin(yaw_rad / 2.0))


def _attr_name(name: str) -> str:
    return (name.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


@dataclass(frozen=True)
class HomeMjcf:
    """MJCF fragments of one home, and the names of what the simulator may change."""

    home_name: str
    asset_xml: str  # the contents of <asset> (textures, materials)
    worldbody_xml: str  # the contents of <worldbody>
    assets: dict[str, bytes]  # PNG files by the name the XML uses
    bounds_m: tuple[float, float, float, float]  # (xmin, ymin, xmax, ymax) of the walls
    ceiling_height_m: float
    wall_geoms: tuple[str, ...]  # "wall/<piece>", one per geometry.wall_pieces box
    door_bodies: tuple[str, ...]  # mocap bodies "door/<door>" of closed doors
    furniture_bodies: tuple[str, ...]  # "furniture/<piece>"
    movable_bodies: tuple[str, ...]  # the mocap ones among furniture_bodies
    rug_geoms: tuple[str, ...]
    threshold_geoms: tuple[str, ...]
    ceiling_lights: tuple[str, ...]  # "light/<light>"
    lights_on: dict[str, bool] = field(default_factory=dict)  # initial state by light name

    @property
    def center_m(self) -> tuple[float, float, float]:
        x0, y0, x1, y1 = self.bounds_m
        return ((x0 + x1) / 2.0, (y0 + y1) / 2.0, self.ceiling_height_m / 2.0)

    @property
    def extent_m(self) -> float:
        """Half the diagonal of the home's box: MuJoCo's ``statistic/extent``."""
        x0, y0, x1, y1 = self.bounds_m
        return max(1.0, 0.5 * math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2
                                        + self.ceiling_height_m ** 2))


class _Builder:
    def __init__(self, assets: tx.TextureAssets):
        self.tex = assets
        self.asset: list[str] = []
        self.body: list[str] = []
        self._textures: dict[str, str] = {}  # file -> texture asset name
        self._materials: dict[tuple, str] = {}

    def texture(self, name: str, rows: tuple[float, float] | None = None) -> str:
        fname = self.tex.file(name, rows)
        if fname not in self._textures:
            tname = fname.removesuffix(".png")
            self._textures[fname] = tname
            self.asset.append(f'<texture name="{tname}" type="2d" file="{fname}"/>')
        return self._textures[fname]

    def material(self, texture: str, repeat: tuple[float, float] = (1.0, 1.0), *,
                 rows: tuple[float, float] | None = None, uniform: bool = False,
                 specular: float = 0.15, shininess: float = 0.2,
                 rgba: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> str:
        """A material (shared between elements with the same look)."""
        tname = self.texture(texture, rows)
        rep = (round(repeat[0], 2) or 0.01, round(repeat[1], 2) or 0.01)
        key = (tname, rep, uniform, specular, shininess, rgba)
        if key not in self._materials:
            mname = f"mat/{tname.removeprefix('hearth_')}/{len(self._materials)}"
            self._materials[key] = mname
            self.asset.append(
                f'<material name="{mname}" texture="{tname}" texrepeat="{_v(*rep)}" '
                f'texuniform="{"true" if uniform else "false"}" specular="{_f(specular)}" '
                f'shininess="{_f(shininess)}" rgba="{_v(*rgba)}"/>')
        return self._materials[key]

    def box_material(self, texture: str, key: str, size: tuple[float, float, float]) -> str:
        """A material for a box whose texture repeats at its real size on its +-y faces
        (length x height); other faces get the same repeat counts."""
        name = tx.variant_for(texture, key)
        tile = tx.tile_size_m(name)
        if tile is None:
            return self.material(name)
        return self.material(name, (max(size[0], size[1]) / tile[0], size[2] / tile[1]))


def _world_geom(name: str, kind: str, *, size: str, pos: str, material: str,
                quat: str | None = None, extra: str = "") -> str:
    q = f' quat="{quat}"' if quat else ""
    return (f'<geom name="{_attr_name(name)}" type="{kind}" size="{size}" pos="{pos}"{q} '
            f'material="{material}" contype="{WORLD_CONTYPE}" '
            f'conaffinity="{WORLD_CONAFFINITY}" group="{GROUP_WORLD}"{extra}/>')


def _walls(b: _Builder, home: Home) -> list[str]:
    heights = {w.name: w.height_m for w in home.walls}
    names = []
    for piece in geometry.wall_pieces(home):
        wall = piece.name.split("#", 1)[0]
        wall_h = heights.get(wall, piece.top_m)
        texture = tx.variant_for(piece.texture, wall)  # one look per wall, all its pieces
        base, _ = tx.parse_texture_name(texture)
        tile = tx.tile_size_m(texture) or (piece.size_m[0], wall_h)
        sx, _, sz = piece.size_m
        if base in tx.ANCHORED_WALL_TEXTURES:
            # the wall's full height is the whole image; this piece shows its own rows
            top = (wall_h - piece.top_m) / wall_h
            bottom = (wall_h - piece.bottom_m) / wall_h
            if top < 0.005:
                mat = b.material(texture, (sx / tile[0], sz / wall_h))
            else:
                mat = b.material(texture, (sx / tile[0], 1.0), rows=(top, bottom))
        else:
            mat = b.material(texture, (sx / tile[0], sz / tile[1]))
        name = f"wall/{piece.name}"
        names.append(name)
        b.body.append(_world_geom(name, "box", size=_v(*(s / 2.0 for s in piece.size_m)),
                                  pos=_v(*piece.center_m), quat=_yaw_quat(piece.yaw_rad),
                                  material=mat))
    return names


def _doors(b: _Builder, home: Home) -> list[str]:
    names = []
    for panel in geometry.door_panels(home):
        body = f"door/{panel.name}"
        names.append(body)
        mat = b.material(tx.variant_for(panel.texture, panel.name))
        geom = _world_geom(f"{body}/leaf", "box", size=_v(*(s / 2.0 for s in panel.size_m)),
                           pos="0 0 0", material=mat)
        b.body.append(f'<body name="{_attr_name(body)}" mocap="true" '
                      f'pos="{_v(*panel.center_m)}" quat="{_yaw_quat(panel.yaw_rad)}">'
                      f'{geom}</body>')
    return names


def _is_table(f: Furniture) -> bool:
    lowered = f.name.lower()
    return (("table" in lowered or "desk" in lowered) and f.elevation_m <= 0.0
            and f.size_m[2] > 0.3)


def _furniture_geoms(b: _Builder, f: Furniture, body: str) -> list[str]:
    sx, sy, sz = f.size_m
    mat = b.box_material(f.texture, f.name, f.size_m)
    if not _is_table(f):
        if f.shape == "cylinder":
            return [_world_geom(body, "cylinder", size=_v(sx / 2.0, sz / 2.0),
                                pos=_v(0, 0, sz / 2.0), material=mat)]
        return [_world_geom(body, "box", size=_v(sx / 2.0, sy / 2.0, sz / 2.0),
                            pos=_v(0, 0, sz / 2.0), material=mat)]
    top_z = sz - TABLE_TOP_M / 2.0
    leg_h = sz - TABLE_TOP_M
    if f.shape == "cylinder":
        return [
            _world_geom(f"{body}/top", "cylinder", size=_v(sx / 2.0, TABLE_TOP_M / 2.0),
                        pos=_v(0, 0, top_z), material=mat),
            _world_geom(f"{body}/pedestal", "cylinder", size=_v(0.06, leg_h / 2.0),
                        pos=_v(0, 0, leg_h / 2.0), material=mat),
            _world_geom(f"{body}/foot", "cylinder", size=_v(min(0.25, sx / 3.0), 0.015),
                        pos=_v(0, 0, 0.015), material=mat),
        ]
    geoms = [_world_geom(f"{body}/top", "box", size=_v(sx / 2.0, sy / 2.0, TABLE_TOP_M / 2.0),
                         pos=_v(0, 0, top_z), material=mat)]
    inset = TABLE_LEG_M / 2.0 + 0.03
    for k, (ix, iy) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
        geoms.append(_world_geom(
            f"{body}/leg{k}", "box", size=_v(TABLE_LEG_M / 2.0, TABLE_LEG_M / 2.0, leg_h / 2.0),
            pos=_v(ix * (sx / 2.0 - inset), iy * (sy / 2.0 - inset), leg_h / 2.0),
            material=mat))
    return geoms


def _furniture(b: _Builder, home: Home) -> tuple[list[str], list[str]]:
    names, movable = [], []
    for f in home.furniture:
        body = f"furniture/{f.name}"
        names.append(body)
        mocap = ""
        if f.movable:
            movable.append(body)
            mocap = ' mocap="true"'
        geoms = "".join(_furniture_geoms(b, f, body))
        b.body.append(f'<body name="{_attr_name(body)}"{mocap} '
                      f'pos="{_v(f.center_m[0], f.center_m[1], f.elevation_m)}" '
                      f'quat="{_yaw_quat(f.yaw_rad)}">{geoms}</body>')
    return names, movable


def _rug(b: _Builder, rug: Rug) -> str:
    texture = tx.variant_for(rug.texture, rug.name)
    tile = tx.tile_size_m(texture)
    repeat = (1.0, 1.0) if tile is None else (rug.size_m[0] / tile[0], rug.size_m[1] / tile[1])
    mat = b.material(texture, repeat, specular=0.05, shininess=0.05)
    return _world_geom(f"rug/{rug.name}", "box",
                       size=_v(rug.size_m[0] / 2.0, rug.size_m[1] / 2.0, rug.thickness_m / 2.0),
                       pos=_v(rug.center_m[0], rug.center_m[1], rug.thickness_m / 2.0),
                       quat=_yaw_quat(rug.yaw_rad), material=mat,
                       extra=f' friction="{_v(rug.friction, 0.005, 0.0001)}"')


def threshold_bump(t: Threshold) -> tuple[float, float, tuple[float, float, float],
                                          tuple[float, float, float, float]]:
    """A threshold as a round bump: a cylinder lying across the way (its axis along
    ``width_m``) whose chord at the floor is ``length_m`` and which stands ``height_m``
    proud; its edges rise gently (~37 deg for 12 x 2 cm), like a bevelled sill, so that a
    wheel can climb it (a box's vertical step would stop a small wheel).
    Returns (radius, half width, centre, quaternion w, x, y, z)."""
    half, h = t.length_m / 2.0, t.height_m
    radius = (half * half + h * h) / (2.0 * h)
    cy, sy = math.cos(t.yaw_rad / 2.0), math.sin(t.yaw_rad / 2.0)
    c = math.sqrt(0.5)  # yaw, then a quarter turn about x: the axis along the width
    return (radius, t.width_m / 2.0, (t.center_m[0], t.center_m[1], h - radius),
            (cy * c, cy * c, sy * c, sy * c))


def _threshold(b: _Builder, t: Threshold) -> str:
    mat = b.material(tx.variant_for("wood", t.name), (t.length_m, t.width_m))
    radius, half_width, center, quat = threshold_bump(t)
    return _world_geom(f"threshold/{t.name}", "cylinder", size=_v(radius, half_width),
                       pos=_v(*center), quat=_v(*quat), material=mat)


def ceiling_light_xml(light: Light) -> str:
    """A ceiling light: a wide downward spotlight without shadows."""
    d = CEILING_LIGHT_DIFFUSE * max(0.0, light.intensity)
    return (f'<light name="{_attr_name(LIGHT_PREFIX + light.name)}" type="spot" '
            f'pos="{_v(*light.position_m)}" dir="0 0 -1" cutoff="{_f(CEILING_LIGHT_CUTOFF_DEG)}" '
            f'exponent="1" attenuation="{_v(*CEILING_LIGHT_ATTENUATION)}" '
            f'range="{_f(CEILING_LIGHT_RANGE_M)}" diffuse="{_v(d, d * 0.97, d * 0.9)}" '
            f'ambient="{_v(0.04 * d, 0.04 * d, 0.04 * d)}" '
            f'specular="{_v(0.1 * d, 0.1 * d, 0.1 * d)}" '
            f'castshadow="false" active="{"true" if light.on else "false"}"/>')


def home_mjcf(home: Home, *, assets: tx.TextureAssets | None = None) -> HomeMjcf:
    """The home as MJCF fragments. ``assets`` collects the textures' PNGs (a new
    ``TextureAssets()`` with the default disk cache when None)."""
    b = _Builder(assets if assets is not None else tx.TextureAssets())
    x0, y0, x1, y1 = geometry.bounds(home)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"home '{home.name}': no walls to build a world from")
    ceiling_h = max((w.height_m for w in home.walls), default=2.5)

    # floor: a plane, texture repeating per metre (texuniform), anchored at the origin
    floor_tex = tx.variant_for(home.floor_texture, "floor")
    tile = tx.tile_size_m(floor_tex) or (1.0, 1.0)
    floor_mat = b.material(floor_tex, (1.0 / tile[0], 1.0 / tile[1]), uniform=True,
                           specular=0.35, shininess=0.45)
    hx = (x1 - x0) / 2.0 + FLOOR_MARGIN_M
    hy = (y1 - y0) / 2.0 + FLOOR_MARGIN_M
    b.body.append(_world_geom("floor", "plane", size=_v(hx, hy, 0.05),
                              pos=_v((x0 + x1) / 2.0, (y0 + y1) / 2.0, 0.0), material=floor_mat))
    # ceiling: collides with nothing, casts the sun's shadow
    ceil_mat = b.material("ceiling", (max(x1 - x0, y1 - y0) / 2.0, max(x1 - x0, y1 - y0) / 2.0),
                          specular=0.0, shininess=0.0)
    b.body.append(
        f'<geom name="ceiling" type="box" '
        f'size="{_v((x1 - x0) / 2.0 + 0.3, (y1 - y0) / 2.0 + 0.3, CEILING_THICKNESS_M / 2.0)}" '
        f'pos="{_v((x0 + x1) / 2.0, (y0 + y1) / 2.0, ceiling_h + CEILING_THICKNESS_M / 2.0)}" '
        f'material="{ceil_mat}" contype="0" conaffinity="0" group="{GROUP_WORLD}"/>')

    # sky: four emissive panels around the home, seen through the windows; they cast no
    # shadow and collide with nothing; lighting.set_sky sets their brightness
    b.asset.append(f'<material name="{SKY_MATERIAL}" rgba="{_v(*SKY_RGBA)}" '
                   f'emission="{_f(SKY_EMISSION)}" specular="0" shininess="0"/>')
    sx0, sy0 = x0 - SKY_MARGIN_M, y0 - SKY_MARGIN_M
    sx1, sy1 = x1 + SKY_MARGIN_M, y1 + SKY_MARGIN_M
    for k, (pos, size) in enumerate((
            ((sx0, (sy0 + sy1) / 2.0), (0.1, (sy1 - sy0) / 2.0)),
            ((sx1, (sy0 + sy1) / 2.0), (0.1, (sy1 - sy0) / 2.0)),
            (((sx0 + sx1) / 2.0, sy0), ((sx1 - sx0) / 2.0, 0.1)),
            (((sx0 + sx1) / 2.0, sy1), ((sx1 - sx0) / 2.0, 0.1)))):
        b.body.append(
            f'<geom name="sky/{k}" type="box" size="{_v(*size, SKY_HEIGHT_M / 2.0)}" '
            f'pos="{_v(*pos, SKY_HEIGHT_M / 2.0)}" material="{SKY_MATERIAL}" contype="0" '
            f'conaffinity="0" castshadow="false" group="{GROUP_WORLD}"/>')

    wall_geoms = _walls(b, home)
    door_bodies = _doors(b, home)
    furniture_bodies, movable = _furniture(b, home)
    rug_geoms = []
    for rug in home.rugs:
        rug_geoms.append(f"rug/{rug.name}")
        b.body.append(_rug(b, rug))
    threshold_geoms = []
    for t in home.thresholds:
        threshold_geoms.append(f"threshold/{t.name}")
        b.body.append(_threshold(b, t))

    # lights: the sun (shadows), the ambient level, the ceiling lights
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    # the sun in the south, 40 deg up, placed up-sun of the centre as lighting.set_sun does
    # (a directional light's shadow volume is centred on its axis through its position)
    el, extent = math.radians(40.0), 0.5 * math.hypot(x1 - x0, y1 - y0, ceiling_h)
    sun_dir = (0.0, math.cos(el), -math.sin(el))
    sun_pos = (cx - 2.0 * extent * sun_dir[0], cy - 2.0 * extent * sun_dir[1],
               ceiling_h / 2.0 - 2.0 * extent * sun_dir[2])
    b.body.append(f'<light name="{SUN_LIGHT}" type="directional" pos="{_v(*sun_pos)}" '
                  f'dir="{_v(*sun_dir)}" diffuse="0.8 0.78 0.7" specular="0.2 0.2 0.2" '
                  f'ambient="0 0 0" castshadow="true"/>')
    b.body.append(f'<light name="{AMBIENT_LIGHT}" type="directional" pos="{_v(cx, cy, 20.0)}" '
                  f'dir="0 0 -1" diffuse="0 0 0" specular="0 0 0" ambient="0.2 0.2 0.2" '
                  f'castshadow="false"/>')
    ceiling_lights = []
    for light in home.lights:
        ceiling_lights.append(LIGHT_PREFIX + light.name)
        b.body.append(ceiling_light_xml(light))

    return HomeMjcf(
        home_name=home.name,
        asset_xml="\n".join(b.asset),
        worldbody_xml="\n".join(b.body),
        assets=b.tex.assets(),
        bounds_m=(x0, y0, x1, y1),
        ceiling_height_m=ceiling_h,
        wall_geoms=tuple(wall_geoms),
        door_bodies=tuple(door_bodies),
        furniture_bodies=tuple(furniture_bodies),
        movable_bodies=tuple(movable),
        rug_geoms=tuple(rug_geoms),
        threshold_geoms=tuple(threshold_geoms),
        ceiling_lights=tuple(ceiling_lights),
        lights_on={LIGHT_PREFIX + light.name: light.on for light in home.lights},
    )


def element_kind(name: str) -> str:
    """What a geom or body of the home is, from its name: "wall", "door", "furniture",
    "rug", "threshold", "floor", "ceiling", "sky", "person", or "" (e.g. the robot's)."""
    if name in ("floor", "ceiling"):
        return name
    head = name.split("/", 1)[0]
    if head in ("wall", "door", "furniture", "rug", "threshold", "sky"):
        return head
    if name.startswith("person_"):
        return "person"
    return ""


def stable_index(name: str, n: int) -> int:
    """A deterministic index in [0, n) from a name (for colours, variants)."""
    return zlib.crc32(name.encode()) % n
