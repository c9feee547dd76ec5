"""Configuration of the global planner node (ROS-free), see ``config/global_planner.yaml``.

The robot's footprint is not a parameter of this node: it is the robot's (``base.radius_m``),
read at start from ``robot_params_file``
(``hearth_description.robot_model.load_robot_params()``). The margin kept beyond it,
``inflation_margin_m``, is the planner's choice; :func:`inflation_radius_m` adds the two.
:func:`cost_params`, :func:`memory_params` and :func:`configured_regions` turn the flat
parameters into the ROS-free cores' own parameter objects.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hearth_common.config import ConfigError, param
from hearth_planning.costmap import CostParams
from hearth_planning.navigability import MemoryParams
from hearth_planning.regions import CONFIGURED, Region

if TYPE_CHECKING:  # only the type: the node reads robot.yaml, this module reads no file
    from hearth_description.robot_model import BaseParams


@dataclass(frozen=True)
class GlobalPlannerConfig:
    # The robot: its footprint comes from its description.
    robot_params_file: str = param(
        "",
        "robot.yaml whose base.radius_m is the footprint obstacles are inflated by "
        "(empty: hearth_description's config/robot.yaml)",
    )
    inflation_margin_m: float = param(
        0.01,
        "clearance kept beyond the robot's base.radius_m: obstacles are inflated by the sum",
        min=0.0,
        max=1.0,
    )
    map_yaml: str = param(
        "",
        "map_server YAML of a static map to plan on (republished on /map, transient local); "
        "empty: plan on the map received on /map",
    )
    lethal_occupancy: int = param(
        65, "map cells with this occupancy (0..100) or more are obstacles", min=1, max=100
    )
    goal_tolerance_m: float = param(
        0.15,
        "navigate_to_pose succeeds when the robot is this close to the goal position",
        min=0.01,
        max=5.0,
    )
    global_frame: str = param("map", "frame of the map, the goals and /plan")
    robot_frame: str = param("base_link", "the robot's body frame (TF global_frame -> it)")
    odom_frame: str = param(
        "odom", "when TF global_frame -> robot_frame has no common time (the localization's "
        "correction older than the buffered odometry: it fell behind), the robot's pose is "
        "the latest global_frame -> odom_frame composed with the latest odom_frame -> "
        "robot_frame (empty: no such fallback)")
    replan_period_s: float = param(
        0.0,
        "replan an active navigation this often from the robot's pose; 0: plan once",
        min=0.0,
        max=3600.0,
    )
    nominal_speed_mps: float = param(
        0.5,
        "average speed assumed for navigate_to_pose's estimated_time_remaining",
        min=0.01,
        max=5.0,
    )
    feedback_rate_hz: float = param(
        5.0,
        "rate at which an active navigation checks the robot's pose and sends feedback",
        min=0.5,
        max=50.0,
    )
    tf_timeout_s: float = param(
        2.0,
        "an active navigation aborts with TF_ERROR when the robot's pose has been "
        "unavailable this long",
        min=0.1,
        max=60.0,
    )
    # The costmap (see costmap.py for the formula).
    allow_unknown: bool = param(
        False,
        "plan through unknown cells (at 1 + unknown_penalty per metre); false: unknown cells "
        "are obstacles, inflated like walls",
    )
    unknown_penalty: float = param(
        1.0, "extra cost per metre through unknown cells when allow_unknown", min=0.0, max=100.0
    )
    cost_inflation_radius_m: float = param(
        1.0, "distance from obstacles beyond which travel costs nothing extra", min=0.0, max=5.0
    )
    cost_scaling_factor: float = param(
        3.0,
        "decay rate (1/m) of the extra cost with distance beyond the inscribed radius",
        min=0.0,
        max=100.0,
    )
    cost_penalty: float = param(
        2.0,
        "extra cost per metre at the inscribed radius (the multiplier there is 1 + this)",
        min=0.0,
        max=100.0,
    )
    # The search and the path.
    smooth_path: bool = param(
        True, "shortcut the grid path under line of sight where it costs no more"
    )
    plan_spacing_m: float = param(
        0.05, "spacing of the poses of /plan and of returned paths", min=0.01, max=1.0
    )
    goal_substitute_radius_m: float = param(
        0.0,
        "a goal in an obstacle, the inflation, unknown space or unreachable is moved to the "
        "nearest reachable free cell within this distance; 0: such goals are errors",
        min=0.0,
        max=10.0,
    )
    start_substitute_radius_m: float = param(
        0.5,
        "a robot pose in an obstacle or unknown cell (the localization is off: the robot is "
        "not in the wall) is planned from the nearest free cell within this distance; "
        "0: such a start is an error (205)",
        min=0.0,
        max=5.0,
    )
    heuristic_landmarks: int = param(
        8,
        "landmarks of the cached ALT heuristic, built once per map (exact costs from each to "
        "every cell); 0: the octile distance alone",
        min=0,
        max=32,
    )
    replan_on_blocked: bool = param(
        True, "replan when /local_planner/blocked rises (the local planner makes no progress)"
    )
    # Navigability memory.
    memory_dir: str = param(
        "~/.hearth/navigability",
        "folder of the per-home memory files (<home>.json); empty: keep the memory in RAM only",
    )
    home_name: str = param(
        "",
        "name of the home's memory file; empty: the folder name of map_yaml, or 'default'",
    )
    detect_regions: bool = param(
        True, "detect doorways and narrow passages on each map (extra_regions are always used)"
    )
    region_max_width_m: float = param(
        1.1, "passages narrower than this are regions of the memory", min=0.1, max=5.0
    )
    extra_regions: list[str] = param(
        [],
        "regions to remember besides the detected ones, each 'name x_m y_m yaw_deg length_m "
        "width_m' in the global frame (yaw: the direction through it)",
    )
    memory_half_life_h: float = param(
        48.0, "an observation counts half as much after this many hours", min=0.01, max=1e5
    )
    memory_prior_passable: float = param(
        0.95, "probability that a region never observed is passable", min=0.01, max=0.99
    )
    memory_prior_strength: float = param(
        2.0, "weight of that prior, in observations", min=0.01, max=1000.0
    )
    closed_penalty_m: float = param(
        10.0,
        "extra cost (m) of crossing a region that is surely closed; p_passable scales it down",
        min=0.0,
        max=1000.0,
    )
    observation_interval_s: float = param(
        300.0,
        "a region's state is recorded again, unchanged, only this long after the last record",
        min=0.0,
        max=86400.0,
    )
    blocked_region_range_m: float = param(
        1.5,
        "a blocked report counts against a region of the path within this distance of the "
        "robot",
        min=0.0,
        max=10.0,
    )

    def __post_init__(self) -> None:
        for key in ("global_frame", "robot_frame"):
            if not getattr(self, key).strip():
                raise ConfigError(f"parameter '{key}' must not be empty")
        if self.global_frame == self.robot_frame:
            raise ConfigError(
                f"parameter 'robot_frame' = {self.robot_frame!r} is the same frame as "
                "'global_frame'"
            )
        if self.home_name and not _HOME_NAME.fullmatch(self.home_name):
            raise ConfigError(
                f"parameter 'home_name' = {self.home_name!r}: use letters, digits, '_', '-', '.'"
            )
        configured_regions(self)  # raises ConfigError for a malformed entry


_HOME_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def configured_regions(cfg: GlobalPlannerConfig) -> list[Region]:
    """The regions of ``extra_regions``; ConfigError names a malformed entry."""
    out = []
    for i, text in enumerate(cfg.extra_regions):
        parts = text.split()
        where = f"parameter 'extra_regions[{i}]' = {text!r}"
        if len(parts) != 6:
            raise ConfigError(f"{where}: expected 'name x_m y_m yaw_deg length_m width_m'")
        try:
            x, y, yaw_deg, length, width = map(float, parts[1:])
        except ValueError:
            raise ConfigError(
                f"{where}: x_m y_m yaw_deg length_m width_m must be numbers"
            ) from None
        if not all(math.isfinite(v) for v in (x, y, yaw_deg)) or not (
            0.0 < length < 100.0 and 0.0 < width < 100.0
        ):
            raise ConfigError(f"{where}: needs finite numbers and length, width in (0, 100) m")
        out.append(
            Region(parts[0], CONFIGURED, (x, y), math.radians(yaw_deg), length / 2, width / 2)
        )
    if len({r.id for r in out}) != len(out):
        raise ConfigError("parameter 'extra_regions': region names must be unique")
    return out


def cost_params(cfg: GlobalPlannerConfig, inscribed_radius_m: float) -> CostParams:
    return CostParams(
        inscribed_radius_m=inscribed_radius_m,
        lethal_occupancy=cfg.lethal_occupancy,
        allow_unknown=cfg.allow_unknown,
        unknown_penalty=cfg.unknown_penalty,
        cost_inflation_radius_m=cfg.cost_inflation_radius_m,
        cost_scaling_factor=cfg.cost_scaling_factor,
        cost_penalty=cfg.cost_penalty,
    )


def memory_params(cfg: GlobalPlannerConfig) -> MemoryParams:
    return MemoryParams(
        half_life_h=cfg.memory_half_life_h,
        prior_passable=cfg.memory_prior_passable,
        prior_strength=cfg.memory_prior_strength,
        closed_penalty_m=cfg.closed_penalty_m,
        observation_interval_s=cfg.observation_interval_s,
    )


def memory_file(cfg: GlobalPlannerConfig) -> Path | None:
    """``<memory_dir>/<home>.json``; None when memory_dir is empty (no persistence)."""
    if not cfg.memory_dir.strip():
        return None
    home = cfg.home_name
    if not home and cfg.map_yaml:
        home = Path(cfg.map_yaml).resolve().parent.name
    if not home or not _HOME_NAME.fullmatch(home):
        home = "default"
    return Path(cfg.memory_dir).expanduser() / f"{home}.json"


def inflation_radius_m(cfg: GlobalPlannerConfig, base: BaseParams) -> float:
    """How far from obstacles the robot's centre must stay: the robot's radius plus the
    planner's margin."""
    return base.radius_m + cfg.inflation_margin_m
