"""Deterministic procedural textures for the MuJoCo home (numpy + OpenCV drawing, ROS-free).

V-SLAM needs real image features, so every surface carries structure at the scales a robot's
camera sees from 0.3 to 4 m: walls have mottled plaster, skirting boards, sockets, switches,
picture frames and posters; floors have planks or tiles with dark joints; furniture has wood
grain, woven fabric with plaid, book spines; rugs have borders and motifs.

Names
    A texture is named ``"<base>"`` or ``"<base>:<variant>"`` (``"plaster:3"``). ``base`` is
    one of ``TEXTURE_NAMES``; the variant (an integer >= 0) changes the seed, colours and
    layout (a different poster on each wall). ``variant_for(base, key)`` picks a variant from
    an element's name, so that walls of the same texture still look different.

Determinism
    The image depends only on the name, the size and ``TEXTURE_VERSION``: the random
    generator is seeded with a CRC-32 of ``"hearth-texture/<version>/<name>"``.

Scale
    ``tile_size_m(name)`` is the area one image covers (metres, width x height), used to set
    a material's ``texrepeat`` so that bricks, planks and posters have their real size.
    ``None`` means the image covers its object once (a rug, a door leaf).

Orientation
    Image row 0 is the top of a vertical surface (``z`` up) and, for floor textures, the +y
    end of a tile. Colours are RGB.

Delivery
    ``TextureAssets`` hands PNG bytes to ``mujoco.MjModel.from_xml_string(xml, assets)``
    (MuJoCo 4 reads in-memory PNG assets), caching each PNG on disk (default
    ``$XDG_CACHE_HOME/hearth/textures/v<TEXTURE_VERSION>/``, else ``~/.cache/...``; override
    with ``$HEARTH_TEXTURE_CACHE``) so that later builds skip the generation. Files are
    written atomically (a temporary file in the same directory, then ``os.replace``).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

TEXTURE_VERSION = 1

# base name -> (default image size (w, h) px, tile size (w, h) m or None, variants)
_SPECS: dict[str, tuple[tuple[int, int], tuple[float, float] | None, int]] = {
    "plaster": ((512, 512), (2.5, 2.5), 8),  # painted wall, frames, posters, sockets (anchored)
    "wallpaper": ((256, 256), (0.75, 0.75), 4),  # repeating printed motifs
    "brick": ((256, 256), (1.0, 1.0), 3),
    "concrete": ((256, 256), (1.5, 1.5), 2),
    "ceiling": ((256, 256), (2.0, 2.0), 1),
    "floorboards": ((512, 512), (1.6, 1.6), 3),
    "tiles": ((256, 256), (1.2, 1.2), 3),
    "carpet": ((256, 256), (1.0, 1.0), 3),
    "wood": ((256, 256), (1.0, 1.0), 4),  # furniture wood, grain along x
    "fabric": ((256, 256), (0.6, 0.6), 6),  # woven upholstery with plaid
    "leather": ((256, 256), (0.8, 0.8), 2),
    "metal": ((256, 256), (1.0, 1.0), 2),  # brushed appliance metal
    "books": ((256, 256), (1.0, 1.0), 3),  # a bookshelf's spines, shelves 1/3 m apart
    "door": ((256, 512), None, 4),  # a door leaf: two panels and a handle, once per door
    "rug": ((512, 512), None, 6),  # a whole rug: border, field, medallion
    "cardboard": ((256, 256), None, 3),  # a moving box's face: tape, print, once per face
    "clothing": ((128, 128), (0.4, 0.4), 8),  # people's clothes
}

TEXTURE_NAMES: tuple[str, ...] = tuple(_SPECS)

# Wall textures drawn for a whole wall, floor (skirting board) to ceiling: a wall's full height
# maps onto the whole image, and a piece that is only part of the wall's height (below a
# window) shows the matching rows (``TextureAssets.file(name, rows=...)``).
ANCHORED_WALL_TEXTURES: frozenset[str] = frozenset({"plaster"})


# ---------------------------------------------------------------------------- names


def parse_texture_name(name: str) -> tuple[str, int | None]:
    """``"plaster:3"`` -> ``("plaster", 3)``; ``"plaster"`` -> ``("plaster", None)``.
    Raises ``ValueError`` naming the known textures when ``name`` is not one."""
    base, sep, variant = str(name).partition(":")
    if base not in _SPECS:
        raise ValueError(f"unknown texture '{name}': known are {', '.join(TEXTURE_NAMES)}")
    if not sep:
        return base, None
    if not variant.isdigit():
        raise ValueError(f"texture '{name}': the variant after ':' must be an integer >= 0")
    return base, int(variant)


def is_texture_name(name: str) -> bool:
    """Whether ``name`` names a texture (``"plaster"``, ``"rug:2"``)."""
    try:
        parse_texture_name(name)
    except ValueError:
        return False
    return True


def variant_for(name: str, key: str) -> str:
    """The texture ``name`` with a variant: kept if ``name`` has one, else chosen from
    ``key`` (an element's name), deterministic."""
    base, variant = parse_texture_name(name)
    if variant is None:
        variant = zlib.crc32(key.encode()) % _SPECS[base][2]
    return f"{base}:{variant}"


def tile_size_m(name: str) -> tuple[float, float] | None:
    """The (width, height) in metres that one image covers, or None for textures that cover
    their object once (rug, door)."""
    return _SPECS[parse_texture_name(name)[0]][1]


def _canonical(name: str) -> str:
    base, variant = parse_texture_name(name)
    return f"{base}:{variant or 0}"


# ---------------------------------------------------------------------------- helpers


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"hearth-texture/{TEXTURE_VERSION}/{name}".encode()))


