"""state_publisher over real rclpy and DDS: /robot_description, static TF, joint TF."""

from __future__ import annotations

import math

import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import ns_to_stamp
from hearth_common.testing import ros_context, spin_until
from hearth_description.robot_model import rotate_vector
from hearth_description.state_publisher_node import LATCHED, StatePublisherNode


class RecordingFramePublisher:
    """Stands in for hearth_common.frames.FramePublisher: records what the node sends."""

    def __init__(self, node):
        self.static: list = []
        self.dynamic: list = []

    def send_static(self, transforms):
        self.static.extend(transforms)

    def send(self, transforms):
        self.dynamic.extend(transforms)


@pytest.fixture
def recording_frames(monkeypatch):
    """The real frames helper with a recording publisher in place of its broadcasters."""
    frames = pytest.importorskip("hearth_common.frames", exc_type=ImportError)
    monkeypatch.setattr(frames, "FramePublisher", RecordingFramePublisher)


def joint_state(names, positions, t_ns=1_500_000_000) -> JointState:
    msg = JointState()
    msg.header.stamp = ns_to_stamp(t_ns)
    msg.name = list(names)
    msg.position = list(positions)
    return msg


def test_publishes_the_urdf_latched_and_the_fixed_joints_static(recording_frames):
    with ros_context() as ctx:
        node = StatePublisherNode(context=ctx)
        probe = Node("probe", context=ctx)
        got = []
        # Subscribing after the node published: the latched URDF still arrives.
        probe.create_subscription(String, "/robot_description", got.append, LATCHED)
        try:
            assert spin_until([node, probe], lambda: got, timeout_s=10.0)
            assert '<robot name="hearth"' in got[0].data
            static = {t.child_frame_id: t for t in node.frames.static}
            for frame in ("stereo_left_optical", "stereo_right_optical", "tof_optical",
                          "imu_link", "mast_link", "stereo_link", "tof_link",
                          "screen_camera_link", "screen_camera_optical"):
                assert frame in static
            assert static["imu_link"].header.frame_id == "base_link"
            assert static["screen_camera_link"].header.frame_id == "screen_link"
            assert "screen_link" not in static and "wheel_left_link" not in static
        finally:
            probe.destroy_node()
            node.destroy_node()


def test_joint_states_become_moving_transforms(recording_frames):
    with ros_context() as ctx:
        node = StatePublisherNode(context=ctx)
        probe = Node("probe", context=ctx)
        wheels = probe.create_publisher(JointState, "/wheel/joint_states", 10)
        screen = probe.create_publisher(JointState, "/screen/joint_states", 10)
        sent = node.frames.dynamic
        try:
            def published() -> bool:
                wheels.publish(joint_state(["wheel_left_joint", "wheel_right_joint"], [1.0, 2.0]))
                screen.publish(joint_state(["screen_pan_joint"], [math.pi / 2]))
                children = {t.child_frame_id for t in sent}
                return {"wheel_left_link", "wheel_right_link", "screen_link"} <= children

            assert spin_until([node, probe], published, timeout_s=10.0)
            pan = next(t for t in sent if t.child_frame_id == "screen_link")
            assert pan.header.frame_id == "mast_link"
            assert pan.header.stamp.sec == 1 and pan.header.stamp.nanosec == 500_000_000
            assert pan.transform.rotation.z == pytest.approx(math.sin(math.pi / 4))
            assert pan.transform.rotation.w == pytest.approx(math.cos(math.pi / 4))

            # A NaN position is rejected and counted, never sent.
            before = len(sent)
            assert spin_until(
                [node, probe],
                lambda: (screen.publish(joint_state(["screen_pan_joint"], [math.nan]))
                         or node.rejected_count > 0),
                timeout_s=10.0,
            )
            assert all(math.isfinite(t.transform.rotation.w) for t in sent[before:])
        finally:
            probe.destroy_node()
            node.destroy_node()


def test_a_bad_robot_yaml_stops_the_node_with_its_key(tmp_path):
    bad = tmp_path / "robot.yaml"
    bad.write_text("wheels: {}\n")
    with ros_context() as ctx, pytest.raises(ConfigError, match="missing key 'base'"):
        StatePublisherNode(
            context=ctx,
            parameter_overrides=[Parameter("robot_params_file", value=str(bad))],
        )


def test_frames_reach_a_tf_listener():
    """Over real /tf_static and /tf: the cameras hang from base_link, the screen pans."""
    frames = pytest.importorskip("hearth_common.frames", exc_type=ImportError)
    with ros_context() as ctx:
        node = StatePublisherNode(context=ctx)
        probe = Node("probe", context=ctx)
        buffer = frames.FrameBuffer(probe)
        screen = probe.create_publisher(JointState, "/screen/joint_states", 10)
        try:
            assert spin_until([node, probe],
                              lambda: buffer.can_transform("base_link", "stereo_left_optical"),
                              timeout_s=10.0)
            t = buffer.lookup("base_link", "stereo_left_optical").transform.translation
            assert t.y == pytest.approx(0.04)  # half the 0.08 m baseline, to the left
            assert t.x > 0.0 and t.z > 0.3

            def panned() -> bool:
                screen.publish(joint_state(["screen_pan_joint"], [1.0], t_ns=0))  # 0: now
                return buffer.can_transform("mast_link", "screen_link")

            assert spin_until([node, probe], panned, timeout_s=10.0)
            _, _, yaw = buffer.lookup_pose2d("mast_link", "screen_link")
            assert yaw == pytest.approx(1.0)
            # the screen's camera turns with it: its optical axis (z) points along the pan
            assert buffer.can_transform("base_link", "screen_camera_optical")
            q = buffer.lookup("mast_link", "screen_camera_optical").transform.rotation
            z_axis = rotate_vector((q.x, q.y, q.z, q.w), (0.0, 0.0, 1.0))
            assert z_axis == pytest.approx((math.cos(1.0), math.sin(1.0), 0.0), abs=1e-6)
        finally:
            buffer.close()
            probe.destroy_node()
            node.destroy_node()
