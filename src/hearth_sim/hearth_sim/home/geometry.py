"""The solid geometry of a home, ROS-free: boxes for walls and doors, 2D footprints, segments.

A renderer or physics engine makes one box per ``Box``; a people simulator walks among the
``obstacle_segments``; the occupancy raster (``occupancy.py``) fills the same footprints.

Conventions:

- A wall's ``start_m`` / ``end_m`` are points of its centre line; centre lines meet at corner
  points, as in a floor plan. With ``extend_ends`` (the default) each end of a wall is, by
  ``wall_extent``: extended by half the thickness when it is free or when this wall is the
  first in the file to reach that corner (so the corner is closed); cut back by the first
  wall's half thickness at a corner another wall already closes (so no two faces coincide,
  which would flicker in a renderer); left where it is when it lands inside another wall
  (a T junction). Without ``extend_ends`` the wall spans exactly ``start_m`` to ``end_m``.
- A door or a window belongs to the wall whose centre line passes through its centre (within
  half the wall's thickness, and between the wall's end points); its opening spans
  ``width_m`` along that wall, through the wall's whole thickness. A door's opening runs from
  the floor to ``height_m``, a window's from ``sill_m`` to ``top_m``.
- "Reaches the floor" means a box's bottom is below ``FLOOR_OBSTACLE_MAX_ELEVATION_M`` (0.3 m):
  what a robot or a person at floor level runs into. Wall pieces below a window reach the
  floor; lintels and the pieces above a window do not.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from hearth_sim.home.model import Door, Furniture, Home, Point2, Rug, Threshold, Wall, Window

FLOOR_OBSTACLE_MAX_ELEVATION_M = 0.3  # a piece whose bottom is lower blocks floor traffic
DOOR_PANEL_THICKNESS_M = 0.04  # a closed door's leaf (never thicker than its wall)
CYLINDER_SIDES = 16  # a cylinder's footprint polygon
_EPS = 1e-9


@dataclass(frozen=True)
class Box:
    """A solid box: ``center_m`` (x, y, z) in the world frame; ``size_m`` (sx, sy, sz) along
    the box's own axes, which are the world's axes turned by ``yaw_rad`` about z."""

    name: str
    center_m: tuple[float, float, float]
    size_m: tuple[float, float, float]
    yaw_rad: float
    texture: str

    def __post_init__(self) -> None:
        # round away float noise (1e-9 m) so generated worlds read cleanly and compare exactly
        object.__setattr__(self, "center_m", tuple(_clean(v) for v in self.center_m))
        object.__setattr__(self, "size_m", tuple(_clean(v) for v in self.size_m))
        object.__setattr__(self, "yaw_rad", _clean(self.yaw_rad))

    @property
    def bottom_m(self) -> float:
        return self.center_m[2] - self.size_m[2] / 2.0

    @property
    def top_m(self) -> float:
        return self.center_m[2] + self.size_m[2] / 2.0

    def reaches_floor(self, max_elevation_m: float = FLOOR_OBSTACLE_MAX_ELEVATION_M) -> bool:
        return self.bottom_m < max_elevation_m

    def footprint(self) -> np.ndarray:
        """The box's 4 corners seen from above, (4, 2), counter-clockwise."""
        return rectangle(self.center_m[:2], self.size_m[:2], self.yaw_rad)


@dataclass(frozen=True)
class Opening:
    """A door's or window's hole in its wall: ``[s0_m, s1_m]`` along the wall's centre line
    from ``start_m``, ``[z0_m, z1_m]`` above the floor."""

    name: str
    kind: str  # "door" | "window"
    s0_m: float
    s1_m: float
    z0_m: float
    z1_m: float


# ---------------------------------------------------------------------------- primitives


def _clean(v: float) -> float:
    r = round(float(v), 9)
    return 0.0 if r == 0.0 else r


