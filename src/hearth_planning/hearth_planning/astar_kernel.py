"""Compiled A* on a cost-multiplier grid (numba; ROS-free).

The grid is flat and padded by one impassable cell all round, so the inner loop needs no
bounds checks: cell (row, col) of an ``H x W`` map is index ``(row + 1) * (W + 2) + col + 1``.
``mult[i]`` is the cost of one cell-length of travel through cell ``i`` (``inf``: not
traversable). A move costs ``length * (mult[a] + mult[b]) / 2`` with length 1 or sqrt(2)
cells; a diagonal needs both cells it squeezes between to be traversable (no corner cutting).

The search runs *backwards*, from the goal (the root) to the start (the target), so that
everything it settles is an exact cost-to-goal. It can be resumed for another target: the
closed cells keep their exact costs and the open cells are a valid frontier whatever the
heuristic, so a replan from a new robot pose towards the same goal only re-keys the open list
(:func:`reheap`) and goes on; a target already closed costs nothing. The heuristic is the
octile distance times ``h_scale`` (the smallest multiplier, 1): admissible and consistent, so
every path found is optimal.

With landmarks (:mod:`hearth_planning.heuristic`: exact costs from a few cells of the map to
every cell, on the costmap without the memory's penalties) the heuristic is also
``max_L |d(L, target) - d(L, n)|`` (ALT), the larger of the two. Penalties only raise costs, so
it stays admissible and consistent, and it sees walls and costly corridors that the octile
distance does not: far fewer cells are expanded.

Ties in ``f`` are broken towards the larger ``g`` (deeper first), which on open floor expands
a thin band along the path instead of a diamond.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SQRT2 = math.sqrt(2.0)

NEW, OPEN, CLOSED = 0, 1, 2


@njit(cache=True, inline="always")
def _before(fa, ga, fb, gb):
    return fa < fb or (fa == fb and ga > gb)


@njit(cache=True)
def _push(hf, hg, hn, size, f, g, n):
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if _before(f, g, hf[p], hg[p]):
            hf[i], hg[i], hn[i] = hf[p], hg[p], hn[p]
            i = p
        else:
            break
    hf[i], hg[i], hn[i] = f, g, n
    return size + 1


@njit(cache=True)
def _pop(hf, hg, hn, size):
    """Remove the root; the caller read it first. Returns the new size."""
    size -= 1
    if size == 0:
        return 0
    f, g, n = hf[size], hg[size], hn[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _before(hf[right], hg[right], hf[child], hg[child]):
            child = right
        if _before(hf[child], hg[child], f, g):
            hf[i], hg[i], hn[i] = hf[child], hg[child], hn[child]
            i = child
        else:
            break
    hf[i], hg[i], hn[i] = f, g, n
    return size


@njit(cache=True, inline="always")
def _octile(r, c, tr, tc):
    dr = abs(r - tr)
    dc = abs(c - tc)
    if dr > dc:
        return dr + (SQRT2 - 1.0) * dc
    return dc + (SQRT2 - 1.0) * dr


@njit(cache=True, inline="always")
def _heuristic(node, width_p, tr, tc, h_scale, lm, lm_t):
    h = h_scale * _octile(node // width_p, node % width_p, tr, tc)
    for k in range(lm.shape[1]):
        a = lm[node, k]
        b = lm_t[k]
        if a != np.inf and b != np.inf:
            d = abs(a - b)
            if d > h:
                h = d
    return h


@njit(cache=True, nogil=True)
def astar(mult, width_p, g, parent, state, hf, hg, hn, size, target, h_scale, lm):
    """Run (or resume) the search until ``target`` is closed or the open list is empty.

    ``g``/``parent``/``state`` are per-cell arrays (cost-to-root in cell lengths, the next cell
    towards the root, NEW/OPEN/CLOSED), ``hf``/``hg``/``hn``/``size`` the open list as a binary
    heap (keys ``f``, ``g``; lazy deletion), ``lm`` the landmark costs (cells x landmarks, may
    have no column). A negative ``target`` runs Dijkstra (give ``h_scale`` 0 and no
    landmarks) over everything reachable. Returns ``(found, hf, hg, hn, size, expanded)``;
    the heap arrays are returned because they grow when full.
    """
    offsets = np.array(
        [1, -1, width_p, -width_p, width_p + 1, width_p - 1, -width_p + 1, -width_p - 1]
    )
    side_a = np.array([0, 0, 0, 0, width_p, width_p, -width_p, -width_p])
    side_b = np.array([0, 0, 0, 0, 1, -1, 1, -1])
    tr = target // width_p
    tc = target % width_p
    lm_t = lm[max(target, 0)]
    expanded = 0
    found = target >= 0 and state[target] == CLOSED
    while size > 0 and not found:
        node = hn[0]
        gn = hg[0]
        size = _pop(hf, hg, hn, size)
        if state[node] == CLOSED or gn > g[node]:
            continue  # a stale duplicate
        state[node] = CLOSED
        expanded += 1
        if node == target:
            found = True
            break
        mn = mult[node]
        for k in range(8):
            nb = node + offsets[k]
            if state[nb] == CLOSED:
                continue
            mb = mult[nb]
            if mb == np.inf:
                continue
            if k >= 4:
                if mult[node + side_a[k]] == np.inf or mult[node + side_b[k]] == np.inf:
                    continue
                step = SQRT2 * 0.5 * (mn + mb)
            else:
                step = 0.5 * (mn + mb)
            ng = gn + step
            if ng < g[nb]:
                g[nb] = ng
                parent[nb] = node
                state[nb] = OPEN
                if size == hf.shape[0]:  # grow the heap
                    cap = 2 * size
                    hf2 = np.empty(cap, np.float64)
                    hg2 = np.empty(cap, np.float64)
                    hn2 = np.empty(cap, np.int64)
                    hf2[:size] = hf[:size]
                    hg2[:size] = hg[:size]
                    hn2[:size] = hn[:size]
                    hf, hg, hn = hf2, hg2, hn2
                h = _heuristic(nb, width_p, tr, tc, h_scale, lm, lm_t)
                size = _push(hf, hg, hn, size, ng + h, ng, nb)
    return found, hf, hg, hn, size, expanded


@njit(cache=True)
def trace(parent, start, root):
    """Cells from ``start`` to ``root`` following ``parent`` (flat padded indices)."""
    n = 1
    cur = start
    while cur != root:
        cur = parent[cur]
        n += 1
    out = np.empty(n, np.int64)
    cur = start
    for i in range(n):
        out[i] = cur
        if i + 1 < n:
            cur = parent[cur]
    return out


@njit(cache=True)
def reheap(g, state, width_p, target, h_scale, lm):
    """The open cells as a fresh heap keyed for a new ``target``."""
    idx = np.flatnonzero(state == OPEN)
    n = idx.shape[0]
    cap = max(1024, 2 * n)
    hf = np.empty(cap, np.float64)
    hg = np.empty(cap, np.float64)
    hn = np.empty(cap, np.int64)
    tr = target // width_p
    tc = target % width_p
    lm_t = lm[target]
    size = 0
    for i in range(n):
        node = idx[i]
        h = _heuristic(node, width_p, tr, tc, h_scale, lm, lm_t)
        size = _push(hf, hg, hn, size, g[node] + h, g[node], node)
    return hf, hg, hn, size


class SearchTree:
    """A backward search rooted at one goal cell, kept for replans towards that goal."""

    def __init__(
        self,
        mult_p: np.ndarray,
        width_p: int,
        root: int,
        h_scale: float = 1.0,
        landmarks: np.ndarray | None = None,
    ):
        n = mult_p.shape[0]
        self.mult_p = mult_p
        self.width_p = width_p
        self.root = root
        self.h_scale = h_scale
        self.lm = landmarks if landmarks is not None else np.zeros((n, 0))
        self.g = np.full(n, np.inf)
        self.parent = np.full(n, -1, np.int64)
        self.state = np.zeros(n, np.uint8)
        cap = 4096
        self.hf = np.empty(cap, np.float64)
        self.hg = np.empty(cap, np.float64)
        self.hn = np.empty(cap, np.int64)
        self.size = 0
        self.target = -1
        self.expanded = 0
        self.g[root] = 0.0
        self.state[root] = OPEN
        self.hf[0], self.hg[0], self.hn[0] = 0.0, 0.0, root
        self.size = 1

    def solve(self, target: int) -> tuple[bool, int]:
        """Search until ``target`` is settled: (found, cells expanded by this call)."""
        if self.state[target] == CLOSED:
            return True, 0
        if self.target != -1 and target != self.target:
            self.hf, self.hg, self.hn, self.size = reheap(
                self.g, self.state, self.width_p, target, self.h_scale, self.lm
            )
        elif self.target == -1 and self.size == 1:
            tr, tc = divmod(target, self.width_p)
            self.hf[0] = _heuristic(
                self.root, self.width_p, tr, tc, self.h_scale, self.lm, self.lm[target]
            )
        self.target = target
        found, self.hf, self.hg, self.hn, self.size, expanded = astar(
            self.mult_p, self.width_p, self.g, self.parent, self.state,
            self.hf, self.hg, self.hn, self.size, target, self.h_scale, self.lm,
        )  # fmt: skip
        self.expanded += expanded
        return bool(found), int(expanded)

    def path_to_root(self, target: int) -> np.ndarray:
        return trace(self.parent, target, self.root)


def costs_from(mult_p: np.ndarray, width_p: int, source: int) -> np.ndarray:
    """Exact cost (cell lengths) from ``source`` to every cell (inf where unreachable):
    Dijkstra, the same kernel with no heuristic."""
    tree = SearchTree(mult_p, width_p, source, h_scale=0.0)
    astar(
        tree.mult_p, width_p, tree.g, tree.parent, tree.state,
        tree.hf, tree.hg, tree.hn, tree.size, -1, 0.0, tree.lm,
    )  # fmt: skip
    return tree.g


def padded(mult: np.ndarray) -> tuple[np.ndarray, int]:
    """The (H, W) multiplier grid as the kernel's flat array, padded by one impassable cell
    all round, and the padded width."""
    h, w = mult.shape
    out = np.full((h + 2, w + 2), np.inf)
    out[1:-1, 1:-1] = mult
    return out.ravel(), w + 2
