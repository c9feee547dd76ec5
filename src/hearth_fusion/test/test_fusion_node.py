"""The fusion node over real rclpy and DDS: /odom from /wheel/joint_states, diagnostics, TF."""

import itertools
import math

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import String
from tf2_msgs.msg import TFMessage

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import ns_to_stamp, quaternion_msg_to_yaw
from hearth_common.qos import LATCHED
from hearth_common.testing import ros_context, spin_until
from hearth_description.robot_model import default_robot_yaml
from hearth_fusion.fusion_node import FusionNode

WHEEL_RADIUS_M = 0.035



class WheelDriver:
    """A probe publishing /wheel/joint_states at 50 Hz, both wheels rolling ``travel_m``."""

    def __init__(self, probe: Node, travel_m: float, speed_mps: float = 0.5) -> None:
        self.probe = probe
        self.pub = probe.create_publisher(JointState, "/wheel/joint_states", 10)
        self.travel_m = travel_m
        self.step_m = speed_mps / 50.0
        self.position_m = 0.0
        self.rolling = False  # hold at 0 until the node has anchored
        self.running = True
        self.timer = probe.create_timer(0.02, self._tick)

    def _tick(self) -> None:
        if not self.running:
            return
        if self.rolling:
            self.position_m = min(self.travel_m, self.position_m + self.step_m)
        msg = JointState()
        msg.header.stamp = self.probe.get_clock().now().to_msg()
        msg.name = ["screen_pan_joint", "wheel_left_joint", "wheel_right_joint"]
        rad = self.position_m / WHEEL_RADIUS_M
        msg.position = [0.3, rad, rad]
        self.pub.publish(msg)


