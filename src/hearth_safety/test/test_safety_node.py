"""The safety node over real rclpy and DDS: depth frames in, /cmd_vel out, and each stale input
stopping the robot (acceptance 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rclpy.parameter import Parameter
from safety_harness import CAMERA
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import ns_to_stamp
from hearth_common.qos import SENSOR
from hearth_common.testing import Spinner, ros_context
from hearth_description.robot_model import default_robot_yaml
from hearth_safety.safety_node import SafetyNode, depth_image_to_array
from hearth_safety.synthetic_depth import Box, Scene

TIMEOUT_KEYS = {"depth": ("depth_age_s", 0.15), "plan": ("local_plan_age_s", 0.3),
                "cmd": ("cmd_vel_nav_age_s", 0.3), "odom": ("odom_age_s", 0.2)}


def depth_msg(depth: np.ndarray, t_ns: int) -> Image:
    msg = Image()
    msg.header.stamp, msg.header.frame_id = ns_to_stamp(t_ns), "tof_optical"
    msg.height, msg.width = depth.shape
    msg.encoding, msg.is_bigendian, msg.step = "32FC1", 0, 4 * depth.shape[1]
    msg.data = depth.astype("<f4").tobytes()
    return msg


class Robot(Node):
    """Stands in for the ToF driver, fusion and the local planner: a robot parked at the
    origin of odom, asked to drive at ``linear_mps`` straight ahead."""

    def __init__(self, renderer, linear_mps: float = 0.5, **kwargs) -> None:
        super().__init__("probe", **kwargs)
        self.renderer = renderer
        self.scene = Scene()
        self.depth = renderer.render(self.scene)
        self.linear_mps = linear_mps
        self.send = {"depth": True, "plan": True, "cmd": True, "odom": True}
        self.depth_pub = self.create_publisher(Image, "/tof/depth/image_raw", SENSOR)
        self.info_pub = self.create_publisher(CameraInfo, "/tof/camera_info", SENSOR)
        self.odom_pub = self.create_publisher(Odometry, "/odom", 10)
        self.plan_pub = self.create_publisher(Path, "/local_plan", 10)
        self.cmd_pub = self.create_publisher(Twist, "/cmd_vel_nav", 10)
        self.cmds: list[Twist] = []
        self.states: list[dict[str, str]] = []
        self.markers: list[MarkerArray] = []
        self.create_subscription(Twist, "/cmd_vel", self.cmds.append, 10)
        self.create_subscription(DiagnosticArray, "/safety/state", self._on_state, 10)
        self.create_subscription(MarkerArray, "/safety/markers", self.markers.append, 10)
        self.create_timer(1 / 15, self._frame)
        self.create_timer(0.02, self._odom)
        self.create_timer(0.1, self._planner)

    def set_scene(self, scene: Scene) -> None:
        self.scene, self.depth = scene, self.renderer.render(scene)

    def _now(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_state(self, msg: DiagnosticArray) -> None:
        self.states.append({kv.key: kv.value for kv in msg.status[0].values})

    def _frame(self) -> None:
        info = CameraInfo()
        info.header.frame_id = "tof_optical"
        info.width, info.height = CAMERA.width_px, CAMERA.height_px
        info.k = [CAMERA.fx, 0.0, CAMERA.cx, 0.0, CAMERA.fy, CAMERA.cy, 0.0, 0.0, 1.0]
        self.info_pub.publish(info)
        if self.send["depth"]:
            self.depth_pub.publish(depth_msg(self.depth, self._now()))

    def _odom(self) -> None:
        if not self.send["odom"]:
            return
        odom = Odometry()
        odom.header.stamp = ns_to_stamp(self._now())
        odom.header.frame_id, odom.child_frame_id = "odom", "base_link"
        odom.pose.pose.orientation.w = 1.0
        self.odom_pub.publish(odom)

    def _planner(self) -> None:
        now = self._now()
        if self.send["cmd"]:
            cmd = Twist()
            cmd.linear.x = self.linear_mps
            self.cmd_pub.publish(cmd)
        if self.send["plan"]:
            plan = Path()
            plan.header.stamp, plan.header.frame_id = ns_to_stamp(now), "odom"
            v = self.linear_mps if math.isfinite(self.linear_mps) else 0.0
            for k in range(1, 31):
                ps = PoseStamped()
                ps.header.stamp = ns_to_stamp(now + k * 100_000_000)
                ps.header.frame_id = "odom"
                ps.pose.position.x = v * 0.1 * k
                ps.pose.orientation.w = 1.0
                plan.poses.append(ps)
            self.plan_pub.publish(plan)


def _age(text: str) -> float:
    return math.inf if text == "never" else float(text)


@pytest.fixture
def running(renderer):
    with ros_context() as ctx:
        node = SafetyNode(context=ctx)
        robot = Robot(renderer, context=ctx)
        with Spinner([node, robot]) as spin:
            yield node, robot, spin
        node.destroy_node()
        robot.destroy_node()


def _driving(robot: Robot) -> bool:
    return bool(robot.cmds) and robot.cmds[-1].linear.x == pytest.approx(0.5) and \
        bool(robot.states) and robot.states[-1]["mode"] == "nominal"


def test_cmd_vel_follows_the_command_on_a_clear_floor_per_depth_frame(running):
    _node, robot, spin = running
    assert spin.until(lambda: _driving(robot), timeout_s=20.0), robot.states[-1:]
    s = robot.states[-1]
    assert s["time_to_collision_s"] == "inf" and s["emergency_stop"] == "false"
    assert int(s["depth_frames_used"]) > 5 and s["obstacle_cells_seen"] == "0"
    speeds = [c.linear.x for c in robot.cmds]
    assert all(math.isfinite(v) for v in speeds)
    # Ramped within the acceleration limit (1 m/s² over the frame interval, 67 ms, which a
    # loaded test machine stretches to 0.13 s and more; the core tests check it exactly)
    assert max(np.diff(speeds)) <= 1.0 * 0.25
    assert spin.until(lambda: bool(robot.markers), timeout_s=5.0)
    names = {m.ns for m in robot.markers[-1].markers}
    assert {"safety/map", "safety/map_border", "safety/sweep", "safety/state"} <= names
    text = next(m for m in robot.markers[-1].markers if m.ns == "safety/state")
    assert text.type == Marker.TEXT_VIEW_FACING and text.text.startswith(s["mode"])


def test_a_box_in_the_path_stops_the_robot_and_is_drawn(running):
    _node, robot, spin = running
    assert spin.until(lambda: _driving(robot), timeout_s=20.0)
    robot.set_scene(Scene(boxes=(Box((0.45, 0.0, 0.1), (0.2, 0.4, 0.2)),)))
    assert spin.until(lambda: robot.cmds[-1].linear.x == 0.0
                      and robot.states[-1]["mode"] == "stopped", timeout_s=10.0)
    s = robot.states[-1]
    assert math.isfinite(float(s["time_to_collision_s"])) and "obstacle" in s["reason"]
    n = len(robot.markers)
    assert spin.until(lambda: len(robot.markers) > n, timeout_s=5.0)
    cells = next(m for m in robot.markers[-1].markers if m.ns == "safety/map")
    assert len(cells.points) > 5


def test_each_stale_input_stops_the_robot_within_one_cycle(running):
    """Depth, plan, command and odometry in turn go silent, then come back. No state is
    published that reports the silent input past its timeout without saying stale, and
    /cmd_vel goes to zero; odometry brakes at once."""
    _node, robot, spin = running
    for silent, says in (("depth", "depth frame stale"), ("plan", "/local_plan stale"),
                         ("cmd", "/cmd_vel_nav stale"), ("odom", "/odom silent")):
        assert spin.until(lambda: _driving(robot), timeout_s=20.0), (silent, robot.states[-1])
        key, timeout = TIMEOUT_KEYS[silent]
        start = len(robot.states)
        robot.send[silent] = False
        assert spin.until(lambda: robot.cmds[-1].linear.x == 0.0 and
                          robot.states[-1]["mode"] == "stale", timeout_s=10.0), silent
        after = robot.states[start:]
        late = [s for s in after if _age(s[key]) > timeout + 1e-6]
        assert late, silent
        assert all(s["mode"] == "stale" and says in s["reason"] for s in late), late[0]
        assert all(says not in s["reason"] for s in after if _age(s[key]) < timeout - 1e-6)
        if silent == "odom":
            assert late[0]["emergency_stop"] == "true"
            assert float(late[0]["output_linear_mps"]) == 0.0
        else:  # a controlled stop (unless a loaded machine also let odometry go stale)
            assert all(s["emergency_stop"] == "false" for s in late
                       if _age(s["odom_age_s"]) <= TIMEOUT_KEYS["odom"][1])
        robot.send[silent] = True


def test_nonfinite_commands_never_reach_cmd_vel(renderer):
    with ros_context() as ctx:
        node = SafetyNode(context=ctx)
        robot = Robot(renderer, linear_mps=math.nan, context=ctx)
        with Spinner([node, robot]) as spin:
            assert spin.until(lambda: bool(robot.states)
                              and int(robot.states[-1]["cmd_nonfinite"]) >= 5, timeout_s=20.0)
        assert robot.cmds and all(c.linear.x == 0.0 and c.angular.z == 0.0 for c in robot.cmds)
        assert robot.states[-1]["mode"] == "stale"
        node.destroy_node()
        robot.destroy_node()


def test_depth_images_are_read_as_float32_metres_whatever_their_byte_order():
    depth = np.arange(12, dtype=np.float32).reshape(3, 4) * 0.5
    msg = depth_msg(depth, 0)
    assert np.array_equal(depth_image_to_array(msg), depth)
    msg.is_bigendian, msg.data = 1, depth.astype(">f4").tobytes()
    assert np.array_equal(depth_image_to_array(msg), depth)
    msg.step = 20  # padded rows
    msg.data = np.pad(depth, ((0, 0), (0, 1))).astype(">f4").tobytes()
    assert np.array_equal(depth_image_to_array(msg), depth)
    msg.encoding = "16UC1"
    with pytest.raises(ValueError, match="encoding"):
        depth_image_to_array(msg)
    msg.encoding, msg.data = "32FC1", b"\x00" * 7
    with pytest.raises(ValueError, match="do not agree"):
        depth_image_to_array(msg)


def _robot_yaml(tmp_path, section: str, **values) -> str:
    doc = yaml.safe_load(default_robot_yaml().read_text())
    doc[section].update(values)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_bad_parameters_or_robot_file_stop_the_node_with_one_line(tmp_path):
    with ros_context() as ctx, pytest.raises(ConfigError, match="'depth_timeout_s'"):
        SafetyNode(context=ctx, parameter_overrides=[Parameter("depth_timeout_s", value=-1.0)])
    bad = _robot_yaml(tmp_path, "limits", max_linear_speed_mps=-1.0)
    with ros_context() as ctx, pytest.raises(
            ConfigError, match=r"'limits\.max_linear_speed_mps' must be > 0") as exc:
        SafetyNode(context=ctx, parameter_overrides=[Parameter("robot_params_file", value=bad)])
    assert "\n" not in str(exc.value)
    with ros_context() as ctx, pytest.raises(ConfigError, match=r"'tof_frame'.*not below"):
        SafetyNode(context=ctx, parameter_overrides=[Parameter("tof_frame", value="nowhere")])


def test_the_footprint_and_limits_come_from_the_given_robot_file(tmp_path):
    wide = _robot_yaml(tmp_path, "base", radius_m=0.2)
    with ros_context() as ctx:
        node = SafetyNode(context=ctx, parameter_overrides=[
            Parameter("robot_params_file", value=wide)])
        assert node.controller.footprint.radius_m == 0.2
        assert node.controller.params.law.max_linear_speed_mps == 1.0
        node.destroy_node()
