"""The safety node: the last layer between the planners and the wheels.

Subscribes /cmd_vel_nav, /odom, /local_plan (arrival time only for now) and
/tof/depth/image_raw (counted only for now). At ``output_rate_hz`` it asks the
:class:`~hearth_safety.command_guard.CommandGuard` for the output and publishes /cmd_vel and
/safety/state. Depth-based collision checking, run per depth frame, comes in issue 7.

Times are the node clock's at reception (``use_sim_time`` from the launch file), so a
producer's clock or stamps cannot make a stale input look fresh.

The speed and acceleration limits are the robot's (what its motor controller can do), read once
at start from ``robot_params_file`` (hearth_description's robot.yaml by default); a bad robot
file, or emergency decelerations gentler than those limits, stop the node with one line.
"""

from __future__ import annotations

import math
import sys

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from hearth_common.msg_conversions import all_finite, ns_to_stamp
from hearth_common.node_config import declare_config, run_node
from hearth_description.robot_model import RobotParams, default_robot_yaml, load_robot_params
from hearth_safety.command_guard import CommandGuard, GuardOutput, Mode
from hearth_safety.config import SafetyConfig, guard_limits

NODE_CONFIG = SafetyConfig

START_WARNING = (
    "depth-based collision checking not implemented yet (issue 7): commands are only "
    "validated, rate-limited and stopped on stale inputs"
)

DEPTH_ENCODING = "32FC1"

_LEVELS = {
    Mode.NOMINAL: DiagnosticStatus.OK,
    Mode.SLOWING: DiagnosticStatus.OK,
    Mode.STOPPED: DiagnosticStatus.WARN,
    Mode.STALE: DiagnosticStatus.WARN,
}


class SafetyNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("safety", **node_kwargs)
        self.config: SafetyConfig = declare_config(self, SafetyConfig)
        cfg = self.config
        # The robot's one source of truth; raises ConfigError (one line) for a bad file.
        robot_yaml = cfg.robot_params_file or default_robot_yaml()
        self.robot: RobotParams = load_robot_params(robot_yaml)
        limits = guard_limits(cfg, self.robot.limits, source=str(robot_yaml))
        self.guard = CommandGuard(limits)
        self.counts = {
            "odom_nonfinite": 0,
            "depth_frames_received": 0,
            "depth_frames_wrong_encoding": 0,
        }
        self._mode: Mode | None = None

        self.cmd_pub = self.create_publisher(Twist, "/cmd_vel", 10)
        self.state_pub = self.create_publisher(DiagnosticArray, "/safety/state", 10)
        self.create_subscription(Twist, "/cmd_vel_nav", self._on_cmd, 10)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(Path, "/local_plan", self._on_plan, 10)
        self.create_subscription(
            Image, "/tof/depth/image_raw", self._on_depth, qos_profile_sensor_data
        )
        self.create_timer(1.0 / cfg.output_rate_hz, self._tick)
        self.get_logger().info(
            f"robot limits from {robot_yaml}: {limits.max_linear_speed_mps:g} m/s, "
            f"{limits.max_angular_speed_radps:g} rad/s, {limits.max_linear_accel_mps2:g} m/s², "
            f"{limits.max_angular_accel_radps2:g} rad/s²"
        )
        self.get_logger().warning(START_WARNING)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    # -------------------------------------------------------------- callbacks
    def _on_cmd(self, msg: Twist) -> None:
        lin, ang = msg.linear, msg.angular
        if all_finite(lin.y, lin.z, ang.x, ang.y):  # fields a differential drive ignores
            if self.guard.set_command(lin.x, ang.z, self._now_ns()):
                return
        else:
            self.guard.reject_command()
        self.get_logger().warning(
            f"/cmd_vel_nav with a non-finite field dropped "
            f"({self.guard.counts['cmd_nonfinite']} so far)",
            throttle_duration_sec=1.0,
        )

    def _on_odom(self, msg: Odometry) -> None:
        p, q, v = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
        if not all_finite(p.x, p.y, p.z, q.x, q.y, q.z, q.w, v.linear.x, v.angular.z):
            self.counts["odom_nonfinite"] += 1
            self.get_logger().warning(
                f"/odom with a non-finite pose or twist ignored "
                f"({self.counts['odom_nonfinite']} so far)",
                throttle_duration_sec=1.0,
            )
            return
        self.guard.set_odom_time(self._now_ns())

    def _on_plan(self, msg: Path) -> None:
        self.guard.set_plan_time(self._now_ns())

    def _on_depth(self, msg: Image) -> None:
        self.counts["depth_frames_received"] += 1
        if msg.encoding != DEPTH_ENCODING:
            self.counts["depth_frames_wrong_encoding"] += 1
            self.get_logger().warning(
                f"/tof/depth/image_raw encoding {msg.encoding!r}, expected {DEPTH_ENCODING!r}",
                throttle_duration_sec=1.0,
            )

    # ------------------------------------------------------------------- tick
    def _tick(self) -> None:
        now_ns = self._now_ns()
        out = self.guard.tick(now_ns)
        cmd = Twist()
        cmd.linear.x = out.linear_mps
        cmd.angular.z = out.angular_radps
        self.cmd_pub.publish(cmd)
        self.state_pub.publish(self._state_msg(out, now_ns))
        if out.mode is not self._mode:
            first = self._mode is None  # stale at start until the other nodes are up: normal
            self._mode = out.mode
            text = f"safety mode {out.mode.value}: {out.reason}"
            # (rclpy ties a throttled log's severity to its call site: one call per severity)
            if out.mode is Mode.NOMINAL or first:
                self.get_logger().info(text, throttle_duration_sec=1.0)
            else:
                self.get_logger().warning(text, throttle_duration_sec=1.0)

    def _state_msg(self, out: GuardOutput, now_ns: int) -> DiagnosticArray:
        status = DiagnosticStatus()
        status.name = "safety"
        status.hardware_id = "cmd_vel"
        status.level = _LEVELS[out.mode]
        status.message = f"{out.mode.value}: {out.reason}"
        values = {
            "mode": out.mode.value,
            "reason": out.reason,
            "time_to_collision_s": "inf",  # no collision checking yet (issue 7)
            "emergency_stop": str(out.emergency).lower(),
            "output_linear_mps": f"{out.linear_mps:.4f}",
            "output_angular_radps": f"{out.angular_radps:.4f}",
            "target_linear_mps": f"{out.target_linear_mps:.4f}",
            "target_angular_radps": f"{out.target_angular_radps:.4f}",
            "cmd_vel_nav_age_s": _age(out.cmd_age_s),
            "odom_age_s": _age(out.odom_age_s),
            "local_plan_age_s": _age(out.plan_age_s),
        }
        values.update({k: str(v) for k, v in self.guard.counts.items()})
        values.update({k: str(v) for k, v in self.counts.items()})
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        msg = DiagnosticArray()
        msg.header.stamp = ns_to_stamp(now_ns)
        msg.status = [status]
        return msg


def _age(age_s: float | None) -> str:
    return "never" if age_s is None or not math.isfinite(age_s) else f"{age_s:.3f}"


def main(args=None):
    sys.exit(run_node(SafetyNode, "safety", args))


if __name__ == "__main__":
    main()
