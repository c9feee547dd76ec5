"""The fusion node: /odom and TF odom->base_link from the EKF of :mod:`hearth_fusion.ekf`.

A thin node: it converts messages to numbers, calls :class:`~hearth_fusion.ekf.OdometryEKF`
and publishes what the EKF says.

- /wheel/joint_states: the two wheel encoder positions (joint names from the config) ->
  ``add_wheels``.
- /imu/data: linear acceleration and angular velocity, rotated from imu_link into base_link
  with the URDF's fixed transform (read once at start; identity for the hearth robot, whose
  IMU axes are aligned with base_link) -> ``add_imu``.
- /slam/visual_odometry: forward speed and yaw rate with the 2x2 of (vx, wz) taken from the
  6x6 covariance -> ``add_visual_odometry``.
- /power_mode (latched): ``normal`` / ``low`` -> ``set_power_mode``.

The EKF rejects and counts bad measurements (NaN/Inf, non-monotonic stamps, covariances that
are not positive definite, gated outliers); the node only rejects what it cannot hand over
(a message without the wheel joints, a stamp of zero, a stamp ahead of the node clock) and
warns at most once a second.

At ``publish_rate_hz`` it publishes /odom and TF odom->base_link, stamped with the node clock,
from ``ekf.predict(now)``. While there is no wheel data yet, or the last accepted encoder
reading is older than ``max_extrapolation_s``, nothing is published (consumers see /odom go
silent rather than a stale pose stamped now). /fusion/diagnostics (``diagnostics_rate_hz``)
carries each of the EKF's flags with its start time, and the rejections by reason.

The wheel radius and separation and the IMU's full scales are the robot's, read once at start
from ``robot_params_file`` (hearth_description's robot.yaml by default); a bad robot file stops
the node with one line naming the file and the key.
"""

from __future__ import annotations

import math
import sys
from collections import Counter

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import TransformStamped, TwistWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.clock import JumpThreshold, TimeJump
from rclpy.duration import Duration
from rclpy.node import Node
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger

from hearth_common.config import ConfigError
from hearth_common.frames import FramePublisher
from hearth_common.geometry import wrap_angle
from hearth_common.msg_conversions import ns_to_stamp, stamp_to_ns, yaw_to_quaternion_msg
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED, SENSOR
from hearth_description.robot_model import (
    RobotParams,
    default_robot_yaml,
    expand_xacro,
    joint_transform,
    load_robot_params,
    parse_urdf,
)
from hearth_fusion.config import FusionConfig
from hearth_fusion.ekf import FLAG_NAMES, REJECT_REASONS, FusedState, OdometryEKF, RobotGeometry

NODE_CONFIG = FusionConfig

# Variance given to the axes a planar odometry does not estimate (z, roll, pitch and their
# rates, and the lateral speed): "unknown", so that a consumer never trusts them.
UNESTIMATED_VARIANCE = 1.0e6

FLAGS = FLAG_NAMES  # imu_saturated, wheel_slip, lifted, low_power, needs_relocalization

# Rejections made by the node before a measurement reaches the EKF.
NODE_REJECT_REASONS = (
    "missing_joint",  # /wheel/joint_states without both wheel joints (or their positions)
    "stamp_ahead",  # stamped more than max_extrapolation_s ahead of the node clock
)


def robot_geometry(robot: RobotParams) -> RobotGeometry:
    return RobotGeometry(
        wheel_radius_m=robot.wheels.radius_m,
        wheel_separation_m=robot.wheels.separation_m,
        accel_full_scale_mps2=robot.imu.accel_full_scale_mps2,
        gyro_full_scale_radps=robot.imu.gyro_full_scale_radps,
    )


