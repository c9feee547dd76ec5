"""Homes to occupancy grids and back: the floor plan as a map_server map, and a home
extruded from a map_server map.

- ``rasterize`` marks every cell that a floor-level obstacle (``geometry.floor_footprints``:
  wall pieces reaching the floor, closed doors, furniture standing on the floor) overlaps
  with positive area, so a 4 cm door leaf still closes its doorway at 5 cm cells. Rugs and
  thresholds are free; so are open doorways.
- ``write_map_server`` writes ``<name>.pgm`` (P5, trinary: 0 occupied, 254 free, 205
  unknown) and ``<name>.yaml``, each through a temporary file and ``os.replace``.
- ``read_map_server`` / ``home_from_occupancy_map`` read such a map (``negate``, thresholds,
  origin, as nav2's map_server does) and extrude occupied cells into walls, one wall per
  greedy maximal rectangle of cells.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy import ndimage

from hearth_common.atomic_file import atomic_write
from hearth_sim.home import geometry as geo
from hearth_sim.home.loader import HomeError, validate_home
from hearth_sim.home.model import Home, Pose2, Wall

OCCUPIED, FREE, UNKNOWN = 100, 0, -1  # nav_msgs/OccupancyGrid values
PGM_OCCUPIED, PGM_FREE, PGM_UNKNOWN = 0, 254, 205  # map_server's trinary shades (negate 0)
# written into our map.yaml files; as map_saver writes them, so that shade 205 (p = 0.196)
# reads back as unknown, not free
OCCUPIED_THRESH, FREE_THRESH = 0.65, 0.196
EXTRUDED_WALL_HEIGHT_M = 2.5
EXTRUDED_WALL_TEXTURE = "plaster"


@dataclass(frozen=True)
class OccupancyRaster:
    """An occupancy grid as nav_msgs/OccupancyGrid holds it: ``data[row, col]`` int8 (100
    occupied, 0 free, -1 unknown), row 0 at the lowest y; ``origin_xy_m`` is the world
    position of cell (0, 0)'s outer corner."""

    data: np.ndarray
    origin_xy_m: tuple[float, float]
    resolution_m: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    def cell_of(self, x_m: float, y_m: float) -> tuple[int, int]:
        """(row, col) of the cell holding the world point."""
        return (math.floor((y_m - self.origin_xy_m[1]) / self.resolution_m),
                math.floor((x_m - self.origin_xy_m[0]) / self.resolution_m))

    def is_free(self, x_m: float, y_m: float) -> bool:
        r, c = self.cell_of(x_m, y_m)
        rows, cols = self.data.shape
        return 0 <= r < rows and 0 <= c < cols and self.data[r, c] == FREE

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """World x (cols,) and y (rows,) of the cell centres."""
        rows, cols = self.data.shape
        xs = self.origin_xy_m[0] + (np.arange(cols) + 0.5) * self.resolution_m
        ys = self.origin_xy_m[1] + (np.arange(rows) + 0.5) * self.resolution_m
        return xs, ys


# ---------------------------------------------------------------------------- rasterize


def _fill_convex(occ: np.ndarray, poly: np.ndarray, origin: tuple[float, float],
                 res: float, tol: float = 1e-6) -> None:
    """Marks the cells that the convex polygon overlaps with positive area (SAT against each
    cell square)."""
    rows, cols = occ.shape
    lo = poly.min(axis=0)
    hi = poly.max(axis=0)
    c0 = max(0, math.floor((lo[0] - origin[0]) / res + tol))
    c1 = min(cols, math.ceil((hi[0] - origin[0]) / res - tol))
    r0 = max(0, math.floor((lo[1] - origin[1]) / res + tol))
    r1 = min(rows, math.ceil((hi[1] - origin[1]) / res - tol))
    if c0 >= c1 or r0 >= r1:
        return
    xs = origin[0] + (np.arange(c0, c1) + 0.5) * res
    ys = origin[1] + (np.arange(r0, r1) + 0.5) * res
    cx, cy = np.meshgrid(xs, ys)
    inside = np.ones(cx.shape, dtype=bool)
    d = np.roll(poly, -1, axis=0) - poly
    half = res / 2.0
    for nx, ny in np.column_stack([-d[:, 1], d[:, 0]]):
        norm = math.hypot(nx, ny)
        if norm < 1e-12:
            continue
        nx, ny = nx / norm, ny / norm
        proj = poly @ np.array([nx, ny])
        pmin, pmax = proj.min(), proj.max()
        centre = cx * nx + cy * ny
        reach = half * (abs(nx) + abs(ny))
        inside &= (centre + reach > pmin + tol * res) & (centre - reach < pmax - tol * res)
    occ[r0:r1, c0:c1] |= inside


