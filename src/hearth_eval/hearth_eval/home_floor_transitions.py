"""The floor transitions of a simulated home, as its user would mark them for the planner.

``maps/<home>/floor_transitions.yaml`` (``hearth_trajectory.floor_transitions``) says where
the local planner should cross slowly. In a real home the user marks them; for the
simulated homes they are read off the home's description (``maps/<home>/home.yaml``): every
door sill (a strip across the doorway, as deep as the sill) and every edge of every rug.

    python -m hearth_eval.home_floor_transitions [HOME ...]   # writes maps/<home>/...

A test keeps the written files equal to what this module makes of the homes.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from hearth_sim.home.loader import maps_dir, resolve_home
from hearth_sim.home.model import Home
from hearth_trajectory.floor_transitions import (
    FILE_NAME,
    FloorTransitions,
    save_floor_transitions,
)

HOMES = ("apartment", "house")


def _rotate(local: np.ndarray, centre, yaw_rad: float) -> np.ndarray:
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    return local @ np.array([[c, s], [-s, c]]) + np.asarray(centre, dtype=float)


def floor_transitions_of(home: Home) -> FloorTransitions:
    """Every threshold of ``home`` (a strip along its width, half as wide as it is long in
    the way through) and the four edges of every rug, in the map frame."""
    segs, widths, names = [], [], []
    for t in home.thresholds:
        # length_m runs along yaw_rad (the way through), width_m across the doorway.
        ends = np.array([[0.0, -0.5 * t.width_m], [0.0, 0.5 * t.width_m]])
        segs.append(_rotate(ends, t.center_m, t.yaw_rad))
        widths.append(0.5 * t.length_m)
        names.append(t.name)
    for r in home.rugs:
        hx, hy = 0.5 * r.size_m[0], 0.5 * r.size_m[1]
        corners = _rotate(np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]]),
                          r.center_m, r.yaw_rad)
        for k, side in enumerate(("s", "e", "n", "w")):
            segs.append(np.stack([corners[k], corners[(k + 1) % 4]]))
            widths.append(0.0)
            names.append(f"{r.name}_{side}")
    return FloorTransitions(np.array(segs, dtype=float).reshape(-1, 2, 2),
                            np.array(widths, dtype=float), tuple(names), "map")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("homes", nargs="*", default=list(HOMES))
    args = ap.parse_args(argv)
    for name in args.homes:
        ft = floor_transitions_of(resolve_home(name))
        path = maps_dir() / name / FILE_NAME
        save_floor_transitions(ft, path)
        print(f"{path}: {len(ft)} floor transitions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
