"""The data model of a home: walls, doors, windows, furniture, rugs, thresholds, lights.

World frame: x east, y north, z up, metres and radians; the floor is z = 0. This is the
``world`` frame of the simulator's ground truth, and the ``map`` frame of the exported map.

A home file (``maps/<home>/home.yaml``) has one key per list below, each entry a mapping with
these fields (see ``maps/apartment/home.yaml`` for a complete example). Medium-term changes
between sessions (furniture moved, boxes appearing, a door closed) are ``HomeChanges``
applied on top of a home, from ``maps/<home>/changes/<name>.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Point2 = tuple[float, float]


@dataclass(frozen=True)
class Wall:
    """A straight wall from ``start_m`` to ``end_m`` (its centre line).

    With ``extend_ends`` (the default) walls are drawn as floor plans are: centre lines meet
    at corner points, and ``geometry.wall_pieces`` closes each corner (the first wall to
    reach a corner is extended by half its thickness, the later ones stop at its face; an
    end that lands inside another wall, a T junction, stays where it is; a free end is
    extended). With ``extend_ends: false`` the wall's box spans exactly ``start_m`` to
    ``end_m`` (walls extruded from an occupancy map, one box per block of cells)."""

    name: str
    start_m: Point2
    end_m: Point2
    thickness_m: float = 0.1
    height_m: float = 2.5
    texture: str = "plaster"  # a name from hearth_sim.world.textures
    extend_ends: bool = True


@dataclass(frozen=True)
class Door:
    """A doorway in a wall, centred on the wall's centre line; a closed door fills it."""

    name: str
    center_m: Point2
    width_m: float = 0.8
    height_m: float = 2.0
    closed: bool = False
    texture: str = "door"  # the leaf of a closed door


@dataclass(frozen=True)
class Window:
    """A window in a wall: the sun shines through it."""

    name: str
    center_m: Point2
    width_m: float = 1.0
    sill_m: float = 0.9  # floor to the bottom of the opening
    top_m: float = 2.1  # floor to the top of the opening


@dataclass(frozen=True)
class Furniture:
    """A piece of furniture as a box (``size_m`` = x, y, z extents before yaw) or a cylinder
    (``size_m`` = diameter, diameter, height). Movable pieces may move between sessions."""

    name: str
    shape: str  # "box" | "cylinder"
    center_m: Point2
    size_m: tuple[float, float, float]
    yaw_rad: float = 0.0
    movable: bool = False
    elevation_m: float = 0.0  # floor to the bottom of the piece (a table top is not)
    texture: str = "fabric"


@dataclass(frozen=True)
class Rug:
    """A rectangular rug. ``slip`` is the fraction of wheel travel lost on it: the encoders
    count (1 + slip) times the distance really covered."""

    name: str
    center_m: Point2
    size_m: Point2
    yaw_rad: float = 0.0
    thickness_m: float = 0.008
    friction: float = 0.6
    slip: float = 0.0
    texture: str = "rug"


@dataclass(frozen=True)
class Threshold:
    """A floor bump across a doorway: ``length_m`` along the way of travel, ``width_m`` across."""

    name: str
    center_m: Point2
    length_m: float
    width_m: float
    height_m: float
    yaw_rad: float = 0.0  # direction of the length axis


@dataclass(frozen=True)
class Light:
    """A ceiling light (a point light at ``position_m``)."""

    name: str
    position_m: tuple[float, float, float]
    intensity: float = 1.0  # 0..1 of the renderer's full diffuse light
    on: bool = True


@dataclass(frozen=True)
class Room:
    """A named room (axis-aligned box), where people walk to and from."""

    name: str
    min_m: Point2
    max_m: Point2


@dataclass(frozen=True)
class Pose2:
    x_m: float
    y_m: float
    yaw_rad: float = 0.0


@dataclass(frozen=True)
class Home:
    name: str
    walls: tuple[Wall, ...]
    doors: tuple[Door, ...] = ()
    windows: tuple[Window, ...] = ()
    furniture: tuple[Furniture, ...] = ()
    rugs: tuple[Rug, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    lights: tuple[Light, ...] = ()
    rooms: tuple[Room, ...] = ()
    robot_start: Pose2 = field(default_factory=lambda: Pose2(0.0, 0.0, 0.0))
    floor_texture: str = "floorboards"
    map_resolution_m: float = 0.05  # of the exported occupancy map


@dataclass(frozen=True)
class FurnitureMove:
    name: str
    center_m: Point2
    yaw_rad: float = 0.0


@dataclass(frozen=True)
class HomeChanges:
    """Medium-term changes between sessions, applied on top of a home."""

    name: str
    moved: tuple[FurnitureMove, ...] = ()  # movable pieces only
    added: tuple[Furniture, ...] = ()  # boxes, bags
    doors_closed: tuple[str, ...] = ()
    doors_opened: tuple[str, ...] = ()