def rasterize(home: Home, resolution_m: float | None = None,
              margin_m: float = 0.5) -> OccupancyRaster:
    """What blocks a robot at floor level, on a grid covering the walls plus ``margin_m``;
    the grid's origin is a multiple of the resolution, so rasters of one home line up.
    Every cell is free (0) or occupied (100): the home is fully known."""
    res = float(resolution_m if resolution_m is not None else home.map_resolution_m)
    if not res > 0.0:
        raise ValueError(f"resolution_m must be > 0, got {res}")
    xmin, ymin, xmax, ymax = geo.bounds(home)
    # snap to the grid of `res` (rounding first so 12.5 / 0.05 is 250, not 249.99...)
    c_lo = math.floor(round((xmin - margin_m) / res, 6))
    r_lo = math.floor(round((ymin - margin_m) / res, 6))
    c_hi = math.ceil(round((xmax + margin_m) / res, 6))
    r_hi = math.ceil(round((ymax + margin_m) / res, 6))
    origin = (round(c_lo * res, 9), round(r_lo * res, 9))
    occ = np.zeros((r_hi - r_lo, c_hi - c_lo), dtype=bool)
    for _, poly in geo.floor_footprints(home):
        _fill_convex(occ, poly, origin, res)
    data = np.where(occ, OCCUPIED, FREE).astype(np.int8)
    return OccupancyRaster(data, origin, res)


# ---------------------------------------------------------------------------- map_server files


