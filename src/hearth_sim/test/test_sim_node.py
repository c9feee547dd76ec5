"""The sim node over real rclpy and DDS: it drives, it is the clock, it publishes its sensors
with the right frames, encodings and stamps, and it refuses bad commands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_msgs.msg import PoseWithCovarianceStamped, Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, Imu, JointState
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import stamp_to_ns
from hearth_common.qos import LATCHED, SENSOR
from hearth_common.testing import Spinner, ros_context
from hearth_msgs.msg import PersonStateArray, RobotContactArray
from hearth_sim.sim_node import SimNode

IMAGE_TOPICS = ("/stereo/left/image_raw", "/stereo/right/image_raw", "/tof/depth/image_raw")
INFO_TOPICS = ("/stereo/left/camera_info", "/stereo/right/camera_info", "/tof/camera_info")
SCREEN_IMAGE, SCREEN_INFO = "/screen/camera/image_raw", "/screen/camera/camera_info"


class Probe:
    """A node that records what the sim publishes and sends it commands."""

    def __init__(self, ctx):
        self.node = n = Node("probe", context=ctx)
        self.clock: list[int] = []
        self.wheels: list[JointState] = []
        self.screen: list[JointState] = []
        self.truth: list[Odometry] = []
        self.imu: list[Imu] = []
        self.power: list[str] = []
        self.people: list[PersonStateArray] = []
        self.contacts: list[RobotContactArray] = []
        self.images: dict[str, list[Image]] = {t: [] for t in (*IMAGE_TOPICS, SCREEN_IMAGE)}
        self.infos: dict[str, list[CameraInfo]] = {t: [] for t in (*INFO_TOPICS, SCREEN_INFO)}
        n.create_subscription(Clock, "/clock", lambda m: self.clock.append(stamp_to_ns(m.clock)),
                              10)
        n.create_subscription(JointState, "/wheel/joint_states", self.wheels.append, 10)
        n.create_subscription(JointState, "/screen/joint_states", self.screen.append, 10)
        n.create_subscription(Odometry, "/ground_truth/odom", self.truth.append, 10)
        n.create_subscription(PersonStateArray, "/ground_truth/people", self.people.append, 10)
        n.create_subscription(RobotContactArray, "/ground_truth/contacts", self.contacts.append,
                              10)
        n.create_subscription(Imu, "/imu/data", self.imu.append, SENSOR)
        n.create_subscription(String, "/power_mode", lambda m: self.power.append(m.data), LATCHED)
        self.initial_pose: list[PoseWithCovarianceStamped] = []
        n.create_subscription(PoseWithCovarianceStamped, "/initialpose", self.initial_pose.append,
                              LATCHED)
        for t in self.images:
            n.create_subscription(Image, t, self.images[t].append, SENSOR)
        for t in self.infos:
            n.create_subscription(CameraInfo, t, self.infos[t].append, SENSOR)
        self.cmd_pub = n.create_publisher(Twist, "/cmd_vel", 10)
        self.pan_pub = n.create_publisher(Float64, "/screen/pan_cmd", 10)
        self.power_cmd = n.create_publisher(String, "/sim/power_mode", 10)
        self.lift = n.create_client(Trigger, "/sim/lift")

    def send(self, v: float, w: float = 0.0) -> None:
        msg = Twist()
        msg.linear.x, msg.angular.z = v, w
        self.cmd_pub.publish(msg)


@pytest.fixture(scope="module")
def graph():
    with ros_context() as ctx:
        # As the launch file starts it (use_sim_time true, which the sim, being the clock,
        # ignores), in the apartment with two people.
        sim = SimNode(context=ctx, parameter_overrides=[
            Parameter("use_sim_time", value=True), Parameter("people", value=2)])
        probe = Probe(ctx)
        with Spinner([sim, probe.node]) as spinner:
            yield sim, probe, spinner
        probe.node.destroy_node()
        sim.destroy_node()


def test_cameras_publish_with_the_optical_frames_encodings_and_one_stamp_per_pair(graph):
    _, probe, spin = graph
    assert spin.until(lambda: all(len(probe.images[t]) >= 2 for t in IMAGE_TOPICS)
                      and all(probe.infos[t] for t in INFO_TOPICS), timeout_s=60.0)
    left, right = probe.images["/stereo/left/image_raw"], probe.images["/stereo/right/image_raw"]
    tof = probe.images["/tof/depth/image_raw"][-1]
    assert (left[0].header.frame_id, right[0].header.frame_id) == (
        "stereo_left_optical", "stereo_right_optical")
    assert left[0].encoding == right[0].encoding == "mono8"
    assert {stamp_to_ns(m.header.stamp) for m in left[:2]} == \
        {stamp_to_ns(m.header.stamp) for m in right[:2]}
    img = np.frombuffer(bytes(left[-1].data), np.uint8).reshape(left[-1].height, left[-1].width)
    assert img.std() > 5.0  # a textured, lit scene, not a blank frame
    assert tof.header.frame_id == "tof_optical" and tof.encoding == "32FC1"
    depth = np.frombuffer(bytes(tof.data), np.float32).reshape(tof.height, tof.width)
    valid = depth[np.isfinite(depth)]
    assert valid.size > 0.5 * depth.size and valid.min() >= 0.1 and valid.max() <= 4.0
    info_l, info_r = probe.infos[INFO_TOPICS[0]][-1], probe.infos[INFO_TOPICS[1]][-1]
    assert info_l.header.frame_id == "stereo_left_optical"
    assert (info_l.width, info_l.height) == (left[0].width, left[0].height)
    assert info_r.p[3] == pytest.approx(-info_r.k[0] * 0.08)  # Tx = -fx * baseline
    assert probe.infos[INFO_TOPICS[2]][-1].header.frame_id == "tof_optical"


def test_the_screen_camera_publishes_rgb8_in_its_urdf_optical_frame(graph, robot):
    _, probe, spin = graph
    assert spin.until(lambda: probe.images[SCREEN_IMAGE] and probe.infos[SCREEN_INFO],
                      timeout_s=60.0)
    img, info = probe.images[SCREEN_IMAGE][-1], probe.infos[SCREEN_INFO][-1]
    assert img.header.frame_id == info.header.frame_id == "screen_camera_optical"
    assert img.encoding == "rgb8" and img.step == 3 * img.width
    sc = robot.screen_camera  # no size override here: robot.yaml's camera
    assert (img.width, img.height) == (info.width, info.height) == (sc.width_px, sc.height_px)
    assert info.k[0] == pytest.approx(0.5 * sc.width_px / math.tan(0.5 * sc.hfov_rad))


def test_driving_forward_turns_the_wheels_advances_the_clock_and_moves_the_robot(graph):
    sim, probe, spin = graph
    assert spin.until(lambda: probe.clock and probe.wheels and probe.truth and probe.imu,
                      timeout_s=15.0)
    assert probe.power == ["normal"]
    start = probe.initial_pose[0].pose.pose.position  # the apartment's robot_start
    assert probe.initial_pose[0].header.frame_id == "map" and (start.x, start.y) == pytest.approx(
        (3.2, 4.0), abs=0.01)
    assert sim.get_parameter("use_sim_time").value is False
    assert probe.wheels[-1].name == ["wheel_left_joint", "wheel_right_joint"]
    assert probe.imu[-1].header.frame_id == "imu_link"
    assert probe.imu[-1].linear_acceleration.z == pytest.approx(9.81, abs=0.5)
    assert probe.truth[-1].header.frame_id == "world"
    assert len(probe.people[-1].people) == 2 and probe.contacts
    start = probe.truth[-1].pose.pose.position
    start_x, start_y = start.x, start.y
    start_wheels = list(probe.wheels[-1].position)
    start_clock = probe.clock[-1]

    def moved() -> bool:
        probe.send(0.3)
        return probe.truth[-1].pose.pose.position.x > start_x + 0.1

    assert spin.until(moved, timeout_s=60.0)
    end = probe.wheels[-1]
    assert all(p > p0 for p, p0 in zip(end.position, start_wheels, strict=True))
    assert probe.clock[-1] > start_clock
    assert probe.clock == sorted(probe.clock)
    pose = probe.truth[-1].pose.pose.position
    assert abs(pose.y - start_y) < 0.01  # straight ahead, east down the hallway
    assert probe.truth[-1].twist.twist.linear.x > 0.1
    # Sensor stamps are simulated time: at most the latest /clock.
    assert stamp_to_ns(end.header.stamp) <= probe.clock[-1]


def test_nan_commands_are_rejected_and_not_applied(graph):
    sim, probe, spin = graph
    before = sim.rejected_cmd_count

    def rejected() -> bool:
        probe.send(math.nan, 0.5)
        return sim.rejected_cmd_count >= before + 3

    assert spin.until(rejected, timeout_s=15.0)
    assert sim.watchdog.command(sim.sim.t_ns) != (math.nan, 0.5)
    assert all(math.isfinite(v) for v in sim.watchdog.command(sim.sim.t_ns))


def test_the_screen_follows_the_pan_command(graph):
    _, probe, spin = graph

    def panned() -> bool:
        probe.pan_pub.publish(Float64(data=0.5))
        return bool(probe.screen) and probe.screen[-1].position[0] == pytest.approx(0.5,
                                                                                   abs=0.01)

    assert spin.until(panned, timeout_s=30.0)
    assert probe.screen[-1].name == ["screen_pan_joint"]


def test_low_power_turns_the_cameras_off_and_lift_raises_the_robot(graph):
    _, probe, spin = graph
    assert spin.until(lambda: probe.lift.service_is_ready(), timeout_s=10.0)
    probe.power_cmd.publish(String(data="low"))
    assert spin.until(lambda: probe.power[-1] == "low", timeout_s=15.0)
    n_images = len(probe.images[IMAGE_TOPICS[0]])
    future = probe.lift.call_async(Trigger.Request())
    assert spin.until(future.done, timeout_s=15.0) and future.result().success
    assert spin.until(lambda: probe.truth[-1].pose.pose.position.z > 0.25, timeout_s=60.0)
    assert len(probe.images[IMAGE_TOPICS[0]]) <= n_images + 1  # one may have been in flight
    probe.power_cmd.publish(String(data="normal"))
    assert spin.until(lambda: probe.power[-1] == "normal", timeout_s=15.0)


def test_a_negative_rate_or_a_bad_home_stops_the_node_naming_it():
    with ros_context() as ctx:
        with pytest.raises(ConfigError, match="'wheel_rate_hz'"):
            SimNode(context=ctx, parameter_overrides=[Parameter("wheel_rate_hz", value=-50.0)])
        with pytest.raises(ConfigError, match="no_such_home"):
            SimNode(context=ctx, parameter_overrides=[Parameter("home_file",
                                                                value="no_such_home")])
