"""Writes maps/studio: a small two-room studio in map_server format (deterministic).

8 x 6 m at 0.05 m per cell: walls 0.1 m thick along the border, and one interior wall at
x = 5 m (from the left edge) with a 0.9 m doorway in its middle. The map's origin is chosen
so that the world frame's origin is the middle of the larger room, facing the doorway 2.5 m
ahead: the sim starts the robot there (config/sim.yaml), and the world frame is the map frame.

Usage: ``python -m hearth_sim.make_studio_map [--out DIR]`` (default: the workspace's
maps/studio, under $HEARTH_WS when set). Each file is written to a temporary file and
renamed, so a reader never sees half a map.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

RESOLUTION_M = 0.05
WIDTH_CELLS, HEIGHT_CELLS = 160, 120  # 8 x 6 m
WALL_CELLS = 2  # 0.1 m
INTERIOR_WALL_COLUMN = 100  # x = 5.0 m from the left edge
DOOR_ROWS = (51, 69)  # rows (from the bottom) of the doorway: y = 2.55 .. 3.45 m, 0.9 m wide
ORIGIN_M = (-2.5, -3.0, 0.0)  # pose of the lower-left cell's corner in the world frame

FREE, OCCUPIED = 254, 0  # map_server's trinary values (negate 0)

MAP_YAML = f"""image: map.pgm
mode: trinary
resolution: {RESOLUTION_M}
origin: [{ORIGIN_M[0]}, {ORIGIN_M[1]}, {ORIGIN_M[2]}]
negate: 0
occupied_thresh: 0.65
free_thresh: 0.25
"""


def studio_occupancy() -> np.ndarray:
    """Occupied cells (bool), indexed [row from the bottom, column from the left]."""
    occ = np.zeros((HEIGHT_CELLS, WIDTH_CELLS), dtype=bool)
    occ[:WALL_CELLS, :] = occ[-WALL_CELLS:, :] = True
    occ[:, :WALL_CELLS] = occ[:, -WALL_CELLS:] = True
    occ[:, INTERIOR_WALL_COLUMN:INTERIOR_WALL_COLUMN + WALL_CELLS] = True
    occ[DOOR_ROWS[0]:DOOR_ROWS[1], INTERIOR_WALL_COLUMN:INTERIOR_WALL_COLUMN + WALL_CELLS] = False
    return occ


def pgm_bytes(occ: np.ndarray) -> bytes:
    """Binary PGM (P5), first row at the top as image viewers and map_server expect."""
    pixels = np.where(occ, OCCUPIED, FREE).astype(np.uint8)[::-1]
    header = f"P5\n# hearth studio map\n{occ.shape[1]} {occ.shape[0]}\n255\n".encode()
    return header + pixels.tobytes()


def write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_studio(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in (("map.pgm", pgm_bytes(studio_occupancy())),
                       ("map.yaml", MAP_YAML.encode())):
        write_atomically(out_dir / name, data)
        written.append(out_dir / name)
    return written


def default_out_dir() -> Path:
    """$HEARTH_WS/maps/studio (set by setup_hearth.bash), else the source tree's workspace."""
    ws = os.environ.get("HEARTH_WS")
    # src/hearth_sim/hearth_sim/make_studio_map.py -> <workspace>
    root = Path(ws) if ws else Path(__file__).resolve().parents[3]
    return root / "maps" / "studio"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: $HEARTH_WS/maps/studio)")
    args = parser.parse_args(argv)
    for path in write_studio(args.out or default_out_dir()):
        print(path)


if __name__ == "__main__":
    main()