def _write_atomically(path: Path, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def _num(v: float) -> str:
    """A short, exact-enough, deterministic decimal."""
    r = round(float(v), 6)
    return repr(0.0 if r == 0.0 else r)


def map_server_files(raster: OccupancyRaster, name: str = "map",
                     comment: str = "hearth") -> dict[str, bytes]:
    """The bytes of ``<name>.pgm`` and ``<name>.yaml`` for ``raster`` (see
    ``write_map_server``)."""
    data = raster.data
    shades = np.full(data.shape, PGM_UNKNOWN, dtype=np.uint8)
    shades[data == FREE] = PGM_FREE
    shades[data >= 50] = PGM_OCCUPIED
    rows, cols = data.shape
    pgm = (f"P5\n# {comment}\n{cols} {rows}\n255\n".encode()
           + shades[::-1].tobytes())  # image row 0 is the top (highest y)
    ox, oy = raster.origin_xy_m
    meta = (f"image: {name}.pgm\n"
            "mode: trinary\n"
            f"resolution: {_num(raster.resolution_m)}\n"
            f"origin: [{_num(ox)}, {_num(oy)}, 0.0]\n"
            "negate: 0\n"
            f"occupied_thresh: {OCCUPIED_THRESH}\n"
            f"free_thresh: {FREE_THRESH}\n")
    return {f"{name}.pgm": pgm, f"{name}.yaml": meta.encode()}


def write_map_server(raster: OccupancyRaster, directory: str | os.PathLike,
                     name: str = "map", comment: str = "hearth") -> list[Path]:
    """Writes ``<name>.pgm`` (P5; 0 occupied black, 254 free, 205 unknown) and
    ``<name>.yaml`` (mode trinary, negate 0) into ``directory``, each through a temporary
    file renamed into place, so a reader never sees half a map. Returns the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, data in map_server_files(raster, name, comment).items():
        _write_atomically(out / filename, data)
        written.append(out / filename)
    return written


def _read_pgm(path: Path) -> np.ndarray:
    """A binary (P5) or ASCII (P2) 8-bit PGM as uint8 [row from the top, col]."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise HomeError(f"{path}: cannot read ({e.strerror or e})") from e
    tokens: list[bytes] = []
    pos = 0
    while len(tokens) < 4:
        while pos < len(raw) and raw[pos:pos + 1].isspace():
            pos += 1
        if raw[pos:pos + 1] == b"#":
            while pos < len(raw) and raw[pos:pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(raw) and not raw[pos:pos + 1].isspace() and raw[pos:pos + 1] != b"#":
            pos += 1
        if start == pos:
            raise HomeError(f"{path}: truncated PGM header")
        tokens.append(raw[start:pos])
    magic = tokens[0]
    try:
        width, height, maxval = (int(t) for t in tokens[1:])
    except ValueError as e:
        raise HomeError(f"{path}: bad PGM header {tokens!r}") from e
    if magic not in (b"P5", b"P2") or width <= 0 or height <= 0 or not 0 < maxval < 256:
        raise HomeError(f"{path}: only 8-bit P5/P2 PGM maps are read (got {magic!r}, "
                        f"{width}x{height}, maxval {maxval})")
    if magic == b"P5":
        body = raw[pos + 1:pos + 1 + width * height]
        if len(body) != width * height:
            raise HomeError(f"{path}: truncated PGM data")
        pixels = np.frombuffer(body, dtype=np.uint8)
    else:
        pixels = np.array(raw[pos:].split()[:width * height], dtype=np.int64)
        if pixels.size != width * height:
            raise HomeError(f"{path}: truncated PGM data")
    pixels = pixels.reshape(height, width).astype(np.float64)
    return np.round(pixels * (255.0 / maxval)).astype(np.uint8)


def read_map_server(map_yaml_path: str | os.PathLike) -> OccupancyRaster:
    """A map_server map (YAML + PGM) as nav2's map_server loads it in trinary mode:
    p = (255 - shade) / 255 (shade / 255 with ``negate``); occupied where p >
    ``occupied_thresh``, free where p < ``free_thresh``, unknown between."""
    path = Path(map_yaml_path)
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise HomeError(f"{path}: cannot read ({e.strerror or e})") from e
    except yaml.YAMLError as e:
        raise HomeError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(meta, dict):
        raise HomeError(f"{path}: expected a mapping")
    for key in ("image", "resolution", "origin"):
        if key not in meta:
            raise HomeError(f"{path}: missing required field {key!r}")
    mode = meta.get("mode", "trinary")
    if mode not in ("trinary", "scale", "raw"):
        raise HomeError(f"{path}: mode: unknown mode {mode!r}")
    try:
        res = float(meta["resolution"])
        origin = [float(v) for v in meta["origin"]]
        occ_t = float(meta.get("occupied_thresh", 0.65))
        free_t = float(meta.get("free_thresh", 0.25))
    except (TypeError, ValueError) as e:
        raise HomeError(f"{path}: resolution, origin and thresholds must be numbers") from e
    if not (res > 0.0 and math.isfinite(res)) or len(origin) < 2:
        raise HomeError(f"{path}: resolution must be > 0 and origin [x, y, yaw]")
    if len(origin) > 2 and abs(origin[2]) > 1e-9:
        raise HomeError(f"{path}: origin: a rotated map (yaw {origin[2]:g}) is not supported")
    shade = _read_pgm(path.parent / str(meta["image"])).astype(np.float64)[::-1]
    if mode == "raw":
        data = np.where(shade >= 100, OCCUPIED, shade).astype(np.int8)
    else:
        p = shade / 255.0 if meta.get("negate", 0) else (255.0 - shade) / 255.0
        data = np.full(shade.shape, UNKNOWN, dtype=np.int8)
        data[p > occ_t] = OCCUPIED
        data[p < free_t] = FREE
    return OccupancyRaster(data, (origin[0], origin[1]), res)


# ---------------------------------------------------------------------------- extrusion


def occupied_rectangles(occ: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Covers the True cells of ``occ`` exactly with disjoint rectangles (r0, c0, r1, c1),
    half-open: greedily, from the lowest row up, each new rectangle first as wide and then
    as tall as it can be. Deterministic."""
    todo = occ.astype(bool).copy()
    rows, cols = todo.shape
    rects = []
    for r in range(rows):
        c = 0
        row = todo[r]
        while c < cols:
            if not row[c]:
                c += 1
                continue
            c1 = c
            while c1 < cols and row[c1]:
                c1 += 1
            r1 = r + 1
            while r1 < rows and todo[r1, c:c1].all():
                r1 += 1
            # a tall thin run is better as a column: try growing up first
            if r1 - r == 1:
                rt = r + 1
                while rt < rows and todo[rt, c]:
                    rt += 1
                if rt - r > c1 - c:
                    c1, r1 = c + 1, rt
                    while c1 < cols and todo[r:r1, c1].all():
                        c1 += 1
            todo[r:r1, c:c1] = False
            rects.append((r, c, r1, c1))
            c = c1
    return rects


def walls_from_occupancy(raster: OccupancyRaster, height_m: float = EXTRUDED_WALL_HEIGHT_M,
                         prefix: str = "occ") -> tuple[Wall, ...]:
    """One wall (``extend_ends`` false) per rectangle of occupied cells, along its longer side,
    as thick as its shorter side; so rasterizing the walls at the same resolution and grid
    gives back exactly the occupied cells."""
    res = raster.resolution_m
    ox, oy = raster.origin_xy_m
    walls = []
    for k, (r0, c0, r1, c1) in enumerate(occupied_rectangles(raster.data == OCCUPIED)):
        x0, x1 = ox + c0 * res, ox + c1 * res
        y0, y1 = oy + r0 * res, oy + r1 * res
        if x1 - x0 >= y1 - y0:
            ym = round((y0 + y1) / 2, 9)
            start, end, thick = (round(x0, 9), ym), (round(x1, 9), ym), y1 - y0
        else:
            xm = round((x0 + x1) / 2, 9)
            start, end, thick = (xm, round(y0, 9)), (xm, round(y1, 9)), x1 - x0
        walls.append(Wall(f"{prefix}{k}", start, end, thickness_m=round(thick, 9),
                          height_m=height_m, texture=EXTRUDED_WALL_TEXTURE,
                          extend_ends=False))
    return tuple(walls)


def far_from_walls(raster: OccupancyRaster) -> tuple[float, float]:
    """The centre of the free cell farthest from any non-free cell (the first such cell in row
    order on ties)."""
    free = raster.data == FREE
    if not free.any():
        raise HomeError("the map has no free cell")
    dist = ndimage.distance_transform_edt(np.pad(free, 1))[1:-1, 1:-1]
    r, c = np.unravel_index(int(np.argmax(dist)), dist.shape)
    xs, ys = raster.cell_centres()
    return float(xs[c]), float(ys[r])


def home_from_occupancy_map(map_yaml_path: str | os.PathLike, name: str,
                            height_m: float = EXTRUDED_WALL_HEIGHT_M) -> Home:
    """A home extruded from a map_server map: each rectangle of occupied cells becomes a
    wall ``height_m`` tall; unknown cells are neither walls nor floor to start on. No doors,
    furniture or rooms; ``robot_start`` is the free cell farthest from walls and unknown
    space (distance transform); ``map_resolution_m`` is the map's."""
    raster = read_map_server(map_yaml_path)
    walls = walls_from_occupancy(raster, height_m)
    if not walls:
        raise HomeError(f"{map_yaml_path}: the map has no occupied cell")
    x, y = far_from_walls(raster)
    home = Home(name=name, walls=walls, robot_start=Pose2(round(x, 9), round(y, 9), 0.0),
                map_resolution_m=raster.resolution_m)
    validate_home(home, str(map_yaml_path))
    return home