def _values(status: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def test_odom_follows_one_metre_of_wheel_travel():
    with ros_context() as ctx:
        node = FusionNode(context=ctx)
        probe = Node("probe", context=ctx)
        odoms: list[Odometry] = []
        diags: list[DiagnosticArray] = []
        probe.create_subscription(Odometry, "/odom", odoms.append, 10)
        probe.create_subscription(DiagnosticArray, "/fusion/diagnostics", diags.append, 10)
        driver = WheelDriver(probe, travel_m=1.0)
        try:
            assert spin_until([node, probe], lambda: node.odometry.initialised, timeout_s=10.0)
            driver.rolling = True

            def arrived() -> bool:
                return (
                    driver.position_m >= 1.0
                    and bool(odoms)
                    and abs(odoms[-1].pose.pose.position.x - 1.0) <= 0.01
                    and odoms[-1].twist.twist.linear.x == 0.0  # wheels stopped
                )

            assert spin_until([node, probe], arrived, timeout_s=15.0), (
                f"last /odom x = {odoms[-1].pose.pose.position.x if odoms else None}"
            )
            odom = odoms[-1]
            assert odom.header.frame_id == "odom"
            assert odom.child_frame_id == "base_link"
            assert abs(odom.pose.pose.position.y) < 1e-3
            assert abs(quaternion_msg_to_yaw(odom.pose.pose.orientation)) < 1e-3
            assert odom.pose.covariance[0] > 0.0  # var(x) grew over the metre
            assert odom.pose.covariance[35] > 0.0  # var(yaw)
            assert odom.twist.covariance[0] > 0.0
            stamps = [o.header.stamp.sec * 10**9 + o.header.stamp.nanosec for o in odoms]
            assert all(b > a for a, b in itertools.pairwise(stamps))

            assert spin_until([node, probe], lambda: bool(diags), timeout_s=5.0)
            status = diags[-1].status[0]
            values = _values(status)
            for key in ("imu_saturated", "wheel_slip", "lifted", "low_power"):
                assert key in values
            assert values["low_power"] == "false"
            assert values["rejected_nonfinite_position"] == "0"
        finally:
            driver.running = False
            node.destroy_node()
            probe.destroy_node()


def test_diagnostics_report_power_mode_rejections_and_stale_wheels():
    with ros_context() as ctx:
        node = FusionNode(context=ctx)
        probe = Node("probe", context=ctx)
        diags: list[DiagnosticArray] = []
        odoms: list[Odometry] = []
        probe.create_subscription(DiagnosticArray, "/fusion/diagnostics", diags.append, 10)
        probe.create_subscription(Odometry, "/odom", odoms.append, 10)
        power = probe.create_publisher(String, "/power_mode", LATCHED)
        joints = probe.create_publisher(JointState, "/wheel/joint_states", 10)
        try:
            assert spin_until([node, probe], lambda: bool(diags), timeout_s=10.0)
            assert diags[-1].status[0].level == DiagnosticStatus.WARN  # no wheel data yet
            assert "no wheel encoder data" in diags[-1].status[0].message
            assert not odoms  # nothing to publish yet: no pose is pretended

            def low_power() -> bool:
                power.publish(String(data="low"))
                bad = JointState(name=["wheel_left_joint", "wheel_right_joint"])
                bad.header.stamp = probe.get_clock().now().to_msg()
                bad.position = [math.nan, 0.0]
                joints.publish(bad)
                v = _values(diags[-1].status[0])
                return v["low_power"] == "true" and int(v["rejected_nonfinite_position"]) > 0

            assert spin_until([node, probe], low_power, timeout_s=10.0)

            # One good reading, then silence: stale after max_extrapolation_s.
            good = JointState(name=["wheel_left_joint", "wheel_right_joint"], position=[0.0, 0.0])
            good.header.stamp = probe.get_clock().now().to_msg()
            joints.publish(good)
            assert spin_until(
                [node, probe], lambda: "stale" in diags[-1].status[0].message, timeout_s=10.0
            )
            assert diags[-1].status[0].level == DiagnosticStatus.WARN
        finally:
            node.destroy_node()
            probe.destroy_node()


def test_tf_odom_to_base_link_is_published():
    with ros_context() as ctx:
        node = FusionNode(context=ctx)
        probe = Node("probe", context=ctx)
        tfs: list = []
        probe.create_subscription(
            TFMessage,
            "/tf",
            lambda m: tfs.extend(
                t for t in m.transforms
                if t.header.frame_id == "odom" and t.child_frame_id == "base_link"
            ),
            10,
        )
        driver = WheelDriver(probe, travel_m=0.2)
        driver.rolling = True
        try:
            assert spin_until([node, probe], lambda: bool(tfs), timeout_s=10.0)
        finally:
            driver.running = False
            node.destroy_node()
            probe.destroy_node()


def test_bad_parameter_stops_the_node_with_the_key_named():
    with ros_context() as ctx, pytest.raises(ConfigError, match="'publish_rate_hz'"):
        FusionNode(
            context=ctx, parameter_overrides=[Parameter("publish_rate_hz", value=1000.0)]
        )


def _robot_yaml(tmp_path, section: str, **values) -> str:
    """A copy of hearth_description's robot.yaml with some keys of ``section`` changed."""
    doc = yaml.safe_load(default_robot_yaml().read_text())
    doc[section].update(values)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_geometry_and_limits_come_from_the_given_robot_params_file(tmp_path):
    robot_yaml = _robot_yaml(tmp_path, "wheels", radius_m=0.05, separation_m=0.3)
    with ros_context() as ctx:
        node = FusionNode(
            context=ctx, parameter_overrides=[Parameter("robot_params_file", value=robot_yaml)]
        )
        try:
            assert node.odometry.wheel_radius_m == 0.05
            assert node.odometry.wheel_separation_m == 0.3
            # implausible_speed_factor (3) x (1.0 m/s + 0.15 m x 2.5 rad/s) from robot.yaml
            assert node.odometry.max_wheel_speed_mps == pytest.approx(3.0 * (1.0 + 0.15 * 2.5))
            # One wheel turn now rolls 2π·0.05 m.
            assert node.odometry.update(0.0, 0.0, 10**9) is None
            assert node.odometry.update(2 * math.pi, 2 * math.pi, 2 * 10**9) is None
            assert node.odometry.x_m == pytest.approx(2 * math.pi * 0.05)
        finally:
            node.destroy_node()


def test_a_bad_robot_params_file_stops_the_node_with_one_line(tmp_path):
    bad = _robot_yaml(tmp_path, "wheels", radius_m=0.0)
    with ros_context() as ctx, pytest.raises(
        ConfigError, match=r"'wheels\.radius_m' must be > 0"
    ) as exc:
        FusionNode(context=ctx, parameter_overrides=[Parameter("robot_params_file", value=bad)])
    assert "\n" not in str(exc.value)


def test_simulation_clock_reset_re_anchors_instead_of_rejecting_everything():
    with ros_context() as ctx:
        node = FusionNode(context=ctx, parameter_overrides=[Parameter("use_sim_time", value=True)])
        probe = Node("probe", context=ctx)
        clock_pub = probe.create_publisher(Clock, "/clock", 10)
        joints = probe.create_publisher(JointState, "/wheel/joint_states", 10)
        odoms: list[Odometry] = []
        probe.create_subscription(Odometry, "/odom", odoms.append, 10)
        sim = {"t_ns": 100 * 10**9, "rad": 0.0}

        def joint_state(t_ns: int) -> JointState:
            msg = JointState(name=["wheel_left_joint", "wheel_right_joint"])
            msg.header.stamp = ns_to_stamp(t_ns)
            msg.position = [sim["rad"], sim["rad"]]
            return msg

        def step() -> None:  # the simulator: /clock and the encoders at 100 Hz of sim time
            sim["t_ns"] += 10_000_000
            sim["rad"] += 0.1
            clock_pub.publish(Clock(clock=ns_to_stamp(sim["t_ns"])))
            joints.publish(joint_state(sim["t_ns"]))

        probe.create_timer(0.01, step)
        try:
            assert spin_until([node, probe], lambda: len(odoms) > 10, timeout_s=10.0)
            assert odoms[-1].header.stamp.sec >= 100
            sim["t_ns"] = 5 * 10**9  # reset
            assert spin_until(
                [node, probe], lambda: node.counts["clock_jumps_back"] > 0, timeout_s=10.0
            )
            # A reading from before the reset arriving after the jump must not block the rest.
            node._on_joint_state(joint_state(100 * 10**9 + 500_000_000))
            x_before = odoms[-1].pose.pose.position.x
            n = len(odoms)
            assert spin_until(
                [node, probe],
                lambda: len(odoms) > n + 10 and odoms[-1].header.stamp.sec < 50,
                timeout_s=10.0,
            )
            assert odoms[-1].pose.pose.position.x > x_before  # still integrating
            assert node.counts["encoder_reanchors"] == 1
            assert node.odometry.rejected["stamp_backwards"] == 1
        finally:
            node.destroy_node()
            probe.destroy_node()
