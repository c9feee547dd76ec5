"""The fusion node over real rclpy and DDS: the EKF fed from /wheel/joint_states, /imu/data and
/power_mode; /odom, TF odom->base_link and /fusion/diagnostics out."""

import itertools
import math
from contextlib import contextmanager

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import TwistWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import String
from std_srvs.srv import Trigger
from tf2_msgs.msg import TFMessage

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import ns_to_stamp, quaternion_msg_to_yaw
from hearth_common.qos import LATCHED, SENSOR
from hearth_common.testing import Spinner, ros_context, spin_until
from hearth_description.robot_model import default_robot_yaml, load_robot_params
from hearth_fusion.fusion_node import FLAGS, FusionNode
from hearth_fusion.synthetic import lift_accel_z

ROBOT = load_robot_params()
WHEEL_RADIUS_M = ROBOT.wheels.radius_m
GRAVITY_MPS2 = 9.80665
ACCEL_FULL_SCALE_MPS2 = ROBOT.imu.accel_full_scale_mps2
NAN_REJECT_KEY = "rejected_nonfinite"


class WheelDriver:
    """A probe publishing /wheel/joint_states at 50 Hz, both wheels rolling ``travel_m`` at up
    to ``speed_mps``, speeding up and slowing down within the robot's acceleration limit."""

    def __init__(self, probe: Node, travel_m: float, speed_mps: float = 0.5) -> None:
        self.probe = probe
        self.pub = probe.create_publisher(JointState, "/wheel/joint_states", 10)
        self.travel_m = travel_m
        self.speed_mps = speed_mps
        self.accel_mps2 = ROBOT.limits.max_linear_accel_mps2
        self.v_mps = 0.0
        self.position_m = 0.0
        self.rolling = False  # hold at 0 until the node has anchored
        self.running = True
        self._last_ns: int | None = None
        self.timer = probe.create_timer(0.02, self._tick)

    def _tick(self) -> None:
        if not self.running:
            return
        now = self.probe.get_clock().now()
        # the wheels move with the clock, not with the timer (late on a loaded machine)
        dt_s = 0.02 if self._last_ns is None else (now.nanoseconds - self._last_ns) * 1e-9
        self._last_ns = now.nanoseconds
        if self.rolling:
            braking_mps = math.sqrt(2.0 * self.accel_mps2 * (self.travel_m - self.position_m))
            self.v_mps = min(self.speed_mps, braking_mps, self.v_mps + self.accel_mps2 * dt_s)
            self.position_m = min(self.travel_m, self.position_m + self.v_mps * dt_s)
        msg = JointState()
        msg.header.stamp = now.to_msg()
        msg.name = ["screen_pan_joint", "wheel_left_joint", "wheel_right_joint"]
        rad = self.position_m / WHEEL_RADIUS_M
        msg.position = [0.3, rad, rad]
        self.pub.publish(msg)


class ImuDriver:
    """A probe publishing /imu/data at 100 Hz (sensor data QoS): at rest unless told otherwise.

    ``accel`` and ``gyro`` are what the next messages carry (imu_link, aligned with base_link).
    """

    def __init__(self, probe: Node) -> None:
        self.probe = probe
        self.pub = probe.create_publisher(Imu, "/imu/data", SENSOR)
        self.accel = (0.0, 0.0, GRAVITY_MPS2)
        self.gyro = (0.0, 0.0, 0.0)
        self.running = True
        self.sent = 0
        self.timer = probe.create_timer(0.01, self._tick)

    def _tick(self) -> None:
        if not self.running:
            return
        msg = Imu()
        msg.header.stamp = self.probe.get_clock().now().to_msg()
        msg.header.frame_id = "imu_link"
        a, g = msg.linear_acceleration, msg.angular_velocity
        a.x, a.y, a.z = self.accel
        g.x, g.y, g.z = self.gyro
        self.pub.publish(msg)
        self.sent += 1


class Probe:
    """The test's own node, recording /odom and /fusion/diagnostics."""

    def __init__(self, ctx) -> None:
        self.node = Node("probe", context=ctx)
        self.odoms: list[Odometry] = []
        self.diags: list[DiagnosticArray] = []
        self.node.create_subscription(Odometry, "/odom", self.odoms.append, 10)
        self.node.create_subscription(
            DiagnosticArray, "/fusion/diagnostics", self.diags.append, 10
        )

    def values(self) -> dict[str, str]:
        return _values(self.diags[-1].status[0]) if self.diags else {}

    def level(self):
        return self.diags[-1].status[0].level if self.diags else None


