"""Exports each designed home's floor plan as a map_server map: maps/<home>/map.pgm + map.yaml.

Every ``maps/<home>/home.yaml`` is loaded, rasterized (``occupancy.rasterize`` at the home's
``map_resolution_m``) and written beside it, each file through a temporary file renamed into
place. Deterministic: the same home file gives the same bytes.

Usage: ``python -m hearth_sim.home.export_maps [--maps DIR] [--check] [HOME ...]``
(default: every home under the workspace's maps/, $HEARTH_WS when set). With ``--check``
nothing is written; the exit status is 1 when a committed map is missing or differs from what
its home file produces.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hearth_sim.home.loader import HomeError, load_home, maps_dir
from hearth_sim.home.occupancy import map_server_files, rasterize, write_map_server

HOME_FILE = "home.yaml"
MAP_NAME = "map"


def home_dirs(root: Path, names: list[str] | None = None) -> list[Path]:
    """The folders under ``root`` that hold a home file, sorted (or just those ``names``)."""
    if names:
        return [root / n for n in names]
    return sorted(p.parent for p in root.glob(f"*/{HOME_FILE}"))


def expected_files(home_dir: Path) -> dict[str, bytes]:
    """What ``map.pgm`` and ``map.yaml`` of ``home_dir`` must hold, from its home file."""
    home = load_home(home_dir / HOME_FILE)
    return map_server_files(rasterize(home), MAP_NAME,
                            comment=f"hearth {home.name}: made from {HOME_FILE} by "
                                    "hearth_sim.home.export_maps")


def stale_files(home_dir: Path) -> list[Path]:
    """The exported files of ``home_dir`` that are missing or differ from its home file."""
    stale = []
    for name, data in expected_files(home_dir).items():
        path = home_dir / name
        if not path.is_file() or path.read_bytes() != data:
            stale.append(path)
    return stale


def export(home_dir: Path) -> list[Path]:
    home = load_home(home_dir / HOME_FILE)
    return write_map_server(rasterize(home), home_dir, MAP_NAME,
                            comment=f"hearth {home.name}: made from {HOME_FILE} by "
                                    "hearth_sim.home.export_maps")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("homes", nargs="*", help="home folder names (default: all)")
    parser.add_argument("--maps", type=Path, default=None,
                        help="the maps folder (default: $HEARTH_WS/maps)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed map is stale")
    args = parser.parse_args(argv)
    root = args.maps or maps_dir()
    dirs = home_dirs(root, args.homes)
    if not dirs:
        print(f"no {HOME_FILE} under {root}", file=sys.stderr)
        return 1
    status = 0
    for d in dirs:
        try:
            if args.check:
                stale = stale_files(d)
                for path in stale:
                    print(f"{path}: differs from {d / HOME_FILE} "
                          "(run python -m hearth_sim.home.export_maps)", file=sys.stderr)
                status |= bool(stale)
                if not stale:
                    print(f"{d}: up to date")
            else:
                for path in export(d):
                    print(path)
        except HomeError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
