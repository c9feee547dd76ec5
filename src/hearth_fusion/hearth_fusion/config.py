"""Configuration of the fusion node (ROS-free): one frozen dataclass, see ``config/fusion.yaml``.

The robot's geometry, limits and IMU full scales (wheel radius and separation, top speeds,
accelerometer and gyro ranges) are not parameters of this node: the node reads them at start
from ``robot_params_file``, the robot's one source of truth
(``hearth_description.robot_model.load_robot_params()``).

The EKF's tunables (:class:`hearth_fusion.ekf.EkfParams`) are parameters under the same names
(``EKF_PARAM_NAMES``), with the core's tuned values as defaults; ``docs/model.md`` explains
each. Only ``EkfParams.max_wheel_speed_mps`` is not: the node derives it from the robot's top
wheel speed and ``implausible_speed_factor``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hearth_common.config import ConfigError, param
from hearth_fusion.ekf import EkfParams

_EKF = EkfParams()  # the core's tuned defaults

#: EkfParams fields the node computes (from robot.yaml) rather than takes as parameters.
EKF_DERIVED = ("max_wheel_speed_mps",)


@dataclass(frozen=True)
class FusionConfig:
    # Wheel encoders (sensor_msgs/JointState on /wheel/joint_states, positions in rad).
    left_wheel_joint: str = param("wheel_left_joint", "joint name of the left wheel's encoder")
    right_wheel_joint: str = param("wheel_right_joint", "joint name of the right wheel's encoder")

    # The robot: geometry, limits and IMU full scales come from its description.
    robot_params_file: str = param(
        "", "robot.yaml giving the wheel radius and separation, the top speeds and the IMU's "
        "full scales (empty: hearth_description's config/robot.yaml)"
    )
    implausible_speed_factor: float = param(
        3.0,
        "an encoder step faster than this many times the robot's top wheel speed (from "
        "robot.yaml's limits) is treated as an encoder reset: the step is not integrated and "
        "the encoders re-anchor (the EKF's max_wheel_speed_mps)",
        min=1.5,
        max=100.0,
    )

    # --- EKF (hearth_fusion.ekf.EkfParams; docs/model.md) ---------------------------------
    # Switches.
    gating: bool = param(
        _EKF.gating,
        "Mahalanobis gates and the saturation, slip, lift and rest detectors (false: all off, "
        "the 'no gating' baseline of the evaluation only)",
    )
    use_gyro: bool = param(_EKF.use_gyro, "fuse the gyro's yaw rate")
    use_wheels: bool = param(_EKF.use_wheels, "fuse the wheel encoders' speed and yaw rate")
    use_visual_odometry: bool = param(
        _EKF.use_visual_odometry, "fuse /slam/visual_odometry's speed and yaw rate"
    )
    fuse_wheel_yaw_rate_with_gyro: bool = param(
        _EKF.fuse_wheel_yaw_rate_with_gyro,
        "fuse the wheels' yaw rate even beside a healthy gyro (false: the wheels then give the "
        "speed only, their yaw rate feeds the slip test; true: the naive fusion)",
    )
    fuse_visual_yaw_rate_with_gyro: bool = param(
        _EKF.fuse_visual_yaw_rate_with_gyro,
        "fuse visual odometry's yaw rate even beside a healthy gyro (false: its speed only; "
        "its yaw rate when the gyro is saturated or silent)",
    )
    # Process noise.
    accel_noise_mps2_per_sqrt_hz: float = param(
        _EKF.accel_noise_mps2_per_sqrt_hz,
        "process noise: white linear acceleration, m/s^2/sqrt(Hz)", min=1.0e-4, max=100.0,
    )
    angular_accel_noise_radps2_per_sqrt_hz: float = param(
        _EKF.angular_accel_noise_radps2_per_sqrt_hz,
        "process noise: white angular acceleration, rad/s^2/sqrt(Hz)", min=1.0e-4, max=100.0,
    )
    gyro_bias_walk_radps_per_sqrt_s: float = param(
        _EKF.gyro_bias_walk_radps_per_sqrt_s,
        "process noise: random walk of the gyro z bias, rad/s/sqrt(s)", min=0.0, max=0.1,
    )
    # Initial uncertainty (the pose starts exactly at the odom origin).
    initial_speed_std_mps: float = param(
        _EKF.initial_speed_std_mps, "initial standard deviation of the forward speed",
        min=1.0e-4, max=10.0,
    )
    initial_rate_std_radps: float = param(
        _EKF.initial_rate_std_radps, "initial standard deviation of the yaw rate",
        min=1.0e-4, max=10.0,
    )
    initial_gyro_bias_std_radps: float = param(
        _EKF.initial_gyro_bias_std_radps, "initial standard deviation of the gyro z bias",
        min=0.0, max=1.0,
    )
    # Measurement noise.
    gyro_noise_std_radps: float = param(
        _EKF.gyro_noise_std_radps, "standard deviation of one gyro z sample",
        min=1.0e-6, max=1.0,
    )
    wheel_speed_noise_fraction: float = param(
        _EKF.wheel_speed_noise_fraction,
        "standard deviation of a wheel's speed, as a fraction of that wheel's surface speed",
        min=0.0, max=1.0,
    )
    wheel_speed_noise_floor_mps: float = param(
        _EKF.wheel_speed_noise_floor_mps,
        "standard deviation of a wheel's speed at rest (encoder quantization)",
        min=1.0e-5, max=1.0,
    )
    wheel_yaw_rate_noise_fraction: float = param(
        _EKF.wheel_yaw_rate_noise_fraction,
        "standard deviation of the wheels' yaw rate in the filter, as a fraction of that rate "
        "(tyre scrub and rug slip in turns; not used by the slip test)",
        min=0.0, max=1.0,
    )
    gyro_fresh_s: float = param(
        _EKF.gyro_fresh_s,
        "the wheels give their yaw rate to the filter only when no unsaturated gyro sample is "
        "this recent (the gyro saturated, or silent)",
        min=0.005, max=1.0,
    )
    still_speed_std_mps: float = param(
        _EKF.still_speed_std_mps, "standard deviation of the zero-speed pseudo-measurement at rest",
        min=1.0e-5, max=1.0,
    )
    still_rate_std_radps: float = param(
        _EKF.still_rate_std_radps,
        "standard deviation of the zero-yaw-rate pseudo-measurement at rest", min=1.0e-5, max=1.0,
    )
    # Gates.
    gate_probability: float = param(
        _EKF.gate_probability,
        "chi-square quantile of every Mahalanobis gate (0.999: 10.83 for 1 dof, 13.82 for 2)",
        min=0.9, max=0.999999,
    )
    gate_lockout_s: float = param(
        _EKF.gate_lockout_s,
        "a sensor gated out for this long re-initialises the speed and yaw rate from it",
        min=0.05, max=10.0,
    )
    # Message order.
    reorder_window_s: float = param(
        _EKF.reorder_window_s,
        "messages are buffered and processed in stamp order this long after the newest "
        "stamp; older ones are rejected 'too_old' (0: process at once)",
        min=0.0, max=0.1,
    )
    vo_max_delay_s: float = param(
        _EKF.vo_max_delay_s,
        "visual odometry this far behind the newest stamp (its compute time) is still applied, "
        "against the filter's velocity at the middle of its interval; later: too_old",
        min=0.0, max=2.0,
    )
    vo_max_interval_s: float = param(
        _EKF.vo_max_interval_s,
        "a visual-odometry interval (since its previous frame) is capped at this",
        min=0.01, max=2.0,
    )
    # Saturation.
    saturation_margin: float = param(
        _EKF.saturation_margin,
        "an IMU sample with any axis within this fraction of its full scale is rejected and "
        "flags imu_saturated", min=0.0, max=0.5,
    )
    saturation_holdoff_s: float = param(
        _EKF.saturation_holdoff_s, "IMU samples this long after a saturated one are rejected too",
        min=0.0, max=1.0,
    )
    # Slip.
    slip_filter_tau_s: float = param(
        _EKF.slip_filter_tau_s,
        "time constant of the low-pass of the wheel-gyro and wheel-visual-odometry "
        "disagreements", min=0.005, max=5.0,
    )
    slip_on_sigma: float = param(
        _EKF.slip_on_sigma,
        "a filtered disagreement beyond this many of its standard deviations, for "
        "slip_window_s, flags wheel_slip", min=0.5, max=100.0,
    )
    slip_off_sigma: float = param(
        _EKF.slip_off_sigma,
        "wheel_slip clears when every disagreement stays below this many standard deviations "
        "for slip_clear_s (less than slip_on_sigma)", min=0.0, max=100.0,
    )
    slip_window_s: float = param(
        _EKF.slip_window_s, "how long a disagreement must last to flag wheel_slip",
        min=0.0, max=10.0,
    )
    slip_clear_s: float = param(
        _EKF.slip_clear_s, "how long the disagreements must stay low to clear wheel_slip",
        min=0.0, max=10.0,
    )
    slip_noise_inflation: float = param(
        _EKF.slip_noise_inflation,
        "factor on the wheel measurement's variance while wheel_slip is flagged",
        min=1.0, max=1.0e6,
    )
    slip_yaw_rate_noise_fraction: float = param(
        _EKF.slip_yaw_rate_noise_fraction,
        "the slip test's allowance for tyre scrub: standard deviation of the wheels' yaw rate "
        "as a fraction of that rate (straight-line slip keeps its full sensitivity)",
        min=0.0, max=1.0,
    )
    # Lift.
    lift_accel_threshold_mps2: float = param(
        _EKF.lift_accel_threshold_mps2,
        "vertical specific force beyond 1 g by this much, for lift_pulse_min_s, is a pick-up "
        "(or, down, a put-down's descent)", min=0.05, max=20.0,
    )
    lift_pulse_min_s: float = param(
        _EKF.lift_pulse_min_s, "shortest vertical acceleration pulse that counts",
        min=0.0, max=2.0,
    )
    lift_filter_tau_s: float = param(
        _EKF.lift_filter_tau_s, "time constant of the low-pass of the vertical specific force",
        min=0.001, max=1.0,
    )
    lift_settle_mps2: float = param(
        _EKF.lift_settle_mps2,
        "put down once the accelerometer stays within this of (0, 0, g) for lift_settle_s",
        min=0.01, max=10.0,
    )
    lift_settle_s: float = param(
        _EKF.lift_settle_s, "how long the accelerometer must settle to end a lift",
        min=0.0, max=10.0,
    )
    lift_min_s: float = param(
        _EKF.lift_min_s, "shortest lift: no put-down is detected before this", min=0.0, max=60.0,
    )
    lift_tilt_rad: float = param(
        _EKF.lift_tilt_rad,
        "a tilt beyond this for lift_tilt_min_s also means lifted (a floor robot never tilts "
        "so far)", min=0.01, max=1.5,
    )
    lift_max_accel_mps2: float = param(
        _EKF.lift_max_accel_mps2,
        "a pick-up's upward push stays under this (m/s^2 above 1 g): a sill's jolt, above it, "
        "does not start a lift", min=1.0, max=100.0,
    )
    lift_max_horizontal_mps2: float = param(
        _EKF.lift_max_horizontal_mps2,
        "and its horizontal specific force (low-passed) stays under this", min=0.1, max=100.0,
    )
    lift_tilt_min_s: float = param(
        _EKF.lift_tilt_min_s, "how long a tilt must last to flag lifted", min=0.0, max=10.0,
    )
    # Rest (zero-velocity update).
    still_filter_tau_s: float = param(
        _EKF.still_filter_tau_s, "time constant of the IMU variance estimates of the rest test",
        min=0.005, max=5.0,
    )
    still_accel_std_mps2: float = param(
        _EKF.still_accel_std_mps2,
        "at rest when the accelerometer's standard deviation stays below this",
        min=0.0, max=10.0,
    )
    still_gyro_std_radps: float = param(
        _EKF.still_gyro_std_radps,
        "at rest when the gyro's standard deviation stays below this", min=0.0, max=1.0,
    )
    still_min_s: float = param(
        _EKF.still_min_s, "how long the IMU must stay quiet before the zero-velocity update",
        min=0.0, max=10.0,
    )
    still_wheel_speed_mps: float = param(
        _EKF.still_wheel_speed_mps,
        "and the wheels slower than this (speed plus half the separation times the yaw rate)",
        min=0.0, max=1.0,
    )

    # Output.
    odom_frame: str = param("odom", "frame of /odom's pose (parent of the TF)")
    base_frame: str = param("base_link", "the robot's body frame (child of the TF)")
    publish_rate_hz: float = param(
        100.0, "rate of /odom and TF odom->base_link", min=10.0, max=500.0
    )
    max_extrapolation_s: float = param(
        0.1,
        "/odom is published only while the last accepted encoder reading is at most this old "
        "(older wheel data is stale and /odom goes silent); a message stamped more than this "
        "ahead of the node clock is rejected ('stamp_ahead')",
        min=0.01,
        max=0.1,
    )
    diagnostics_rate_hz: float = param(10.0, "rate of /fusion/diagnostics", min=0.5, max=100.0)
    publish_tf: bool = param(True, "publish TF odom->base_link along with /odom")

    def __post_init__(self) -> None:
        for key in ("left_wheel_joint", "right_wheel_joint", "odom_frame", "base_frame"):
            if not getattr(self, key).strip():
                raise ConfigError(f"parameter '{key}' must not be empty")
        if self.left_wheel_joint == self.right_wheel_joint:
            raise ConfigError(
                f"parameter 'right_wheel_joint' = {self.right_wheel_joint!r} is the same joint "
                "as 'left_wheel_joint'"
            )
        if self.odom_frame == self.base_frame:
            raise ConfigError(
                f"parameter 'base_frame' = {self.base_frame!r} is the same frame as 'odom_frame'"
            )
        if self.slip_off_sigma >= self.slip_on_sigma:
            raise ConfigError(
                f"parameter 'slip_off_sigma' = {self.slip_off_sigma!r} must be below "
                f"'slip_on_sigma' = {self.slip_on_sigma!r}"
            )
        self.ekf_params(max_wheel_speed_mps=_EKF.max_wheel_speed_mps)  # the core's own checks

    def ekf_params(self, max_wheel_speed_mps: float) -> EkfParams:
        """The EKF's parameters: this config's, and the top wheel speed the node derives."""
        values = {name: getattr(self, name) for name in EKF_PARAM_NAMES}
        try:
            return EkfParams(max_wheel_speed_mps=max_wheel_speed_mps, **values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"EKF parameters: {exc}") from exc


#: The EkfParams fields this config carries, under the same names.
EKF_PARAM_NAMES = tuple(
    f.name for f in dataclasses.fields(EkfParams) if f.name not in EKF_DERIVED
)
