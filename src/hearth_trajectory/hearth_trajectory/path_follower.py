"""Pure-pursuit path following with speed and acceleration limits (ROS-free).

Not the local planner (that is :mod:`hearth_trajectory.planner`): a simple scripted driver
for recordings and evaluations that need a robot to drive a route
(``hearth_eval.fusion_record``).

Each cycle, given the path (an (N, 2) array in the odom frame), the robot's pose and the
previous command, :meth:`PathFollower.command` returns a (v, w) command:

1. *Progress*: the robot is projected onto the path. The search starts at the previous
   projection and looks at most ``progress_window_m`` ahead, so a path that passes near itself
   (there and back) is followed in order.
2. *Arrival*: within half of ``goal_tolerance_m`` of the path's end (and near the end along
   the path) the follower brakes at its maximum deceleration. The approach speed is at most
   ``sqrt(2 a d)`` (below), so the robot then comes to rest at most ``2 d <= goal_tolerance_m``
   from the end, whatever its direction of approach. It stays stopped for that path, unless
   it is found outside the tolerance while stopped (pushed away): then it follows again.
3. *Lookahead point*: the point ``lookahead_m`` further along the path (the end if nearer).
4. *Turn in place* when that point is more than ``turn_in_place_enter_rad`` off the robot's
   heading (the path starts behind the robot): v = 0 and w turns towards it, until it is within
   ``turn_in_place_exit_rad`` (the hysteresis avoids chattering at the threshold).
5. *Pure pursuit* otherwise: curvature ``k = 2 y / d²`` of the arc through the lookahead point
   (x, y in the robot frame, d its distance). The speed is the least of the maximum speed, the
   speed at which the arc needs the maximum yaw rate (``max_w / |k|``) and the speed from which
   the robot can still stop at the end of the path (``sqrt(2 a s)``, s the distance left).
6. *Limits*: v in [0, max_v] (forward only), |w| <= max_w, and each changes from the previous
   command by at most its acceleration times ``dt``. When the yaw-rate limits bind, v is
   reduced so that the robot stays on the arc where the linear limits allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np


class FollowStatus(Enum):
    FOLLOWING = "following"
    TURNING = "turning in place"
    ARRIVED = "arrived"


@dataclass(frozen=True)
class FollowerLimits:
    max_linear_mps: float = 1.0
    max_angular_radps: float = 2.5
    max_linear_accel_mps2: float = 1.0
    max_angular_accel_radps2: float = 4.0

    def __post_init__(self) -> None:
        for name in (
            "max_linear_mps", "max_angular_radps", "max_linear_accel_mps2",
            "max_angular_accel_radps2",
        ):  # fmt: skip
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class FollowCommand:
    linear_mps: float
    angular_radps: float
    status: FollowStatus
    distance_to_goal_m: float  # straight distance to the path's end
    remaining_m: float  # along the path from the robot's projection to the end
    heading_error_rad: float  # bearing of the lookahead point in the robot frame


class PathFollower:
    """Pure pursuit of one path at a time; call :meth:`set_path` when the path changes."""

    def __init__(
        self,
        limits: FollowerLimits,
        lookahead_m: float = 0.6,
        goal_tolerance_m: float = 0.15,
        turn_in_place_enter_rad: float = math.pi / 3.0,
        turn_in_place_exit_rad: float = math.pi / 6.0,
        turn_gain: float = 2.0,
        progress_window_m: float | None = None,
    ) -> None:
        if not 0.0 < turn_in_place_exit_rad <= turn_in_place_enter_rad <= math.pi:
            raise ValueError("need 0 < turn_in_place_exit_rad <= turn_in_place_enter_rad <= pi")
        if not (lookahead_m > 0.0 and goal_tolerance_m > 0.0 and turn_gain > 0.0):
            raise ValueError("lookahead_m, goal_tolerance_m and turn_gain must be positive")
        self.limits = limits
        self.lookahead_m = lookahead_m
        self.goal_tolerance_m = goal_tolerance_m
        self.turn_enter_rad = turn_in_place_enter_rad
        self.turn_exit_rad = turn_in_place_exit_rad
        self.turn_gain = turn_gain
        self.progress_window_m = (
            max(2.0 * lookahead_m, 1.0) if progress_window_m is None else progress_window_m
        )
        self._path: np.ndarray | None = None
        self._cum: np.ndarray | None = None
        self._progress_m = 0.0
        self._turning = False
        self._arrived = False

    @property
    def has_path(self) -> bool:
        return self._path is not None

    def set_path(self, points: np.ndarray | None) -> None:
        """Follow ``points`` ((N, 2), N >= 1, finite) from its start; None or empty: no path."""
        if points is None or len(points) == 0:
            self._path = self._cum = None
            return
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        if not np.all(np.isfinite(pts)):
            raise ValueError("path has non-finite points")
        # Drop repeated points: zero-length segments have no direction.
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.hypot(*np.diff(pts, axis=0).T) > 1e-9
        pts = pts[keep]
        self._path = pts
        self._cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))])
        self._progress_m = 0.0
        self._turning = False
        self._arrived = False

    def update_path_keep_progress(self, points: np.ndarray) -> None:
        """The same path re-expressed (a new map->odom transform): keep progress and state."""
        progress, turning, arrived = self._progress_m, self._turning, self._arrived
        self.set_path(points)
        if self._path is not None:
            self._progress_m = min(progress, float(self._cum[-1]))
            self._turning, self._arrived = turning, arrived

    def command(
        self,
        x: float,
        y: float,
        yaw: float,
        prev_linear_mps: float,
        prev_angular_radps: float,
        dt_s: float,
    ) -> FollowCommand:
        """The command for this cycle (see the module docstring). Needs a path."""
        if self._path is None or self._cum is None:
            raise RuntimeError("no path to follow")
        lim = self.limits
        pts, cum = self._path, self._cum
        total = float(cum[-1])
        s_robot = self._project(x, y)
        remaining = total - s_robot
        end = pts[-1]
        d_goal = math.hypot(end[0] - x, end[1] - y)

        tol = self.goal_tolerance_m
        stopped = prev_linear_mps == 0.0 and prev_angular_radps == 0.0
        if self._arrived and stopped and d_goal > tol:
            self._arrived = False  # stopped outside the tolerance (pushed away): go back
        if not self._arrived and d_goal <= 0.5 * tol and remaining <= tol + self.lookahead_m:
            self._arrived = True
        if self._arrived:
            v, w = self._limit(0.0, 0.0, prev_linear_mps, prev_angular_radps, dt_s)
            return FollowCommand(v, w, FollowStatus.ARRIVED, d_goal, remaining, 0.0)

        tx, ty = self._point_at(s_robot + self.lookahead_m)
        dx, dy = tx - x, ty - y
        c, s = math.cos(yaw), math.sin(yaw)
        lx, ly = c * dx + s * dy, -s * dx + c * dy  # lookahead point in the robot frame
        alpha = math.atan2(ly, lx)

        if self._turning:
            self._turning = abs(alpha) > self.turn_exit_rad
        else:
            self._turning = abs(alpha) > self.turn_enter_rad
        if self._turning:
            # Turn towards the point, slowing so as to stop turning as the error reaches zero.
            w_stop = math.sqrt(2.0 * lim.max_angular_accel_radps2 * abs(alpha))
            w_target = math.copysign(
                min(lim.max_angular_radps, self.turn_gain * abs(alpha), w_stop), alpha
            )
            v, w = self._limit(0.0, w_target, prev_linear_mps, prev_angular_radps, dt_s)
            return FollowCommand(v, w, FollowStatus.TURNING, d_goal, remaining, alpha)

        d2 = lx * lx + ly * ly
        curvature = 2.0 * ly / d2 if d2 > 1e-12 else 0.0
        v_target = lim.max_linear_mps
        if abs(curvature) > 1e-9:
            v_target = min(v_target, lim.max_angular_radps / abs(curvature))
        # Stop at the end of the path: the distance left along it (at least the straight one).
        stop_dist = max(remaining, d_goal)
        v_target = min(v_target, math.sqrt(2.0 * lim.max_linear_accel_mps2 * stop_dist))
        v, w = self._limit(
            v_target, curvature * v_target, prev_linear_mps, prev_angular_radps, dt_s, curvature
        )
        return FollowCommand(v, w, FollowStatus.FOLLOWING, d_goal, remaining, alpha)

    # -- internals -----------------------------------------------------------------------------

    def _limit(
        self,
        v: float,
        w: float,
        prev_v: float,
        prev_w: float,
        dt: float,
        curvature: float | None = None,
    ) -> tuple[float, float]:
        """Clip to the speed and acceleration limits; keep w = k v where the limits allow."""
        lim = self.limits
        dt = max(dt, 0.0)
        v_lo = max(0.0, prev_v - lim.max_linear_accel_mps2 * dt)
        v_hi = min(lim.max_linear_mps, prev_v + lim.max_linear_accel_mps2 * dt)
        if v_lo > v_hi:  # the previous command was outside the limits: get back inside
            v_lo = v_hi = min(max(prev_v, 0.0), lim.max_linear_mps)
        w_lo = max(-lim.max_angular_radps, prev_w - lim.max_angular_accel_radps2 * dt)
        w_hi = min(lim.max_angular_radps, prev_w + lim.max_angular_accel_radps2 * dt)
        if w_lo > w_hi:
            w_lo = w_hi = min(max(prev_w, -lim.max_angular_radps), lim.max_angular_radps)
        v = min(max(v, v_lo), v_hi)
        if curvature is None or abs(curvature) < 1e-9:
            return v, min(max(w if curvature is None else 0.0, w_lo), w_hi)
        w = min(max(curvature * v, w_lo), w_hi)
        # If the yaw-rate limits bind, slow down to stay on the arc (as far as v may change).
        v_arc = abs(w / curvature)
        if v_arc < v:
            v = min(max(v_arc, v_lo), v_hi)
        return v, w

    def _project(self, x: float, y: float) -> float:
        """Arc length of the robot's projection, searched forward from the last one."""
        pts, cum = self._path, self._cum
        if len(pts) == 1:
            return 0.0
        lo = max(int(np.searchsorted(cum, self._progress_m, side="right")) - 1, 0)
        lo = min(lo, len(pts) - 2)
        hi = int(np.searchsorted(cum, self._progress_m + self.progress_window_m, side="right"))
        hi = min(max(hi, lo + 1), len(pts) - 1)
        a, b = pts[lo:hi], pts[lo + 1 : hi + 1]
        ab = b - a
        seg2 = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", np.array([x, y]) - a, ab) / seg2, 0.0, 1.0)
        proj = a + t[:, None] * ab
        i = int(np.argmin(np.hypot(proj[:, 0] - x, proj[:, 1] - y)))
        s = float(cum[lo + i] + t[i] * math.sqrt(seg2[i]))
        self._progress_m = max(self._progress_m, s)
        return self._progress_m

    def _point_at(self, s: float) -> tuple[float, float]:
        pts, cum = self._path, self._cum
        if len(pts) == 1 or s >= cum[-1]:
            return float(pts[-1][0]), float(pts[-1][1])
        i = min(max(int(np.searchsorted(cum, s, side="right")) - 1, 0), len(pts) - 2)
        seg = cum[i + 1] - cum[i]
        f = (s - cum[i]) / seg if seg > 0.0 else 0.0
        p = pts[i] + f * (pts[i + 1] - pts[i])
        return float(p[0]), float(p[1])
