"""Several real hearth nodes, each its own process, talking over Fast DDS.

The nodes are started from a launch file by hearth's launch runner, exactly as installed
(`install/<pkg>/lib/<pkg>/<exec>` with their params files), on a ROS domain of their own. The
test feeds synthetic wheel encoders, a navigation command with its committed plan and ToF
depth frames of an empty floor, and checks what comes out: /odom moves as the encoders say,
TF carries odom -> base_link, and /cmd_vel passes through the safety node.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

pytest.importorskip("hearth_fusion", reason="the workspace is not built (run ./hearth test)")

from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, JointState
from tf2_msgs.msg import TFMessage

from hearth_common.msg_conversions import ns_to_stamp, quaternion_msg_to_yaw
from hearth_common.qos import SENSOR
from hearth_common.testing import pick_domain_id, ros_context, spin_until
from hearth_description.robot_model import expand_xacro, load_robot_params
from hearth_safety.mounting import frame_in_base
from hearth_safety.synthetic_depth import DepthRenderer, Scene, tof_camera
from hearth_tools.launch_runner import launched

LAUNCH = Path(__file__).parent / "graph" / "fusion_safety.launch.xml"
ROBOT = load_robot_params()
TOF = tof_camera(ROBOT.tof.width_px, ROBOT.tof.height_px, ROBOT.tof.hfov_rad)


class Probe(Node):
    """Stands in for the robot's drivers and the local planner; records what comes back."""

    def __init__(self, **kwargs):
        super().__init__("graph_probe", **kwargs)
        self.wheels = self.create_publisher(JointState, "/wheel/joint_states", 10)
        self.nav_cmd = self.create_publisher(Twist, "/cmd_vel_nav", 10)
        self.odom: Odometry | None = None
        self.cmd_vel: list[float] = []
        self.tf_children: set[tuple[str, str]] = set()
        self.static_children: set[tuple[str, str]] = set()
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(Twist, "/cmd_vel", lambda m: self.cmd_vel.append(m.linear.x), 10)
        self.create_subscription(TFMessage, "/tf", self._on_tf, 100)
        from rclpy.qos import DurabilityPolicy, QoSProfile

        latched = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.create_subscription(TFMessage, "/tf_static", self._on_tf_static, latched)
        self.wheel_angle_rad = 0.0
        self.wheel_rate_radps = 0.0
        self.target_wheel_rate_radps = 0.0  # reached within the robot's acceleration limit
        self.v_cmd_mps = 0.0
        self._last_tick_ns: int | None = None
        self.create_timer(0.02, self._tick)
        # The ToF sees an empty floor; the planner commits to its command's rollout. (The
        # safety node drives only on fresh depth and a fresh plan.)
        self.floor = DepthRenderer(TOF, frame_in_base(expand_xacro(), "tof_optical")).render(
            Scene()).astype("<f4").tobytes()
        self.depth = self.create_publisher(Image, "/tof/depth/image_raw", SENSOR)
        self.depth_info = self.create_publisher(CameraInfo, "/tof/camera_info", SENSOR)
        self.plan = self.create_publisher(PathMsg, "/local_plan", 10)
        self.create_timer(1.0 / ROBOT.tof.rate_hz, self._tof)
        self.create_timer(0.1, self._plan)

    def _on_odom(self, msg: Odometry) -> None:
        self.odom = msg

    def _tof(self) -> None:
        now = self.get_clock().now().nanoseconds
        info = CameraInfo(width=TOF.width_px, height=TOF.height_px)
        info.k = [TOF.fx, 0.0, TOF.cx, 0.0, TOF.fy, TOF.cy, 0.0, 0.0, 1.0]
        self.depth_info.publish(info)
        img = Image(height=TOF.height_px, width=TOF.width_px, encoding="32FC1",
                    step=4 * TOF.width_px, data=self.floor)
        img.header.stamp, img.header.frame_id = ns_to_stamp(now), "tof_optical"
        self.depth.publish(img)

    def _plan(self) -> None:
        """The rollout of the command from the robot's /odom pose, a stamp per pose."""
        if self.odom is None:
            return
        now = self.get_clock().now().nanoseconds
        pose = self.odom.pose.pose
        yaw = quaternion_msg_to_yaw(pose.orientation)
        plan = PathMsg()
        plan.header.stamp, plan.header.frame_id = ns_to_stamp(now), "odom"
        for k in range(1, 31):
            ps = PoseStamped()
            ps.header.stamp, ps.header.frame_id = ns_to_stamp(now + k * 100_000_000), "odom"
            ps.pose.position.x = pose.position.x + self.v_cmd_mps * 0.1 * k * math.cos(yaw)
            ps.pose.position.y = pose.position.y + self.v_cmd_mps * 0.1 * k * math.sin(yaw)
            ps.pose.orientation = pose.orientation
            plan.poses.append(ps)
        self.plan.publish(plan)

    def _on_tf(self, msg: TFMessage) -> None:
        self.tf_children |= {(t.header.frame_id, t.child_frame_id) for t in msg.transforms}

    def _on_tf_static(self, msg: TFMessage) -> None:
        self.static_children |= {(t.header.frame_id, t.child_frame_id) for t in msg.transforms}

    def _tick(self) -> None:
        """50 Hz encoders: both wheels turn at wheel_rate_radps, which ramps to its target as
        the robot's motors would; the planner asks v_cmd_mps."""
        now = self.get_clock().now()
        # the wheels turn with the clock, not with the timer (late on a loaded machine)
        dt_s = 0.02 if self._last_tick_ns is None else (now.nanoseconds - self._last_tick_ns) * 1e-9
        self._last_tick_ns = now.nanoseconds
        max_step = ROBOT.limits.max_linear_accel_mps2 * dt_s / ROBOT.wheels.radius_m
        gap = self.target_wheel_rate_radps - self.wheel_rate_radps
        self.wheel_rate_radps += max(-max_step, min(max_step, gap))
        self.wheel_angle_rad += self.wheel_rate_radps * dt_s
        js = JointState()
        js.header.stamp = now.to_msg()
        js.name = ["wheel_left_joint", "wheel_right_joint"]
        js.position = [self.wheel_angle_rad, self.wheel_angle_rad]
        js.velocity = [self.wheel_rate_radps, self.wheel_rate_radps]
        self.wheels.publish(js)
        cmd = Twist()
        cmd.linear.x = self.v_cmd_mps
        self.nav_cmd.publish(cmd)


