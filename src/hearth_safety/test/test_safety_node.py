"""The safety node over real rclpy and DDS: /cmd_vel_nav -> /cmd_vel, and stale inputs."""

import itertools
import math

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter

from hearth_common.config import ConfigError
from hearth_common.testing import ros_context, spin_until
from hearth_safety.safety_node import SafetyNode


class Planner:
    """A probe publishing /odom and /cmd_vel_nav at 20 Hz."""

    def __init__(self, probe: Node, linear_mps: float) -> None:
        self.probe = probe
        self.cmd_pub = probe.create_publisher(Twist, "/cmd_vel_nav", 10)
        self.odom_pub = probe.create_publisher(Odometry, "/odom", 10)
        self.linear_mps = linear_mps
        self.send_odom = True
        self.send_cmd = True
        self.timer = probe.create_timer(0.05, self._tick)

    def _tick(self) -> None:
        if self.send_odom:
            odom = Odometry()
            odom.header.stamp = self.probe.get_clock().now().to_msg()
            odom.header.frame_id, odom.child_frame_id = "odom", "base_link"
            odom.pose.pose.orientation.w = 1.0
            self.odom_pub.publish(odom)
        if self.send_cmd:
            cmd = Twist()
            cmd.linear.x = self.linear_mps
            self.cmd_pub.publish(cmd)


def _state(msg: DiagnosticArray) -> dict[str, str]:
    return {kv.key: kv.value for kv in msg.status[0].values}


def _run(ctx, linear_mps):
    node = SafetyNode(context=ctx)
    probe = Node("probe", context=ctx)
    cmds: list[Twist] = []
    states: list[DiagnosticArray] = []
    probe.create_subscription(Twist, "/cmd_vel", cmds.append, 10)
    probe.create_subscription(DiagnosticArray, "/safety/state", states.append, 10)
    return node, probe, Planner(probe, linear_mps), cmds, states


def test_cmd_vel_follows_the_command_and_stops_when_odom_goes_silent():
    with ros_context() as ctx:
        node, probe, planner, cmds, states = _run(ctx, 0.5)
        try:
            assert spin_until(
                [node, probe], lambda: bool(cmds) and cmds[-1].linear.x == 0.5, timeout_s=15.0
            ), f"last /cmd_vel {cmds[-1].linear.x if cmds else None}"
            assert spin_until([node, probe], lambda: bool(states), timeout_s=5.0)
            assert _state(states[-1])["mode"] == "nominal"
            assert _state(states[-1])["time_to_collision_s"] == "inf"
            # The ramp: no step between consecutive outputs above max accel · period (+ slack
            # for a late timer tick, bounded by the guard's max step of two periods).
            speeds = [c.linear.x for c in cmds]
            assert max(b - a for a, b in itertools.pairwise(speeds)) <= 0.1 + 1e-9

            planner.send_odom = False

            def stopped() -> bool:
                s = _state(states[-1])
                return (
                    cmds[-1].linear.x == 0.0
                    and s["mode"] == "stale"
                    and s["reason"].startswith("odom silent")
                )

            assert spin_until([node, probe], stopped, timeout_s=10.0), _state(states[-1])
            assert _state(states[-1])["emergency_stop"] == "true"
        finally:
            node.destroy_node()
            probe.destroy_node()


def test_nonfinite_commands_never_reach_cmd_vel():
    with ros_context() as ctx:
        node, probe, _planner, cmds, states = _run(ctx, math.nan)
        try:
            assert spin_until(
                [node, probe],
                lambda: bool(states) and int(_state(states[-1])["cmd_nonfinite"]) >= 5,
                timeout_s=15.0,
            )
            assert cmds
            assert all(c.linear.x == 0.0 and c.angular.z == 0.0 for c in cmds)
            assert _state(states[-1])["mode"] == "stale"
        finally:
            node.destroy_node()
            probe.destroy_node()


def test_bad_parameter_stops_the_node_with_the_key_named():
    with ros_context() as ctx, pytest.raises(ConfigError, match="'cmd_timeout_s'"):
        SafetyNode(context=ctx, parameter_overrides=[Parameter("cmd_timeout_s", value=-1.0)])