def rectangle(center: Iterable[float], size: Iterable[float], yaw_rad: float) -> np.ndarray:
    """The 4 corners (4, 2) of a ``size`` (sx, sy) rectangle centred at ``center``, turned by
    ``yaw_rad``; counter-clockwise."""
    cx, cy = (float(v) for v in center)
    sx, sy = (float(v) for v in size)
    hx, hy = sx / 2.0, sy / 2.0
    local = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    rot = np.array([[c, -s], [s, c]])
    return local @ rot.T + np.array([cx, cy])


def polygon_edges(poly: np.ndarray) -> np.ndarray:
    """The closed polygon's edges as segments (K, 4) [x1, y1, x2, y2]."""
    poly = np.asarray(poly, dtype=float)
    return np.hstack([poly, np.roll(poly, -1, axis=0)])


def wall_length(wall: Wall) -> float:
    return math.hypot(wall.end_m[0] - wall.start_m[0], wall.end_m[1] - wall.start_m[1])


def wall_yaw(wall: Wall) -> float:
    return math.atan2(wall.end_m[1] - wall.start_m[1], wall.end_m[0] - wall.start_m[0])


def wall_coordinates(wall: Wall, point: Point2) -> tuple[float, float]:
    """``(s, d)``: how far along the wall's centre line from ``start_m`` the point lies, and
    its signed distance from that line (left of start -> end positive)."""
    length = wall_length(wall)
    if length < _EPS:
        return 0.0, math.hypot(point[0] - wall.start_m[0], point[1] - wall.start_m[1])
    ux = (wall.end_m[0] - wall.start_m[0]) / length
    uy = (wall.end_m[1] - wall.start_m[1]) / length
    px, py = point[0] - wall.start_m[0], point[1] - wall.start_m[1]
    return px * ux + py * uy, -px * uy + py * ux


def wall_point(wall: Wall, s_m: float) -> Point2:
    """The point ``s_m`` along the wall's centre line from ``start_m``."""
    length = wall_length(wall)
    t = s_m / length if length > _EPS else 0.0
    return (wall.start_m[0] + t * (wall.end_m[0] - wall.start_m[0]),
            wall.start_m[1] + t * (wall.end_m[1] - wall.start_m[1]))


def walls_containing(home: Home, point: Point2, tol_m: float = 1e-6) -> list[Wall]:
    """The walls whose centre line (within half their thickness) passes through ``point``."""
    found = []
    for wall in home.walls:
        length = wall_length(wall)
        if length < _EPS:
            continue
        s, d = wall_coordinates(wall, point)
        if -tol_m <= s <= length + tol_m and abs(d) <= wall.thickness_m / 2.0 + tol_m:
            found.append(wall)
    return found


def wall_of(home: Home, point: Point2) -> Wall | None:
    """The wall that holds a door or window centred at ``point`` (the nearest centre line when
    walls cross there), or None."""
    walls = walls_containing(home, point)
    if not walls:
        return None
    return min(walls, key=lambda w: abs(wall_coordinates(w, point)[1]))


def _opening(wall: Wall, item: Door | Window) -> Opening:
    s, _ = wall_coordinates(wall, item.center_m)
    half = item.width_m / 2.0
    if isinstance(item, Door):
        return Opening(item.name, "door", s - half, s + half, 0.0, item.height_m)
    return Opening(item.name, "window", s - half, s + half, item.sill_m, item.top_m)


def openings_by_wall(home: Home) -> dict[str, list[Opening]]:
    """Every wall's door and window openings, by wall name, sorted along the wall.
    Doors and windows that are in no wall are left out (the loader rejects them)."""
    result: dict[str, list[Opening]] = {w.name: [] for w in home.walls}
    for item in (*home.doors, *home.windows):
        wall = wall_of(home, item.center_m)
        if wall is not None:
            result[wall.name].append(_opening(wall, item))
    for items in result.values():
        items.sort(key=lambda o: (o.s0_m, o.name))
    return result


