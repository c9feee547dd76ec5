"""Odometry EKF of a differential-drive home robot: wheels + gyro (+ visual odometry).

ROS-free (numpy, and scipy once at construction for the chi-square gates). The model, its
units and frames, every measurement and its Jacobian are written down in ``docs/model.md``.

State ``s = (x, y, yaw, v, w, b)``: pose of base_link in the odom frame (m, m, rad), body
forward speed (m/s) and yaw rate (rad/s), gyro z bias (rad/s). Process: unicycle kinematics
with constant body velocities driven by white linear / angular acceleration, bias random walk.
Measurements: wheels -> (v, w) from encoder position deltas over their interval; gyro z ->
w + b; visual odometry -> (v, w); at rest (IMU quiet, wheels still) a zero-velocity
pseudo-measurement (v, w) = 0. The accelerometer is used for detection only.

Messages go through a short time-ordered buffer (``reorder_window_s``): each is processed
once the newest stamp seen is ``reorder_window_s`` past it (or on ``flush()``); anything
older than the last processed stamp is rejected "too_old". ``state()`` is the filter at the
last processed stamp; ``predict(t)`` extrapolates it.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hearth_fusion.detectors import (
    NS_PER_S,
    Flag,
    FlagState,
    LiftDetector,
    SaturationDetector,
    SlipDetector,
    StillDetector,
)

__all__ = [
    "FLAG_NAMES",
    "REJECT_REASONS",
    "EkfParams",
    "Flag",
    "FusedState",
    "OdometryEKF",
    "RobotGeometry",
]

TWO_PI = 2.0 * math.pi
X, Y, YAW, V, W, B = range(6)

REJECT_REASONS = (
    "nonfinite",  # NaN or +-Inf in any field
    "zero_stamp",  # stamp <= 0: not stamped
    "duplicate",  # same sensor, same stamp as one buffered or processed
    "too_old",  # older than the last processed stamp (beyond the reorder window)
    "bad_covariance",  # visual odometry covariance not symmetric positive definite
    "implausible_jump",  # a wheel moved faster than max_wheel_speed_mps: encoder reset
    "saturated",  # accel or gyro reading with an axis within saturation_margin of full scale
    "saturation_holdoff",  # that sensor within saturation_holdoff_s of a saturated reading
    "lifted",  # wheels, gyro or visual odometry while the robot is lifted (pose frozen)
    "gate_wheels",  # Mahalanobis gate (2 dof)
    "gate_gyro",  # Mahalanobis gate (1 dof)
    "gate_visual_odometry",  # Mahalanobis gate (2 dof)
    "gate_still",  # zero-velocity pseudo-measurement failed its gate (2 dof)
    "wheel_slip",  # wheels while slipping, with visual odometry there to give the speed
)

FLAG_NAMES = ("imu_saturated", "wheel_slip", "lifted", "low_power", "needs_relocalization")


@dataclass(frozen=True)
class RobotGeometry:
    """From hearth_description's robot.yaml, built by the node / the evaluation."""

    wheel_radius_m: float
    wheel_separation_m: float
    accel_full_scale_mps2: float  # robot.imu.accel_full_scale_g * 9.80665
    gyro_full_scale_radps: float  # radians(robot.imu.gyro_full_scale_dps)

    def __post_init__(self) -> None:
        for name in ("wheel_radius_m", "wheel_separation_m", "accel_full_scale_mps2",
                     "gyro_full_scale_radps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"RobotGeometry.{name} must be > 0, got {value}")


@dataclass(frozen=True)
class EkfParams:
    """Noise, gates and detector thresholds. Defaults tuned on the simulator (docs/model.md)."""

    # Switches.
    gating: bool = True  # False: every gate AND detector off (the "no gating" baseline)
    use_gyro: bool = True
    use_wheels: bool = True
    use_visual_odometry: bool = True
    # Fuse the wheels' yaw rate even beside a healthy gyro (the naive fusion of the "no
    # gating" baseline); false: with a fresh, unsaturated gyro the wheels give the speed only.
    fuse_wheel_yaw_rate_with_gyro: bool = False
    # The same for visual odometry's yaw rate.
    fuse_visual_yaw_rate_with_gyro: bool = False

    # Process noise (power spectral densities given as their square roots).
    accel_noise_mps2_per_sqrt_hz: float = 1.0  # white linear acceleration, m/s^2/sqrt(Hz)
    angular_accel_noise_radps2_per_sqrt_hz: float = 3.0  # white angular accel, rad/s^2/sqrt(Hz)
    gyro_bias_walk_radps_per_sqrt_s: float = 1.0e-4  # bias random walk, rad/s/sqrt(s)

    # Initial uncertainty (the pose starts exactly at the odom origin).
    initial_speed_std_mps: float = 0.1
    initial_rate_std_radps: float = 0.1
    initial_gyro_bias_std_radps: float = 0.02

    # Measurement noise.
    gyro_noise_std_radps: float = 0.003  # one gyro z sample (white + quantization + model)
    wheel_speed_noise_fraction: float = 0.02  # per wheel, of that wheel's surface speed
    wheel_speed_noise_floor_mps: float = 0.005  # per wheel, encoder quantization at 50 Hz
    # The wheels' yaw rate misreads the body's in turns (tyre scrub, rug slip, a wheel against
    # an edge) in proportion to the rate itself: its noise in the filter, not in the slip test
    # (so that slip stays detectable while the gyro keeps the heading and its bias honest).
    wheel_yaw_rate_noise_fraction: float = 0.1
    # The wheels give (v, w) while no unsaturated gyro sample is this recent, else v only.
    gyro_fresh_s: float = 0.05
    still_speed_std_mps: float = 0.002  # zero-velocity pseudo-measurement
    still_rate_std_radps: float = 0.001
    max_wheel_speed_mps: float = 3.0  # a faster wheel step is an encoder reset

    # Gates: chi-square quantile for every Mahalanobis gate.
    gate_probability: float = 0.999  # 10.83 (1 dof), 13.82 (2 dof)
    gate_lockout_s: float = 0.1  # a sensor gated out this long re-initialises (v, w) from it

    # Message order.
    reorder_window_s: float = 0.05
    # Visual odometry arrives after its compute time and measures the mean twist over the
    # interval since the previous frame: it is compared with the filter's velocity at that
    # interval's middle (kept in a short history), and accepted this late behind the newest
    # stamp (later: too_old).
    vo_max_delay_s: float = 0.3
    vo_max_interval_s: float = 0.25  # an interval longer than this (a lost stretch) is capped

    # Saturation.
    saturation_margin: float = 0.02  # fraction of full scale
    saturation_holdoff_s: float = 0.05

    # Slip.
    slip_filter_tau_s: float = 0.1
    slip_on_sigma: float = 4.0
    slip_off_sigma: float = 2.0
    slip_window_s: float = 0.2
    slip_clear_s: float = 0.5
    slip_noise_inflation: float = 100.0  # wheel measurement variance factor while slipping
    # the slip test's allowance for scrub: the wheels' yaw rate is off by up to ~7 % of the
    # rate while turning and braking on the simulator's floor, without any slip
    slip_yaw_rate_noise_fraction: float = 0.1

    # Lift.
    lift_accel_threshold_mps2: float = 1.0
    lift_pulse_min_s: float = 0.08
    lift_filter_tau_s: float = 0.03
    lift_settle_mps2: float = 0.4
    lift_settle_s: float = 0.3
    lift_min_s: float = 0.5
    lift_tilt_rad: float = 0.35  # 20 deg
    lift_tilt_min_s: float = 0.5
    lift_max_accel_mps2: float = 8.0  # a hand lifts at under 0.8 g; a sill's jolt is more
    lift_max_horizontal_mps2: float = 3.0  # and pushes mostly upwards (a jolt does not)

    # Rest (zero-velocity update).
    still_filter_tau_s: float = 0.2
    still_accel_std_mps2: float = 0.15
    still_gyro_std_radps: float = 0.02
    still_min_s: float = 0.3
    still_wheel_speed_mps: float = 0.002

    def __post_init__(self) -> None:
        if not 0.5 < self.gate_probability < 1.0:
            raise ValueError("gate_probability must be in (0.5, 1)")
        for name in ("gyro_noise_std_radps", "wheel_speed_noise_floor_mps", "slip_filter_tau_s",
                     "lift_filter_tau_s", "still_filter_tau_s", "still_speed_std_mps",
                     "still_rate_std_radps"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"EkfParams.{name} must be > 0")
        if self.reorder_window_s < 0.0:
            raise ValueError("reorder_window_s must be >= 0")


@dataclass(frozen=True, eq=False)
class FusedState:
    t_ns: int
    x_m: float
    y_m: float
    yaw_rad: float  # odom frame
    v_mps: float
    w_radps: float  # body frame
    gyro_bias_radps: float
    covariance: np.ndarray = field(repr=False)  # (6, 6) over (x, y, yaw, v, w, bias)


_IMU, _WHEELS, _VO = 0, 1, 2
_SENSOR = ("imu", "wheels", "visual_odometry")


class OdometryEKF:
    """See the module docstring and docs/model.md."""

    def __init__(self, robot: RobotGeometry, params: EkfParams | None = None) -> None:
        from scipy.stats import chi2

        p = params if params is not None else EkfParams()
        self.robot = robot
        self.params = p
        self._gate1 = float(chi2.ppf(p.gate_probability, 1)) if p.gating else math.inf
        self._gate2 = float(chi2.ppf(p.gate_probability, 2)) if p.gating else math.inf
        self._qa = p.accel_noise_mps2_per_sqrt_hz ** 2
        self._qal = p.angular_accel_noise_radps2_per_sqrt_hz ** 2
        self._qb = p.gyro_bias_walk_radps_per_sqrt_s ** 2
        self._r_gyro = p.gyro_noise_std_radps ** 2
        self._r_still = np.diag([p.still_speed_std_mps ** 2, p.still_rate_std_radps ** 2])
        self._window_ns = round(p.reorder_window_s * NS_PER_S)
        self._lockout_ns = round(p.gate_lockout_s * NS_PER_S)

        self._x = np.zeros(6)
        self._P = np.diag([0.0, 0.0, 0.0, p.initial_speed_std_mps ** 2,
                           p.initial_rate_std_radps ** 2, p.initial_gyro_bias_std_radps ** 2])
        self._F = np.eye(6)
        self._t_ns: int | None = None  # stamp of the last processed message

        self.rejected: Counter[str] = Counter(dict.fromkeys(REJECT_REASONS, 0))
        self.accepted: Counter[str] = Counter()
        self._flags = {name: FlagState() for name in FLAG_NAMES}
        self._sat = SaturationDetector(robot.accel_full_scale_mps2, robot.gyro_full_scale_radps,
                                       p.saturation_margin, p.saturation_holdoff_s)
        self._slip = SlipDetector(p.slip_filter_tau_s, p.slip_on_sigma, p.slip_off_sigma,
                                  p.slip_window_s, p.slip_clear_s)
        self._lift = LiftDetector(p.lift_accel_threshold_mps2, p.lift_pulse_min_s,
                                  p.lift_filter_tau_s, p.lift_settle_mps2, p.lift_settle_s,
                                  p.lift_min_s, p.lift_tilt_rad, p.lift_tilt_min_s,
                                  p.lift_max_accel_mps2, p.lift_max_horizontal_mps2)
        self._still = StillDetector(p.still_filter_tau_s, p.still_accel_std_mps2,
                                    p.still_gyro_std_radps, p.still_min_s)
        self._flags["imu_saturated"] = self._sat.flag
        self._flags["wheel_slip"] = self._slip.flag
        self._flags["lifted"] = self._lift.flag

        # Buffer: heap of (t_ns, sensor, seq, payload), equal stamps in a fixed sensor order;
        # (sensor, stamp) of the buffered messages, and per sensor the last processed stamp.
        self._heap: list = []
        self._seq = 0
        self._newest_ns = 0
        self._pending: set[tuple[int, int]] = set()
        self._last_done = [0, 0, 0]  # last processed stamp per sensor

        # Wheels.
        self._anchor: tuple[int, float, float] | None = None
        self._wheel_v = 0.0
        self._wheel_w = 0.0
        self._wheel_ns: int | None = None
        self._gyro_sum = 0.0  # raw gyro z since the last wheel update, for the slip test
        self._gyro_n = 0
        self._gyro_ok_ns: int | None = None  # last unsaturated gyro sample
        self._gyro_fresh_ns = round(p.gyro_fresh_s * NS_PER_S)
        self._gate_fail_since = [None, None, None]
        # Visual odometry: stamps, and the recent velocity estimates and wheel speeds it is
        # compared with (t_ns, v, w) / (t_ns of the interval's middle, v_wheel).
        self._last_vo_ns: int | None = None
        self._vo_ok_ns: int | None = None  # last visual odometry accepted by its gate
        self._vo_delay_ns = round(p.vo_max_delay_s * NS_PER_S)
        self._vw_history: deque[tuple[int, float, float]] = deque()
        self._wheel_history: deque[tuple[int, float]] = deque()

    # ------------------------------------------------------------------ inputs
    def add_wheels(self, t_ns: int, left_rad: float, right_rad: float) -> str | None:
        """Encoder positions (rad) of the left and right wheels at ``t_ns``."""
        left, right = float(left_rad), float(right_rad)
        if not (math.isfinite(left) and math.isfinite(right)):
            return self._reject("nonfinite")
        return self._enqueue(int(t_ns), _WHEELS, (left, right))

    def add_imu(self, t_ns: int, accel_mps2: Sequence[float],
                gyro_radps: Sequence[float]) -> str | None:
        """Specific force (m/s^2, +g on z at rest) and angular rate (rad/s), base_link axes."""
        try:
            ax, ay, az = (float(c) for c in accel_mps2)
            gx, gy, gz = (float(c) for c in gyro_radps)
        except (TypeError, ValueError):
            return self._reject("nonfinite")
        if not all(map(math.isfinite, (ax, ay, az, gx, gy, gz))):
            return self._reject("nonfinite")
        return self._enqueue(int(t_ns), _IMU, (ax, ay, az, gx, gy, gz))

    def add_visual_odometry(self, t_ns: int, v_mps: float, w_radps: float,
                            cov_2x2, interval_s: float | None = None) -> str | None:
        """Body forward speed and yaw rate from V-SLAM, with their 2x2 covariance: the mean
        over the ``interval_s`` before ``t_ns`` (None: since the previous visual odometry)."""
        v, w = float(v_mps), float(w_radps)
        if interval_s is not None and not (math.isfinite(interval_s) and interval_s > 0.0):
            return self._reject("nonfinite")
        try:
            c = np.asarray(cov_2x2, dtype=float).reshape(2, 2)
        except (TypeError, ValueError):
            return self._reject("nonfinite")
        if not (math.isfinite(v) and math.isfinite(w) and np.isfinite(c).all()):
            return self._reject("nonfinite")
        a, b, d = c[0, 0], 0.5 * (c[0, 1] + c[1, 0]), c[1, 1]
        if abs(c[0, 1] - c[1, 0]) > 1e-9 * (abs(a) + abs(d)) or a <= 0.0 or a * d - b * b <= 0.0:
            return self._reject("bad_covariance")
        t_ns = int(t_ns)
        if interval_s is None:
            last = self._last_vo_ns
            interval_s = 0.1 if last is None or t_ns <= last else (t_ns - last) / NS_PER_S
        self._last_vo_ns = max(t_ns, self._last_vo_ns or 0)
        interval_ns = round(min(interval_s, self.params.vo_max_interval_s) * NS_PER_S)
        if self._t_ns is not None and t_ns < self._t_ns and t_ns > self._last_done[_VO] \
                and self._newest_ns - t_ns <= self._vo_delay_ns:
            # Late (compute time): applied now, against the filter's past velocity.
            self._last_done[_VO] = t_ns
            reason = self._process_vo(t_ns, v, w, a, b, d, interval_ns)
            if reason is None:
                self.accepted[_SENSOR[_VO]] += 1
            else:
                self.rejected[reason] += 1
            return None
        return self._enqueue(t_ns, _VO, (v, w, a, b, d, interval_ns))

    def set_power_mode(self, t_ns: int, low: bool) -> None:
        """Low power: the camera is off, no visual odometry is expected. A flag only: the
        covariance grows by the process model, nothing is pretended."""
        if low:
            self._flags["low_power"].set(int(t_ns))
        else:
            self._flags["low_power"].clear()

    def reset_relocalization(self) -> None:
        """V-SLAM says it relocalized after a put-down."""
        self._flags["needs_relocalization"].clear()

    def flush(self) -> None:
        """Process everything buffered (end of a log, tests)."""
        self._drain(None)

    # ----------------------------------------------------------------- outputs
    @property
    def flags(self) -> dict[str, Flag]:
        return {name: f.snapshot() for name, f in self._flags.items()}

    @property
    def buffered(self) -> int:
        """Messages waiting in the reorder buffer."""
        return len(self._heap)

    def state(self) -> FusedState:
        """The filter at the last processed stamp."""
        x = self._x
        return FusedState(self._t_ns or 0, float(x[0]), float(x[1]), float(x[2]),
                          float(x[3]), float(x[4]), float(x[5]), self._P.copy())

    def predict(self, t_ns: int) -> FusedState:
        """The state extrapolated to ``t_ns`` by the process model (not stored). Never goes
        backwards; while lifted the pose is frozen."""
        t_ns = int(t_ns)
        if self._t_ns is None or t_ns <= self._t_ns or self._lift.flag.active:
            s = self.state()
            return FusedState(max(t_ns, s.t_ns), s.x_m, s.y_m, s.yaw_rad, s.v_mps,
                              s.w_radps, s.gyro_bias_radps, s.covariance)
        x, P = self._x.copy(), self._P.copy()
        self._propagate(x, P, (t_ns - self._t_ns) / NS_PER_S)
        return FusedState(t_ns, float(x[0]), float(x[1]), float(x[2]), float(x[3]),
                          float(x[4]), float(x[5]), P)

    # ---------------------------------------------------------------- buffer
    def _reject(self, reason: str) -> str:
        self.rejected[reason] += 1
        return reason

    def _enqueue(self, t_ns: int, sensor: int, payload: tuple) -> str | None:
        if t_ns <= 0:
            return self._reject("zero_stamp")
        key = (sensor, t_ns)
        if t_ns == self._last_done[sensor] or key in self._pending:
            return self._reject("duplicate")
        if self._t_ns is not None and t_ns < self._t_ns:
            return self._reject("too_old")
        self._pending.add(key)
        heapq.heappush(self._heap, (t_ns, sensor, self._seq, payload))
        self._seq += 1
        if t_ns > self._newest_ns:
            self._newest_ns = t_ns
        if self._window_ns == 0:
            self._drain(None)
        elif self._heap[0][0] <= self._newest_ns - self._window_ns:
            self._drain(self._newest_ns - self._window_ns)
        return None

    def _drain(self, horizon_ns: int | None) -> None:
        heap = self._heap
        while heap and (horizon_ns is None or heap[0][0] <= horizon_ns):
            t_ns, sensor, _, payload = heapq.heappop(heap)
            self._pending.discard((sensor, t_ns))
            self._last_done[sensor] = t_ns
            if sensor == _IMU:
                reason = self._process_imu(t_ns, *payload)
            elif sensor == _WHEELS:
                reason = self._process_wheels(t_ns, *payload)
            else:
                reason = self._process_vo(t_ns, *payload)
            if reason is None:
                self.accepted[_SENSOR[sensor]] += 1
            else:
                self.rejected[reason] += 1
            self._remember(t_ns)

    def _remember(self, t_ns: int) -> None:
        """(t, v, w) after each message, the last vo_max_delay_s + vo_max_interval_s."""
        hist = self._vw_history
        if not hist or t_ns > hist[-1][0]:
            hist.append((t_ns, float(self._x[V]), float(self._x[W])))
        horizon = t_ns - self._vo_delay_ns - round(self.params.vo_max_interval_s * NS_PER_S)
        while hist and hist[0][0] < horizon:
            hist.popleft()
        wh = self._wheel_history
        while wh and wh[0][0] < horizon:
            wh.popleft()

    # ------------------------------------------------------------ the filter
    def _propagate(self, x: np.ndarray, P: np.ndarray, dt: float) -> None:
        """Process model over ``dt`` s (docs/model.md, "Process model"), in place."""
        yaw, v, w = x[2], x[3], x[4]
        h = yaw + 0.5 * w * dt
        c, s = math.cos(h), math.sin(h)
        vdt = v * dt
        x[0] += vdt * c
        x[1] += vdt * s
        x[2] = math.remainder(yaw + w * dt, TWO_PI)
        F = self._F
        F[0, 2] = -vdt * s
        F[0, 3] = dt * c
        F[0, 4] = -0.5 * vdt * dt * s
        F[1, 2] = vdt * c
        F[1, 3] = dt * s
        F[1, 4] = 0.5 * vdt * dt * c
        F[2, 4] = dt
        P[:] = F @ P @ F.T
        # Discretized white-acceleration noise: along-track / speed and yaw / rate blocks.
        qa, qal = self._qa * dt, self._qal * dt
        dt2, dt3 = 0.5 * dt, dt * dt / 3.0
        pp, pv = qa * dt3 * dt, qa * dt2 * dt  # qa dt^3/3, qa dt^2/2
        P[0, 0] += pp * c * c
        P[1, 1] += pp * s * s
        P[0, 1] += pp * c * s
        P[1, 0] += pp * c * s
        P[0, 3] += pv * c
        P[3, 0] += pv * c
        P[1, 3] += pv * s
        P[3, 1] += pv * s
        P[3, 3] += qa
        yy, yw = qal * dt3 * dt, qal * dt2 * dt
        P[2, 2] += yy
        P[2, 4] += yw
        P[4, 2] += yw
        P[4, 4] += qal
        P[5, 5] += self._qb * dt

    def _advance(self, t_ns: int) -> None:
        if self._t_ns is None:
            self._t_ns = t_ns
            return
        if t_ns > self._t_ns:
            if not self._lift.flag.active:
                self._propagate(self._x, self._P, (t_ns - self._t_ns) / NS_PER_S)
            self._t_ns = t_ns

    def _update_vw(self, t_ns: int, sensor: int, zv: float, zw: float,
                   r00: float, r01: float, r11: float, gate_reason: str,
                   gyro_vouches: bool = False,
                   predicted: tuple[float, float] | None = None) -> str | None:
        """Measurement (v, w) with covariance R: H = [0 0 0 1 0 0; 0 0 0 0 1 0].

        ``gyro_vouches``: a healthy gyro confirms the yaw rate at 200 Hz, so a sensor gated out
        for long re-initialises the speed only (wheels at rest while the body turns: slip).
        ``predicted``: the filter's (v, w) when the measurement was taken (a delayed one), the
        innovation's reference; the correction goes to the present state (velocity errors
        persist under the constant-velocity model).
        """
        x, P = self._x, self._P
        hv, hw = (x[V], x[W]) if predicted is None else predicted
        yv, yw = zv - hv, zw - hw
        s00, s01, s11 = P[V, V] + r00, P[V, W] + r01, P[W, W] + r11
        det = s00 * s11 - s01 * s01
        if det <= 0.0:
            return gate_reason
        i00, i01, i11 = s11 / det, -s01 / det, s00 / det
        nis = yv * (i00 * yv + i01 * yw) + yw * (i01 * yv + i11 * yw)
        if nis > self._gate2:
            since = self._gate_fail_since[sensor]
            if since is None:
                self._gate_fail_since[sensor] = t_ns
            elif t_ns - since >= self._lockout_ns:
                # Gated out for too long: the velocity state, not the sensor, is wrong.
                if gyro_vouches:
                    self._reinit_v(zv, r00)
                else:
                    self._reinit_vw(zv, zw, r00, r01, r11)
                self._gate_fail_since[sensor] = None
                return None
            return gate_reason
        self._gate_fail_since[sensor] = None
        PHt = P[:, 3:5]
        K = PHt @ np.array([[i00, i01], [i01, i11]])
        x += K[:, 0] * yv + K[:, 1] * yw
        x[2] = math.remainder(x[2], TWO_PI)
        P -= K @ PHt.T
        P[:] = 0.5 * (P + P.T)
        return None

    def _reinit_v(self, zv: float, r00: float) -> None:
        P = self._P
        P[V, :] = 0.0
        P[:, V] = 0.0
        self._x[V], P[V, V] = zv, r00

    def _reinit_vw(self, zv: float, zw: float, r00: float, r01: float, r11: float) -> None:
        P = self._P
        self._x[V], self._x[W] = zv, zw
        P[V, :] = 0.0
        P[:, V] = 0.0
        P[W, :] = 0.0
        P[:, W] = 0.0
        P[V, V], P[V, W], P[W, V], P[W, W] = r00, r01, r01, r11

    def _process_imu(self, t_ns: int, ax: float, ay: float, az: float,
                     gx: float, gy: float, gz: float) -> str | None:
        p = self.params
        accel_reason = gyro_reason = None
        still = False
        if p.gating:
            accel_reason, gyro_reason = self._sat.update(t_ns, ax, ay, az, gx, gy, gz)
            if accel_reason is not None:
                # A clipped (or just-clipped) accelerometer says nothing about lift or rest.
                self._still.reset()
            else:
                event = self._lift.update(t_ns, ax, ay, az)
                if event == "lifted":
                    self._on_lifted(t_ns)
                elif event == "put_down":
                    self._on_put_down(t_ns)
            if self._lift.flag.active:
                self._t_ns = max(self._t_ns or t_ns, t_ns)
                return "lifted"
            if accel_reason is None and gyro_reason is None:
                still = self._still.update(t_ns, ax, ay, az, gx, gy, gz)
            elif gyro_reason is None:
                self._still.reset()
        self._advance(t_ns)
        if gyro_reason is not None:
            return gyro_reason
        if not p.use_gyro:
            return accel_reason
        self._gyro_ok_ns = t_ns
        self._gyro_sum += gz
        self._gyro_n += 1
        # Gyro z -> w + b, H = [0 0 0 0 1 1] (hand-written scalar update).
        x, P = self._x, self._P
        y = gz - x[W] - x[B]
        PHt = P[:, W] + P[:, B]
        S = PHt[W] + PHt[B] + self._r_gyro
        reason = None
        if y * y > self._gate1 * S:
            reason = "gate_gyro"
        else:
            K = PHt / S
            x += K * y
            x[2] = math.remainder(x[2], TWO_PI)
            P -= np.outer(K, PHt)
        if still and self._wheels_quiet(t_ns):
            r = self._r_still
            if self._update_vw(t_ns, _IMU, 0.0, 0.0, r[0, 0], 0.0, r[1, 1],
                               "gate_still") is not None:
                self.rejected["gate_still"] += 1
        return reason or accel_reason

    def _wheels_quiet(self, t_ns: int) -> bool:
        if not self.params.use_wheels or self._wheel_ns is None \
                or t_ns - self._wheel_ns > 200_000_000:
            return True  # no wheel evidence: the IMU alone decides (e.g. a handheld rig)
        q = self.params.still_wheel_speed_mps
        half = 0.5 * self.robot.wheel_separation_m
        return abs(self._wheel_v) + half * abs(self._wheel_w) < q

    def _process_wheels(self, t_ns: int, left: float, right: float) -> str | None:
        p = self.params
        anchor = self._anchor
        self._anchor = (t_ns, left, right)
        if anchor is None:
            self._gyro_sum, self._gyro_n = 0.0, 0
            self._advance(t_ns)
            return None
        t0, l0, r0 = anchor
        dt = (t_ns - t0) / NS_PER_S
        r = self.robot.wheel_radius_m
        sep = self.robot.wheel_separation_m
        vl, vr = r * (left - l0) / dt, r * (right - r0) / dt
        gyro_sum, gyro_n = self._gyro_sum, self._gyro_n
        self._gyro_sum, self._gyro_n = 0.0, 0
        if abs(vl) > p.max_wheel_speed_mps or abs(vr) > p.max_wheel_speed_mps:
            self._advance(t_ns)
            return "implausible_jump"
        v, w = 0.5 * (vl + vr), (vr - vl) / sep
        self._wheel_v, self._wheel_w, self._wheel_ns = v, w, t_ns
        self._wheel_history.append(((t0 + t_ns) // 2, v))
        if self._lift.flag.active:
            self._t_ns = max(self._t_ns or t_ns, t_ns)
            return "lifted"
        fl = p.wheel_speed_noise_fraction * abs(vl) + p.wheel_speed_noise_floor_mps
        fr = p.wheel_speed_noise_fraction * abs(vr) + p.wheel_speed_noise_floor_mps
        vl2, vr2 = fl * fl, fr * fr
        r00, r01, r11 = 0.25 * (vl2 + vr2), 0.5 * (vr2 - vl2) / sep, (vl2 + vr2) / (sep * sep)
        if p.gating and gyro_n > 0:
            # Slip test: wheel yaw rate vs the mean bias-corrected gyro over the same interval.
            d = w - (gyro_sum / gyro_n - self._x[B])
            # (scrub: in a turn the wheels misread the rate by a few %, more while braking)
            var = (r11 + self._r_gyro / gyro_n + self._P[B, B]
                   + (p.slip_yaw_rate_noise_fraction * w) ** 2)
            self._slip.update("gyro", t_ns, d / math.sqrt(var))
        if self._slip.flag.active:
            k = p.slip_noise_inflation
            r00, r01, r11 = k * r00, k * r01, k * r11
        r11 += (p.wheel_yaw_rate_noise_fraction * w) ** 2
        self._advance(t_ns)
        if self._slip.flag.active and p.use_visual_odometry and self._vo_ok_ns is not None \
                and t_ns - self._vo_ok_ns <= self._vo_delay_ns:
            # Slipping wheels count distance that was not travelled, and inflated they still
            # drag the speed (5 readings between two visual odometry frames): with visual
            # odometry at hand they are left out until the slip clears.
            return "wheel_slip"
        if not p.use_wheels:
            return None
        gyro_fresh = self._gyro_ok_ns is not None \
            and t_ns - self._gyro_ok_ns <= self._gyro_fresh_ns
        # At rest means the wheels still AND the gyro's mean over the same interval agreeing
        # (a turn starts within one encoder tick: the wheels read zero, the gyro does not).
        at_rest = self._wheels_quiet(t_ns) and (
            gyro_n == 0 or abs(gyro_sum / gyro_n - self._x[B])
            <= p.still_gyro_std_radps + 3.0 * math.sqrt(self._P[B, B]))
        if not p.fuse_wheel_yaw_rate_with_gyro and gyro_fresh and not at_rest:
            # Moving, the gyro measures the yaw rate 50x better than the wheels, whose error is
            # not white (tyre scrub in turns, a wheel slipping): their yaw rate would only pull
            # the heading and the bias. They give the speed; their yaw rate is the slip test's.
            # Wheels at rest read a yaw rate of exactly zero: that one is kept (it is what makes
            # the bias observable on a robot whose motors hum, where the IMU is never quiet).
            return self._update_v(t_ns, _WHEELS, v, r00, "gate_wheels")
        return self._update_vw(t_ns, _WHEELS, v, w, r00, r01, r11, "gate_wheels",
                               gyro_vouches=gyro_fresh and not p.fuse_wheel_yaw_rate_with_gyro)

    def _update_v(self, t_ns: int, sensor: int, zv: float, r00: float, gate_reason: str,
                  predicted: float | None = None) -> str | None:
        """Measurement v with variance r00: H = [0 0 0 1 0 0] (wheels or visual odometry
        beside a healthy gyro); ``predicted`` as in ``_update_vw``."""
        x, P = self._x, self._P
        y = zv - (x[V] if predicted is None else predicted)
        S = P[V, V] + r00
        if y * y > self._gate1 * S:
            since = self._gate_fail_since[sensor]
            if since is None:
                self._gate_fail_since[sensor] = t_ns
            elif t_ns - since >= self._lockout_ns:
                # Gated out for too long: the speed state, not the sensor, is wrong.
                self._reinit_v(zv, r00)
                self._gate_fail_since[sensor] = None
                return None
            return gate_reason
        self._gate_fail_since[sensor] = None
        PHt = P[:, V].copy()
        K = PHt / S
        x += K * y
        x[2] = math.remainder(x[2], TWO_PI)
        P -= np.outer(K, PHt)
        P[:] = 0.5 * (P + P.T)
        return None

    def _process_vo(self, t_ns: int, v: float, w: float, a: float, b: float,
                    d: float, interval_ns: int) -> str | None:
        p = self.params
        if self._lift.flag.active:
            self._t_ns = max(self._t_ns or t_ns, t_ns)
            return "lifted"
        t0 = t_ns - interval_ns
        if p.gating:
            # Slip test: the wheels' mean speed over the same interval vs visual odometry.
            speeds = [vw for tm, vw in self._wheel_history if t0 <= tm <= t_ns]
            if speeds:
                v_wheel = sum(speeds) / len(speeds)
                fl = p.wheel_speed_noise_fraction * abs(v_wheel) + p.wheel_speed_noise_floor_mps
                var = 0.5 * fl * fl / len(speeds) + a
                self._slip.update("visual_odometry", t_ns, (v_wheel - v) / math.sqrt(var))
        if t_ns > (self._t_ns or 0):
            self._advance(t_ns)
        if not p.use_visual_odometry:
            return None
        # The mean over the interval is the velocity at its middle (constant acceleration).
        predicted = self._vw_at(t0 + interval_ns // 2)
        if not p.fuse_visual_yaw_rate_with_gyro and self._gyro_ok_ns is not None \
                and t_ns - self._gyro_ok_ns <= self._gyro_fresh_ns:
            # As for the wheels: beside a healthy gyro, the speed only. Its yaw rate is white
            # frame to frame but not over tens of seconds (0.1-0.4 mrad/s, scene-dependent,
            # on the simulator's drive): fused, it pulled the bias 0.5 mrad/s off, 4 deg.
            reason = self._update_v(t_ns, _VO, v, a, "gate_visual_odometry",
                                    None if predicted is None else predicted[0])
        else:
            reason = self._update_vw(t_ns, _VO, v, w, a, b, d, "gate_visual_odometry",
                                     predicted=predicted)
        if reason is None:
            self._vo_ok_ns = max(t_ns, self._vo_ok_ns or 0)
        return reason

    def _vw_at(self, t_ns: int) -> tuple[float, float] | None:
        """The filter's (v, w) at ``t_ns`` from its recent history (None: the present)."""
        hist = self._vw_history
        if not hist or t_ns >= hist[-1][0]:
            return None
        prev = None
        for item in reversed(hist):
            if item[0] <= t_ns:
                if prev is None:
                    return item[1], item[2]
                u = (t_ns - item[0]) / max(prev[0] - item[0], 1)
                return (item[1] + u * (prev[1] - item[1]), item[2] + u * (prev[2] - item[2]))
            prev = item
        return hist[0][1], hist[0][2]

    def _on_lifted(self, t_ns: int) -> None:
        # Freeze: velocities to zero (known: the pose no longer moves in odom), pose kept.
        self._advance(t_ns)
        self._reinit_vw(0.0, 0.0, self.params.initial_speed_std_mps ** 2, 0.0,
                        self.params.initial_rate_std_radps ** 2)
        self._still.reset()

    def _on_put_down(self, t_ns: int) -> None:
        self._flags["needs_relocalization"].set(t_ns)
        self._reinit_vw(0.0, 0.0, self.params.initial_speed_std_mps ** 2, 0.0,
                        self.params.initial_rate_std_radps ** 2)
        self._anchor = None  # the wheels spun while held: re-anchor on the next reading
        self._still.reset()
