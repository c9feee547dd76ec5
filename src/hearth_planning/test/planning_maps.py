"""Hand-made maps and a reference Dijkstra for the planner's tests."""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from hearth_planning.map_io import OccupancyMap

SQRT2 = math.sqrt(2.0)


def map_from_rows(rows: list[str], resolution_m: float = 0.1) -> OccupancyMap:
    """A map drawn as text, top row first: '#' obstacle, '?' unknown, '.' free."""
    values = {"#": 100, "?": -1, ".": 0}
    grid = np.array([[values[ch] for ch in row] for row in rows], dtype=np.int8)
    return OccupancyMap(np.flipud(grid).copy(), resolution_m)


def blank(width_m: float, height_m: float, resolution_m: float = 0.05) -> np.ndarray:
    """An all-free grid with a one-cell wall round the edge (row 0 at y = 0)."""
    h, w = round(height_m / resolution_m), round(width_m / resolution_m)
    grid = np.zeros((h, w), np.int8)
    grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = 100
    return grid


def box(grid: np.ndarray, x0: float, y0: float, x1: float, y1: float, value: int = 100,
        resolution_m: float = 0.05) -> None:
    """Fill the cells whose centres lie in [x0, x1] x [y0, y1] (metres)."""
    r = lambda v: round(v / resolution_m)  # noqa: E731
    grid[r(y0) : r(y1), r(x0) : r(x1)] = value


def two_rooms_with_door(door_y_m: tuple[float, float] = (1.5, 2.5)) -> OccupancyMap:
    """6 m x 4 m at 0.05 m: a wall 0.1 m thick at x = 3 m with a 1 m door (y 1.5..2.5 m)."""
    grid = blank(6.0, 4.0)
    box(grid, 2.95, 0.0, 3.05, 4.0)
    box(grid, 2.95, door_y_m[0], 3.05, door_y_m[1], value=0)
    return OccupancyMap(grid, 0.05)


def door_or_corridor_home() -> OccupancyMap:
    """10 m x 7 m at 0.05 m. Two rooms side by side, joined by a 0.9 m door in the wall
    between them (x = 5 m, y 0.8..1.7 m), and also by a corridor along the top (y 5..7 m)
    that each room opens onto through a 1.5 m opening (x 1..2.5 m and 7.5..9 m): the door is
    the short way from one room to the other, the corridor the long way."""
    grid = blank(10.0, 7.0)
    box(grid, 4.95, 0.0, 5.05, 5.0)
    box(grid, 4.95, 0.8, 5.05, 1.7, value=0)  # the door
    box(grid, 0.0, 4.95, 10.0, 5.05)
    box(grid, 1.0, 4.95, 2.5, 5.05, value=0)  # openings onto the corridor
    box(grid, 7.5, 4.95, 9.0, 5.05, value=0)
    return OccupancyMap(grid, 0.05)


def reference_dijkstra(mult: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> float:
    """Plain Dijkstra over 8-connected moves, without the planner's code: a move from a to b
    costs length * (mult[a] + mult[b]) / 2 (length 1 or sqrt 2 cells), cells with an infinite
    multiplier are impassable, and a diagonal needs both cells beside it passable. Returns
    the cost in cell lengths (inf when unreachable)."""
    h, w = mult.shape
    dist = {start: 0.0}
    heap = [(0.0, start)]
    done = set()
    while heap:
        d, (r, c) = heapq.heappop(heap)
        if (r, c) in done:
            continue
        done.add((r, c))
        if (r, c) == goal:
            return d
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                nr, nc = r + dr, c + dc
                if (dr == dc == 0) or not (0 <= nr < h and 0 <= nc < w):
                    continue
                if not np.isfinite(mult[nr, nc]):
                    continue
                if dr and dc and not (np.isfinite(mult[r + dr, c]) and np.isfinite(mult[r, nc])):
                    continue
                step = SQRT2 if dr and dc else 1.0
                nd = d + step * 0.5 * (mult[r, c] + mult[nr, nc])
                if nd < dist.get((nr, nc), math.inf):
                    dist[(nr, nc)] = nd
                    heapq.heappush(heap, (nd, (nr, nc)))
    return math.inf


def sample_polyline(points: np.ndarray, step_m: float) -> np.ndarray:
    """Points every ``step_m`` along a polyline (its vertices included)."""
    out = [points[:1]]
    for a, b in itertools.pairwise(points):
        n = max(1, math.ceil(float(np.hypot(*(b - a))) / step_m))
        out.append(a + (np.arange(1, n + 1)[:, None] / n) * (b - a))
    return np.concatenate(out)
