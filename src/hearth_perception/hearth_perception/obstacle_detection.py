"""Dynamic-obstacle detections from depth points: what the static map does not explain,
clustered (ROS-free).

1. Keep the points between the floor (``min_z_m``) and the robot's height (``max_z_m``),
   farther than ``self_radius_m`` from the robot's centre (the ToF, looking down, sees the
   front edge of the robot's own chassis) and farther than ``static_clearance_m`` from every
   occupied cell of the static map
   (given as a distance function, e.g. :meth:`LocalCostmap.distance_at` of a static-only
   window). Points where the map is unknown (the function returns 0) count as explained.
2. Cluster them on a ``cell_m`` grid: 8-connected components of the occupied cells
   (``scipy.ndimage.label``), so points less than about one cell apart share a cluster.
3. A cluster with at least ``min_points`` points and a radius at most ``max_radius_m``
   (larger: an unmapped wall or piece of furniture, left to the costmap) is a detection.
   One that reaches the left or right edge of the image (``on_side_border``) is flagged
   ``cut``: the edge of the view cuts the body, so its centroid lies up to half a radius
   too far into the view and its radius is too small. The tracker lets a cut body only
   keep a walking person's track going (``ObstacleTracker.update``); it does not count
   a cut body's track missed either (its
   :class:`~hearth_perception.obstacle_tracker.SensorView` wants the whole body in view).

The depth sees only the near side of a body. A depth camera samples a round body of radius r
evenly across the line of sight, so the visible points' centroid lies ``pi r / 4`` nearer the
sensor than the body's centre (the mean of sqrt(r² - s²) over s in [-r, r]); the centre is
placed that far behind the centroid along the line of sight, with r estimated as half the
cluster's extent across the line of sight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class DetectionParams:
    min_z_m: float = 0.03
    max_z_m: float = 0.7
    static_clearance_m: float = 0.15
    cell_m: float = 0.1
    min_points: int = 5
    max_radius_m: float = 0.6
    self_radius_m: float = 0.0  # points this near the robot's centre are the robot itself

    def __post_init__(self) -> None:
        if not (self.min_z_m < self.max_z_m and self.cell_m > 0.0 and self.min_points >= 1
                and self.max_radius_m > 0.0 and self.static_clearance_m >= 0.0
                and self.self_radius_m >= 0.0):
            raise ValueError(f"inconsistent detection parameters: {self}")


@dataclass(frozen=True)
class Detections:
    """D detections: ``positions`` (D, 2) body centres (m), ``radii`` (D,) (m),
    ``point_counts`` (D,), ``cut`` (D,): the body reaches the side of the image."""

    positions: np.ndarray
    radii: np.ndarray
    point_counts: np.ndarray
    cut: np.ndarray

    def __len__(self) -> int:
        return len(self.radii)

    @staticmethod
    def empty() -> Detections:
        return Detections(np.zeros((0, 2)), np.zeros(0), np.zeros(0, dtype=np.int64),
                          np.zeros(0, dtype=bool))


def unexplained_points(
    points: np.ndarray,
    params: DetectionParams,
    static_distance_m: Callable[[np.ndarray], np.ndarray] | None = None,
    robot_xy: np.ndarray | tuple[float, float] | None = None,
) -> np.ndarray:
    """The points (K, 3) of ``points`` (N, 3) in the obstacle height band that neither the
    static map (when ``static_distance_m`` is given) nor the robot's own body (within
    ``self_radius_m`` of ``robot_xy``, when given) explains."""
    p = np.asarray(points, dtype=float)
    p = p[np.all(np.isfinite(p), axis=1)]
    p = p[(p[:, 2] > params.min_z_m) & (p[:, 2] <= params.max_z_m)]
    if robot_xy is not None and params.self_radius_m > 0.0:
        d = p[:, :2] - np.asarray(robot_xy, dtype=float)
        p = p[np.hypot(d[:, 0], d[:, 1]) > params.self_radius_m]
    if static_distance_m is not None and len(p):
        p = p[static_distance_m(p[:, :2]) > params.static_clearance_m]
    return p


def cluster_labels(xy: np.ndarray, cell_m: float) -> np.ndarray:
    """Cluster index (N,) of each point (N, 2): 8-connected components of the ``cell_m``
    cells the points occupy, numbered 0.. in no particular order."""
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    cells = np.floor(xy / cell_m).astype(np.int64)
    lo = cells.min(axis=0)
    cells -= lo
    shape = tuple(cells.max(axis=0) + 1)
    grid = np.zeros(shape, dtype=bool)
    grid[cells[:, 0], cells[:, 1]] = True
    labels, _ = ndimage.label(grid, structure=_EIGHT_CONNECTED)
    return labels[cells[:, 0], cells[:, 1]].astype(np.int64) - 1


def detect_obstacles(
    points: np.ndarray,
    sensor_xy: np.ndarray | tuple[float, float],
    params: DetectionParams,
    static_distance_m: Callable[[np.ndarray], np.ndarray] | None = None,
    robot_xy: np.ndarray | tuple[float, float] | None = None,
    on_side_border: np.ndarray | None = None,
) -> Detections:
    """Detections (body centres and radii, same frame as ``points``) from one frame's
    points (N, 3), seen from ``sensor_xy`` (the sensor's position in that frame), the robot's
    centre at ``robot_xy``. ``on_side_border`` (N,): the points from the image's side edges
    (``DepthProjector.side_border``); a cluster with one of them is flagged cut."""
    if on_side_border is not None:
        on_side_border = np.asarray(on_side_border, dtype=bool).reshape(-1)
        if len(on_side_border) != len(points):
            raise ValueError(f"{len(points)} points but {len(on_side_border)} border flags")
        # carry the flag through the filtering as a fourth coordinate
        points = np.column_stack([np.asarray(points, dtype=float)[:, :3], on_side_border])
    p = unexplained_points(points, params, static_distance_m, robot_xy)
    if len(p) < params.min_points:
        return Detections.empty()
    xy = p[:, :2]
    labels = cluster_labels(xy, params.cell_m)
    k = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=k)
    centroid = np.column_stack([np.bincount(labels, xy[:, 0], k),
                                np.bincount(labels, xy[:, 1], k)]) / counts[:, None]
    # line of sight and its normal, per cluster
    sight = centroid - np.asarray(sensor_xy, dtype=float)
    sight /= np.maximum(np.linalg.norm(sight, axis=1, keepdims=True), 1e-9)
    across = np.column_stack([-sight[:, 1], sight[:, 0]])
    rel = xy - centroid[labels]
    lateral = np.einsum("ni,ni->n", rel, across[labels])
    lat_max = np.full(k, -np.inf)
    lat_min = np.full(k, np.inf)
    np.maximum.at(lat_max, labels, lateral)
    np.minimum.at(lat_min, labels, lateral)
    half_width = 0.5 * (lat_max - lat_min)
    centre = centroid + (np.pi / 4.0) * half_width[:, None] * sight
    # radius: the farthest point from the centre (at least the half width)
    dist = np.linalg.norm(xy - centre[labels], axis=1)
    radius = np.zeros(k)
    np.maximum.at(radius, labels, dist)
    radius = np.maximum(radius, half_width)
    keep = (counts >= params.min_points) & (radius <= params.max_radius_m)
    cut = (np.bincount(labels, p[:, 3] > 0.5, minlength=k) > 0 if on_side_border is not None
           else np.zeros(k, dtype=bool))
    return Detections(centre[keep], radius[keep], counts[keep], cut[keep])