def imu_rotation(robot_yaml: str) -> np.ndarray | None:
    """The rotation of imu_link in base_link from the URDF (None when it is the identity)."""
    try:
        joints = parse_urdf(expand_xacro(robot_yaml=robot_yaml))
    except ValueError as exc:
        raise ConfigError(f"URDF from {robot_yaml}: {exc}") from exc
    mounts = [j for j in joints if j.child == "imu_link" and j.parent == "base_link"]
    if len(mounts) != 1 or mounts[0].type != "fixed":
        raise ConfigError(f"URDF from {robot_yaml}: no fixed joint base_link -> imu_link")
    x, y, z, w = joint_transform(mounts[0]).rotation_xyzw
    rot = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    return None if np.allclose(rot, np.eye(3), atol=1e-12) else rot


class FusionNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("fusion", **node_kwargs)
        self.config: FusionConfig = declare_config(self, FusionConfig)
        cfg = self.config
        # The robot's one source of truth; raises ConfigError (one line) for a bad file.
        robot_yaml = str(cfg.robot_params_file or default_robot_yaml())
        self.robot: RobotParams = load_robot_params(robot_yaml)
        self.geometry = robot_geometry(self.robot)
        # An encoder step faster than this is an encoder reset (the robot's limits decide).
        top_wheel_speed_mps = self.robot.max_wheel_speed_radps * self.robot.wheels.radius_m
        self.ekf_params = cfg.ekf_params(cfg.implausible_speed_factor * top_wheel_speed_mps)
        self.imu_rotation = imu_rotation(robot_yaml)
        self.ekf = OdometryEKF(self.geometry, self.ekf_params)

        self.counts = Counter(dict.fromkeys((
            "joint_states_received", "imu_received", "visual_odometry_received",
            "power_mode_received", "power_mode_unknown", "clock_jumps_back",
            "ekf_restarts", "odom_published",
        ), 0))
        self.node_rejected: Counter[str] = Counter(dict.fromkeys(NODE_REJECT_REASONS, 0))
        # Rejections counted by EKFs that a clock jump replaced.
        self._ekf_rejected_before: Counter[str] = Counter()
        self._stamp_ahead_reported = 0
        self.low_power = False
        self.last_wheels_ns: int | None = None  # stamp of the last accepted encoder reading
        self._last_published_ns = -1
        self._last_output: tuple[float, float, float, np.ndarray] | None = None
        # Pose (x, y, yaw, 3x3 covariance) the current EKF's odom origin has in /odom: where
        # the pose was when a clock jump restarted the EKF (identity at start).
        self._origin: tuple[float, float, float, np.ndarray] = (0.0, 0.0, 0.0, np.zeros((3, 3)))

        self.odom_pub = self.create_publisher(Odometry, "/odom", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/fusion/diagnostics", 10)
        self.frames = FramePublisher(self) if cfg.publish_tf else None

        # Sensor topics: best effort matches both best-effort and reliable publishers; a lost
        # encoder message costs nothing (the next one's position deltas cover it).
        self.create_subscription(JointState, "/wheel/joint_states", self._on_joint_state, SENSOR)
        self.create_subscription(Imu, "/imu/data", self._on_imu, SENSOR)
        self.create_subscription(
            TwistWithCovarianceStamped, "/slam/visual_odometry", self._on_visual_odometry, 10
        )
        self.create_subscription(String, "/power_mode", self._on_power_mode, LATCHED)
        # V-SLAM calls this once it has relocalized after a put-down.
        self.create_service(Trigger, "/fusion/relocalized", self._on_relocalized)

        self.create_timer(1.0 / cfg.publish_rate_hz, self._publish_odometry)
        self.create_timer(1.0 / cfg.diagnostics_rate_hz, self._publish_diagnostics)
        # A clock that jumps back (simulation reset, bag loop) would make every later stamp
        # "old": restart the EKF on the new time line instead, keeping the pose.
        self._jump_handle = self.get_clock().create_jump_callback(
            JumpThreshold(min_forward=None, min_backward=Duration(nanoseconds=-1)),
            post_callback=self._on_clock_jump,
        )
        self.get_logger().info(
            f"robot from {robot_yaml}: wheel radius {self.geometry.wheel_radius_m:g} m, "
            f"separation {self.geometry.wheel_separation_m:g} m, IMU full scale "
            f"{self.geometry.accel_full_scale_mps2:g} m/s^2, "
            f"{self.geometry.gyro_full_scale_radps:g} rad/s; encoder reset above "
            f"{self.ekf_params.max_wheel_speed_mps:g} m/s"
            + (" (imu_link rotated into base_link)" if self.imu_rotation is not None else "")
        )
        self.get_logger().info(self._fused_summary())

    def _fused_summary(self) -> str:
        p = self.ekf_params
        used = [name for name, on in (
            ("wheel encoders", p.use_wheels),
            ("gyro yaw rate", p.use_gyro),
            ("visual odometry (when it comes)", p.use_visual_odometry),
        ) if on]
        gates = (
            "gates and saturation/slip/lift/rest detectors on" if p.gating
            else "GATES AND DETECTORS OFF"
        )
        return (
            f"EKF fusing {', '.join(used) or 'nothing'} (accelerometer for detection); {gates}; "
            f"following /power_mode; /odom at {self.config.publish_rate_hz:g} Hz"
        )

    # -------------------------------------------------------------- callbacks
    def _stamp_ns(self, header, topic: str) -> int | None:
        """The message's stamp, or None (counted, warned) when it cannot be used."""
        stamp_ns = stamp_to_ns(header.stamp)
        if stamp_ns - self.get_clock().now().nanoseconds > 1e9 * self.config.max_extrapolation_s:
            # From another clock, or from before a clock reset: it would hold the EKF's time
            # ahead and every later message would be rejected as too old.
            self.node_rejected["stamp_ahead"] += 1
            self._warn_rejected(topic, "stamp_ahead")
            return None
        return stamp_ns

    def _on_joint_state(self, msg: JointState) -> None:
        self.counts["joint_states_received"] += 1
        stamp_ns = self._stamp_ns(msg.header, "/wheel/joint_states")
        if stamp_ns is None:
            return
        try:
            left = msg.position[msg.name.index(self.config.left_wheel_joint)]
            right = msg.position[msg.name.index(self.config.right_wheel_joint)]
        except (ValueError, IndexError):
            self.node_rejected["missing_joint"] += 1
            self._warn_rejected("/wheel/joint_states", "missing_joint")
            return
        reason = self.ekf.add_wheels(stamp_ns, float(left), float(right))
        if reason is None:
            self.last_wheels_ns = max(self.last_wheels_ns or 0, stamp_ns)
        else:
            self._warn_rejected("/wheel/joint_states", reason)

    def _on_imu(self, msg: Imu) -> None:
        self.counts["imu_received"] += 1
        stamp_ns = self._stamp_ns(msg.header, "/imu/data")
        if stamp_ns is None:
            return
        a, g = msg.linear_acceleration, msg.angular_velocity
        accel, gyro = (a.x, a.y, a.z), (g.x, g.y, g.z)
        if self.imu_rotation is not None:
            accel, gyro = tuple(self.imu_rotation @ accel), tuple(self.imu_rotation @ gyro)
        reason = self.ekf.add_imu(stamp_ns, accel, gyro)
        if reason is not None:
            self._warn_rejected("/imu/data", reason)

    def _on_visual_odometry(self, msg: TwistWithCovarianceStamped) -> None:
        self.counts["visual_odometry_received"] += 1
        stamp_ns = self._stamp_ns(msg.header, "/slam/visual_odometry")
        if stamp_ns is None:
            return
        c = msg.twist.covariance  # row-major 6x6 over (vx, vy, vz, wx, wy, wz)
        cov = np.array([[c[0], c[5]], [c[30], c[35]]], dtype=float)
        t = msg.twist.twist
        reason = self.ekf.add_visual_odometry(stamp_ns, t.linear.x, t.angular.z, cov)
        if reason is not None:
            self._warn_rejected("/slam/visual_odometry", reason)

    def _on_relocalized(self, request: Trigger.Request,
                        response: Trigger.Response) -> Trigger.Response:
        was = self.ekf.flags["needs_relocalization"].active
        self.ekf.reset_relocalization()
        response.success = True
        response.message = ("needs_relocalization cleared" if was
                            else "needs_relocalization was not set")
        return response

    def _on_power_mode(self, msg: String) -> None:
        self.counts["power_mode_received"] += 1
        mode = msg.data.strip().lower()
        if mode not in ("normal", "low"):
            self.counts["power_mode_unknown"] += 1
            self.get_logger().warning(
                f"/power_mode {msg.data!r} is not 'normal' or 'low'; ignored",
                throttle_duration_sec=1.0,
            )
            return
        self.low_power = mode == "low"
        self.ekf.set_power_mode(self.get_clock().now().nanoseconds, self.low_power)

    def _warn_rejected(self, topic: str, reason: str) -> None:
        self.get_logger().warning(
            f"{topic} rejected ({reason}); rejected so far: {self._rejected_summary()}",
            throttle_duration_sec=1.0,
        )

    def _on_clock_jump(self, jump: TimeJump) -> None:
        if jump.delta.nanoseconds >= 0:
            return
        self.counts["clock_jumps_back"] += 1
        self._restart_ekf()
        self.get_logger().warning(
            f"clock jumped back {-jump.delta.nanoseconds / 1e9:.3f} s: the EKF restarts on the "
            "new time line from the last published pose"
        )

    def _restart_ekf(self) -> None:
        """A fresh EKF whose origin is the last published pose (the pose is kept)."""
        self.counts["ekf_restarts"] += 1
        self._ekf_rejected_before.update(self.ekf.rejected)
        if self._last_output is not None:
            self._origin = self._last_output
        self.ekf = OdometryEKF(self.geometry, self.ekf_params)
        if self.low_power:
            self.ekf.set_power_mode(self.get_clock().now().nanoseconds, True)
        self.last_wheels_ns = None
        self._last_published_ns = -1

    # ------------------------------------------------------------- publishing
    def _data_problem(self, now_ns: int) -> str | None:
        """Why /odom is not published now, or None when it is."""
        if self.last_wheels_ns is None:
            return "no wheel encoder data yet"
        age_s = (now_ns - self.last_wheels_ns) / 1e9
        if age_s > self.config.max_extrapolation_s:
            return f"wheel encoder data stale ({age_s:.2f} s old): /odom not published"
        return None

    def _publish_odometry(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        if now_ns <= self._last_published_ns:
            return  # clock has not advanced (paused simulation): never repeat a stamp
        if self._data_problem(now_ns) is not None:
            return  # no wheel data yet, or stale: /odom goes silent (see diagnostics)
        state = self.ekf.predict(now_ns)
        self._last_published_ns = now_ns
        odom = self._odometry_msg(now_ns, state)
        self.odom_pub.publish(odom)
        self.counts["odom_published"] += 1
        if self.frames is not None:
            tf = TransformStamped()
            tf.header = odom.header
            tf.child_frame_id = odom.child_frame_id
            tf.transform.translation.x = odom.pose.pose.position.x
            tf.transform.translation.y = odom.pose.pose.position.y
            tf.transform.rotation = odom.pose.pose.orientation
            self.frames.send([tf])

    def _odometry_msg(self, now_ns: int, state: FusedState) -> Odometry:
        cov = np.asarray(state.covariance, dtype=float)
        x, y, yaw, pose_cov = compose(
            self._origin, state.x_m, state.y_m, state.yaw_rad, cov[:3, :3]
        )
        self._last_output = (x, y, yaw, pose_cov)
        msg = Odometry()
        msg.header.stamp = ns_to_stamp(now_ns)
        msg.header.frame_id = self.config.odom_frame
        msg.child_frame_id = self.config.base_frame
        msg.pose.pose.position.x = x
        msg.pose.pose.position.y = y
        msg.pose.pose.orientation = yaw_to_quaternion_msg(yaw)
        msg.twist.twist.linear.x = float(state.v_mps)
        msg.twist.twist.angular.z = float(state.w_radps)
        msg.pose.covariance = planar_to_6x6(pose_cov, (0, 1, 5))
        msg.twist.covariance = planar_to_6x6(cov[3:5, 3:5], (0, 5))
        return msg

    def _publish_diagnostics(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        flags = self.ekf.flags
        active = [name for name in FLAGS if name in flags and flags[name].active]
        problems = [f"{name} since {flags[name].since_ns / 1e9:.3f} s" for name in active]
        data_problem = self._data_problem(now_ns)
        if data_problem is not None:
            problems.append(data_problem)
        ahead = self.node_rejected["stamp_ahead"] - self._stamp_ahead_reported
        self._stamp_ahead_reported += ahead
        if ahead:
            problems.append(
                f"{ahead} messages stamped ahead of the node clock (another clock? check "
                "use_sim_time)"
            )
        if self.config.publish_tf and self.frames is None:
            problems.append("TF not published (hearth_common.frames unavailable)")
        rejected = self.rejected()

        status = DiagnosticStatus()
        status.name = "fusion: odometry"
        status.hardware_id = "wheel_encoders, imu, visual_odometry"
        status.level = DiagnosticStatus.WARN if problems else DiagnosticStatus.OK
        status.message = "; ".join(problems) if problems else "EKF: all flags clear"
        values: dict[str, str] = {}
        for name in FLAGS:
            flag = flags.get(name)
            values[name] = str(bool(flag and flag.active)).lower()
            values[f"{name}_since_s"] = (
                f"{flag.since_ns / 1e9:.3f}" if flag is not None and flag.since_ns is not None
                else "never"
            )
            values[f"{name}_count"] = str(flag.count if flag is not None else 0)
        values.update({f"rejected_{r}": str(n) for r, n in sorted(rejected.items())})
        values["rejected_total"] = str(sum(rejected.values()))
        values.update({k: str(v) for k, v in self.counts.items()})
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]

        msg = DiagnosticArray()
        msg.header.stamp = ns_to_stamp(now_ns)
        msg.status = [status]
        self.diag_pub.publish(msg)

    def rejected(self) -> Counter[str]:
        """Every rejection so far by reason: the EKF's (every reason, zeros too) and the node's."""
        out: Counter[str] = Counter(dict.fromkeys(REJECT_REASONS, 0))
        out.update(self.node_rejected)
        out.update(self._ekf_rejected_before)
        out.update(self.ekf.rejected)
        return out

    def _rejected_summary(self) -> str:
        return ", ".join(f"{r} {n}" for r, n in sorted(self.rejected().items()) if n) or "none"


def compose(
    origin: tuple[float, float, float, np.ndarray], x: float, y: float, yaw: float,
    cov: np.ndarray,
) -> tuple[float, float, float, np.ndarray]:
    """The pose (x, y, yaw; covariance) given in a frame whose pose is ``origin``."""
    x0, y0, yaw0, cov0 = origin
    c, s = math.cos(yaw0), math.sin(yaw0)
    X, Y = x0 + c * x - s * y, y0 + s * x + c * y
    if not cov0.any() and yaw0 == 0.0:
        return X, Y, wrap_angle(yaw0 + yaw), cov
    J0 = np.array([[1.0, 0.0, -s * x - c * y], [0.0, 1.0, c * x - s * y], [0.0, 0.0, 1.0]])
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return X, Y, wrap_angle(yaw0 + yaw), J0 @ cov0 @ J0.T + R @ cov @ R.T


def planar_to_6x6(cov: np.ndarray, axes: tuple[int, ...]) -> list[float]:
    """A covariance over ``axes`` of ROS's (x, y, z, roll, pitch, yaw) as its row-major 6x6;
    the other axes get ``UNESTIMATED_VARIANCE``."""
    out = [0.0] * 36
    for i, a in enumerate(axes):
        for j, b in enumerate(axes):
            out[6 * a + b] = float(cov[i, j])
    for a in range(6):
        if a not in axes:
            out[6 * a + a] = UNESTIMATED_VARIANCE
    return out


def main(args=None):
    sys.exit(run_node(FusionNode, "fusion", args))


if __name__ == "__main__":
    main()
