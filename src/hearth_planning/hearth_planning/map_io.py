"""Occupancy maps in the map_server format (ROS-free: numpy and PyYAML only).

A map is a YAML file naming a greyscale image and how to read it::

    image: map.pgm             # relative to the YAML file
    resolution: 0.05           # m per cell
    origin: [-5.0, -4.0, 0.0]  # pose of the lower-left cell's corner: x (m), y (m), yaw (rad)
    occupied_thresh: 0.65      # occupancy probability above which a cell is occupied
    free_thresh: 0.25          # ... below which it is free; between the two: unknown (trinary)
    negate: 0                  # optional, default 0: 1 means white = occupied
    mode: trinary              # optional, default trinary; or scale

Only PGM images (P5 binary or P2 ASCII, any maxval) are read. A pixel's occupancy probability
is ``1 - p / maxval`` (``p / maxval`` when negated), so black is occupied and white is free.
In ``trinary`` mode a cell is 100, 0 or -1 (unknown); in ``scale`` mode a cell between the two
thresholds gets a value from 0 to 100 in proportion.

The grid is stored as in ``nav_msgs/OccupancyGrid``: row 0 is the bottom row of the image (the
row at ``origin`` y), so ``data[row, col]`` is the cell at ``x = origin_x + (col + 0.5) * res``
(before the origin's yaw).

Every problem with a file raises :class:`MapError` with one line naming the file and the fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

UNKNOWN = -1
FREE = 0
OCCUPIED = 100

_REQUIRED_KEYS = ("image", "resolution", "origin", "occupied_thresh", "free_thresh")
_MODES = ("trinary", "scale")


class MapError(ValueError):
    """A map file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class OccupancyMap:
    """An occupancy grid: int8 cells (-1 unknown, 0 free .. 100 occupied), row 0 at origin y."""

    data: np.ndarray  # int8, shape (height, width)
    resolution_m: float
    origin_x_m: float = 0.0
    origin_y_m: float = 0.0
    origin_yaw_rad: float = 0.0

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim != 2 or data.shape[0] < 1 or data.shape[1] < 1:
            raise MapError(f"occupancy grid must be a non-empty 2-D array, got shape {data.shape}")
        if not (math.isfinite(self.resolution_m) and self.resolution_m > 0.0):
            raise MapError(f"resolution must be a positive number, got {self.resolution_m!r}")
        for name in ("origin_x_m", "origin_y_m", "origin_yaw_rad"):
            if not math.isfinite(getattr(self, name)):
                raise MapError(f"{name} must be finite, got {getattr(self, name)!r}")
        if data.dtype != np.int8:
            if np.any((data < UNKNOWN) | (data > OCCUPIED)):
                raise MapError("occupancy values must lie in -1..100")
            data = data.astype(np.int8)
        object.__setattr__(self, "data", data)

    @property
    def height(self) -> int:
        return int(self.data.shape[0])

    @property
    def width(self) -> int:
        return int(self.data.shape[1])


