"""Differential-drive dead reckoning from wheel encoder positions (ROS-free).

Each accepted measurement is a pair of encoder positions (rad) and a stamp (int ns). The motion
since the previous accepted measurement is computed from the position *deltas*, so nothing is
lost or counted twice whatever the message rate, and there is no velocity integration error:

    d_left = r * Δθ_left,  d_right = r * Δθ_right
    ds = (d_left + d_right) / 2            (arc length travelled by base_link)
    dψ = (d_right - d_left) / b            (heading change; b = wheel separation)

Over one update the path is taken as an arc of constant curvature, integrated exactly:
the chord has length ``ds * sin(dψ/2) / (dψ/2)`` and points along the mid heading ``ψ + dψ/2``
(a straight line when dψ = 0, a turn in place when ds = 0).

Body velocities are the deltas over the stamps' interval: ``v = ds/dt``, ``ω = dψ/dt``.

Noise model (documented, deliberately simple). Each wheel's travel over one update has the
variance ``k * |d_wheel|`` (``k`` = ``travel_variance_m2_per_m``), independent between wheels
and updates: the error of a wheel grows like a random walk in the distance it rolls. The pose
covariance of (x, y, yaw) is propagated through the exact Jacobians of the arc step,

    P <- F P Fᵀ + G Q Gᵀ,   Q = diag(k |d_left|, k |d_right|),

so it grows with the distance travelled and with rotation (a turn in place rolls both wheels),
and stays constant at rest. The twist covariance takes each wheel's speed standard deviation
as ``fraction * |wheel speed| + floor``.

Rejected measurements (each counted by reason, see ``REJECT_REASONS``) leave the state and the
anchor untouched: the next accepted measurement's deltas cover the gap, and no measurement is
integrated twice.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hearth_common.geometry import wrap_angle

NS_PER_S = 1_000_000_000

REJECT_REASONS = (
    "malformed",  # names and positions of different lengths
    "missing_joint",  # a wheel's joint name (or its position) is not in the message
    "nonfinite_position",  # NaN or +-Inf encoder position
    "zero_stamp",  # stamp <= 0: the driver did not stamp the message
    "duplicate_stamp",  # same stamp as the last accepted measurement
    "stamp_backwards",  # older than the last accepted measurement
    "implausible_jump",  # a wheel moved faster than the robot can: encoder reset; re-anchored
)


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class Pose2D:
    """A planar pose with its (x, y, yaw) covariance and body twist."""

    x_m: float
    y_m: float
    yaw_rad: float
    linear_mps: float
    angular_radps: float
    stamp_ns: int
    pose_cov: np.ndarray  # 3x3, (x, y, yaw)
    twist_cov: np.ndarray  # 3x3, (v_x, v_y, ω_z)


def _sinc(h: float) -> float:
    """sin(h)/h, accurate near 0."""
    if abs(h) < 1e-4:
        return 1.0 - h * h / 6.0
    return math.sin(h) / h


def _dsinc(h: float) -> float:
    """d/dh of sin(h)/h, accurate near 0."""
    if abs(h) < 1e-4:
        return -h / 3.0
    return (h * math.cos(h) - math.sin(h)) / (h * h)


def max_wheel_speed_mps(
    max_linear_speed_mps: float, max_angular_speed_radps: float, wheel_separation_m: float
) -> float:
    """Top surface speed of one wheel within the robot's limits: full speed plus full turn."""
    return max_linear_speed_mps + 0.5 * wheel_separation_m * max_angular_speed_radps


def arc_step(
    x: float, y: float, yaw: float, ds: float, dyaw: float
) -> tuple[float, float, float]:
    """Pose after travelling ``ds`` along an arc that turns by ``dyaw`` (exact)."""
    chord = ds * _sinc(0.5 * dyaw)
    heading = yaw + 0.5 * dyaw
    return x + chord * math.cos(heading), y + chord * math.sin(heading), yaw + dyaw