@contextmanager
def fusion_with_sensors(travel_m: float = 0.0):
    """The fusion node under test with its probe, wheels rolling ``travel_m`` and a level
    IMU; everything stopped and destroyed on exit."""
    with ros_context() as ctx:
        node = FusionNode(context=ctx)
        probe = Probe(ctx)
        wheels = WheelDriver(probe.node, travel_m=travel_m)
        imu = ImuDriver(probe.node)
        try:
            yield node, probe, wheels, imu
        finally:
            wheels.running = imu.running = False
            node.destroy_node()
            probe.node.destroy_node()


def _values(status: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def test_at_rest_odom_stays_put_and_diagnostics_are_ok():
    with fusion_with_sensors() as (node, probe, _wheels, imu):
        with Spinner([node, probe.node]) as spin:
            assert spin.until(lambda: len(probe.odoms) > 100 and imu.sent > 100, 15.0)
            n_diags = len(probe.diags)
            assert spin.until(lambda: len(probe.diags) > n_diags + 2, 5.0)
        for odom in probe.odoms:
            assert abs(odom.pose.pose.position.x) < 1e-3
            assert abs(odom.pose.pose.position.y) < 1e-3
            assert abs(quaternion_msg_to_yaw(odom.pose.pose.orientation)) < 1e-3
        last = probe.odoms[-1]
        assert last.header.frame_id == "odom" and last.child_frame_id == "base_link"
        assert last.pose.covariance[14] == last.pose.covariance[21] == 1.0e6  # z, roll
        assert last.twist.covariance[7] == 1.0e6  # lateral speed: not estimated
        status = probe.diags[-1].status[0]
        values = _values(status)
        assert status.level == DiagnosticStatus.OK, status.message
        for flag in FLAGS:
            assert values[flag] == "false"
            assert f"{flag}_since_s" in values
        assert values["rejected_total"] == "0"
        assert int(values["imu_received"]) > 0


def test_odom_follows_one_metre_of_wheel_travel():
    # the IMU is level, with no turn: it agrees with the wheels
    with fusion_with_sensors(travel_m=1.0) as (node, probe, driver, _imu):
        assert spin_until(
            [node, probe.node], lambda: node.last_wheels_ns is not None, timeout_s=10.0
        )
        driver.rolling = True
        odoms = probe.odoms

        def arrived() -> bool:
            return (
                driver.position_m >= 1.0
                and bool(odoms)
                # 2 cm: the EKF integrates its speed between encoder readings, and on a loaded
                # machine readings come late, in bursts (exact on an idle one; the core's
                # tests bound the integration itself)
                and abs(odoms[-1].pose.pose.position.x - 1.0) <= 0.02
                and abs(odoms[-1].twist.twist.linear.x) < 1e-3  # wheels stopped
            )

        assert spin_until([node, probe.node], arrived, timeout_s=15.0), (
            f"last /odom x = {odoms[-1].pose.pose.position.x if odoms else None}"
        )
        odom = odoms[-1]
        assert abs(odom.pose.pose.position.y) < 1e-2
        assert abs(quaternion_msg_to_yaw(odom.pose.pose.orientation)) < 1e-2
        assert odom.pose.covariance[0] > 0.0  # var(x) grew over the metre
        assert odom.pose.covariance[35] > 0.0  # var(yaw)
        assert odom.twist.covariance[0] > 0.0  # var(v)
        assert odom.twist.covariance[35] > 0.0  # var(w)
        stamps = [o.header.stamp.sec * 10**9 + o.header.stamp.nanosec for o in odoms]
        assert all(b > a for a, b in itertools.pairwise(stamps))
        # Smooth: no step between consecutive outputs beyond what the drive covers in the time
        # between their stamps (10 ms apart, more on a loaded machine), and no step back
        # beyond a few millimetres.
        for a, b in itertools.pairwise(odoms):
            dt_s = (b.header.stamp.sec - a.header.stamp.sec) \
                + (b.header.stamp.nanosec - a.header.stamp.nanosec) * 1e-9
            step_m = b.pose.pose.position.x - a.pose.pose.position.x
            assert -0.005 < step_m < 1.5 * driver.speed_mps * dt_s + 0.01


def test_an_imu_burst_at_full_scale_flags_saturation_with_its_start_time():
    with fusion_with_sensors() as (node, probe, _wheels, imu):
        with Spinner([node, probe.node]) as spin:
            assert spin.until(lambda: len(probe.odoms) > 20, 10.0)
            burst_start_s = probe.node.get_clock().now().nanoseconds / 1e9
            # A bump: the accelerometer clips at full scale on x.
            imu.accel = (ACCEL_FULL_SCALE_MPS2, 0.0, GRAVITY_MPS2)
            assert spin.until(lambda: probe.values().get("imu_saturated") == "true", 10.0)
        values = probe.values()
        since_s = float(values["imu_saturated_since_s"])
        assert burst_start_s - 0.5 <= since_s <= burst_start_s + 5.0
        assert int(values["imu_saturated_count"]) >= 1
        assert probe.level() == DiagnosticStatus.WARN
        assert "imu_saturated" in probe.diags[-1].status[0].message


def test_a_put_down_needs_relocalization_until_slam_says_it_relocalized():
    with fusion_with_sensors() as (node, probe, _wheels, imu):
        client = probe.node.create_client(Trigger, "/fusion/relocalized")
        with Spinner([node, probe.node]) as spin:
            assert spin.until(lambda: len(probe.odoms) > 20, 10.0)
            t0 = probe.node.get_clock().now().nanoseconds / 1e9

            def lift_profile() -> bool:  # the IMU of a robot picked up, carried, put down
                t = probe.node.get_clock().now().nanoseconds / 1e9
                imu.accel = (0.0, 0.0, GRAVITY_MPS2 + lift_accel_z(t, t0 + 0.2))
                return probe.values().get("needs_relocalization") == "true"

            assert spin.until(lift_profile, 15.0)
            assert int(probe.values()["lifted_count"]) == 1
            assert probe.values()["lifted"] == "false"
            assert client.wait_for_service(timeout_sec=5.0)
            future = client.call_async(Trigger.Request())
            assert spin.until(future.done, 5.0)
            assert future.result().success
            assert "cleared" in future.result().message
            assert spin.until(
                lambda: probe.values().get("needs_relocalization") == "false", 5.0)


def test_low_power_mode_and_nan_imu_readings_show_in_diagnostics():
    with fusion_with_sensors() as (node, probe, _wheels, imu):
        power = probe.node.create_publisher(String, "/power_mode", LATCHED)
        with Spinner([node, probe.node]) as spin:
            assert spin.until(lambda: bool(probe.diags) and bool(probe.odoms), 10.0)
            assert probe.values()["low_power"] == "false"
            power.publish(String(data="low"))
            assert spin.until(lambda: probe.values().get("low_power") == "true", 10.0)
            assert float(probe.values()["low_power_since_s"]) > 0.0
            assert probe.level() == DiagnosticStatus.WARN

            imu.accel = (math.nan, 0.0, GRAVITY_MPS2)

            def nan_rejected() -> bool:
                v = probe.values()
                return int(v.get("rejected_total", 0)) > 0 and int(
                    v.get(NAN_REJECT_KEY, 0)) > 0

            assert spin.until(nan_rejected, 10.0), probe.values()
            assert node.rejected()[NAN_REJECT_KEY.removeprefix("rejected_")] > 0
            power.publish(String(data="normal"))
            assert spin.until(lambda: probe.values().get("low_power") == "false", 10.0)


def test_visual_odometry_reaches_the_ekf():
    with ros_context() as ctx:
        node = FusionNode(context=ctx)
        probe = Probe(ctx)
        vo = probe.node.create_publisher(TwistWithCovarianceStamped, "/slam/visual_odometry", 10)
        wheels = WheelDriver(probe.node, travel_m=0.0)

        def publish_vo() -> None:
            msg = TwistWithCovarianceStamped()
            msg.header.stamp = probe.node.get_clock().now().to_msg()
            cov = [0.0] * 36
            cov[0] = cov[35] = 1e-4
            cov[7] = cov[14] = cov[21] = cov[28] = 1e6
            msg.twist.covariance = cov
            vo.publish(msg)

        probe.node.create_timer(0.05, publish_vo)
        try:
            assert spin_until(
                [node, probe.node],
                lambda: int(probe.values().get("visual_odometry_received", 0)) > 5,
                timeout_s=10.0,
            )
        finally:
            wheels.running = False
            node.destroy_node()
            probe.node.destroy_node()


def test_diagnostics_report_missing_then_stale_wheels():
    with ros_context() as ctx:
        node = FusionNode(context=ctx)
        probe = Probe(ctx)
        joints = probe.node.create_publisher(JointState, "/wheel/joint_states", 10)
        try:
            with Spinner([node, probe.node]) as spin:
                assert spin.until(lambda: bool(probe.diags), 10.0)
                assert probe.level() == DiagnosticStatus.WARN  # no wheel data yet
                assert "no wheel encoder data" in probe.diags[-1].status[0].message
                assert not probe.odoms  # nothing to publish yet: no pose is pretended

                def missing_joint_counted() -> bool:
                    bad = JointState(name=["wheel_left_joint"], position=[0.0])
                    bad.header.stamp = probe.node.get_clock().now().to_msg()
                    joints.publish(bad)
                    return int(probe.values().get("rejected_missing_joint", 0)) > 0

                assert spin.until(missing_joint_counted, 10.0)

                # A few good readings, then silence: stale after max_extrapolation_s.
                def publish_good() -> bool:
                    good = JointState(
                        name=["wheel_left_joint", "wheel_right_joint"], position=[0.0, 0.0]
                    )
                    good.header.stamp = probe.node.get_clock().now().to_msg()
                    joints.publish(good)
                    return bool(probe.odoms)

                assert spin.until(publish_good, 10.0)
                assert spin.until(lambda: "stale" in probe.diags[-1].status[0].message, 10.0)
                assert probe.level() == DiagnosticStatus.WARN
                n = len(probe.odoms)
                spin.until(lambda: False, 0.3)
                assert len(probe.odoms) <= n + 1  # silent while stale
        finally:
            node.destroy_node()
            probe.node.destroy_node()


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


def test_geometry_comes_from_the_given_robot_params_file(tmp_path):
    robot_yaml = _robot_yaml(tmp_path, "wheels", radius_m=0.05, separation_m=0.3)
    with ros_context() as ctx:
        node = FusionNode(
            context=ctx, parameter_overrides=[Parameter("robot_params_file", value=robot_yaml)]
        )
        try:
            assert node.geometry.wheel_radius_m == 0.05
            assert node.geometry.wheel_separation_m == 0.3
            assert node.geometry.accel_full_scale_mps2 == pytest.approx(4.0 * GRAVITY_MPS2)
            assert node.geometry.gyro_full_scale_radps == pytest.approx(math.radians(500.0))
            assert node.imu_rotation is None  # imu_link is aligned with base_link
        finally:
            node.destroy_node()


def test_a_bad_robot_params_file_stops_the_node_with_one_line(tmp_path):
    bad = _robot_yaml(tmp_path, "wheels", radius_m=0.0)
    with ros_context() as ctx, pytest.raises(
        ConfigError, match=r"'wheels\.radius_m' must be > 0"
    ) as exc:
        FusionNode(context=ctx, parameter_overrides=[Parameter("robot_params_file", value=bad)])
    assert "\n" not in str(exc.value)


def test_simulation_clock_reset_restarts_the_ekf_and_keeps_the_pose():
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
            assert node.rejected()["stamp_ahead"] == 1
            x_before = odoms[-1].pose.pose.position.x
            n = len(odoms)
            assert spin_until(
                [node, probe],
                lambda: len(odoms) > n + 10 and odoms[-1].header.stamp.sec < 50,
                timeout_s=10.0,
            )
            after = [o for o in odoms[n:] if o.header.stamp.sec < 50]
            assert after[0].pose.pose.position.x >= x_before - 0.05  # the pose is kept
            assert odoms[-1].pose.pose.position.x > x_before  # still integrating
            assert node.counts["ekf_restarts"] == 1
        finally:
            node.destroy_node()
            probe.destroy_node()