def load_map(yaml_path: str | Path) -> OccupancyMap:
    """Read a map_server YAML and its PGM image into an :class:`OccupancyMap`."""
    yaml_path = Path(yaml_path)
    try:
        doc = yaml.safe_load(yaml_path.read_text())
    except OSError as exc:
        raise MapError(f"cannot read map file {yaml_path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or "parse error"
        raise MapError(f"map file {yaml_path} is not valid YAML{line}: {problem}") from exc
    if not isinstance(doc, dict):
        raise MapError(
            f"map file {yaml_path}: expected a mapping of keys, got {type(doc).__name__}"
        )
    for key in _REQUIRED_KEYS:
        if key not in doc:
            raise MapError(f"map file {yaml_path}: missing key '{key}'")

    def number(key: str) -> float:
        value = doc[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MapError(f"map file {yaml_path}: '{key}' must be a number, got {value!r}")
        if not math.isfinite(value):
            raise MapError(f"map file {yaml_path}: '{key}' must be finite, got {value!r}")
        return float(value)

    resolution = number("resolution")
    if resolution <= 0.0:
        raise MapError(f"map file {yaml_path}: 'resolution' must be positive, got {resolution!r}")
    occupied_thresh = number("occupied_thresh")
    free_thresh = number("free_thresh")
    if not 0.0 <= free_thresh < occupied_thresh <= 1.0:
        raise MapError(
            f"map file {yaml_path}: need 0 <= free_thresh < occupied_thresh <= 1, got "
            f"free_thresh={free_thresh!r}, occupied_thresh={occupied_thresh!r}"
        )
    origin = doc["origin"]
    if (
        not isinstance(origin, (list, tuple))
        or len(origin) != 3
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in origin)
        or not all(math.isfinite(v) for v in origin)
    ):
        raise MapError(
            f"map file {yaml_path}: 'origin' must be [x, y, yaw] (finite), got {origin!r}"
        )
    negate = doc.get("negate", 0)
    if negate not in (0, 1) or isinstance(negate, float):  # True/False compare equal to 1/0
        raise MapError(f"map file {yaml_path}: 'negate' must be 0 or 1, got {negate!r}")
    mode = doc.get("mode", "trinary")
    if mode not in _MODES:
        raise MapError(f"map file {yaml_path}: 'mode' {mode!r} is not supported (use {_MODES})")
    image = doc["image"]
    if not isinstance(image, str) or not image.strip():
        raise MapError(f"map file {yaml_path}: 'image' must be a file name, got {image!r}")
    image_path = Path(image) if Path(image).is_absolute() else yaml_path.parent / image

    pixels, maxval = read_pgm(image_path)
    shade = pixels.astype(np.float64) / float(maxval)
    occ = shade if negate else 1.0 - shade
    data = occupancy_from_probability(occ, occupied_thresh, free_thresh, mode)
    return OccupancyMap(
        data=np.flipud(data).copy(),  # image row 0 is the top of the map; grid row 0 the bottom
        resolution_m=resolution,
        origin_x_m=float(origin[0]),
        origin_y_m=float(origin[1]),
        origin_yaw_rad=float(origin[2]),
    )


def occupancy_from_probability(
    occ: np.ndarray, occupied_thresh: float, free_thresh: float, mode: str = "trinary"
) -> np.ndarray:
    """Cell values (int8) from occupancy probabilities in [0, 1], as map_server does."""
    out = np.full(occ.shape, UNKNOWN, dtype=np.int8)
    occupied = occ > occupied_thresh
    free = occ < free_thresh
    out[occupied] = OCCUPIED
    out[free] = FREE
    if mode == "scale":
        between = ~occupied & ~free
        scaled = np.rint(100.0 * (occ - free_thresh) / (occupied_thresh - free_thresh))
        out[between] = np.clip(scaled[between], FREE, OCCUPIED).astype(np.int8)
    elif mode != "trinary":
        raise MapError(f"mode {mode!r} is not supported (use {_MODES})")
    return out


def read_pgm(path: str | Path) -> tuple[np.ndarray, int]:
    """Pixels (uint16 array, image row 0 at the top) and maxval of a P5 or P2 PGM file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MapError(f"cannot read map image {path}: {exc.strerror or exc}") from exc
    magic = raw[:2]
    if magic not in (b"P5", b"P2"):
        raise MapError(
            f"map image {path} is not a PGM file (magic {magic!r}; only P5/P2 PGM is supported)"
        )
    # Header: magic, width, height, maxval, separated by whitespace; '#' starts a comment.
    pos = 2
    fields: list[int] = []
    while len(fields) < 3:
        while pos < len(raw) and raw[pos : pos + 1].isspace():
            pos += 1
        if pos < len(raw) and raw[pos : pos + 1] == b"#":
            end = raw.find(b"\n", pos)
            pos = len(raw) if end < 0 else end + 1
            continue
        start = pos
        while pos < len(raw) and raw[pos : pos + 1].isdigit():
            pos += 1
        if start == pos:
            raise MapError(f"map image {path}: truncated or malformed PGM header")
        fields.append(int(raw[start:pos]))
    width, height, maxval = fields
    if width < 1 or height < 1:
        raise MapError(f"map image {path}: size {width}x{height} is empty")
    if not 1 <= maxval <= 65535:
        raise MapError(f"map image {path}: maxval {maxval} is outside 1..65535")
    count = width * height
    if magic == b"P5":
        if pos >= len(raw) or not raw[pos : pos + 1].isspace():
            raise MapError(f"map image {path}: truncated or malformed PGM header")
        body = raw[pos + 1 :]
        dtype = np.dtype(">u2") if maxval > 255 else np.dtype(np.uint8)
        expected = count * dtype.itemsize
        if len(body) != expected:
            raise MapError(
                f"map image {path}: {width}x{height} pixels need {expected} bytes of data, "
                f"found {len(body)} ({'truncated' if len(body) < expected else 'extra data'})"
            )
        pixels = np.frombuffer(body, dtype=dtype).astype(np.uint16)
    else:
        tokens = _ascii_tokens(raw[pos:])
        if len(tokens) != count:
            raise MapError(
                f"map image {path}: {width}x{height} pixels expected, found {len(tokens)} values"
            )
        try:
            values = np.array([int(t) for t in tokens], dtype=np.int64)
        except ValueError as exc:
            raise MapError(f"map image {path}: non-numeric pixel value") from exc
        if np.any((values < 0) | (values > maxval)):
            raise MapError(f"map image {path}: pixel value outside 0..maxval ({maxval})")
        pixels = values.astype(np.uint16)
    if np.any(pixels > maxval):
        raise MapError(f"map image {path}: pixel value above maxval {maxval}")
    return pixels.reshape(height, width), maxval


def _ascii_tokens(body: bytes) -> list[bytes]:
    tokens: list[bytes] = []
    for line in body.split(b"\n"):
        tokens.extend(line.split(b"#", 1)[0].split())
    return tokens


def write_pgm(path: str | Path, pixels: np.ndarray, maxval: int = 255) -> None:
    """Write a binary (P5) PGM; ``pixels`` has image row 0 at the top. For tests and tools."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 2:
        raise ValueError("pixels must be a 2-D array")
    dtype = np.dtype(">u2") if maxval > 255 else np.dtype(np.uint8)
    header = f"P5\n{pixels.shape[1]} {pixels.shape[0]}\n{maxval}\n".encode()
    Path(path).write_bytes(header + pixels.astype(dtype).tobytes())
