"""Configuration of the local planner node (ROS-free), see ``config/local_planner.yaml``.

The robot's speed, acceleration and jerk limits and its screen's pan limits are not
parameters of this node: they are the robot's, read at start from ``robot_params_file``
(``hearth_description.robot_model.load_robot_params()``). :func:`motion_limits` and
:func:`pan_limits` combine them with this node's own tuning (``speed_fraction``,
``reverse_speed_mps``); :func:`planner_params` maps the rest onto the planner core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hearth_common.config import ConfigError, param
from hearth_trajectory.planner import PlannerParams
from hearth_trajectory.screen_pan import PanLimits
from hearth_trajectory.trajectory_space import AxisLimits, MotionLimits

if TYPE_CHECKING:  # only the types: the node reads robot.yaml, this module reads no file
    from hearth_description.robot_model import RobotParams, ScreenParams


@dataclass(frozen=True)
class LocalPlannerConfig:
    # The robot: its limits come from its description.
    robot_params_file: str = param(
        "",
        "robot.yaml whose limits (speeds, accelerations, jerks, screen pan travel and speed) "
        "every trajectory stays within (empty: hearth_description's config/robot.yaml)",
    )
    floor_transitions_file: str = param(
        "", "the home's door sills and rug edges (hearth_trajectory.floor_transitions; "
        "maps/<home>/floor_transitions.yaml), crossed slowly; empty or missing: none marked",
    )  # fmt: skip
    speed_fraction: float = param(
        1.0,
        "fraction of the robot's top speed and top yaw rate the planner uses at most",
        min=0.01, max=1.0,
    )  # fmt: skip
    reverse_speed_mps: float = param(
        0.25, "fastest backwards speed: slow, for backing off to yield to a person (the depth "
        "camera looks forward; behind is what it saw moments ago and /map); 0: forward only",
        min=0.0, max=1.0,
    )  # fmt: skip

    # The cycle.
    rate_hz: float = param(10.0, "planning cycle rate (fixed timer)", min=1.0, max=50.0)
    horizon_s: float = param(3.0, "planning horizon", min=0.5, max=10.0)
    dt_s: float = param(0.1, "step of the trajectories and of /local_plan", min=0.02, max=0.5)
    candidates: int = param(
        2000, "trajectories evaluated per cycle, all stages (shed after an overrun)",
        min=50, max=100000,
    )  # fmt: skip
    min_candidates: int = param(200, "shedding never goes below this", min=10, max=100000)
    refine_iterations: int = param(
        2, "cross-entropy refinement stages after the broad one", min=0, max=5
    )
    refine_fraction: float = param(
        0.3, "share of the candidates spent on refinement", min=0.0, max=0.9
    )
    knots: int = param(4, "velocity-target knots per candidate over the horizon", min=2, max=12)
    switch_margin: float = param(
        0.02, "cost a new trajectory must beat the time-shifted previous best by", min=0.0,
        max=10.0,
    )  # fmt: skip

    # Latency.
    latency_compensation: bool = param(
        True, "plan from where the robot and people will be when the plan takes effect"
    )
    actuation_delay_s: float = param(
        0.05, "from publishing /cmd_vel_nav to the wheels acting on it", min=0.0, max=1.0
    )
    command_lead_s: float = param(
        0.05, "the command is the plan's velocity this long after it takes effect", min=0.0,
        max=0.5,
    )  # fmt: skip
    odom_timeout_s: float = param(
        0.5, "/odom older than this (by its stamp): stop", min=0.01, max=10.0
    )
    tracks_timeout_s: float = param(
        1.0, "/obstacles/tracks older than this are ignored", min=0.05, max=10.0
    )
    depth_timeout_s: float = param(
        0.5, "depth points older than this leave the local costmap", min=0.05, max=10.0
    )

    # Inputs.
    odom_frame: str = param("odom", "frame of /odom, the local costmap and /local_plan")
    map_frame: str = param("map", "frame of /plan and /map")
    costmap_size_m: float = param(6.0, "side of the local costmap", min=1.0, max=20.0)
    costmap_resolution_m: float = param(0.05, "cell of the local costmap", min=0.01, max=0.5)
    depth_pixel_stride: int = param(2, "use every n-th depth pixel each way", min=1, max=16)
    align_map_to_depth: bool = param(
        False, "place /map where each depth frame's walls say it is (within 0.5 m and "
        "15 degrees of the localization's placement), not only where TF map->odom puts it "
        "(off by default: with an exact map it moved walls, fitting people by them)"
    )
    track_clearance_m: float = param(
        0.15, "depth points this close to a tracked person (beyond their radius) are the "
        "person, not a static obstacle", min=0.0, max=1.0,
    )  # fmt: skip
    min_pose_sigma_m: float = param(
        0.02, "floor of the position uncertainty used for collision probabilities", min=0.0,
        max=1.0,
    )  # fmt: skip
    people_reaction_s: float = param(
        0.5, "a person's deviation from the forecast seen this long before a step is "
        "answered by a later plan: the collision risk counts the forecast's uncertainty as "
        "it grows up to this long after the plan takes effect, held after that",
        min=0.0, max=10.0,
    )  # fmt: skip
    passive_contact_weight: float = param(
        1.0, "how much the risk of a person walking into the robot counts when the robot is "
        "not closing in on them (standing, or backing off), against 1 for the robot driving "
        "into someone; in between in proportion to the closing speeds: people give way to "
        "a robot they see, and scripted walkers do not", min=0.0, max=1.0,
    )  # fmt: skip
    max_pose_sigma_m: float = param(
        0.05, "cap of that uncertainty: /odom's covariance grows with the distance driven, "
        "but that drift is common to the robot and the local costmap built in odom",
        min=0.001, max=5.0,
    )  # fmt: skip
    braking_reaction_s: float = param(
        0.0, "> 0: each step's halting point must be clear too: where the safety node's "
        "emergency stop (this reaction time, then the base's deceleration limit) would leave "
        "the robot (the safety node's reaction_time_s is 0.1; off by default: not better on "
        "the suite so far)", min=0.0, max=2.0,
    )  # fmt: skip

    # Goal, progress, follow mode.
    goal_tolerance_m: float = param(
        0.15, "stop when this close to the end of /plan", min=0.01, max=5.0
    )
    path_window_m: float = param(
        4.5, "length of /plan ahead of the robot that the cost-to-go covers", min=1.0,
        max=50.0,
    )  # fmt: skip
    follow_distance_m: float = param(
        1.2, "follow mode: how far behind the followed person to stay", min=0.3, max=5.0
    )
    blocked_progress_m: float = param(
        0.05, "a cycle whose best candidate progresses less than this makes no progress",
        min=0.0, max=2.0,
    )  # fmt: skip
    blocked_after_s: float = param(
        2.0, "/local_planner/blocked turns true after this long without progress", min=0.0,
        max=60.0,
    )  # fmt: skip
    people_blocked_after_s: float = param(
        10.0, "... or after this long while only people are in the way (the map alone leaves a "
        "way open): people move on, and a doorway someone stands in is not shut", min=0.0,
        max=600.0,
    )  # fmt: skip
    people_near_m: float = param(
        1.0, "... and people_blocked_after_s too while anyone is this close (m, between the "
        "discs): a way that looks shut may be theirs", min=0.0, max=10.0,
    )  # fmt: skip
    stall_progress_m: float = param(
        0.25, "the robot must get this much further along the path within stall_after_s, "
        "whatever its plans show, or it is blocked (a progress checker)", min=0.01, max=10.0,
    )  # fmt: skip
    stall_after_s: float = param(
        10.0, "see stall_progress_m", min=0.5, max=600.0,
    )  # fmt: skip
    pan_lookahead_s: float = param(
        1.2, "the screen faces the committed plan's point this far ahead", min=0.0, max=3.0
    )

    # Critics.
    progress_weight: float = param(1.0, "uncertainty-adjusted progress (per m)", min=0.0,
                                   max=100.0)
    progress_discount: float = param(0.97, "per-step discount of progress", min=0.5, max=1.0)
    collision_weight: float = param(
        70.0, "expected collision (per unit probability: 1 % costs 0.7 m of progress)",
        min=0.0, max=10000.0,
    )  # fmt: skip
    jerk_weight: float = param(0.05, "mean squared jerk relative to the limits", min=0.0,
                               max=100.0)
    comfort_weight: float = param(
        0.5, "per metre driven inside people's personal space (Gaussian-weighted; standing "
        "still near people costs nothing); below 1 (a metre of progress), or passing a person "
        "who stands in the way never pays and the robot waits in front of them",
        min=0.0, max=100.0,
    )  # fmt: skip
    comfort_sigma_m: float = param(0.45, "personal space scale", min=0.05, max=3.0)
    heading_weight: float = param(0.3, "heading away from the way to go", min=0.0, max=100.0)
    floor_weight: float = param(
        0.0, "crossing a marked door sill or rug edge faster than floor_speed_mps, turning "
        "faster than floor_turn_radps, or a sill at a slant (squared excess over the rest of "
        "the range, per second on it; 3 is the value measured; 0: off, the default until "
        "the suite's successes hold with it)",
        min=0.0, max=100.0,
    )  # fmt: skip
    floor_speed_mps: float = param(
        0.3, "speed over a marked floor transition that costs nothing", min=0.0, max=5.0)
    floor_turn_radps: float = param(
        0.4, "turn rate over a marked floor transition that costs nothing", min=0.0, max=10.0)
    blind_spot_weight: float = param(
        0.0, "driving faster than the robot can stop from short of a blind spot an unseen "
        "person could step out of (a doorway passed at a slant, a hallway seen from a room; "
        "squared excess over the top speed, per second; 0: off, the default: at 5 the suite "
        "lost successes in the apartment's hallways, README)",
        min=0.0, max=100.0,
    )  # fmt: skip
    blind_spot_reaction_s: float = param(
        0.3, "blind spots: reaction time at speed before braking", min=0.0, max=2.0)
    blind_spot_decel_mps2: float = param(
        1.0, "blind spots: the braking deceleration", min=0.1, max=10.0)
    blind_spot_creep_mps: float = param(
        0.3, "blind spots: a speed always allowed (in a doorway the hidden room is beside "
        "the robot: without it the robot stands there)", min=0.0, max=2.0)

    # Ablations (issue 9; objectives.py and docs/planner.md): hearth as designed by default.
    objective: str = param(
        "survival", "how the collision risk enters the cost: survival (progress counts as "
        "far as the robot survives to make it, plus the expected collision), "
        "chance_constraint (risk above risk_threshold forbidden, else pure progress) or "
        "weighted_sum (pure progress minus collision_weight x risk)",
        choices=("survival", "chance_constraint", "weighted_sum"),
    )  # fmt: skip
    risk_threshold: float = param(
        0.01, "chance_constraint: the largest collision risk over the horizon allowed",
        min=0.0, max=1.0,
    )  # fmt: skip
    predict_people: bool = param(
        True, "forecast people at constant velocity with growing uncertainty; false: "
        "frozen where the tracks last saw them (the ablation)",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.dt_s > self.horizon_s:
            raise ConfigError(
                f"parameter 'dt_s' = {self.dt_s!r} is longer than 'horizon_s' = {self.horizon_s!r}"
            )
        steps = self.horizon_s / self.dt_s
        if abs(steps - round(steps)) > 1e-6:
            raise ConfigError(
                f"parameter 'horizon_s' = {self.horizon_s!r} is not a whole number of "
                f"'dt_s' = {self.dt_s!r} steps"
            )
        if self.min_candidates > self.candidates:
            raise ConfigError(
                f"parameter 'min_candidates' = {self.min_candidates} exceeds 'candidates' = "
                f"{self.candidates}"
            )
        if self.min_pose_sigma_m > self.max_pose_sigma_m:
            raise ConfigError("parameter 'min_pose_sigma_m' exceeds 'max_pose_sigma_m'")
        for name in ("odom_frame", "map_frame"):
            if not getattr(self, name).strip():
                raise ConfigError(f"parameter '{name}' must not be empty")


def motion_limits(cfg: LocalPlannerConfig, robot: RobotParams) -> MotionLimits:
    """The trajectories' limits: the robot's top speeds scaled by ``speed_fraction`` (backwards
    at most ``reverse_speed_mps``), its acceleration and jerk limits as they are."""
    lim = robot.limits
    v_max = cfg.speed_fraction * lim.max_linear_speed_mps
    w_max = cfg.speed_fraction * lim.max_angular_speed_radps
    return MotionLimits(
        AxisLimits(-min(cfg.reverse_speed_mps, v_max), v_max, lim.max_linear_accel_mps2,
                   lim.max_linear_jerk_mps3),
        AxisLimits(-w_max, w_max, lim.max_angular_accel_radps2, lim.max_angular_jerk_radps3),
    )


def floor_contacts(robot: RobotParams) -> tuple[tuple[float, float], ...]:
    """Where the robot touches the floor, body frame (m): the two wheels' contact points
    and the two casters."""
    half = 0.5 * robot.wheels.separation_m
    return ((0.0, half), (0.0, -half), (robot.casters.front_x_m, 0.0),
            (robot.casters.rear_x_m, 0.0))


def planner_params(cfg: LocalPlannerConfig, robot: RobotParams) -> PlannerParams:
    """The planner core's parameters from the node's config and the robot (its radius)."""
    return PlannerParams(
        horizon_s=cfg.horizon_s, dt_s=cfg.dt_s, candidates=cfg.candidates,
        min_candidates=cfg.min_candidates, refine_iterations=cfg.refine_iterations,
        refine_fraction=cfg.refine_fraction, knots=cfg.knots, switch_margin=cfg.switch_margin,
        robot_radius_m=robot.base.radius_m, latency_compensation=cfg.latency_compensation,
        actuation_delay_s=cfg.actuation_delay_s, command_lead_s=cfg.command_lead_s,
        odom_timeout_s=cfg.odom_timeout_s, tracks_timeout_s=cfg.tracks_timeout_s,
        min_pose_sigma_m=cfg.min_pose_sigma_m, max_pose_sigma_m=cfg.max_pose_sigma_m,
        braking_reaction_s=cfg.braking_reaction_s, people_reaction_s=cfg.people_reaction_s,
        passive_contact_weight=cfg.passive_contact_weight,
        goal_tolerance_m=cfg.goal_tolerance_m, path_window_m=cfg.path_window_m,
        follow_distance_m=cfg.follow_distance_m, blocked_progress_m=cfg.blocked_progress_m,
        blocked_after_s=cfg.blocked_after_s, people_blocked_after_s=cfg.people_blocked_after_s,
        people_near_m=cfg.people_near_m, stall_progress_m=cfg.stall_progress_m,
        stall_after_s=cfg.stall_after_s,
        pan_lookahead_s=cfg.pan_lookahead_s,
        progress_weight=cfg.progress_weight, progress_discount=cfg.progress_discount,
        collision_weight=cfg.collision_weight, jerk_weight=cfg.jerk_weight,
        comfort_weight=cfg.comfort_weight, comfort_sigma_m=cfg.comfort_sigma_m,
        heading_weight=cfg.heading_weight, period_s=1.0 / cfg.rate_hz,
        floor_weight=cfg.floor_weight, floor_speed_mps=cfg.floor_speed_mps,
        floor_turn_radps=cfg.floor_turn_radps, floor_contacts_m=floor_contacts(robot),
        blind_spot_weight=cfg.blind_spot_weight, blind_spot_reaction_s=cfg.blind_spot_reaction_s,
        blind_spot_decel_mps2=cfg.blind_spot_decel_mps2,
        blind_spot_creep_mps=cfg.blind_spot_creep_mps,
        objective=cfg.objective, risk_threshold=cfg.risk_threshold,
        predict_people=cfg.predict_people,
    )  # fmt: skip


def pan_limits(screen: ScreenParams) -> PanLimits:
    """The limits of /screen/pan_cmd: the pan joint's travel (+-``pan_limit_rad``) and speed."""
    return PanLimits(limit_rad=screen.pan_limit_rad, max_speed_radps=screen.max_pan_speed_radps)