def _solid_intervals(height_m: float,
                     holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """[0, height] less the union of ``holes``, as sorted (z0, z1) intervals."""
    solid = []
    z = 0.0
    for z0, z1 in sorted(holes):
        z0, z1 = max(0.0, z0), min(height_m, z1)
        if z0 > z + _EPS:
            solid.append((z, z0))
        z = max(z, z1)
    if height_m > z + _EPS:
        solid.append((z, height_m))
    return solid


# ---------------------------------------------------------------------------- boxes


def _end_offset(home: Home, index: int, point: Point2) -> float:
    """How far past ``point`` (one end of ``home.walls[index]``) its box reaches: + extends,
    - cuts back."""
    wall = home.walls[index]
    if not wall.extend_ends:
        return 0.0
    tol = 1e-6
    for j, other in enumerate(home.walls):
        if j == index:
            continue
        length = wall_length(other)
        if length < _EPS:
            continue
        s, d = wall_coordinates(other, point)
        if tol < s < length - tol and abs(d) <= other.thickness_m / 2.0 + tol:
            return 0.0  # a T junction: the end is inside the other wall
    for other in home.walls[:index]:
        if not other.extend_ends:
            continue
        for end in (other.start_m, other.end_m):
            if math.hypot(end[0] - point[0], end[1] - point[1]) <= tol:
                return -other.thickness_m / 2.0  # an earlier wall closes this corner
    return wall.thickness_m / 2.0


def wall_extent(home: Home, wall: Wall) -> tuple[float, float]:
    """``(lo, hi)``: where the wall's box begins and ends along its centre line, measured
    from ``start_m`` (see the module's conventions for the corner rules)."""
    index = next((i for i, w in enumerate(home.walls) if w is wall), None)
    if index is None:
        index = home.walls.index(wall)  # an equal wall; ValueError when not in the home
    return (-_end_offset(home, index, wall.start_m),
            wall_length(wall) + _end_offset(home, index, wall.end_m))


def wall_pieces(home: Home) -> list[Box]:
    """Every wall as boxes (spanning ``wall_extent``), split around its door and window
    openings: full-height pieces between openings, a lintel above each door, a sill piece
    below and a top piece above each window. Each box's x axis runs along its wall
    (``size_m`` = length, thickness, height). Pieces are named ``<wall>#<k>`` (full
    height), ``<wall>#<opening>.lintel``, ``<wall>#<opening>.sill`` and
    ``<wall>#<opening>.top``. Deterministic: walls in file order, pieces from ``start_m``
    to ``end_m``, bottom to top."""
    openings = openings_by_wall(home)
    boxes: list[Box] = []
    for wall in home.walls:
        length = wall_length(wall)
        if length < _EPS:
            continue
        lo, hi = wall_extent(home, wall)
        ops = openings[wall.name]
        cuts = sorted({lo, hi, *(min(max(o.s0_m, lo), hi) for o in ops),
                       *(min(max(o.s1_m, lo), hi) for o in ops)})
        yaw = wall_yaw(wall)
        k = 0
        for s0, s1 in itertools.pairwise(cuts):
            if s1 - s0 < 1e-6:
                continue
            mid = (s0 + s1) / 2.0
            inside = [o for o in ops if o.s0_m - _EPS <= mid <= o.s1_m + _EPS]
            holes = [(o.z0_m, o.z1_m) for o in inside]
            cx, cy = wall_point(wall, mid)
            for z0, z1 in _solid_intervals(wall.height_m, holes):
                if not inside:
                    name = f"{wall.name}#{k}"
                    k += 1
                else:
                    opening = inside[0]
                    if opening.kind == "door":
                        part = "lintel"
                    else:
                        part = "sill" if z1 <= opening.z0_m + _EPS else "top"
                    name = f"{wall.name}#{opening.name}.{part}"
                boxes.append(Box(name, (cx, cy, (z0 + z1) / 2.0),
                                 (s1 - s0, wall.thickness_m, z1 - z0), yaw, wall.texture))
    return boxes


def door_panels(home: Home) -> list[Box]:
    """A closed door's leaf filling its opening: a thin box (``DOOR_PANEL_THICKNESS_M``, at
    most its wall's thickness) on the wall's centre line, ``width_m`` wide, ``height_m``
    tall, with the door's texture, named like the door. Open doors have no panel: the
    doorway is simply empty (the leaf is not modelled swung open). Doors in no wall are
    left out (the loader rejects them)."""
    panels = []
    for door in home.doors:
        if not door.closed:
            continue
        wall = wall_of(home, door.center_m)
        if wall is None:
            continue
        s, _ = wall_coordinates(wall, door.center_m)
        cx, cy = wall_point(wall, s)
        thickness = min(DOOR_PANEL_THICKNESS_M, wall.thickness_m)
        panels.append(Box(door.name, (cx, cy, door.height_m / 2.0),
                          (door.width_m, thickness, door.height_m), wall_yaw(wall),
                          door.texture))
    return panels


# ---------------------------------------------------------------------------- footprints


def furniture_footprint(f: Furniture) -> np.ndarray:
    """The piece seen from above, (K, 2) counter-clockwise: a box's 4 corners, a cylinder as a
    ``CYLINDER_SIDES``-gon circumscribing its circle (so the polygon covers the piece)."""
    if f.shape == "cylinder":
        r = f.size_m[0] / 2.0 / math.cos(math.pi / CYLINDER_SIDES)
        a = f.yaw_rad + (np.arange(CYLINDER_SIDES) + 0.5) * (2.0 * math.pi / CYLINDER_SIDES)
        return np.column_stack([f.center_m[0] + r * np.cos(a), f.center_m[1] + r * np.sin(a)])
    return rectangle(f.center_m, f.size_m[:2], f.yaw_rad)


def rug_footprint(r: Rug) -> np.ndarray:
    """The rug's 4 corners (4, 2)."""
    return rectangle(r.center_m, r.size_m, r.yaw_rad)


def threshold_footprint(t: Threshold) -> np.ndarray:
    """The bump's 4 corners (4, 2): ``length_m`` along ``yaw_rad``, ``width_m`` across."""
    return rectangle(t.center_m, (t.length_m, t.width_m), t.yaw_rad)


def is_floor_obstacle(f: Furniture,
                      max_elevation_m: float = FLOOR_OBSTACLE_MAX_ELEVATION_M) -> bool:
    """Whether a piece blocks floor traffic: any piece standing on the floor (a table on legs
    counts at its whole footprint); not a shelf hung higher than ``max_elevation_m``."""
    return f.elevation_m < max_elevation_m


def floor_footprints(home: Home,
                     max_elevation_m: float = FLOOR_OBSTACLE_MAX_ELEVATION_M
                     ) -> list[tuple[str, np.ndarray]]:
    """Every polygon that blocks a robot or a person at floor level, named: wall pieces that
    reach the floor, closed door panels, furniture standing on the floor. Rugs and
    thresholds are not obstacles; open doorways are gaps."""
    polys = [(b.name, b.footprint()) for b in wall_pieces(home)
             if b.reaches_floor(max_elevation_m)]
    polys += [(b.name, b.footprint()) for b in door_panels(home)]
    polys += [(f.name, furniture_footprint(f)) for f in home.furniture
              if is_floor_obstacle(f, max_elevation_m)]
    return polys


def obstacle_segments(home: Home,
                      max_elevation_m: float = FLOOR_OBSTACLE_MAX_ELEVATION_M) -> np.ndarray:
    """2D line segments (N, 4) [x1, y1, x2, y2] of everything in ``floor_footprints``: every
    edge of each wall piece that reaches the floor (both faces and the ends, so an open
    doorway is a gap with sides), each closed door panel and each furniture footprint."""
    polys = [poly for _, poly in floor_footprints(home, max_elevation_m)]
    if not polys:
        return np.zeros((0, 4))
    return np.vstack([polygon_edges(p) for p in polys])


def bounds(home: Home) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of the walls, thickness included."""
    corners = [b.footprint() for b in wall_pieces(home)]
    if not corners:
        return 0.0, 0.0, 0.0, 0.0
    pts = np.vstack(corners)
    return (float(pts[:, 0].min()), float(pts[:, 1].min()),
            float(pts[:, 0].max()), float(pts[:, 1].max()))


def point_in_polygon(point: Point2, poly: np.ndarray) -> bool:
    """Whether ``point`` lies inside the (convex or not) polygon, edges included."""
    x, y = point
    poly = np.asarray(poly, dtype=float)
    inside = False
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        # on the edge
        cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
        if (abs(cross) < 1e-12 and min(x1, x2) - 1e-12 <= x <= max(x1, x2) + 1e-12
                and min(y1, y2) - 1e-12 <= y <= max(y1, y2) + 1e-12):
            return True
        if (y1 > y) != (y2 > y):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xc:
                inside = not inside
    return inside


def point_polygon_distance(point: Point2, poly: np.ndarray) -> float:
    """Distance from ``point`` to the polygon's boundary (0 on it)."""
    p = np.asarray(point, dtype=float)
    edges = polygon_edges(poly)
    a, b = edges[:, 0:2], edges[:, 2:4]
    ab = b - a
    denom = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300)
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / denom, 0.0, 1.0)
    nearest = a + t[:, None] * ab
    return float(np.min(np.hypot(*(nearest - p).T)))


