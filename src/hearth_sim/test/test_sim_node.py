"""The sim node over real rclpy and DDS: it drives, it is the clock, it refuses bad commands."""

from __future__ import annotations

import math

import pytest
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64, String

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import stamp_to_ns
from hearth_common.testing import ros_context, spin_until
from hearth_sim.sim_node import LATCHED, SimNode


class Probe:
    """A node that records what the sim publishes and sends it commands."""

    def __init__(self, ctx):
        self.node = Node("probe", context=ctx)
        self.clock: list[int] = []
        self.wheels: list[JointState] = []
        self.screen: list[JointState] = []
        self.truth: list[Odometry] = []
        self.imu: list[Imu] = []
        self.power: list[str] = []
        n = self.node
        n.create_subscription(Clock, "/clock", lambda m: self.clock.append(stamp_to_ns(m.clock)),
                              10)
        n.create_subscription(JointState, "/wheel/joint_states", self.wheels.append, 10)
        n.create_subscription(JointState, "/screen/joint_states", self.screen.append, 10)
        n.create_subscription(Odometry, "/ground_truth/odom", self.truth.append, 10)
        n.create_subscription(Imu, "/imu/data", self.imu.append, qos_profile_sensor_data)
        n.create_subscription(String, "/power_mode", lambda m: self.power.append(m.data), LATCHED)
        self.cmd_pub = n.create_publisher(Twist, "/cmd_vel", 10)
        self.pan_pub = n.create_publisher(Float64, "/screen/pan_cmd", 10)

    def send(self, v: float, w: float = 0.0) -> None:
        msg = Twist()
        msg.linear.x, msg.angular.z = v, w
        self.cmd_pub.publish(msg)


@pytest.fixture
def graph():
    with ros_context() as ctx:
        # As the launch file starts it: use_sim_time true, which the sim, being the clock,
        # ignores.
        sim = SimNode(context=ctx,
                      parameter_overrides=[Parameter("use_sim_time", value=True)])
        probe = Probe(ctx)
        try:
            yield sim, probe
        finally:
            probe.node.destroy_node()
            sim.destroy_node()


def test_driving_forward_turns_the_wheels_advances_the_clock_and_moves_the_robot(graph):
    sim, probe = graph
    nodes = [sim, probe.node]
    assert spin_until(nodes, lambda: probe.clock and probe.wheels and probe.truth and probe.imu,
                      timeout_s=15.0)
    assert probe.power == ["normal"]
    assert sim.get_parameter("use_sim_time").value is False
    assert probe.wheels[-1].name == ["wheel_left_joint", "wheel_right_joint"]
    assert probe.imu[-1].header.frame_id == "imu_link"
    assert probe.imu[-1].linear_acceleration.z == pytest.approx(9.81, abs=0.5)
    assert probe.truth[-1].header.frame_id == "world"
    start_x = probe.truth[-1].pose.pose.position.x
    start_wheels = list(probe.wheels[-1].position)
    start_clock = probe.clock[-1]

    def moved() -> bool:
        probe.send(0.3)
        return probe.truth[-1].pose.pose.position.x > start_x + 0.1

    assert spin_until(nodes, moved, timeout_s=20.0)
    end = probe.wheels[-1]
    assert all(p > p0 for p, p0 in zip(end.position, start_wheels, strict=True))
    assert all(v > 0 for v in end.velocity)
    assert probe.clock[-1] > start_clock
    assert probe.clock == sorted(probe.clock)
    pose = probe.truth[-1].pose.pose.position
    assert abs(pose.y) < 1e-6  # straight ahead
    assert probe.truth[-1].twist.twist.linear.x == pytest.approx(0.3, abs=0.05)
    # Sensor stamps are simulated time: at most the latest /clock.
    assert stamp_to_ns(end.header.stamp) <= probe.clock[-1]


def test_nan_commands_are_rejected_and_not_applied(graph):
    sim, probe = graph
    nodes = [sim, probe.node]

    def rejected() -> bool:
        probe.send(math.nan, 0.5)
        return sim.rejected_cmd_count >= 3 and len(probe.truth) >= 5

    assert spin_until(nodes, rejected, timeout_s=15.0)
    latest = probe.truth[-1]
    assert latest.pose.pose.position.x == pytest.approx(0.0)
    assert latest.twist.twist.linear.x == 0.0 and latest.twist.twist.angular.z == 0.0
    assert sim.watchdog.command(sim.sim.t_ns) == (0.0, 0.0)


def test_the_screen_follows_the_pan_command(graph):
    sim, probe = graph

    def panned() -> bool:
        probe.pan_pub.publish(Float64(data=0.5))
        return bool(probe.screen) and probe.screen[-1].position[0] == pytest.approx(0.5)

    assert spin_until([sim, probe.node], panned, timeout_s=15.0)
    assert probe.screen[-1].name == ["screen_pan_joint"]


def test_a_negative_rate_stops_the_node_naming_it():
    with ros_context() as ctx, pytest.raises(ConfigError, match="'wheel_rate_hz'"):
        SimNode(context=ctx, parameter_overrides=[Parameter("wheel_rate_hz", value=-50.0)])
