"""Routes for simulated people through a home: a coarse grid of the free space (ROS-free).

Rooms are joined through doorways, so a person walking to another room cannot head straight
for the goal. ``FreeSpaceGrid`` rasterizes the obstacle segments onto a grid (cell centres,
``resolution_m``), computes each cell's exact distance to the nearest segment (its
*clearance*), and plans shortest paths with Dijkstra over the 8-connected cells a body fits
in (clearance >= ``body_radius_m`` + ``margin_m``). A step's cost grows as the clearance
falls below ``preferred_clearance_m``, so paths keep to the middle of corridors and doorways.

Closed outlines (furniture footprints, the inside of a wall) enclose cells that no path
reaches: they form their own connected components, and ``main_component`` (the component
holding most of the rooms' walkable area) is where people live.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra


def as_segments(segments: np.ndarray) -> np.ndarray:
    """``segments`` as a float (N, 4) array [x1, y1, x2, y2]; raises ValueError otherwise."""
    seg = np.asarray(segments, dtype=float)
    if seg.size == 0:
        return np.zeros((0, 4))
    if seg.ndim != 2 or seg.shape[1] != 4:
        raise ValueError(f"segments must be (N, 4) [x1, y1, x2, y2], got shape {seg.shape}")
    if not np.all(np.isfinite(seg)):
        raise ValueError("segments must be finite")
    return seg


def _closest_on_segments(points: np.ndarray, segments: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """The closest point of each segment (S, 4) to each point (P, 2): (P, S, 2), with the
    points reshaped to (P, 1, 2) for broadcasting."""
    p = np.asarray(points, dtype=float).reshape(-1, 1, 2)
    a = segments[None, :, 0:2]
    d = segments[None, :, 2:4] - a
    len2 = np.sum(d * d, axis=-1)
    t = np.sum((p - a) * d, axis=-1) / np.where(len2 > 0.0, len2, 1.0)
    t = np.clip(np.where(len2 > 0.0, t, 0.0), 0.0, 1.0)
    return p, a + t[..., None] * d


def point_segment_distances(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """(P, S) distances from each point (P, 2) to each segment (S, 4)."""
    p, closest = _closest_on_segments(points, segments)
    return np.linalg.norm(p - closest, axis=-1)


def nearest_points_on_segments(points: np.ndarray, segments: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray]:
    """For each point (P, 2): the nearest point on any segment (P, 2) and its distance (P,)."""
    p, closest = _closest_on_segments(points, segments)
    dist = np.linalg.norm(p - closest, axis=-1)
    k = np.argmin(dist, axis=1)
    rows = np.arange(len(k))
    return closest[rows, k], dist[rows, k]


def _clearance(xs: np.ndarray, ys: np.ndarray, segments: np.ndarray, cap_m: float
               ) -> np.ndarray:
    """Exact distance from each grid cell centre to the nearest segment, capped at cap_m."""
    gx, gy = np.meshgrid(xs, ys)  # (H, W)
    best = np.full(gx.shape, cap_m)
    for x1, y1, x2, y2 in segments:
        dx, dy = x2 - x1, y2 - y1
        len2 = dx * dx + dy * dy
        if len2 > 0.0:
            t = np.clip(((gx - x1) * dx + (gy - y1) * dy) / len2, 0.0, 1.0)
        else:
            t = np.zeros_like(gx)
        np.minimum(best, np.hypot(gx - (x1 + t * dx), gy - (y1 + t * dy)), out=best)
    return best


class FreeSpaceGrid:
    """The free space of a home as a grid, for routing people (see the module docstring).

    ``bounds_m`` (xmin, ymin, xmax, ymax) is the area to grid; by default the segments'
    extent plus ``body_radius_m`` + ``margin_m`` + one cell on each side.
    """

    def __init__(self, segments: np.ndarray, *, resolution_m: float = 0.1,
                 body_radius_m: float = 0.25, margin_m: float = 0.03,
                 preferred_clearance_m: float = 0.7, clearance_weight: float = 3.0,
                 bounds_m: tuple[float, float, float, float] | None = None):
        if not resolution_m > 0.0:
            raise ValueError(f"resolution_m must be > 0, got {resolution_m}")
        self.segments = as_segments(segments)
        self.resolution_m = float(resolution_m)
        self.body_radius_m = float(body_radius_m)
        self.min_clearance_m = self.body_radius_m + float(margin_m)
        if bounds_m is None:
            if len(self.segments) == 0:
                raise ValueError("bounds_m is needed when there are no segments")
            pad = self.min_clearance_m + self.resolution_m
            xy = self.segments.reshape(-1, 2)
            bounds_m = (xy[:, 0].min() - pad, xy[:, 1].min() - pad,
                        xy[:, 0].max() + pad, xy[:, 1].max() + pad)
        x0, y0, x1, y1 = (float(v) for v in bounds_m)
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"bounds_m must be (xmin, ymin, xmax, ymax), got {bounds_m}")
        self.origin_m = np.array([x0, y0])
        self.width = max(1, math.ceil((x1 - x0) / self.resolution_m))
        self.height = max(1, math.ceil((y1 - y0) / self.resolution_m))
        xs = x0 + (np.arange(self.width) + 0.5) * self.resolution_m
        ys = y0 + (np.arange(self.height) + 0.5) * self.resolution_m
        cap = max(float(preferred_clearance_m), self.min_clearance_m) + self.resolution_m
        self.clearance_m = _clearance(xs, ys, self.segments, cap)  # (H, W), [row=y, col=x]
        self.traversable = self.clearance_m >= self.min_clearance_m
        self.labels, _ = ndimage.label(self.traversable, structure=np.ones((3, 3)))
        # where a point off the traversable cells is snapped to: the nearest traversable cell
        _, nearest = ndimage.distance_transform_edt(~self.traversable, return_indices=True)
        self._nearest_row, self._nearest_col = nearest
        # per-cell step cost factor: 1 in the open, up to 1 + clearance_weight at a wall
        pref = max(float(preferred_clearance_m), self.min_clearance_m)
        short = np.clip((pref - self.clearance_m) / pref, 0.0, 1.0)
        self._cost = 1.0 + float(clearance_weight) * short
        self._graph = self._build_graph()
        self._edge_row = np.repeat(np.arange(self.height * self.width),
                                   np.diff(self._graph.indptr))

    # ---------------------------------------------------------------- cells and points

    def cell_of(self, xy: np.ndarray) -> tuple[int, int]:
        """(row, col) of the cell holding ``xy``, clipped to the grid."""
        col = int(np.floor((xy[0] - self.origin_m[0]) / self.resolution_m))
        row = int(np.floor((xy[1] - self.origin_m[1]) / self.resolution_m))
        return min(max(row, 0), self.height - 1), min(max(col, 0), self.width - 1)

    def center_of(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(K, 2) cell centres of the cells (rows, cols)."""
        return np.column_stack([self.origin_m[0] + (np.asarray(cols) + 0.5) * self.resolution_m,
                                self.origin_m[1] + (np.asarray(rows) + 0.5) * self.resolution_m])

    def snap(self, xy: np.ndarray) -> tuple[int, int]:
        """The traversable cell nearest to ``xy`` (its own cell when that is traversable)."""
        row, col = self.cell_of(xy)
        return int(self._nearest_row[row, col]), int(self._nearest_col[row, col])

    def component_of(self, xy: np.ndarray) -> int:
        """The label of the connected free space ``xy`` (snapped) belongs to; 0 for none."""
        return int(self.labels[self.snap(xy)])

    def cells_in_box(self, min_m: tuple[float, float], max_m: tuple[float, float],
                     min_clearance_m: float, component: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the traversable cells whose centres lie in the axis-aligned box,
        with at least ``min_clearance_m``, in ``component`` when one is given."""
        rows, cols = np.nonzero(self.traversable & (self.clearance_m >= min_clearance_m))
        c = self.center_of(rows, cols)
        keep = ((c[:, 0] >= min_m[0]) & (c[:, 0] <= max_m[0])
                & (c[:, 1] >= min_m[1]) & (c[:, 1] <= max_m[1]))
        if component is not None:
            keep &= self.labels[rows, cols] == component
        return rows[keep], cols[keep]

    def main_component(self, boxes: list[tuple[tuple[float, float], tuple[float, float]]]
                       ) -> int:
        """The component holding the most traversable cells inside the boxes (rooms);
        0 when none does."""
        counts: dict[int, int] = {}
        for lo, hi in boxes:
            rows, cols = self.cells_in_box(lo, hi, self.min_clearance_m)
            for label, n in zip(*np.unique(self.labels[rows, cols], return_counts=True),
                                strict=True):
                counts[int(label)] = counts.get(int(label), 0) + int(n)
        counts.pop(0, None)
        if not counts:
            return 0
        return max(sorted(counts), key=lambda k: counts[k])

    # ---------------------------------------------------------------- planning

    def _build_graph(self):
        h, w = self.height, self.width
        index = np.arange(h * w).reshape(h, w)
        src, dst, weight = [], [], []
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            r0, r1 = max(0, -dr), h - max(0, dr)
            c0, c1 = max(0, -dc), w - max(0, dc)
            a = (slice(r0, r1), slice(c0, c1))
            b = (slice(r0 + dr, r1 + dr), slice(c0 + dc, c1 + dc))
            ok = self.traversable[a] & self.traversable[b]
            if dr and dc:  # a diagonal step must not cut a blocked corner
                ok &= self.traversable[r0 + dr:r1 + dr, c0:c1]
                ok &= self.traversable[r0:r1, c0 + dc:c1 + dc]
            length = self.resolution_m * math.hypot(dr, dc)
            src.append(index[a][ok])
            dst.append(index[b][ok])
            weight.append(length * 0.5 * (self._cost[a][ok] + self._cost[b][ok]))
        src_all, dst_all = np.concatenate(src), np.concatenate(dst)
        w_all = np.concatenate(weight)
        return coo_matrix((np.concatenate([w_all, w_all]),
                           (np.concatenate([src_all, dst_all]),
                            np.concatenate([dst_all, src_all]))),
                          shape=(h * w, h * w)).tocsr()

    def plan(self, start_xy: np.ndarray, goal_xy: np.ndarray,
             avoid: tuple[np.ndarray, float] | None = None,
             avoid_cost: float = 50.0) -> np.ndarray | None:
        """A path (K, 2) of cell centres from the start (snapped) to the goal (snapped, then
        replaced by ``goal_xy`` itself when that cell is traversable), or None when the goal
        cannot be reached. ``avoid`` = (centre (2,), radius): a disc (the robot) whose cells
        cost ``avoid_cost`` times more to cross: the path goes round it when there is room,
        through it when it blocks the only way."""
        s = self.snap(np.asarray(start_xy, dtype=float))
        g = self.snap(np.asarray(goal_xy, dtype=float))
        if self.labels[s] == 0 or self.labels[s] != self.labels[g]:
            return None
        si, gi = s[0] * self.width + s[1], g[0] * self.width + g[1]
        if si == gi:
            cells = [si]
        else:
            graph = self._graph
            if avoid is not None:
                centre, radius = np.asarray(avoid[0], dtype=float), float(avoid[1])
                c = self.center_of(self._edge_row // self.width, self._edge_row % self.width)
                d = self.center_of(graph.indices // self.width, graph.indices % self.width)
                near = ((np.linalg.norm(c - centre, axis=1) < radius)
                        | (np.linalg.norm(d - centre, axis=1) < radius))
                if np.any(near):
                    graph = graph.copy()
                    graph.data[near] *= avoid_cost
            _, pred = dijkstra(graph, directed=False, indices=si,
                               return_predecessors=True)
            if pred[gi] < 0:
                return None
            cells = [gi]
            while cells[-1] != si:
                cells.append(int(pred[cells[-1]]))
            cells.reverse()
        cells_arr = np.asarray(cells)
        path = self.center_of(cells_arr // self.width, cells_arr % self.width)
        if self.cell_of(np.asarray(goal_xy, dtype=float)) == g:
            path[-1] = goal_xy
        return path