def convex_polygons_overlap(p: np.ndarray, q: np.ndarray, tol: float = 1e-9) -> bool:
    """Whether two convex polygons overlap with positive area (touching does not count)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    for poly in (p, q):
        d = np.roll(poly, -1, axis=0) - poly
        normals = np.column_stack([-d[:, 1], d[:, 0]])
        norms = np.hypot(normals[:, 0], normals[:, 1])
        normals = normals[norms > 1e-12] / norms[norms > 1e-12, None]
        pp = p @ normals.T
        qq = q @ normals.T
        if np.any((pp.max(axis=0) <= qq.min(axis=0) + tol)
                  | (qq.max(axis=0) <= pp.min(axis=0) + tol)):
            return False
    return True


def segment_hits(segments: np.ndarray, p: Point2, q: Point2) -> bool:
    """Whether the segment p -> q crosses or touches any of ``segments`` (N, 4)."""
    if len(segments) == 0:
        return False
    seg = np.asarray(segments, dtype=float)
    a = seg[:, 0:2]
    b = seg[:, 2:4]
    p_ = np.asarray(p, dtype=float)
    q_ = np.asarray(q, dtype=float)

    def orient(o: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (u[..., 0] - o[..., 0]) * (v[..., 1] - o[..., 1]) - (
            u[..., 1] - o[..., 1]) * (v[..., 0] - o[..., 0])

    d1 = orient(a, b, p_)
    d2 = orient(a, b, q_)
    d3 = orient(p_, q_, a)
    d4 = orient(p_, q_, b)
    proper = (d1 * d2 <= 0) & (d3 * d4 <= 0)
    # collinear segments that do not overlap pass the test above: check their extents
    collinear = (np.abs(d1) < 1e-12) & (np.abs(d2) < 1e-12)
    if np.any(collinear):
        lo = np.minimum(a, b)
        hi = np.maximum(a, b)
        plo = np.minimum(p_, q_)
        phi = np.maximum(p_, q_)
        overlap = np.all((lo <= phi + 1e-12) & (plo <= hi + 1e-12), axis=1)
        proper = np.where(collinear, overlap, proper)
    return bool(np.any(proper))
