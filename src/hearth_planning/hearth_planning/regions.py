"""Doorways and narrow passages: where they are, and whether a map shows them passable
(ROS-free).

A :class:`Region` is an oriented rectangle in the map frame: ``centre_xy_m``, ``yaw_rad`` the
direction *through* it (along the passage), ``half_length_m`` along, ``half_width_m`` across
(jamb to jamb for a doorway).

:func:`detect_regions` finds them on a costmap, from its distance field and the skeleton
(medial axis) of its free space: skeleton cells that the robot can use but whose clearance is
less than half ``max_width_m`` are the middle lines of narrow places. Each local minimum of
clearance along them is a pinch point; the skeleton either side of it, while its clearance stays
within ``_NECK_RISE_M`` of the pinch's, is the neck. The neck becomes a rectangle, across the
direction to the nearest obstacle at the pinch, long enough to reach the open space on both
sides. It is kept only when it *separates* that open
space locally (within ``_WINDOW_M`` around it, the two ends are not connected except through
it), and when the robot can cross it: so room corners and alcoves, where the skeleton also runs
narrow, are not regions. Short ones (through a wall) are doorways, long ones narrow passages.

:func:`region_passable` reads a costmap the way the memory observes a region: it is passable
when the robot's centre can cross the rectangle from one end to the other through traversable
cells (a door drawn closed in /map, or a box left in a passage, makes it impassable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from hearth_planning.costmap import Costmap
from hearth_planning.paths import resample

DOORWAY = "doorway"
NARROW_PASSAGE = "narrow_passage"
CONFIGURED = "configured"
KINDS = (DOORWAY, NARROW_PASSAGE, CONFIGURED)

_FOUR = ndimage.generate_binary_structure(2, 1)
_EIGHT = ndimage.generate_binary_structure(2, 2)
_WINDOW_M = 0.6  # how far around a candidate region the "separates locally" test looks
_END_MARGIN_M = 0.25  # a region reaches this far past its narrow part on each side
_END_STRIP_M = 0.3  # depth of the open space checked at each end
_NECK_RISE_M = 0.1  # a neck runs along the skeleton while clearance is within this of its pinch


@dataclass(frozen=True)
class Region:
    """A doorway or narrow passage (map frame, metres, radians)."""

    id: str
    kind: str
    centre_xy_m: tuple[float, float]
    yaw_rad: float  # the direction through it
    half_length_m: float  # along yaw_rad
    half_width_m: float  # across

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"region kind must be one of {KINDS}, got {self.kind!r}")
        values = (*self.centre_xy_m, self.yaw_rad, self.half_length_m, self.half_width_m)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"region {self.id!r} has non-finite geometry")
        if self.half_length_m <= 0.0 or self.half_width_m <= 0.0:
            raise ValueError(f"region {self.id!r} must have a positive length and width")

    def local(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(along, across) coordinates (m) of world points (N, 2) in the region's frame."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        d = xy - np.asarray(self.centre_xy_m)
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        return d[:, 0] * c + d[:, 1] * s, -d[:, 0] * s + d[:, 1] * c

    def contains(self, x: float, y: float, margin_m: float = 0.0) -> bool:
        along, across = self.local(np.array([[x, y]]))
        return bool(
            abs(along[0]) <= self.half_length_m + margin_m
            and abs(across[0]) <= self.half_width_m + margin_m
        )

    def distance_m(self, x: float, y: float) -> float:
        """Distance from (x, y) to the rectangle (0 inside)."""
        along, across = self.local(np.array([[x, y]]))
        da = max(abs(along[0]) - self.half_length_m, 0.0)
        dc = max(abs(across[0]) - self.half_width_m, 0.0)
        return math.hypot(da, dc)

    def raster(
        self, costmap: Costmap, extra_length_m: float = 0.0
    ) -> tuple[int, int, np.ndarray, np.ndarray] | None:
        """The cells whose centres lie in the rectangle (lengthened by ``extra_length_m`` at
        each end): ``(row0, col0, inside, along_m)`` over their bounding box, or None when it
        misses the map."""
        hl = self.half_length_m + extra_length_m
        c, s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        corners = np.array(
            [
                (self.centre_xy_m[0] + a * c - b * s, self.centre_xy_m[1] + a * s + b * c)
                for a in (-hl, hl)
                for b in (-self.half_width_m, self.half_width_m)
            ]
        )
        rc = costmap.world_to_grid(corners)
        h, w = costmap.shape
        r0, r1 = max(0, math.floor(rc[:, 0].min())), min(h, math.ceil(rc[:, 0].max()))
        c0, c1 = max(0, math.floor(rc[:, 1].min())), min(w, math.ceil(rc[:, 1].max()))
        if r0 >= r1 or c0 >= c1:
            return None
        rows, cols = np.mgrid[r0:r1, c0:c1]
        along, across = self.local(costmap.cells_to_world(rows.ravel(), cols.ravel()))
        along, across = along.reshape(rows.shape), across.reshape(rows.shape)
        inside = (np.abs(along) <= hl) & (np.abs(across) <= self.half_width_m)
        if not inside.any():
            return None
        return r0, c0, inside, along


def region_ahead(regions: list[Region], path_xy: np.ndarray, x_m: float, y_m: float,
                 range_m: float) -> Region | None:
    """The first of ``regions`` that the path (K, 2) crosses within ``range_m`` ahead of
    the robot at (``x_m``, ``y_m``), counted from the path point nearest to it: where a
    robot that reports itself blocked is held up."""
    pts = resample(np.asarray(path_xy, dtype=float), 0.05)
    i = int(np.argmin(np.hypot(pts[:, 0] - x_m, pts[:, 1] - y_m)))
    ahead = pts[i:]
    along = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(ahead, axis=0).T))))
    for x, y in ahead[along <= range_m]:
        for region in regions:
            if region.contains(x, y):
                return region
    return None


def region_passable(costmap: Costmap, region: Region) -> bool | None:
    """Whether the robot can cross ``region`` end to end on ``costmap``; None when the region
    is (even partly) off the map, where the map says nothing."""
    ras = region.raster(costmap)
    if ras is None:
        return None
    r0, c0, inside, along = ras
    h, w = inside.shape
    if r0 + h > costmap.shape[0] or c0 + w > costmap.shape[1]:
        return None
    trav = costmap.traversable[r0 : r0 + h, c0 : c0 + w] & inside
    labels, n = ndimage.label(trav, structure=_FOUR)
    if n == 0:
        return False
    strip = max(1.5 * costmap.resolution_m, 0.6 * region.half_length_m)
    end_a = set(np.unique(labels[trav & (along <= -region.half_length_m + strip)]).tolist())
    end_b = set(np.unique(labels[trav & (along >= region.half_length_m - strip)]).tolist())
    return bool(end_a & end_b)


def detect_regions(
    costmap: Costmap,
    max_width_m: float,
    doorway_max_depth_m: float = 1.0,
) -> list[Region]:
    """Doorways and narrow passages of ``costmap`` narrower than ``max_width_m``."""
    res = costmap.resolution_m
    free = ~costmap.obstacle
    if not free.any() or not costmap.obstacle.any():
        return []
    skeleton = skeletonize(free)
    narrow = skeleton & costmap.traversable & (costmap.clearance_m < 0.5 * max_width_m)
    if not narrow.any():
        return []
    # Index of the nearest obstacle cell of every cell (for the direction across).
    _, nearest = ndimage.distance_transform_edt(free, return_indices=True)
    reach = math.ceil(3.0 / res)  # how far a neck is followed along the skeleton
    h, w = costmap.shape
    found: list[Region] = []
    # Pinch points are the local minima of clearance along the skeleton: taking its cells
    # from the narrowest up, a cell next to one already taken is on the slope of a neck
    # already found; any other starts a new neck.
    taken = np.zeros(costmap.shape, bool)
    cells = np.argwhere(narrow)
    for pr, pc in cells[np.argsort(costmap.clearance_m[narrow], kind="stable")].tolist():
        if taken[pr, pc]:
            continue
        if taken[max(pr - 1, 0) : pr + 2, max(pc - 1, 0) : pc + 2].any():
            taken[pr, pc] = True
            continue
        pinch_m = float(costmap.clearance_m[pr, pc])
        # The neck: skeleton cells joined to the pinch whose clearance stays within
        # _NECK_RISE_M of it.
        r0, r1 = max(0, pr - reach), min(h, pr + reach)
        c0, c1 = max(0, pc - reach), min(w, pc + reach)
        window = narrow[r0:r1, c0:c1] & (
            costmap.clearance_m[r0:r1, c0:c1] <= pinch_m + _NECK_RISE_M
        )
        neck_labels, _ = ndimage.label(window, structure=_EIGHT)
        rr, cc = np.nonzero(neck_labels == neck_labels[pr - r0, pc - c0])
        rr, cc = rr + r0, cc + c0
        taken[rr, cc] = True
        # Across: from the nearest obstacle to the pinch point; along: perpendicular to it.
        pinch_xy = np.array(costmap.cell_to_world(pr, pc))
        obstacle_xy = np.array(costmap.cell_to_world(nearest[0, pr, pc], nearest[1, pr, pc]))
        across = pinch_xy - obstacle_xy
        if np.hypot(*across) == 0.0:
            continue
        yaw = math.atan2(across[1], across[0]) + math.pi / 2.0
        yaw = math.atan2(math.sin(yaw), math.cos(yaw))
        along_axis = np.array([math.cos(yaw), math.sin(yaw)])
        a = (costmap.cells_to_world(rr, cc) - pinch_xy) @ along_axis
        a_min, a_max = float(a.min()), float(a.max())
        depth = a_max - a_min + res
        centre = pinch_xy + along_axis * 0.5 * (a_min + a_max)
        kind = DOORWAY if depth <= doorway_max_depth_m else NARROW_PASSAGE
        region = Region(
            id=f"{kind}@{centre[0]:.2f},{centre[1]:.2f}",
            kind=kind,
            centre_xy_m=(float(centre[0]), float(centre[1])),
            yaw_rad=yaw,
            half_length_m=0.5 * depth + _END_MARGIN_M,
            half_width_m=pinch_m + res,
        )
        if _separates(costmap, region) and region_passable(costmap, region):
            found.append(region)
    return _dedupe(found)


def _separates(costmap: Costmap, region: Region) -> bool:
    """True when, near ``region``, the open space at its two ends is connected only through
    it."""
    ras = region.raster(costmap, extra_length_m=_END_STRIP_M)
    if ras is None:
        return False
    r0, c0, inside_long, along = ras
    pad = math.ceil(_WINDOW_M / costmap.resolution_m)
    h, w = costmap.shape
    wr0, wc0 = max(0, r0 - pad), max(0, c0 - pad)
    wr1 = min(h, r0 + inside_long.shape[0] + pad)
    wc1 = min(w, c0 + inside_long.shape[1] + pad)
    trav = costmap.traversable[wr0:wr1, wc0:wc1].copy()
    box = (slice(r0 - wr0, r0 - wr0 + inside_long.shape[0]),
           slice(c0 - wc0, c0 - wc0 + inside_long.shape[1]))
    core = inside_long & (np.abs(along) <= region.half_length_m)
    end_a = inside_long & (along < -region.half_length_m)
    end_b = inside_long & (along > region.half_length_m)
    trav_box = trav[box]
    if not (trav_box & end_a).any() or not (trav_box & end_b).any():
        return False
    trav_box[core] = False  # take the region out; are the two ends still connected?
    labels, _ = ndimage.label(trav, structure=_FOUR)
    lab_box = labels[box]
    a = set(np.unique(lab_box[end_a & trav_box]).tolist()) - {0}
    b = set(np.unique(lab_box[end_b & trav_box]).tolist()) - {0}
    return bool(a) and bool(b) and not (a & b)


def _dedupe(regions: list[Region]) -> list[Region]:
    """Drop regions whose centre lies inside an earlier, narrower one (pieces of one door)."""
    kept: list[Region] = []
    for region in sorted(regions, key=lambda r: r.half_width_m):
        if not any(k.contains(*region.centre_xy_m) for k in kept):
            kept.append(region)
    return kept
