"""Line of sight on the cost grid, and shortcutting a grid path under it (numba; ROS-free).

:func:`segment_cost` walks a straight segment between two cell centres through every cell it
crosses (Amanatides & Woo's traversal) and integrates the cost multiplier along it: the exact
cost of driving that segment on the piecewise-constant cost field. A segment that touches a
non-traversable cell, or passes exactly through a corner between two cells of which one is
not traversable, costs ``inf``.

:func:`shortcut` replaces runs of a grid path by straight segments, greedily from the start:
from each anchor it takes the farthest later path cell whose segment costs no more than the
stretch of grid path it replaces. So smoothing never makes the path more expensive, never
enters an inflated cell, and does not pull the path closer to walls than is worth it (near a
wall every metre costs more): the path keeps its clearance.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def segment_cost(mult, r0, c0, r1, c1):
    """Cost (in cell lengths) of the segment from the centre of cell (r0, c0) to that of
    (r1, c1) on the 2-D multiplier grid ``mult``; ``inf`` when it is blocked."""
    if mult[r0, c0] == np.inf:
        return np.inf
    dr = r1 - r0
    dc = c1 - c0
    length = np.sqrt(dr * dr + dc * dc)
    if length == 0.0:
        return 0.0
    step_r = 1 if dr > 0 else -1
    step_c = 1 if dc > 0 else -1
    delta_r = length / abs(dr) if dr != 0 else np.inf
    delta_c = length / abs(dc) if dc != 0 else np.inf
    next_r = 0.5 * delta_r  # the segment starts at a cell centre: half a cell to each border
    next_c = 0.5 * delta_c
    r, c = r0, c0
    t = 0.0
    cost = 0.0
    eps = 1e-9 * length
    for _ in range(abs(dr) + abs(dc) + 2):
        m = mult[r, c]
        if m == np.inf:
            return np.inf
        if r == r1 and c == c1:
            return cost + (length - t) * m
        if next_c < next_r - eps:
            cost += (next_c - t) * m
            t = next_c
            next_c += delta_c
            c += step_c
        elif next_r < next_c - eps:
            cost += (next_r - t) * m
            t = next_r
            next_r += delta_r
            r += step_r
        else:  # through a corner: both cells beside it must be traversable
            if mult[r + step_r, c] == np.inf or mult[r, c + step_c] == np.inf:
                return np.inf
            cost += (next_r - t) * m
            t = next_r
            next_r += delta_r
            next_c += delta_c
            r += step_r
            c += step_c
    return np.inf  # not reached: the walk ends at (r1, c1)


@njit(cache=True)
def polyline_cost(mult, rows, cols):
    """Cost (cell lengths) of the polyline through the centres of cells ``rows, cols``."""
    total = 0.0
    for i in range(rows.shape[0] - 1):
        total += segment_cost(mult, rows[i], cols[i], rows[i + 1], cols[i + 1])
    return total


@njit(cache=True)
def shortcut(mult, rows, cols, cum_cost, max_misses):
    """Indices into the grid path (``rows``, ``cols``, with cumulative cost ``cum_cost``) of the
    cells kept as corners of the shortcut path, first and last included.

    From each kept cell the scan goes on past a failed segment for up to ``max_misses`` cells
    (line of sight may come back after a bend), then keeps the farthest success.
    """
    n = rows.shape[0]
    keep = np.empty(n, np.int64)
    keep[0] = 0
    k = 1
    a = 0
    while a < n - 1:
        best = a + 1
        misses = 0
        b = a + 2
        while b < n:
            cost = segment_cost(mult, rows[a], cols[a], rows[b], cols[b])
            if cost <= (cum_cost[b] - cum_cost[a]) * (1.0 + 1e-9):
                best = b
                misses = 0
            else:
                misses += 1
                if misses > max_misses:
                    break
            b += 1
        keep[k] = best
        k += 1
        a = best
    return keep[:k]