class WheelOdometry:
    """Dead reckoning of a differential-drive base from its two encoder positions."""

    def __init__(
        self,
        *,
        wheel_radius_m: float,
        wheel_separation_m: float,
        travel_variance_m2_per_m: float = 2.0e-4,
        speed_noise_fraction: float = 0.05,
        speed_noise_floor_mps: float = 0.01,
        max_wheel_speed_mps: float | None = None,
        jump_slack_m: float = 0.02,
        left_joint: str = "wheel_left_joint",
        right_joint: str = "wheel_right_joint",
    ) -> None:
        """``max_wheel_speed_mps``: a wheel step longer than ``max_wheel_speed_mps * dt +
        jump_slack_m`` is an encoder reset (re-anchor, no motion); ``None`` disables the check.
        """
        if not (wheel_radius_m > 0.0 and wheel_separation_m > 0.0):
            raise ValueError("wheel radius and separation must be positive")
        self.wheel_radius_m = float(wheel_radius_m)
        self.wheel_separation_m = float(wheel_separation_m)
        self.travel_variance_m2_per_m = float(travel_variance_m2_per_m)
        self.speed_noise_fraction = float(speed_noise_fraction)
        self.speed_noise_floor_mps = float(speed_noise_floor_mps)
        self.max_wheel_speed_mps = max_wheel_speed_mps
        self.jump_slack_m = float(jump_slack_m)
        self.left_joint = left_joint
        self.right_joint = right_joint

        self.x_m = 0.0
        self.y_m = 0.0
        self.yaw_rad = 0.0
        self.linear_mps = 0.0
        self.angular_radps = 0.0
        self.pose_cov = np.zeros((3, 3))
        self.twist_cov = self._twist_cov(0.0, 0.0)
        self.distance_m = 0.0  # path length of base_link
        self.rotation_rad = 0.0  # accumulated |heading change|

        self.accepted = 0
        self.rejected: Counter[str] = Counter(dict.fromkeys(REJECT_REASONS, 0))
        self._stamp_ns: int | None = None
        self._left_rad = 0.0
        self._right_rad = 0.0

    # ------------------------------------------------------------------ state
    @property
    def initialised(self) -> bool:
        """True once a first measurement has anchored the encoder positions."""
        return self._stamp_ns is not None

    @property
    def stamp_ns(self) -> int | None:
        """Stamp of the last accepted measurement (None before the first)."""
        return self._stamp_ns

    def forget_anchor(self) -> None:
        """Keep the pose, forget the last encoder reading: the next one re-anchors.

        For a clock that jumped backwards (simulation reset, bag loop), after which stamps
        would otherwise be rejected as old until the clock catches up.
        """
        self._stamp_ns = None
        self.linear_mps = 0.0
        self.angular_radps = 0.0
        self.twist_cov = self._twist_cov(0.0, 0.0)

    # ----------------------------------------------------------------- update
    def update_joint_state(
        self, names: Sequence[str], positions: Sequence[float], stamp_ns: int
    ) -> str | None:
        """Update from a JointState's fields. Returns None if accepted, else the reason."""
        if len(names) != len(positions):
            return self._reject("malformed")
        try:
            i_left = list(names).index(self.left_joint)
            i_right = list(names).index(self.right_joint)
        except ValueError:
            return self._reject("missing_joint")
        return self.update(positions[i_left], positions[i_right], stamp_ns)

    def update(self, left_rad: float, right_rad: float, stamp_ns: int) -> str | None:
        """Integrate the motion since the last accepted measurement.

        Returns None if accepted (the first measurement only anchors), else the reason it
        was rejected (also counted in ``rejected``).
        """
        left_rad = float(left_rad)
        right_rad = float(right_rad)
        stamp_ns = int(stamp_ns)
        if not (math.isfinite(left_rad) and math.isfinite(right_rad)):
            return self._reject("nonfinite_position")
        if stamp_ns <= 0:
            return self._reject("zero_stamp")
        if self._stamp_ns is None:
            self._anchor(left_rad, right_rad, stamp_ns)
            self.accepted += 1
            return None
        if stamp_ns == self._stamp_ns:
            return self._reject("duplicate_stamp")
        if stamp_ns < self._stamp_ns:
            return self._reject("stamp_backwards")

        dt = (stamp_ns - self._stamp_ns) / NS_PER_S
        d_left = self.wheel_radius_m * (left_rad - self._left_rad)
        d_right = self.wheel_radius_m * (right_rad - self._right_rad)
        if self.max_wheel_speed_mps is not None:
            bound = self.max_wheel_speed_mps * dt + self.jump_slack_m
            if abs(d_left) > bound or abs(d_right) > bound:
                self._anchor(left_rad, right_rad, stamp_ns)
                self.linear_mps = self.angular_radps = 0.0
                self.twist_cov = self._twist_cov(0.0, 0.0)
                return self._reject("implausible_jump")

        self._integrate(d_left, d_right)
        self.linear_mps = 0.5 * (d_left + d_right) / dt
        self.angular_radps = (d_right - d_left) / (self.wheel_separation_m * dt)
        self.twist_cov = self._twist_cov(d_left / dt, d_right / dt)
        self._anchor(left_rad, right_rad, stamp_ns)
        self.accepted += 1
        return None

    # ---------------------------------------------------------------- queries
    def pose(self) -> Pose2D:
        """The pose at the last accepted measurement."""
        return Pose2D(
            self.x_m, self.y_m, self.yaw_rad, self.linear_mps, self.angular_radps,
            self._stamp_ns or 0, self.pose_cov.copy(), self.twist_cov.copy(),
        )

    def predict(self, t_ns: int, max_extrapolation_s: float) -> Pose2D | None:
        """The pose at ``t_ns``, extrapolated at constant body velocity from the last update.

        The extrapolation is at most ``max_extrapolation_s``; when the last update is older
        than that (or there is none) the data is stale and None is returned. A ``t_ns`` slightly
        before the last update gives the last pose (no extrapolation backwards); one more than
        ``max_extrapolation_s`` before it means the stamps are on another clock, and gives None
        too. The covariance is the last update's.
        """
        if self._stamp_ns is None:
            return None
        dt = (int(t_ns) - self._stamp_ns) / NS_PER_S
        if abs(dt) > max_extrapolation_s:
            return None
        dt = max(dt, 0.0)
        x, y, yaw = arc_step(
            self.x_m, self.y_m, self.yaw_rad, self.linear_mps * dt, self.angular_radps * dt
        )
        return Pose2D(
            x, y, wrap_angle(yaw), self.linear_mps, self.angular_radps, int(t_ns),
            self.pose_cov.copy(), self.twist_cov.copy(),
        )

    # --------------------------------------------------------------- internal
    def _reject(self, reason: str) -> str:
        self.rejected[reason] += 1
        return reason

    def _anchor(self, left_rad: float, right_rad: float, stamp_ns: int) -> None:
        self._left_rad = left_rad
        self._right_rad = right_rad
        self._stamp_ns = stamp_ns

    def _integrate(self, d_left: float, d_right: float) -> None:
        b = self.wheel_separation_m
        ds = 0.5 * (d_left + d_right)
        dyaw = (d_right - d_left) / b
        h = 0.5 * dyaw
        heading = self.yaw_rad + h
        k, dk = _sinc(h), _dsinc(h)
        c, s = math.cos(heading), math.sin(heading)
        dx, dy = ds * k * c, ds * k * s

        # Jacobian of (x, y, yaw) after the step w.r.t. the state before it ...
        F = np.array([[1.0, 0.0, -dy], [0.0, 1.0, dx], [0.0, 0.0, 1.0]])
        # ... and w.r.t. (ds, dyaw), then chained to (d_left, d_right).
        J = np.array(
            [
                [k * c, ds * 0.5 * (dk * c - k * s)],
                [k * s, ds * 0.5 * (dk * s + k * c)],
                [0.0, 1.0],
            ]
        )
        G = J @ np.array([[0.5, 0.5], [-1.0 / b, 1.0 / b]])
        Q = np.diag([
            self.travel_variance_m2_per_m * abs(d_left),
            self.travel_variance_m2_per_m * abs(d_right),
        ])
        P = F @ self.pose_cov @ F.T + G @ Q @ G.T
        self.pose_cov = 0.5 * (P + P.T)

        self.x_m += dx
        self.y_m += dy
        self.yaw_rad = wrap_angle(self.yaw_rad + dyaw)
        self.distance_m += abs(ds)
        self.rotation_rad += abs(dyaw)

    def _twist_cov(self, left_mps: float, right_mps: float) -> np.ndarray:
        """Covariance of (v_x, v_y, ω_z) from independent wheel-speed errors.

        v_y is the no-side-slip constraint of a differential drive; it is given the floor
        variance (it is not measured, but it is not free either).
        """
        floor = self.speed_noise_floor_mps
        var_l = (self.speed_noise_fraction * abs(left_mps) + floor) ** 2
        var_r = (self.speed_noise_fraction * abs(right_mps) + floor) ** 2
        b = self.wheel_separation_m
        cov_vw = (var_r - var_l) / (2.0 * b)
        return np.array(
            [
                [(var_l + var_r) / 4.0, 0.0, cov_vw],
                [0.0, floor * floor, 0.0],
                [cov_vw, 0.0, (var_l + var_r) / (b * b)],
            ]
        )