def _noise(rng: np.random.Generator, h: int, w: int, beta: float = 2.0,
           stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Periodic (tileable) 1/f^beta noise, zero mean, unit std; ``stretch`` (sx, sy) > 1
    makes features longer along that axis (wood grain)."""
    white = rng.standard_normal((h, w))
    fy = np.fft.fftfreq(h)[:, None] * stretch[1]
    fx = np.fft.rfftfreq(w)[None, :] * stretch[0]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spec = np.fft.rfft2(white) / f ** (beta / 2.0)
    spec[0, 0] = 0.0
    n = np.fft.irfft2(spec, s=(h, w))
    return (n - n.mean()) / (n.std() + 1e-12)


def _rgb(hexcode: str) -> np.ndarray:
    return np.array([int(hexcode[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float32) / 255.0


def _pick(rng: np.random.Generator, palette: list[str]) -> np.ndarray:
    return _rgb(palette[int(rng.integers(len(palette)))])


def _jitter(rng: np.random.Generator, color: np.ndarray, amount: float) -> np.ndarray:
    return np.clip(color * (1.0 + amount * rng.uniform(-1.0, 1.0, 3)), 0.0, 1.0)


def _shade(img: np.ndarray, field: np.ndarray, amount: float) -> np.ndarray:
    return img * (1.0 + amount * field[..., None])


def _tuple(color: np.ndarray) -> tuple[float, float, float]:
    return (float(color[0]), float(color[1]), float(color[2]))


def _rect(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, color: np.ndarray,
          thickness: int = -1) -> None:
    cv2.rectangle(img, (int(x0), int(y0)), (int(x1), int(y1)), _tuple(color), thickness)


_BRIGHT = ["#c0392b", "#2e86c1", "#f1c40f", "#27ae60", "#8e44ad", "#e67e22", "#16a085",
           "#2c3e50", "#d35400", "#7f8c8d", "#f5b7b1", "#1abc9c", "#34495e", "#ecf0f1"]
_WALL = ["#ece6da", "#dfe7ea", "#e4e9dc", "#efe3d3", "#dcdcdc", "#f1ede4", "#e6dccb",
         "#d9e2d5"]
_WOOD = ["#8b5a2b", "#a0703c", "#6f4a2a", "#b8875a", "#5d3a1a", "#c49a6c"]
_FABRIC = ["#4a5d7e", "#7b3f3f", "#5b6e4a", "#8c7b6a", "#3f4a4f", "#a5876a", "#6a4f7b"]


# ---------------------------------------------------------------------------- artwork


def _artwork(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A picture or poster: abstract regions, geometry, a landscape or a text poster."""
    kind = int(rng.integers(4))
    colors = [_pick(rng, _BRIGHT) for _ in range(5)]
    if kind == 0:  # abstract: noise quantized into colour regions
        n = _noise(rng, h, w, beta=3.0)
        levels = np.digitize(n, np.quantile(n, [0.2, 0.4, 0.6, 0.8]))
        img = np.stack(colors)[levels].astype(np.float32)
    elif kind == 1:  # geometry: rectangles and circles
        img = np.empty((h, w, 3), np.float32)
        img[:] = colors[0]
        for _ in range(int(rng.integers(6, 12))):
            c = colors[int(rng.integers(1, 5))]
            x, y = int(rng.integers(w)), int(rng.integers(h))
            if rng.random() < 0.5:
                _rect(img, x, y, x + int(rng.integers(4, w // 2)), y + int(rng.integers(4, h // 2)),
                      c)
            else:
                cv2.circle(img, (x, y), int(rng.integers(3, max(4, min(h, w) // 3))), _tuple(c),
                           -1)
    elif kind == 2:  # landscape: sky, sun, hills, lake
        img = np.empty((h, w, 3), np.float32)
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        img[:] = (1 - t) * _rgb("#6fa8dc") + t * _rgb("#f6e3b4")
        cv2.circle(img, (int(rng.integers(w)), int(h * rng.uniform(0.1, 0.4))),
                   max(2, h // 10), _tuple(_rgb("#fff2a8")), -1)
        for k, col in enumerate(("#5b7553", "#3e5641", "#6b8f71")):
            prof = _noise(rng, 1, w, beta=2.5)[0]
            top = (h * (0.35 + 0.15 * k) + prof * h * 0.08).astype(int)
            rows = np.arange(h)[:, None]
            img[rows >= top[None, :]] = _rgb(col)
        img[int(h * 0.85):] = _rgb("#4a78a8")
    else:  # text poster: a title and lines of "text"
        img = np.empty((h, w, 3), np.float32)
        img[:] = colors[0]
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        title = "".join(letters[int(i)] for i in rng.integers(len(letters), size=4))
        scale = max(0.3, w / 160.0)
        mask = np.zeros((h, w), np.uint8)  # OpenCV draws text on 8-bit images only
        cv2.putText(mask, title, (max(1, w // 12), max(8, h // 4)), cv2.FONT_HERSHEY_DUPLEX,
                    scale, 255, max(1, int(scale * 2)))
        img[mask > 127] = colors[1]
        y = h // 3
        while y < h - 4:
            x = w // 12
            while x < w - w // 12:
                ww = int(rng.integers(3, max(4, w // 6)))
                _rect(img, x, y, min(x + ww, w - w // 12), y + max(1, h // 40), colors[2])
                x += ww + max(2, w // 30)
            y += max(4, h // 14)
    return np.clip(img, 0.0, 1.0)


def _place(rng: np.random.Generator, taken: list[tuple[int, int, int, int]], w: int,
           x_range: tuple[int, int], y_range: tuple[int, int], size: tuple[int, int],
           tries: int = 30) -> tuple[int, int] | None:
    """A top-left corner for a ``size`` (w, h) item within the ranges that overlaps no
    ``taken`` rectangle (x may wrap around the tile's width)."""
    sw, sh = size
    for _ in range(tries):
        x = int(rng.integers(x_range[0], max(x_range[0] + 1, x_range[1] - sw)))
        y = int(rng.integers(y_range[0], max(y_range[0] + 1, y_range[1] - sh)))
        ok = all(x + sw + 6 < tx or tx + tw + 6 < x or y + sh + 6 < ty or ty + th + 6 < y
                 for tx, ty, tw, th in taken)
        if ok and x + sw < w:
            taken.append((x, y, sw, sh))
            return x, y
    return None


# ---------------------------------------------------------------------------- generators


def _plaster(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    th = _SPECS["plaster"][1][1]  # type: ignore[index]
    ppm = h / th  # pixels per metre

    def row(z_m: float) -> int:  # image row of a height above the floor
        return round(h - 1 - z_m * ppm)

    base = _pick(rng, _WALL)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    img = _shade(img, _noise(rng, h, w, beta=2.6), 0.05)  # mottling, patches of paint
    img = _shade(img, _noise(rng, h, w, beta=0.6), 0.02)  # grain of the surface
    # skirting board: 8 cm, with a shadowed top edge
    skirt = _pick(rng, ["#f4f4f0", "#5d3a1a", "#8b5a2b", "#d8d2c4"])
    img[row(0.08):] = skirt
    img[row(0.08):row(0.08) + 2] = skirt * 0.55
    taken: list[tuple[int, int, int, int]] = [(0, row(0.12), w, h - row(0.12))]
    # sockets near the floor, a switch at hand height
    for _ in range(int(rng.integers(1, 3))):
        s = int(0.08 * ppm)
        pos = _place(rng, taken, w, (0, w), (row(0.35), row(0.2)), (s, s))
        if pos:
            x, y = pos
            _rect(img, x, y, x + s, y + s, _rgb("#f8f8f6"))
            _rect(img, x, y, x + s, y + s, _rgb("#9a9a96"), 1)
            for dx in (s // 3, 2 * s // 3):
                cv2.circle(img, (x + dx, y + s // 2), max(1, s // 10), _tuple(_rgb("#303030")),
                           -1)
    s = int(0.085 * ppm)
    pos = _place(rng, taken, w, (0, w), (row(1.15), row(1.0)), (s, int(s * 1.3)))
    if pos:
        x, y = pos
        _rect(img, x, y, x + s, y + int(s * 1.3), _rgb("#f6f6f2"))
        _rect(img, x + s // 3, y + s // 3, x + 2 * s // 3, y + s, _rgb("#c8c8c0"))
    # framed pictures and posters between 0.45 m and 2.1 m
    for _ in range(int(rng.integers(3, 6))):
        fw = int(rng.uniform(0.3, 0.9) * ppm)
        fh = int(rng.uniform(0.3, 0.8) * ppm)
        pos = _place(rng, taken, w, (4, w - 4), (row(2.15), row(0.45)), (fw, fh))
        if pos is None:
            continue
        x, y = pos
        framed = rng.random() < 0.7
        border = int(rng.uniform(0.02, 0.05) * ppm) if framed else 0
        # a soft shadow below-right of the frame: the picture stands off the wall
        _rect(img, x + 3, y + 3, x + fw + 3, y + fh + 3, base * 0.7)
        if framed:
            frame = _pick(rng, ["#2b2b2b", "#6f4a2a", "#c9a227", "#f0f0f0", "#8b5a2b"])
            _rect(img, x, y, x + fw, y + fh, frame)
            mat = border + (int(0.03 * ppm) if rng.random() < 0.5 else 0)
            if mat > border:
                _rect(img, x + border, y + border, x + fw - border, y + fh - border,
                      _rgb("#f7f3ea"))
        else:
            mat = 0
        iw, ih = fw - 2 * mat, fh - 2 * mat
        if iw > 4 and ih > 4:
            img[y + mat:y + mat + ih, x + mat:x + mat + iw] = _artwork(rng, ih, iw)
    return img


def _wallpaper(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = _pick(rng, _WALL)
    ink = _pick(rng, ["#7a8b6f", "#8c6d62", "#5f7a8c", "#a08c5b"])
    stripes = np.sin(np.arange(w) / w * 2 * math.pi * 8)[None, :] > 0.85
    img[np.broadcast_to(stripes, (h, w))] *= 0.93
    n = 4
    cell = w // n
    for i in range(n):
        for j in range(n):
            cx = i * cell + cell // 2 + (cell // 2 if j % 2 else 0)
            cy = j * (h // n) + h // (2 * n)
            for k in range(6):  # a six-petal flower, petals as ellipses
                a = k * 60 + 15 * (j % 2)
                cv2.ellipse(img, (cx % w, cy), (cell // 5, cell // 12), a, 0, 360,
                            _tuple(ink), -1)
            cv2.circle(img, (cx % w, cy), cell // 14, _tuple(ink * 0.6), -1)
    return _shade(img, _noise(rng, h, w, beta=1.0), 0.02)


def _brick(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    mortar = _rgb("#bdb6a8")
    img = np.empty((h, w, 3), np.float32)
    img[:] = mortar
    rows = 14
    bh = h / rows
    per_row = 4
    bw = w / per_row
    base = _pick(rng, ["#9c4a33", "#a65d3f", "#8a3b2a", "#b0714e"])
    for r in range(rows):
        off = (bw / 2) * (r % 2)
        for k in range(per_row + 1):
            x0 = int(k * bw + off) + 2
            x1 = int((k + 1) * bw + off) - 2
            y0 = int(r * bh) + 2
            y1 = int((r + 1) * bh) - 2
            c = _jitter(rng, base, 0.18)
            for xs in ((x0, x1), (x0 - w, x1 - w)):  # wrap around the tile
                _rect(img, xs[0], y0, xs[1], y1, c)
    return np.clip(_shade(img, _noise(rng, h, w, beta=1.2), 0.08), 0, 1)


def _concrete(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = _pick(rng, ["#9e9e9a", "#b3afa6"])
    img = _shade(img, _noise(rng, h, w, beta=2.2), 0.07)
    img = _shade(img, _noise(rng, h, w, beta=0.3), 0.05)
    pores = rng.random((h, w)) < 0.004
    img[pores] *= 0.5
    return img


def _ceiling(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = _rgb("#f2f1ec")
    return _shade(img, _noise(rng, h, w, beta=2.0), 0.03)


def _grain(rng: np.random.Generator, w: int, h: int, color: np.ndarray,
           vertical: bool = False) -> np.ndarray:
    """Wood: stretched noise for the grain, a warped sine for the growth rings."""
    stretch = (1.0, 12.0) if vertical else (12.0, 1.0)
    long = _noise(rng, h, w, beta=2.0, stretch=stretch)
    fine = _noise(rng, h, w, beta=1.0, stretch=stretch)
    coord = (np.arange(w)[None, :] if vertical else np.arange(h)[:, None]).astype(np.float32)
    period = len(coord.ravel()) if vertical else h
    rings = np.sin(2 * math.pi * (coord / period * rng.uniform(6, 12)) + 2.5 * long)
    img = np.empty((h, w, 3), np.float32)
    img[:] = color
    return _shade(_shade(img, rings, 0.10), fine, 0.05)


def _wood(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    return np.clip(_grain(rng, w, h, _pick(rng, _WOOD)), 0, 1)


def _floorboards(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    rows = 10  # 0.16 m planks on a 1.6 m tile
    ph = h // rows
    base = _pick(rng, _WOOD)
    img = np.empty((h, w, 3), np.float32)
    grain = _grain(rng, w, h, np.ones(3, np.float32))
    for r in range(rows):
        y0, y1 = r * ph, (r + 1) * ph if r < rows - 1 else h
        x0 = x = int(rng.integers(w))
        while x < x0 + w:  # planks 0.6 to 1.4 m long along the row, wrapping around
            length = min(int(rng.uniform(0.375, 0.875) * w), x0 + w - x)
            c = _jitter(rng, base, 0.15)
            xs = np.arange(x, x + length) % w
            img[y0:y1, xs] = c
            img[y0:y1, xs[0]] = c * 0.35  # the joint at the plank's end
            x += length
        img[y0] = base * 0.3  # the gap between rows
        # a knot or two
        for _ in range(int(rng.integers(0, 2))):
            cv2.ellipse(img, (int(rng.integers(w)), (y0 + y1) // 2),
                        (int(ph * 0.5), max(2, int(ph * 0.2))), 0, 0, 360,
                        _tuple(base * 0.6), -1)
    img *= grain
    return np.clip(img, 0, 1)


def _tiles(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    n = 4  # 0.3 m tiles on a 1.2 m tile
    grout = _rgb("#8f8a80")
    img = np.empty((h, w, 3), np.float32)
    img[:] = grout
    a = _pick(rng, ["#e8e4da", "#d9d4c5", "#c7d3d9", "#b5a48a", "#f2f2f2"])
    b = _pick(rng, ["#5b6770", "#a58c6f", "#3a3f44", "#e8e4da"])
    checker = rng.random() < 0.5
    for i in range(n):
        for j in range(n):
            c = b if checker and (i + j) % 2 else a
            c = _jitter(rng, c, 0.05)
            _rect(img, i * w // n + 2, j * h // n + 2, (i + 1) * w // n - 3, (j + 1) * h // n - 3,
                  c)
    img = _shade(img, _noise(rng, h, w, beta=1.8), 0.06)
    speck = rng.random((h, w)) < 0.01
    img[speck] *= 0.8
    return np.clip(img, 0, 1)


def _carpet(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = _pick(rng, ["#7c7468", "#5d6b73", "#8a7a64"])
    img = _shade(img, _noise(rng, h, w, beta=0.2), 0.12)
    return np.clip(_shade(img, _noise(rng, h, w, beta=2.5), 0.08), 0, 1)


def _fabric(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    base = _pick(rng, _FABRIC)
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    weave = np.sin(xx * math.pi / 2) * np.sin(yy * math.pi / 2)  # 4 px weave
    img = _shade(img, weave, 0.08)
    # plaid: bands every 1/4 of the tile (15 cm), visible from metres away
    stripe = _pick(rng, ["#d9c9a3", "#2b2b2b", "#b03a2e", "#e8e8e8"])
    period = w // 4
    wdt = max(2, period // 6)
    band_x = (xx % period) < wdt
    band_y = (yy % period) < wdt
    img[band_x | band_y] = 0.6 * img[band_x | band_y] + 0.4 * stripe
    img[band_x & band_y] = stripe
    return np.clip(_shade(img, _noise(rng, h, w, beta=2.0), 0.05), 0, 1)


def _leather(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = _pick(rng, ["#4a2c1a", "#2a2422", "#7a4a2a"])
    cells = _noise(rng, h, w, beta=1.5)
    img = _shade(img, np.abs(cells) < 0.15, -0.25)
    # stitched seams, 0.2 m apart
    for k in range(4):
        y = k * h // 4
        img[y:y + 2] *= 0.6
        img[y + 5:y + 6, ::6] = _rgb("#d9c9a3")
    return np.clip(_shade(img, _noise(rng, h, w, beta=2.5), 0.1), 0, 1)


def _metal(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = _pick(rng, ["#c8cacc", "#e8e8e6"])
    img = _shade(img, _noise(rng, h, w, beta=1.0, stretch=(40.0, 1.0)), 0.05)
    # panel seams and a handle: an appliance front
    img[h // 3:h // 3 + 2] *= 0.5
    _rect(img, w // 10, h // 3 + 8, w // 10 + 6, h // 3 + h // 4, _rgb("#3a3a3a"))
    return np.clip(img, 0, 1)


def _books(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    shelves = 3
    sh = h // shelves
    board = _pick(rng, _WOOD)
    img = np.empty((h, w, 3), np.float32)
    img[:] = board * 0.35  # the back of the shelf, in shadow
    for s in range(shelves):
        y_bottom = (s + 1) * sh - 6
        x = 0
        while x < w:
            bw = int(rng.integers(5, 14))  # 2 to 5 cm spines
            bh = int(sh * rng.uniform(0.55, 0.9))
            c = _pick(rng, _BRIGHT + _FABRIC)
            if rng.random() < 0.08:  # a gap
                x += bw
                continue
            _rect(img, x, y_bottom - bh, min(x + bw - 1, w - 1), y_bottom, c)
            for k in range(int(rng.integers(1, 3))):  # title bands
                yb = y_bottom - int(bh * rng.uniform(0.2, 0.8))
                _rect(img, x + 1, yb, min(x + bw - 2, w - 1), yb + 2, c * 0.4 + 0.6 * k)
            x += bw
        img[(s + 1) * sh - 6:(s + 1) * sh] = board  # the shelf board
    return np.clip(_shade(img, _noise(rng, h, w, beta=1.0), 0.04), 0, 1)


def _door(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    color = _pick(rng, [*_WOOD, "#f2f0ea", "#e6e2d8"])
    img = _grain(rng, w, h, color, vertical=True)
    mx = w // 7
    for y0, y1 in ((h // 12, h // 2 - h // 24), (h // 2 + h // 24, h - h // 12)):
        _rect(img, mx, y0, w - mx, y1, color * 0.72, 3)  # panel groove
        _rect(img, mx + 6, y0 + 6, w - mx - 6, y1 - 6, color * 1.12, 2)  # raised edge
    # handle at 1.0 m of a 2.0 m leaf, near the edge
    cy = h // 2
    cv2.circle(img, (w - w // 9, cy), max(3, w // 28), _tuple(_rgb("#b8b8b0")), -1)
    _rect(img, w - w // 9 - w // 8, cy - 3, w - w // 9, cy + 3, _rgb("#9a9a92"))
    cv2.circle(img, (w - w // 9, cy + h // 30), max(2, w // 60), _tuple(_rgb("#202020")), -1)
    return np.clip(img, 0, 1)


def _rug(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    pal = [_pick(rng, ["#8e2c2c", "#2c3e6e", "#3d5a40", "#6e4a2c", "#d8c8a8"]),
           _pick(rng, ["#e8d8b0", "#c9a227", "#f0e6d2", "#b05a3a"]),
           _pick(rng, ["#1f2a44", "#5a1f1f", "#2f2f2f", "#5d7a8c"])]
    img = np.empty((h, w, 3), np.float32)
    img[:] = pal[0]
    # border bands
    for k, frac in enumerate((0.02, 0.06, 0.10)):
        m = int(frac * min(w, h))
        _rect(img, m, m, w - m, h - m, pal[(k + 1) % 3], max(2, int(0.02 * min(w, h))))
    # field: a grid of small motifs
    motif = pal[1]
    step = int(rng.integers(24, 40))
    for y in range(int(0.16 * h), int(0.84 * h), step):
        for x in range(int(0.16 * w), int(0.84 * w), step):
            pts = np.array([[x, y - step // 4], [x + step // 4, y], [x, y + step // 4],
                            [x - step // 4, y]], np.int32)
            cv2.fillConvexPoly(img, pts, _tuple(motif if (x // step + y // step) % 2 else pal[2]))
    # central medallion: concentric diamonds
    cx, cy = w // 2, h // 2
    for k, r in enumerate(np.linspace(min(w, h) * 0.28, min(w, h) * 0.06, 5)):
        r = int(r)
        pts = np.array([[cx, cy - r], [cx + r, cy], [cx, cy + r], [cx - r, cy]], np.int32)
        cv2.fillConvexPoly(img, pts, _tuple(pal[k % 3]))
    img = _shade(img, _noise(rng, h, w, beta=0.3), 0.06)  # the pile
    return np.clip(_shade(img, _noise(rng, h, w, beta=2.5), 0.05), 0, 1)


def _cardboard(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    base = _pick(rng, ["#b08d5b", "#a47c4a", "#c29f6d"])
    img = _grain(rng, w, h, base)  # corrugation shows through as faint stripes
    img = _shade(img, _noise(rng, h, w, beta=2.0), 0.05)
    tape = _pick(rng, ["#c8a96a", "#d9d2c0", "#8b6b3a"])
    _rect(img, 0, int(h * 0.42), w - 1, int(h * 0.58), tape)  # the tape across the flaps
    ink = _rgb("#2a2a2a")
    x, y = int(w * rng.uniform(0.1, 0.5)), int(h * rng.uniform(0.65, 0.8))
    mask = np.zeros((h, w), np.uint8)  # a printed label and arrows
    cv2.putText(mask, "THIS SIDE UP", (x // 2, y), cv2.FONT_HERSHEY_SIMPLEX, w / 640.0, 255,
                max(1, w // 200))
    for k in range(2):
        ax = int(w * (0.15 + 0.6 * k))
        cv2.arrowedLine(mask, (ax, int(h * 0.35)), (ax, int(h * 0.12)), 255, max(2, w // 80),
                        tipLength=0.35)
    img[mask > 127] = ink
    return np.clip(img, 0, 1)


def _clothing(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    base = _pick(rng, [*_BRIGHT, *_FABRIC])
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    kind = int(rng.integers(3))
    yy, xx = np.mgrid[0:h, 0:w]
    if kind == 0:  # stripes
        img[(yy // max(2, h // 10)) % 2 == 0] = _pick(rng, _BRIGHT)
    elif kind == 1:  # checks
        img[((yy // (h // 6)) + (xx // (w // 6))) % 2 == 0] *= 0.7
    return np.clip(_shade(img, _noise(rng, h, w, beta=1.0), 0.06), 0, 1)


_GENERATORS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "plaster": _plaster, "wallpaper": _wallpaper, "brick": _brick, "concrete": _concrete,
    "ceiling": _ceiling, "floorboards": _floorboards, "tiles": _tiles, "carpet": _carpet,
    "wood": _wood, "fabric": _fabric, "leather": _leather, "metal": _metal, "books": _books,
    "door": _door, "rug": _rug, "cardboard": _cardboard, "clothing": _clothing,
}


# ---------------------------------------------------------------------------- public


def texture_rgb(name: str, size_px: tuple[int, int] | None = None) -> np.ndarray:
    """The texture ``name`` as an RGB image (H, W, 3) uint8, deterministic. ``size_px`` (w, h)
    overrides the default size (the layout is drawn at that size, in the same proportions)."""
    base, _ = parse_texture_name(name)
    w, h = size_px or _SPECS[base][0]
    img = _GENERATORS[base](_rng(_canonical(name)), int(w), int(h))
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def texture_png(name: str, size_px: tuple[int, int] | None = None) -> bytes:
    """The texture ``name`` encoded as PNG bytes."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(texture_rgb(name, size_px), cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"PNG encoding of texture '{name}' failed")
    return buf.tobytes()


def default_cache_dir() -> Path:
    """Where PNGs are cached: ``$HEARTH_TEXTURE_CACHE``, else
    ``$XDG_CACHE_HOME/hearth/textures/v<TEXTURE_VERSION>`` (``~/.cache`` by default)."""
    env = os.environ.get("HEARTH_TEXTURE_CACHE")
    if env:
        return Path(env)
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "hearth" / "textures" / f"v{TEXTURE_VERSION}"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class TextureAssets:
    """The textures one MuJoCo model uses, as in-memory PNG assets.

    ``file(name)`` registers a texture and returns its asset file name (for
    ``<texture file="...">``); ``assets()`` gives ``{file name: PNG bytes}`` for
    ``MjModel.from_xml_string(xml, assets=...)``. PNGs are read from / written to
    ``cache_dir`` (``default_cache_dir()`` when None; no disk cache when ``False``)."""

    def __init__(self, cache_dir: Path | str | bool | None = None):
        if cache_dir is False:
            self.cache_dir: Path | None = None
        elif cache_dir is None or cache_dir is True:
            self.cache_dir = default_cache_dir()
        else:
            self.cache_dir = Path(cache_dir)
        self._files: dict[tuple[str, tuple[float, float] | None], str] = {}
        self._bytes: dict[str, bytes] = {}

    @staticmethod
    def file_name(name: str, rows: tuple[float, float] | None = None) -> str:
        stem = "hearth_" + _canonical(name).replace(":", "_")
        if rows is not None:
            stem += f"_rows{rows[0]:.2f}-{rows[1]:.2f}"
        return stem + ".png"

    def file(self, name: str, rows: tuple[float, float] | None = None) -> str:
        """Register texture ``name`` and return its asset file name. ``rows`` (top, bottom)
        as fractions of the image height (rounded to 0.01) keeps only those rows: the part
        of an anchored wall texture that a partial-height wall piece shows."""
        canonical = _canonical(name)
        if rows is not None:
            r0 = min(max(round(float(rows[0]), 2), 0.0), 0.99)
            r1 = min(max(round(float(rows[1]), 2), r0 + 0.01), 1.0)
            rows = None if (r0, r1) == (0.0, 1.0) else (r0, r1)
        key = (canonical, rows)
        if key not in self._files:
            fname = self.file_name(canonical, rows)
            self._bytes[fname] = self._load(canonical, rows, fname)
            self._files[key] = fname
        return self._files[key]

    @staticmethod
    def _make(canonical: str, rows: tuple[float, float] | None) -> bytes:
        if rows is None:
            return texture_png(canonical)
        img = texture_rgb(canonical)
        h = img.shape[0]
        top = round(rows[0] * h)
        crop = img[top:max(round(rows[1] * h), top + 1)]
        ok, buf = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError(f"PNG encoding of texture '{canonical}' failed")
        return buf.tobytes()

    def _load(self, canonical: str, rows: tuple[float, float] | None, fname: str) -> bytes:
        if self.cache_dir is None:
            return self._make(canonical, rows)
        path = self.cache_dir / fname
        try:
            data = path.read_bytes()
            if data.startswith(b"\x89PNG"):
                return data
        except OSError:
            pass
        data = self._make(canonical, rows)
        # a read-only cache is no reason to fail: the bytes are in memory
        with contextlib.suppress(OSError):
            _write_atomic(path, data)
        return data

    def names(self) -> list[str]:
        """The canonical texture names registered so far, in order."""
        return list(dict.fromkeys(name for name, _ in self._files))

    def assets(self) -> dict[str, bytes]:
        """``{file name: PNG bytes}`` of every registered texture."""
        return dict(self._bytes)
