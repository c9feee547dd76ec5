"""The safety controller: what goes to the wheels, decided per depth frame (ROS-free).

Inputs (times are int ns on one clock; the node uses its own clock at reception, and the
depth frame's capture stamp):

* the navigation command (v, w) (/cmd_vel_nav), the committed trajectory (/local_plan: poses
  in odom with a stamp each), odometry (pose and twist of base_link in odom, stamped);
* depth frames (/tof/depth/image_raw) with the camera's intrinsics (/tof/camera_info) and its
  mounting on the robot (URDF).

Per depth frame (:meth:`SafetyController.process_depth`): the frame's points update the
local map (``local_map``), then :meth:`_control` runs. The watchdog (:meth:`tick`, between
frames) runs :meth:`_control` only while an input is stale, so a stale input stops the robot
within one watchdog period even when the frames themselves stopped coming.

:meth:`_control`:

1. **Staleness.** Odometry never received or silent longer than ``odom_timeout_s``: the
   robot does not know how it moves: **emergency stop** (output zero at once). No depth frame
   or the newest older than ``depth_timeout_s`` (an all-NaN frame is no frame), no plan or
   older than ``plan_timeout_s``, no command or older than ``cmd_timeout_s``: **controlled
   stop** (target zero, reached within the acceleration and jerk limits). Every stale input
   is a reason, mode ``stale``.
2. **Check.** The map's cells, put into base_link at the current odometry pose, are checked
   (``sweep``) against the footprint swept along (a) the committed trajectory, its poses
   from now to ``horizon_s`` ahead at their own stamps, and (b) the current command's arc
   from where the robot is, ``horizon_s`` of it and at least the stopping distance. The time
   to collision (TTC) and the free distance are the smaller of the two.
3. **Speed law** (``speed_law``; formulas in the README): the target speed is the command
   scaled by ``ttc_factor(TTC)`` and capped by ``braking_cap(free distance)``, the angular
   speed scaled with it (the path's curvature is kept). An **emergency stop** is due when the
   robot can no longer stop short of the collision at its hardest braking (stopping distance
   from max(|commanded|, |measured|) speed >= free distance - ``stop_distance_m``): the
   output goes to zero at once, the only jump, and stays there until the way has been clear
   for ``resume_delay_s``. Otherwise the output follows the target within the robot's
   acceleration and jerk limits (``JerkLimitedRamp``).

A command with NaN or Inf is never forwarded: it is counted and dropped as if it had not
arrived (the previous one ages out). A clock running backwards (simulation reset) forgets
every input received "in the future": the robot stops until fresh ones arrive.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from hearth_safety import sweep
from hearth_safety.depth_projection import DepthProjector, Mounting, PinholeCamera
from hearth_safety.footprint import Footprint
from hearth_safety.local_map import LocalMap, MapParams
from hearth_safety.odom_history import OdomHistory
from hearth_safety.speed_law import (
    JerkLimitedRamp,
    SpeedLawParams,
    braking_cap_mps,
    stopping_distance_m,
    stopping_turn_rad,
    ttc_factor,
)

NS_PER_S = 1_000_000_000
STOP_TURN_MARGIN_RAD = 0.05
FUTURE_STAMP_TOLERANCE_S = 1.0  # a depth stamp this far ahead of the clock is rejected
EPS = 1e-6


class Mode(StrEnum):
    NOMINAL = "nominal"
    SLOWING = "slowing"
    STOPPED = "stopped"
    STALE = "stale"


@dataclass(frozen=True)
class ControllerParams:
    map: MapParams = field(default_factory=MapParams)
    law: SpeedLawParams = field(default_factory=SpeedLawParams)
    footprint_radius_m: float = 0.175
    footprint_padding_m: float = 0.03
    horizon_s: float = 1.0
    sweep_step_m: float = 0.02
    sweep_step_rad: float = 0.05
    depth_timeout_s: float = 0.15
    plan_timeout_s: float = 0.3
    cmd_timeout_s: float = 0.3
    odom_timeout_s: float = 0.2
    resume_delay_s: float = 0.5
    min_range_m: float = 0.1
    max_range_m: float = 4.0
    pixel_stride: int = 1
    max_step_s: float = 0.2  # longest interval one output step ramps over

    def __post_init__(self) -> None:
        for name in ("footprint_radius_m", "horizon_s", "sweep_step_m", "sweep_step_rad",
                     "depth_timeout_s", "plan_timeout_s", "cmd_timeout_s", "odom_timeout_s",
                     "min_range_m", "max_range_m", "max_step_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"ControllerParams.{name} must be finite and > 0, got {value!r}")


@dataclass(frozen=True)
class SafetyOutput:
    """One decision: the command for the wheels and why."""

    t_ns: int
    linear_mps: float  # what goes to /cmd_vel
    angular_radps: float
    mode: Mode
    reasons: tuple[str, ...]
    ttc_s: float  # time to collision along the committed motion (inf: none in the horizon)
    free_distance_m: float  # path length before the collision (inf: none)
    emergency: bool  # output forced to zero (emergency stop, or odometry silent)
    target_linear_mps: float  # what the output is ramping toward
    target_angular_radps: float
    nav_linear_mps: float  # the command asked for (clamped to the robot's limits)
    nav_angular_radps: float
    ages_s: dict[str, float | None]  # depth, plan, cmd, odom; None: never received
    sweeps: tuple[sweep.SweepResult, ...] = ()  # what was checked (for markers)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


class SafetyController:
    """See the module docstring. ``footprint`` is the robot's outline in base_link,
    ``mounting`` the ToF's optical frame in base_link."""

    def __init__(self, params: ControllerParams, footprint: Footprint | None = None,
                 mounting: Mounting | None = None) -> None:
        self.params = params
        self.footprint = footprint or Footprint.circle(params.footprint_radius_m)
        self.mounting = mounting
        self.map = LocalMap(params.map, self.footprint)
        self.odom = OdomHistory(keep_s=max(1.0, 2.0 * params.depth_timeout_s))
        self.projector: DepthProjector | None = None
        law = params.law
        self._v = JerkLimitedRamp(law.max_linear_accel_mps2, law.max_linear_jerk_mps3)
        self._w = JerkLimitedRamp(law.max_angular_accel_radps2, law.max_angular_jerk_radps3)
        self.counts: Counter[str] = Counter(dict.fromkeys((
            "cmd_received", "cmd_nonfinite", "odom_received", "odom_rejected",
            "plan_received", "plan_rejected", "depth_frames", "depth_frames_used",
            "depth_no_valid_pixels", "depth_rejected", "depth_without_camera_info",
            "camera_info_rejected", "clock_jumps_back", "emergency_stops"), 0))
        self._cmd: tuple[float, float] | None = None
        self._cmd_ns: int | None = None
        self._latest_cmd_nonfinite = False
        self._odom_ns: int | None = None  # receipt of the newest odometry
        self._plan: tuple[np.ndarray, np.ndarray] | None = None  # stamps (N,), poses (N, 3)
        self._plan_ns: int | None = None
        self._depth_ns: int | None = None  # capture stamp of the newest usable frame
        self._last_control_ns: int | None = None
        self._latched = False  # emergency stop holding
        self._last_imminent_ns: int | None = None
        self._map_anchored = False  # the map's memory was built with odometry
        self._holding = False  # stopped by the speed law short of an obstacle

    # ------------------------------------------------------------------ inputs
    def set_camera(self, camera: PinholeCamera) -> None:
        """The depth camera's intrinsics (rebuilds the rays when they change)."""
        if self.mounting is None:
            raise ValueError("the controller has no ToF mounting")
        if self.projector is None or self.projector.camera != camera:
            p = self.params
            self.projector = DepthProjector(camera, self.mounting, p.min_range_m,
                                            p.max_range_m, p.pixel_stride)

    def reject_camera_info(self) -> None:
        self.counts["camera_info_rejected"] += 1

    def set_command(self, linear_mps: float, angular_radps: float, t_ns: int) -> bool:
        """The newest navigation command, received at ``t_ns``; False (counted, dropped) if
        it is not finite."""
        if not (math.isfinite(linear_mps) and math.isfinite(angular_radps)):
            self.reject_command()
            return False
        self.counts["cmd_received"] += 1
        self._latest_cmd_nonfinite = False
        self._cmd, self._cmd_ns = (float(linear_mps), float(angular_radps)), int(t_ns)
        return True

    def reject_command(self) -> None:
        """Count a command that is invalid (e.g. NaN in a field this robot ignores)."""
        self.counts["cmd_received"] += 1
        self.counts["cmd_nonfinite"] += 1
        self._latest_cmd_nonfinite = True

    def add_odom(self, stamp_ns: int, x_m: float, y_m: float, yaw_rad: float, v_mps: float,
                 w_radps: float, t_ns: int) -> bool:
        """Odometry stamped ``stamp_ns``, received at ``t_ns``. False (counted, ignored) when
        not finite or not newer than the previous one."""
        if not self.odom.add(stamp_ns, x_m, y_m, yaw_rad, v_mps, w_radps):
            self.counts["odom_rejected"] += 1
            return False
        self.counts["odom_received"] += 1
        self._odom_ns = int(t_ns)
        return True

    def set_plan(self, stamps_ns: np.ndarray, poses_odom: np.ndarray, t_ns: int) -> str | None:
        """The committed trajectory: poses (N, 3) x, y, yaw in odom with their stamps (N,),
        received at ``t_ns``. Returns None when accepted, else why it was rejected (the
        previous plan then ages out: an unreadable plan is no plan)."""
        stamps = np.asarray(stamps_ns, dtype=np.int64).reshape(-1)
        poses = np.asarray(poses_odom, dtype=float).reshape(-1, 3)
        problem = None
        if len(stamps) != len(poses):
            problem = "stamps and poses differ in number"
        elif not np.all(np.isfinite(poses)):
            problem = "a pose is not finite"
        elif len(stamps) > 1 and np.any(np.diff(stamps) <= 0):
            problem = "pose stamps do not increase"
        if problem is not None:
            self.counts["plan_rejected"] += 1
            return problem
        self.counts["plan_received"] += 1
        self._plan, self._plan_ns = (stamps, poses), int(t_ns)
        return None

    # ------------------------------------------------------------------ per frame
    def process_depth(self, stamp_ns: int, depth_m: np.ndarray, now_ns: int) -> SafetyOutput:
        """A depth frame (H, W) float32 metres captured at ``stamp_ns``: update the map,
        decide the output at ``now_ns``."""
        self.counts["depth_frames"] += 1
        now_ns, stamp_ns = int(now_ns), int(stamp_ns)
        problem = self._frame_problem(stamp_ns, depth_m, now_ns)
        if problem is not None:
            self.counts[problem] += 1
            return self._control(now_ns)
        points = self.projector.points_base(depth_m)
        if len(points) == 0:  # all NaN (or out of range): no data
            self.counts["depth_no_valid_pixels"] += 1
            return self._control(now_ns)
        pose = self.odom.pose_at(stamp_ns)
        if pose is None or not self._map_anchored:
            # No odometry to move a memory with (or the memory was built without it): this
            # frame only.
            self.map.reset()
        self._map_anchored = pose is not None
        tol = self.params.map.clear_tolerance_m
        self.map.update(stamp_ns, pose or (0.0, 0.0, 0.0), points,
                        lambda pts: self.projector.depth_behind(pts, depth_m, tol))
        self._depth_ns = min(stamp_ns, now_ns)
        self.counts["depth_frames_used"] += 1
        return self._control(now_ns)

    def _frame_problem(self, stamp_ns: int, depth_m: np.ndarray, now_ns: int) -> str | None:
        if self.projector is None:
            return "depth_without_camera_info"
        if (depth_m.ndim != 2 or depth_m.shape != self.projector.shape
                or stamp_ns > now_ns + FUTURE_STAMP_TOLERANCE_S * NS_PER_S
                or (self._depth_ns is not None and stamp_ns <= self._depth_ns)):
            return "depth_rejected"
        return None

    def tick(self, now_ns: int) -> SafetyOutput | None:
        """The watchdog: the output while an input is stale (None when all are fresh: the
        depth frames drive the output then)."""
        now_ns = int(now_ns)
        clock_back = self._last_control_ns is not None and now_ns < self._last_control_ns
        if not clock_back and not self._stale(now_ns)[0]:
            return None
        return self._control(now_ns)

    # ------------------------------------------------------------------ the decision
    def _ages(self, now_ns: int) -> dict[str, float | None]:
        def age(t: int | None) -> float | None:
            return None if t is None else (now_ns - t) / NS_PER_S

        return {"depth": age(self._depth_ns), "plan": age(self._plan_ns),
                "cmd": age(self._cmd_ns), "odom": age(self._odom_ns)}

    def _stale(self, now_ns: int) -> tuple[list[str], bool]:
        """(reasons, emergency): every stale input, and whether odometry is among them."""
        p = self.params
        ages = self._ages(now_ns)
        reasons: list[str] = []
        emergency = False
        if ages["odom"] is None:
            reasons.append("no /odom received")
            emergency = True
        elif ages["odom"] > p.odom_timeout_s:
            reasons.append(f"/odom silent {ages['odom']:.2f} s")
            emergency = True
        for key, topic, timeout in (("depth", "depth frame", p.depth_timeout_s),
                                    ("plan", "/local_plan", p.plan_timeout_s),
                                    ("cmd", "/cmd_vel_nav", p.cmd_timeout_s)):
            if ages[key] is None:
                reasons.append(f"no {topic} received" if key != "depth"
                               else "no usable depth frame received")
            elif ages[key] > timeout:
                reasons.append(f"{topic} stale ({ages[key]:.2f} s old)")
        if reasons and self._latest_cmd_nonfinite:
            reasons.append("the latest /cmd_vel_nav was non-finite (dropped)")
        return reasons, emergency

    def _forget_future_inputs(self, now_ns: int) -> None:
        """Inputs received after ``now_ns`` can only come from before a backward clock jump."""
        if self._cmd_ns is not None and self._cmd_ns > now_ns:
            self._cmd, self._cmd_ns = None, None
        if self._odom_ns is not None and self._odom_ns > now_ns:
            self._odom_ns = None
            self.odom.clear()
        if self._plan_ns is not None and self._plan_ns > now_ns:
            self._plan, self._plan_ns = None, None
        if self._depth_ns is not None and self._depth_ns > now_ns:
            self._depth_ns = None
            self.map.reset()

    def _nav_command(self) -> tuple[float, float, str]:
        """The command clamped to the robot's speeds, both components by one factor (the
        curvature is kept), and why it was clamped ('' when it was not)."""
        law = self.params.law
        v, w = self._cmd
        scale_v = law.max_linear_speed_mps / abs(v) if v else math.inf
        scale_w = law.max_angular_speed_radps / abs(w) if w else math.inf
        scale = min(1.0, scale_v, scale_w)
        if scale >= 1.0:
            return v, w, ""
        if scale_v <= scale_w:
            why = f"linear {v:.2f} m/s above max {law.max_linear_speed_mps:.2f}"
        else:
            why = f"angular {w:.2f} rad/s above max {law.max_angular_speed_radps:.2f}"
        return v * scale, w * scale, f"/cmd_vel_nav clamped ({why})"

    def _plan_path(self, pose_now: tuple[float, float, float], now_ns: int) -> sweep.Path | None:
        """The committed trajectory from now to the horizon, in base_link now."""
        if self._plan is None:
            return None
        stamps, poses = self._plan
        end_ns = now_ns + round(self.params.horizon_s * NS_PER_S)
        ahead = (stamps > now_ns) & (stamps <= end_ns)
        if not ahead.any():
            return None
        x0, y0, yaw0 = pose_now
        c, s = math.cos(yaw0), math.sin(yaw0)
        sel = poses[ahead]
        dx, dy = sel[:, 0] - x0, sel[:, 1] - y0
        local = np.column_stack([c * dx + s * dy, -s * dx + c * dy, sel[:, 2] - yaw0])
        times = (stamps[ahead] - now_ns) / NS_PER_S
        local = np.vstack([np.zeros((1, 3)), local])
        times = np.concatenate([[0.0], times])
        p = self.params
        return sweep.densify(local, times, p.sweep_step_m, p.sweep_step_rad)

    def _imminent(self, result: sweep.SweepResult, v_robot: float, w_robot: float) -> bool:
        """Whether even the hardest braking can no longer stop short of the collision."""
        if not result.collides:
            return False
        law = self.params.law
        linear_ok = (result.free_distance_m > 0.0 and stopping_distance_m(v_robot, law)
                     + law.stop_distance_m < result.free_distance_m)
        angular_ok = (result.free_turn_rad > 0.0 and stopping_turn_rad(w_robot, law)
                      + STOP_TURN_MARGIN_RAD < result.free_turn_rad)
        return not (linear_ok or angular_ok)

    def _control(self, now_ns: int) -> SafetyOutput:
        p, law = self.params, self.params.law
        if self._last_control_ns is not None and now_ns < self._last_control_ns:
            self.counts["clock_jumps_back"] += 1
            dt = 0.0
        elif self._last_control_ns is None:
            dt = 0.0  # first decision: the robot is taken to be at rest
        else:
            dt = min((now_ns - self._last_control_ns) / NS_PER_S, p.max_step_s)
        self._last_control_ns = now_ns
        self._forget_future_inputs(now_ns)

        reasons, odom_lost = self._stale(now_ns)
        stale = bool(reasons)
        ages = self._ages(now_ns)
        cmd_fresh = ages["cmd"] is not None and ages["cmd"] <= p.cmd_timeout_s
        if cmd_fresh:
            v_nav, w_nav, clamp_reason = self._nav_command()
        else:
            v_nav, w_nav, clamp_reason = 0.0, 0.0, ""

        # --- the check
        v_meas, w_meas = self.odom.latest_twist
        v_robot = max(abs(self._v.value), abs(v_meas))
        w_robot = max(abs(self._w.value), abs(w_meas))
        results: list[sweep.SweepResult] = []
        pose_now = None if odom_lost else self.odom.pose_at(now_ns)
        if pose_now is not None and self.map.last_update_ns is not None:
            cells, _ = self.map.cells_base(pose_now)
            if abs(v_nav) > EPS or abs(w_nav) > EPS:
                motion = (v_nav, w_nav)
            elif abs(self._v.value) > EPS or abs(self._w.value) > EPS:
                motion = (self._v.value, self._w.value)  # still coasting to a stop
            else:
                motion = (v_meas, w_meas)
            min_len = stopping_distance_m(v_robot, law) + law.stop_distance_m + 0.05
            paths = [sweep.arc(motion[0], motion[1], p.horizon_s, min_len, p.sweep_step_m,
                               p.sweep_step_rad)]
            plan_fresh = ages["plan"] is not None and ages["plan"] <= p.plan_timeout_s
            plan_path = self._plan_path(pose_now, now_ns) if plan_fresh else None
            if plan_path is not None:
                paths.append(plan_path)
            results = [sweep.check(self.footprint, p.footprint_padding_m, path, cells)
                       for path in paths]
        ttc = min((r.ttc_s for r in results), default=math.inf)
        free = min((r.free_distance_m for r in results), default=math.inf)
        imminent = any(self._imminent(r, v_robot, w_robot) for r in results)

        # --- the emergency stop latch
        if imminent:
            if not self._latched:
                self.counts["emergency_stops"] += 1
            self._latched = True
            self._last_imminent_ns = now_ns
        elif self._latched and (now_ns - self._last_imminent_ns) / NS_PER_S >= p.resume_delay_s:
            self._latched = False

        # --- the target
        obstacle_reason = ""
        if math.isfinite(ttc):
            obstacle_reason = f"obstacle in {free:.2f} m (time to collision {ttc:.2f} s)"
        if stale or self._latched:
            v_t, w_t = 0.0, 0.0
            self._holding = False
        else:
            factor = ttc_factor(ttc, law)
            if abs(v_nav) > EPS:
                speed = min(abs(v_nav), factor * abs(v_nav), braking_cap_mps(free, law))
                # Below the hold speed the law would creep on for ever: stop instead (and
                # resume only at twice it, so depth noise cannot make it twitch).
                hold = law.hold_speed_mps * (2.0 if self._holding else 1.0)
                self._holding = math.isfinite(ttc) and speed < hold
                if self._holding:
                    speed = 0.0
                v_t = math.copysign(speed, v_nav)
                w_t = w_nav * (speed / abs(v_nav))
            else:
                v_t, w_t = 0.0, w_nav * factor

        # --- the output
        emergency = odom_lost or self._latched
        if emergency:
            self._v.reset(0.0)
            self._w.reset(0.0)
        else:
            self._v.step(v_t, dt)
            self._w.step(w_t, dt)
            # (a jerk-limited ramp may pass its target by a hair: never past the robot's top)
            self._v.value = min(max(self._v.value, -law.max_linear_speed_mps),
                                law.max_linear_speed_mps)
            self._w.value = min(max(self._w.value, -law.max_angular_speed_radps),
                                law.max_angular_speed_radps)

        # --- the mode and why
        moving_asked = abs(v_nav) > EPS or abs(w_nav) > EPS
        if stale:
            mode = Mode.STALE
        elif self._latched:
            mode = Mode.STOPPED
            if imminent:
                reasons.append(f"emergency stop: {obstacle_reason}, within the stopping "
                               f"distance {stopping_distance_m(v_robot, law):.2f} m")
            else:
                wait = p.resume_delay_s - (now_ns - self._last_imminent_ns) / NS_PER_S
                reasons.append(f"emergency stop: way clear, resuming in {wait:.2f} s")
        elif moving_asked and abs(v_t) < EPS and abs(w_t) < EPS:
            mode = Mode.STOPPED
            reasons.append(f"holding: {obstacle_reason}")
        elif (abs(v_t) < abs(v_nav) - EPS or abs(w_t) < abs(w_nav) - EPS) and obstacle_reason:
            mode = Mode.SLOWING
            reasons.append(f"slowing: {obstacle_reason}")
        elif clamp_reason:
            mode = Mode.SLOWING
            reasons.append(clamp_reason)
        else:
            mode = Mode.NOMINAL
            reasons.append("following /cmd_vel_nav")
        if clamp_reason and mode is Mode.SLOWING and reasons[-1] != clamp_reason:
            reasons.append(clamp_reason)
        return SafetyOutput(
            now_ns, self._v.value, self._w.value, mode, tuple(reasons), ttc, free, emergency,
            v_t, w_t, v_nav, w_nav, ages, tuple(results))
