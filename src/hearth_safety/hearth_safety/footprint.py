"""The robot's footprint seen from above, in base_link (ROS-free, numpy).

A circle (hearth's round chassis: robot.yaml's ``base.radius_m``) or a convex polygon. What
the collision check needs from it is a signed distance: how far a point (x, y in the
footprint's own frame) lies outside it, negative inside.
"""

from __future__ import annotations

import math

import numpy as np


class Footprint:
    """A circle centred on base_link, or a convex polygon (vertices counter-clockwise)."""

    def __init__(self, radius_m: float | None = None,
                 polygon_m: np.ndarray | list | None = None) -> None:
        if (radius_m is None) == (polygon_m is None):
            raise ValueError("give a footprint radius or a polygon, not both")
        self.radius_m: float | None = None
        self.polygon_m: np.ndarray | None = None
        if radius_m is not None:
            if not (math.isfinite(radius_m) and radius_m > 0.0):
                raise ValueError(f"footprint radius must be finite and > 0, got {radius_m!r}")
            self.radius_m = float(radius_m)
            self.bounding_radius_m = self.radius_m
            return
        poly = np.asarray(polygon_m, dtype=float)
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3 or not np.all(np.isfinite(poly)):
            raise ValueError("footprint polygon must be at least 3 finite (x, y) vertices")
        nxt = np.roll(poly, -1, axis=0)
        if np.sum(poly[:, 0] * nxt[:, 1] - nxt[:, 0] * poly[:, 1]) < 0.0:
            poly = poly[::-1].copy()  # clockwise: turn it round
        edges = np.roll(poly, -1, axis=0) - poly
        turn = np.roll(edges, -1, axis=0)
        if not np.all(edges[:, 0] * turn[:, 1] - edges[:, 1] * turn[:, 0] > 0.0):
            raise ValueError("footprint polygon must be convex")
        lengths = np.hypot(edges[:, 0], edges[:, 1])
        # Outward unit normals (counter-clockwise polygon: the edge turned right) and offsets.
        self._normals = np.column_stack([edges[:, 1], -edges[:, 0]]) / lengths[:, None]
        self._offsets = np.sum(self._normals * poly, axis=1)
        if np.any(self._offsets <= 0.0):
            raise ValueError("footprint polygon must contain base_link (the origin)")
        self.polygon_m = poly
        self.bounding_radius_m = float(np.max(np.hypot(poly[:, 0], poly[:, 1])))

    @classmethod
    def circle(cls, radius_m: float) -> Footprint:
        return cls(radius_m=radius_m)

    @classmethod
    def polygon(cls, vertices_m: np.ndarray | list) -> Footprint:
        return cls(polygon_m=vertices_m)

    def signed_distance(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Distance (m) of the points outside the footprint, negative inside; any shape of
        arrays. For a polygon it is the largest distance beyond an edge's line: exact inside
        and opposite an edge, less than the true distance near a vertex (conservative)."""
        if self.radius_m is not None:
            return np.hypot(x_m, y_m) - self.radius_m
        n, c = self._normals, self._offsets
        out = x_m * n[0, 0] + y_m * n[0, 1] - c[0]
        for k in range(1, len(c)):
            out = np.maximum(out, x_m * n[k, 0] + y_m * n[k, 1] - c[k])
        return out

    def outline(self, segments: int = 24) -> np.ndarray:
        """A closed outline (K, 2) for drawing, first vertex repeated at the end."""
        if self.radius_m is not None:
            a = np.linspace(0.0, 2.0 * math.pi, segments + 1)
            return np.column_stack([self.radius_m * np.cos(a), self.radius_m * np.sin(a)])
        return np.vstack([self.polygon_m, self.polygon_m[:1]])
