"""The safety node over real rclpy and DDS: /cmd_vel_nav -> /cmd_vel, and stale inputs."""

import itertools
import math

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter

from hearth_common.config import ConfigError
from hearth_common.testing import ros_context, spin_until
from hearth_description.robot_model import default_robot_yaml
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


def _robot_yaml(tmp_path, **limits) -> str:
    """A copy of hearth_description's robot.yaml with some ``limits`` changed."""
    doc = yaml.safe_load(default_robot_yaml().read_text())
    doc["limits"].update(limits)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _run(ctx, linear_mps, **node_kwargs):
    node = SafetyNode(context=ctx, **node_kwargs)
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


def test_speed_limits_come_from_the_given_robot_params_file(tmp_path):
    robot_yaml = _robot_yaml(tmp_path, max_linear_speed_mps=0.3)
    with ros_context() as ctx:
        node, probe, _planner, cmds, states = _run(
            ctx, 0.5, parameter_overrides=[Parameter("robot_params_file", value=robot_yaml)]
        )
        try:
            assert node.guard.limits.max_linear_speed_mps == 0.3
            assert spin_until(
                [node, probe],
                lambda: bool(cmds) and cmds[-1].linear.x == pytest.approx(0.3)
                and bool(states) and _state(states[-1])["mode"] == "slowing",
                timeout_s=15.0,
            ), f"last /cmd_vel {cmds[-1].linear.x if cmds else None}"
            assert max(c.linear.x for c in cmds) <= 0.3 + 1e-9
            assert "above max 0.30" in _state(states[-1])["reason"]
        finally:
            node.destroy_node()
            probe.destroy_node()


def test_a_bad_robot_params_file_stops_the_node_with_one_line(tmp_path):
    bad = _robot_yaml(tmp_path, max_linear_speed_mps=-1.0)
    with ros_context() as ctx, pytest.raises(
        ConfigError, match=r"'limits\.max_linear_speed_mps' must be > 0"
    ) as exc:
        SafetyNode(context=ctx, parameter_overrides=[Parameter("robot_params_file", value=bad)])
    assert "\n" not in str(exc.value)
    with ros_context() as ctx, pytest.raises(ConfigError, match="cannot read robot description"):
        SafetyNode(
            context=ctx,
            parameter_overrides=[
                Parameter("robot_params_file", value=str(tmp_path / "missing.yaml"))
            ],
        )


def test_an_emergency_stop_gentler_than_the_robots_accel_stops_the_node(tmp_path):
    robot_yaml = _robot_yaml(tmp_path, max_linear_accel_mps2=5.0)  # emergency: 3.0 m/s²
    with ros_context() as ctx, pytest.raises(ConfigError, match="'emergency_decel_mps2'"):
        SafetyNode(
            context=ctx, parameter_overrides=[Parameter("robot_params_file", value=robot_yaml)]
        )
