"""The global path of a navigation episode, and its free-space lower bound (ROS-free).

:class:`GlobalRoute` is hearth_planning's global planner as ``global_planner_node`` runs it:
its costmap (``Costmap`` with ``cost_params`` of the node's default config, the robot's
radius plus ``inflation_margin_m``), its cost-aware A* with line-of-sight shortcutting
(``GridPlanner``), the path resampled every ``plan_spacing_m``. It plans on the home's
exported map (``maps/<home>/map.yaml``), with the clutter the scenario puts on the map when
that clutter is known (mapped). The local planner follows this path, as it follows /plan.

**The free-space lower bound** of a leg (:func:`free_space_lower_bound`): the shortest
path the robot's disc fits along on the *empty* map (the home's map: no people, no added
clutter), found by the same planner with no extra cost near walls (``cost_penalty`` 0, so
the shortcut grid path is as short as the grid allows), driven along its length ``L`` at
the robot's top speed ``v`` with its acceleration limit ``a`` from standstill to
standstill: ``T = L / v + v / a`` when ``L >= v**2 / a``, else ``2 * sqrt(L / a)``, with
``L`` less the goal radius (the robot may stand anywhere within it). Turns are free (no time
to turn on the spot, no slowing for corners), so no drive can beat it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LowerBound:
    length_m: float  # the shortest path on the empty map
    time_s: float  # at top speed and the acceleration limit, standstill to standstill


def trapezoid_time_s(length_m: float, v_max_mps: float, a_max_mps2: float) -> float:
    """Fastest time over ``length_m`` from standstill to standstill with speed at most
    ``v_max_mps`` and acceleration (and braking) at most ``a_max_mps2``."""
    if length_m <= 0.0:
        return 0.0
    if length_m >= v_max_mps**2 / a_max_mps2:
        return length_m / v_max_mps + v_max_mps / a_max_mps2
    return 2.0 * math.sqrt(length_m / a_max_mps2)


class GlobalRoute:
    """The global planner's paths on one map (see the module docstring), with its
    navigability memory of the map's doorways and narrow passages when ``memory``: a
    blocked report counts against the region ahead (:meth:`report_blocked`), and later
    paths weigh it as ``global_planner_node`` does after /local_planner/blocked."""

    def __init__(self, occ_map, robot_radius_m: float, *, shortest: bool = False,
                 memory: bool = False):
        """``occ_map``: a hearth_planning ``OccupancyMap``; ``shortest``: no extra cost near
        walls (the lower bound's planner), else the node's default costs."""
        from hearth_common.config import load_config
        from hearth_planning.config import GlobalPlannerConfig, cost_params, memory_params
        from hearth_planning.costmap import Costmap
        from hearth_planning.navigability import NavigabilityMemory
        from hearth_planning.regions import detect_regions

        cfg = load_config(GlobalPlannerConfig, {})
        params = cost_params(cfg, robot_radius_m + cfg.inflation_margin_m)
        if shortest:
            from dataclasses import replace

            params = replace(params, cost_penalty=0.0)
        self.config = cfg
        self.costmap = Costmap(occ_map, params)
        self.memory = None
        if memory:
            self.memory = NavigabilityMemory(memory_params(cfg))
            if cfg.detect_regions:
                self.memory.merge_detected(detect_regions(self.costmap, cfg.region_max_width_m))
        self._penalised_at_s = 0.0
        self.planner = self._planner()

    def _planner(self):
        from hearth_planning.grid_astar import GridPlanner

        layer = None
        if self.memory is not None:
            penalties = self.memory.penalties_m(self._penalised_at_s)
            layer = self.memory.penalty_layer(self.costmap, penalties)
        return GridPlanner(self.costmap, layer if layer is not None and layer.any() else None,
                           smooth=self.config.smooth_path)

    def plan(self, start_xy: tuple[float, float], goal_xy: tuple[float, float]) -> np.ndarray:
        """The path (K, 2) from ``start_xy`` to ``goal_xy`` (world = map frame, m), as
        /plan carries it. Raises hearth_planning's ``PlanError`` when there is none."""
        from hearth_planning.paths import resample

        res = self.planner.plan(tuple(map(float, start_xy)), tuple(map(float, goal_xy)),
                                self.config.goal_substitute_radius_m)
        return resample(res.points, self.config.plan_spacing_m)

    def report_blocked(self, path_xy: np.ndarray, robot_xy: tuple[float, float],
                       t_s: float) -> str | None:
        """The local planner reported itself blocked at ``robot_xy`` on ``path_xy`` at
        ``t_s`` (s): the region ahead within ``blocked_region_range_m`` is observed
        impassable, as the node observes it. Its id, or None (no memory, no region)."""
        from hearth_planning.regions import region_ahead

        if self.memory is None:
            return None
        region = region_ahead(self.memory.regions, path_xy, float(robot_xy[0]),
                              float(robot_xy[1]), self.config.blocked_region_range_m)
        if region is None:
            return None
        if self.memory.observe(region.id, False, float(t_s), "blocked"):
            self._penalised_at_s = float(t_s)
            self.planner = self._planner()
        return region.id

    def length_m(self, start_xy: tuple[float, float], goal_xy: tuple[float, float]) -> float:
        from hearth_planning.paths import path_length

        return float(path_length(self.plan(start_xy, goal_xy)))


def home_with(home_name: str, added: tuple = (), start: tuple | None = None):
    """The home (hearth_sim ``Home``) with ``added`` pieces of furniture set down, the robot
    starting at ``start`` (x_m, y_m, yaw_rad; None: the home's own start). hearth_sim checks
    that nothing added stands where the robot starts. Raises hearth_sim's ``HomeError``."""
    from dataclasses import replace

    from hearth_sim.home.loader import apply_changes, resolve_home
    from hearth_sim.home.model import HomeChanges, Pose2

    home = resolve_home(home_name)
    if start is not None:
        home = replace(home, robot_start=Pose2(float(start[0]), float(start[1]),
                                               float(start[2]) if len(start) > 2 else 0.0))
    if added:
        home = apply_changes(home, HomeChanges("clutter", added=tuple(added)))
    return home


def home_map(home_name: str, added: tuple = (), start: tuple | None = None):
    """The home's exported map (``maps/<home>/map.yaml``) as an ``OccupancyMap``; with
    ``added`` pieces of furniture (hearth_sim ``Furniture``), the home rasterized with them on
    the same grid (what a map that knows the clutter shows; ``start`` as in
    :func:`home_with`)."""
    from hearth_planning.map_io import OccupancyMap, load_map
    from hearth_sim.home.loader import maps_dir
    from hearth_sim.home.occupancy import rasterize

    if not added:
        return load_map(maps_dir() / home_name / "map.yaml")
    raster = rasterize(home_with(home_name, added, start))
    return OccupancyMap(raster.data, raster.resolution_m, float(raster.origin_xy_m[0]),
                        float(raster.origin_xy_m[1]))


def free_space_lower_bound(empty: GlobalRoute, start_xy: tuple[float, float],
                           goal_xy: tuple[float, float], v_max_mps: float,
                           a_max_mps2: float, stop_within_m: float = 0.0) -> LowerBound:
    """The leg's lower bound (module docstring) with ``empty`` the shortest-path planner on
    the empty map; the robot may stop anywhere within ``stop_within_m`` of the goal (its
    length is the whole path's, its time that of the path less ``stop_within_m``)."""
    length = empty.length_m(start_xy, goal_xy)
    return LowerBound(length, trapezoid_time_s(max(length - stop_within_m, 0.0), v_max_mps,
                                               a_max_mps2))
