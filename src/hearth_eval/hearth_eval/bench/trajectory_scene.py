"""The benchmark scene of the local planner: a full local costmap, 5 tracked people, a path.

Shared by ``./hearth bench trajectory`` (hearth's planner) and its pytorch-mppi peer, so both
see exactly the same inputs. Seeded: the same every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from hearth_trajectory.critics import PathGoal, Scene
from hearth_trajectory.fields import GridField, path_cost_to_go, resample_path
from hearth_trajectory.people_forecast import Forecast, Tracks, forecast
from hearth_trajectory.planner import Odometry, PlannerParams
from hearth_trajectory.trajectory_space import AxisLimits, MotionLimits, StartState

LIMITS = MotionLimits(AxisLimits(0.0, 1.0, 1.0, 5.0), AxisLimits(-2.5, 2.5, 4.0, 20.0))
ROBOT_RADIUS_M = 0.175
RESOLUTION_M = 0.05
SIZE_M = 6.0


@dataclass
class BenchScene:
    distance: GridField  # 6 x 6 m at 5 cm around the robot
    path_xy: np.ndarray
    tracks: Tracks
    odom: Odometry


def make_scene(seed: int = 0) -> BenchScene:
    """A cluttered room: walls on two sides, boxes, a path bending through, 5 people."""
    rng = np.random.default_rng(seed)
    n = round(SIZE_M / RESOLUTION_M)
    occ = np.zeros((n, n), dtype=bool)
    occ[:4, :] = True  # a wall along the bottom
    occ[:, -4:] = True  # and one on the right
    for _ in range(12):  # furniture
        r, c = rng.integers(10, n - 14, size=2)
        if abs(r - n // 2) < 8 and abs(c - n // 2) < 8:
            continue  # not on the robot
        occ[r:r + rng.integers(3, 12), c:c + rng.integers(3, 12)] = True
    origin = (-SIZE_M / 2, -SIZE_M / 2)
    dist = ndimage.distance_transform_edt(~occ) * RESOLUTION_M
    t = np.linspace(0.0, 1.0, 80)
    path = np.column_stack([6.0 * t, 2.0 * np.sin(1.5 * t)])  # bending away to the left
    positions = np.column_stack([rng.uniform(0.5, 2.8, 5), rng.uniform(-2.0, 2.0, 5)])
    velocities = rng.normal(0.0, 0.6, (5, 2))
    covs = np.tile(np.diag([0.01, 0.01, 0.04, 0.04]), (5, 1, 1))
    tracks = Tracks(0.0, np.arange(1, 6), positions, velocities, covs, np.full(5, 0.25))
    odom = Odometry(0.0, 0.0, 0.0, 0.2, 0.6, 0.1, np.eye(2) * 0.02**2)
    return BenchScene(GridField(origin, RESOLUTION_M, dist), path, tracks, odom)


def planner_scene(bs: BenchScene, params: PlannerParams, start: StartState,
                  t_eff_s: float) -> tuple[Scene, Forecast]:
    """The critics' scene as the planner builds it for a start state (people forecast at the
    plan's steps from ``t_eff_s``; the path's cost-to-go around the start)."""
    times = t_eff_s + params.dt_s * np.arange(1, params.steps + 1)
    people = forecast(bs.tracks, times, params.person_accel_psd)
    pts, arc = resample_path(bs.path_xy, params.path_spacing_m)
    keep = arc <= params.path_window_m
    ctg = path_cost_to_go(pts[keep], arc[keep], float(arc[-1]), (start.x_m, start.y_m),
                          LIMITS.linear.max_velocity * params.horizon_s + 0.5,
                          params.cost_to_go_resolution_m)
    sigma = params.min_pose_sigma_m
    scene = Scene(params.dt_s, LIMITS, ROBOT_RADIUS_M, np.eye(2) * sigma**2, bs.distance,
                  RESOLUTION_M, people, PathGoal(ctg))
    return scene, people
