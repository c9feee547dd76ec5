"""The local costmap the planner sees: hearth_perception's, fed with depth points and /map.

A thin glue (ROS-free): depth frames become odom-frame points when they arrive
(``hearth_perception.depth_points``); once per cycle the 6 x 6 m window
(``hearth_perception.local_costmap.LocalCostmap``) is rebuilt around the robot from the
latest fresh frame's points and the global map, and its distance field becomes a
:class:`~hearth_trajectory.fields.GridField`. Points on a tracked person are left out: the
person is planned around from their forecast, not as a wall where they stood. Where the
frame's rays pass, they clear the map's cells (``clear_static``): the map is placed by the
localization's estimate, and its error must not close a doorway the camera sees open. With
``align_to_map`` the map is also placed where each fresh frame's walls say it is
(``hearth_perception.map_alignment``): the walls the camera does not see (beside and behind
the robot) then move with the ones it does, instead of standing 0.1 m into a hallway. It is
off by default: on the navigation suite, where the map is exact, it changed outcomes
(apartment_hall_crowd/2 failed; with the tracked people's points left out of the fit,
apartment_tour/1 failed as well); the obstacle tracker's alignment, which only decides what
the map explains, left those episodes as they were.

hearth_perception is imported lazily: without it there is no local costmap and the planner
plans against people only (the node says so once at start).
"""

from __future__ import annotations

import numpy as np

from hearth_trajectory.fields import GridField


def perception_available() -> bool:
    try:
        import hearth_perception.local_costmap  # noqa: F401
    except ImportError:
        return False
    return True


class LocalCostmapInput:
    def __init__(self, size_m: float, resolution_m: float, depth_timeout_s: float,
                 track_clearance_m: float, self_radius_m: float, min_obstacle_z_m: float = 0.03,
                 max_obstacle_z_m: float = 0.7, clear_static: bool = True,
                 align_to_map: bool = False):
        from hearth_perception.local_costmap import LocalCostmap
        from hearth_perception.map_alignment import Alignment, MapAligner

        self.costmap = LocalCostmap(size_m, resolution_m, min_obstacle_z_m=min_obstacle_z_m,
                                    max_obstacle_z_m=max_obstacle_z_m,
                                    clear_static=clear_static)
        self.depth_timeout_s = depth_timeout_s
        self.track_clearance_m = track_clearance_m
        self.self_radius_m = self_radius_m
        self.static_map = None  # hearth_perception.local_costmap.StaticMap
        self._points: np.ndarray | None = None  # (N, 3) odom frame
        self._points_stamp_s = -np.inf
        self._sensor_xy: tuple[float, float] | None = None  # odom, at the frame's stamp
        self.aligner = MapAligner() if align_to_map else None
        self.alignment = Alignment()  # the latest frame's correction of the map's placement
        self._aligned_stamp_s = -np.inf
        self._align_window = LocalCostmap(10.0, resolution_m) if align_to_map else None

    @property
    def resolution_m(self) -> float:
        return self.costmap.resolution_m

    def set_map(self, occupancy: np.ndarray, resolution_m: float,
                origin_xy_yaw: tuple[float, float, float]) -> None:
        from hearth_perception.local_costmap import StaticMap

        self.static_map = StaticMap(occupancy, resolution_m, origin_xy_yaw)

    def set_depth_points(self, stamp_s: float, points_odom: np.ndarray,
                         robot_xy: tuple[float, float] | None = None,
                         sensor_xy: tuple[float, float] | None = None) -> None:
        """A depth frame's points (N, 3), odom frame. Those within ``self_radius_m`` of the
        robot's position at the frame's stamp are the robot's own body (the ToF sees the
        front of the chassis) and are dropped. ``sensor_xy``: where the camera was (odom),
        for its rays to clear the map (without it, nothing is cleared)."""
        pts = np.asarray(points_odom, dtype=float).reshape(-1, 3)
        if robot_xy is not None and len(pts):
            d2 = (pts[:, 0] - robot_xy[0]) ** 2 + (pts[:, 1] - robot_xy[1]) ** 2
            pts = pts[d2 > self.self_radius_m**2]
        self._points = pts
        self._points_stamp_s = stamp_s
        self._sensor_xy = sensor_xy

    def update(self, now_s: float, centre_xy: tuple[float, float],
               pose_odom_map: tuple[float, float, float] | None,
               people_xy: np.ndarray, people_radii: np.ndarray) -> GridField:
        """Rebuild the window around ``centre_xy`` and return its distance field (m)."""
        points = None
        if self._points is not None and now_s - self._points_stamp_s <= self.depth_timeout_s:
            points = self._points
            if len(people_xy) and len(points):
                d = np.hypot(points[:, None, 0] - people_xy[None, :, 0],
                             points[:, None, 1] - people_xy[None, :, 1])
                on_person = np.any(d <= people_radii[None, :] + self.track_clearance_m, axis=1)
                points = points[~on_person]
        static = None
        if self.static_map is not None and pose_odom_map is not None:
            if points is not None and self.aligner is not None:
                self._align(points, pose_odom_map)
                pose_odom_map = self.alignment.corrected_map_pose(pose_odom_map)
            static = self.static_map.in_odom(pose_odom_map)
        sensor = self._sensor_xy if points is not None else None
        self.costmap.update(np.asarray(centre_xy, dtype=float), points, static,
                            sensor_xy_odom=sensor)
        origin = self.costmap.origin_odom_xy
        return GridField((float(origin[0]), float(origin[1])), self.costmap.resolution_m,
                         np.asarray(self.costmap.distance_m, dtype=float))

    def _align(self, points: np.ndarray, pose_odom_map: tuple[float, float, float]) -> None:
        """Align the latest frame (once) to the map as the localization places it: its
        ``points`` less those on tracked people (people are not the map)."""
        if self._aligned_stamp_s == self._points_stamp_s or self._sensor_xy is None:
            return
        self._aligned_stamp_s = self._points_stamp_s
        window = self._align_window
        window.update(np.asarray(self._sensor_xy, dtype=float), None,
                      self.static_map.in_odom(pose_odom_map))
        a = self.aligner.align(points, window.distance_at, self._sensor_xy,
                               self.costmap.min_obstacle_z_m, self.costmap.max_obstacle_z_m)
        if a.aligned:  # a frame that shows too little of the map keeps the last correction
            self.alignment = a
