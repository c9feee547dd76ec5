"""A landmark (ALT) heuristic for the search, built once per costmap (ROS-free).

A few *landmark* cells are chosen far apart on the map (farthest-point sampling over exact
path costs, starting from the farthest cell from the middle of the largest free area), and the
exact cost from each landmark to every cell is computed with Dijkstra on the costmap's
multipliers (the search kernel without a heuristic). By the triangle inequality,
``|d(L, a) - d(L, b)|`` is a lower bound of the cost between any two cells ``a`` and ``b``; it
stays one when the navigability memory adds its (non-negative) penalties. The search uses the
largest of these bounds and the octile distance: it then knows about walls and costly
corridors, and expands a fraction of the cells the octile distance alone would.

This is the planner's cached heuristic: the node builds it in a thread when a map arrives
(about 60 ms of Dijkstra per landmark on 250,000 cells), and every plan on that map uses it
from then on (the octile distance alone until it is ready: slower, equally optimal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hearth_planning.astar_kernel import costs_from, padded
from hearth_planning.costmap import Costmap


@dataclass(frozen=True)
class Landmarks:
    cells: list[tuple[int, int]]  # (row, col) of each landmark
    costs: np.ndarray  # (padded cells, landmarks): cost in cell lengths, inf if unreachable


def build_landmarks(
    costmap: Costmap, count: int, should_stop: Callable[[], bool] = lambda: False
) -> Landmarks | None:
    """``count`` landmarks on ``costmap`` (None when ``count`` is 0, nothing is free, or
    ``should_stop()`` turned true between two of them). The search kernel releases the GIL,
    so this can run in a thread beside the node's executor."""
    if count <= 0 or not costmap.traversable.any():
        return None
    mult_p, width_p = padded(costmap.multiplier)
    sizes = np.bincount(costmap.component.ravel())
    sizes[0] = 0
    biggest = costmap.component == int(np.argmax(sizes))
    seed_rc = np.unravel_index(np.argmax(np.where(biggest, costmap.clearance_m, -1.0)),
                               costmap.shape)
    spread = costs_from(mult_p, width_p, _index(seed_rc, width_p))  # pick the first from it
    chosen: list[int] = []
    columns: list[np.ndarray] = []
    for _ in range(count):
        if should_stop():
            return None
        score = np.where(np.isfinite(spread), spread, -1.0)
        nxt = int(np.argmax(score))
        if score[nxt] <= 0.0 or nxt in chosen:
            break
        costs = costs_from(mult_p, width_p, nxt)
        chosen.append(nxt)
        columns.append(costs)
        spread = costs if len(columns) == 1 else np.minimum(spread, costs)
    if not columns:
        return None
    cells = [(i // width_p - 1, i % width_p - 1) for i in chosen]
    return Landmarks(cells, np.ascontiguousarray(np.stack(columns, axis=1)))


def _index(rc: tuple[int, int], width_p: int) -> int:
    return (int(rc[0]) + 1) * width_p + int(rc[1]) + 1