@pytest.fixture(scope="module")
def graph():
    domain_id = pick_domain_id()
    log = io.StringIO()
    with (
        launched(LAUNCH, env={"ROS_DOMAIN_ID": str(domain_id)}, stream=log) as session,
        ros_context(domain_id) as ctx,
    ):
        probe = Probe(context=ctx)
        yield probe, session, log
        probe.destroy_node()


def test_odom_moves_as_the_wheel_encoders_say(graph):
    probe, session, log = graph
    # Standing still until fusion has heard the encoders: that reading is its origin.
    assert spin_until([probe], lambda: probe.odom is not None, timeout_s=20.0), log.getvalue()
    start_angle_rad = probe.wheel_angle_rad
    travel_m = 0.5
    probe.target_wheel_rate_radps = 0.25 / ROBOT.wheels.radius_m  # 0.25 m/s on both wheels
    target_angle_rad = start_angle_rad + travel_m / ROBOT.wheels.radius_m

    def travelled() -> bool:
        return probe.wheel_angle_rad >= target_angle_rad

    assert spin_until([probe], travelled, timeout_s=30.0), log.getvalue()
    probe.target_wheel_rate_radps = 0.0
    assert spin_until([probe], lambda: probe.wheel_rate_radps == 0.0, timeout_s=5.0)
    # Once the wheels stop, /odom settles where the encoders put it.
    expected_x_m = (probe.wheel_angle_rad - start_angle_rad) * ROBOT.wheels.radius_m

    def settled() -> bool:
        o = probe.odom
        return o is not None and abs(o.twist.twist.linear.x) < 1e-3 and \
            abs(o.pose.pose.position.x - expected_x_m) < 0.02  # late readings on a loaded machine

    assert spin_until([probe], settled, timeout_s=10.0), (probe.odom, log.getvalue())
    assert abs(probe.odom.pose.pose.position.y) < 1e-4
    assert probe.odom.header.frame_id == "odom"
    assert probe.odom.child_frame_id == "base_link"
    assert session.failures == []


def test_tf_carries_odom_to_base_link_and_the_urdf_frames(graph):
    probe, _, log = graph
    assert spin_until([probe], lambda: ("odom", "base_link") in probe.tf_children,
                      timeout_s=10.0), log.getvalue()
    # /tf_static is latched: it can arrive after the first /tf on a loaded machine.
    wanted = {"stereo_left_optical", "stereo_right_optical", "tof_optical", "imu_link"}

    def static_in() -> bool:
        return wanted <= {child for _, child in probe.static_children}

    assert spin_until([probe], static_in, timeout_s=10.0), (
        sorted(child for _, child in probe.static_children), log.getvalue())


def test_cmd_vel_passes_through_the_safety_node(graph):
    probe, _, log = graph
    probe.v_cmd_mps = 0.4
    # Safety ramps up within the robot's acceleration limit, then forwards the command as is.
    assert spin_until([probe], lambda: probe.cmd_vel and math.isclose(probe.cmd_vel[-1], 0.4),
                      timeout_s=10.0), log.getvalue()
    steps = [b - a for a, b in zip(probe.cmd_vel, probe.cmd_vel[1:], strict=False)]
    # Safety limits acceleration over the time between its depth frames (15 Hz, as the probe
    # publishes them): allow for that timer's jitter.
    assert max(steps) <= ROBOT.limits.max_linear_accel_mps2 / ROBOT.tof.rate_hz * 1.5
    probe.v_cmd_mps = float("nan")  # never forwarded
    spin_until([probe], lambda: False, timeout_s=0.5)
    assert all(math.isfinite(v) for v in probe.cmd_vel)
