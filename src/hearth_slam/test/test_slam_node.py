"""The slam node over real rclpy and DDS without images: /slam/pose = the initial map->odom ∘
/odom, TF map->odom, /initialpose, parameters, the save service."""

import math

import pytest
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter

from hearth_common.config import ConfigError
from hearth_common.frames import FrameBuffer, TransformError
from hearth_common.msg_conversions import (
    quaternion_msg_to_yaw,
    stamp_to_ns,
    yaw_to_quaternion_msg,
)
from hearth_common.testing import ros_context, spin_until
from hearth_slam.slam_node import SlamNode

INITIAL = (1.0, -2.0, 0.5)


def compose(a, b):
    """Planar ``a ∘ b``: pose b (in frame a) in a's parent frame."""
    c, s = math.cos(a[2]), math.sin(a[2])
    return (a[0] + c * b[0] - s * b[1], a[1] + s * b[0] + c * b[1],
            math.atan2(math.sin(a[2] + b[2]), math.cos(a[2] + b[2])))


def _odom(probe, x, y, yaw, stamp_ns, frame="odom"):
    msg = Odometry()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    msg.header.frame_id, msg.child_frame_id = frame, "base_link"
    msg.pose.pose.position.x, msg.pose.pose.position.y = x, y
    msg.pose.pose.orientation = yaw_to_quaternion_msg(yaw)
    cov = [0.0] * 36
    cov[0], cov[7], cov[35] = 0.04, 0.01, 0.02
    msg.pose.covariance = cov
    return msg


def test_slam_pose_is_initial_map_odom_composed_with_odometry_and_tf_is_published():
    overrides = [
        Parameter("initial_x_m", value=INITIAL[0]),
        Parameter("initial_y_m", value=INITIAL[1]),
        Parameter("initial_yaw_rad", value=INITIAL[2]),
    ]
    with ros_context() as ctx:
        node = SlamNode(context=ctx, parameter_overrides=overrides)
        probe = Node("probe", context=ctx)
        frames = FrameBuffer(probe)
        poses: list[PoseWithCovarianceStamped] = []
        probe.create_subscription(PoseWithCovarianceStamped, "/slam/pose", poses.append, 10)
        pub = probe.create_publisher(Odometry, "/odom", 10)
        odom = (2.0, 1.0, -0.3)
        stamp = [1_000_000_000]

        def send_and_wait():
            stamp[0] += 10_000_000
            pub.publish(_odom(probe, *odom, stamp[0]))
            return bool(poses)

        try:
            assert spin_until([node, probe], send_and_wait, timeout_s=10.0), "no /slam/pose"
            msg = poses[-1]
            assert msg.header.frame_id == "map"
            expected = compose(INITIAL, odom)
            p = msg.pose.pose
            assert (p.position.x, p.position.y) == pytest.approx(expected[:2])
            assert quaternion_msg_to_yaw(p.orientation) == pytest.approx(expected[2])
            # odom's covariance rotated into the map frame by map->odom's yaw: trace kept
            cov = msg.pose.covariance
            assert cov[0] + cov[7] == pytest.approx(0.05)
            assert cov[35] == pytest.approx(0.02)

            def tf_known():
                try:
                    return frames.lookup_pose2d("map", "odom")
                except TransformError:
                    return None

            assert spin_until([node, probe], lambda: tf_known() is not None, timeout_s=10.0)
            assert tf_known() == pytest.approx(INITIAL)

            # Bad input is dropped, never raised: NaN, wrong frame, stamps going back.
            pub.publish(_odom(probe, math.nan, 0.0, 0.0, stamp[0] + 1))
            pub.publish(_odom(probe, 0.0, 0.0, 0.0, stamp[0] + 2, frame="map"))
            pub.publish(_odom(probe, 0.0, 0.0, 0.0, stamp[0] - 500_000_000))
            assert spin_until(
                [node, probe], lambda: node.counts["odom_rejected"] >= 3, timeout_s=5.0
            )
            bad = {stamp[0] + 1, stamp[0] + 2, stamp[0] - 500_000_000}
            assert not [p for p in poses if stamp_to_ns(p.header.stamp) in bad]
        finally:
            frames.close()
            node.destroy_node()
            probe.destroy_node()


def test_bad_parameter_stops_the_node_with_the_key_named():
    with ros_context() as ctx, pytest.raises(ConfigError, match="'odom_frame'"):
        SlamNode(context=ctx, parameter_overrides=[Parameter("odom_frame", value="map")])


def test_initial_pose_reanchors_map_to_odom_so_the_robot_is_where_it_was_put():
    from hearth_common.qos import LATCHED

    with ros_context() as ctx:
        probe = Node("probe", context=ctx)
        announce = probe.create_publisher(PoseWithCovarianceStamped, "/initialpose", LATCHED)
        start = PoseWithCovarianceStamped()
        start.header.frame_id = "map"
        start.pose.pose.position.x, start.pose.pose.position.y = 3.2, 4.0
        start.pose.pose.orientation = yaw_to_quaternion_msg(math.pi / 2)
        announce.publish(start)  # before the slam node exists: latched
        node = SlamNode(context=ctx)
        odom_pub = probe.create_publisher(Odometry, "/odom", 10)
        poses = []
        probe.create_subscription(PoseWithCovarianceStamped, "/slam/pose", poses.append, 10)

        def odom_at(x):
            msg = Odometry()
            msg.header.frame_id, msg.child_frame_id = "odom", "base_link"
            msg.header.stamp = probe.get_clock().now().to_msg()
            msg.pose.pose.position.x = x
            msg.pose.pose.orientation.w = 1.0
            return msg

        odom_x = [0.0]
        probe.create_timer(0.05, lambda: odom_pub.publish(odom_at(odom_x[0])))

        def at(y):
            return bool(poses) and abs(poses[-1].pose.pose.position.y - y) < 1e-6

        assert spin_until([node, probe], lambda: at(4.0), timeout_s=10.0)
        odom_x[0] = 1.0
        assert spin_until([node, probe], lambda: at(5.0), timeout_s=10.0)
        # The robot moved 1 m forward in odom since it was put down facing +y: it is 1 m north.
        last = poses[-1].pose.pose
        assert abs(last.position.x - 3.2) < 1e-6
        node.destroy_node()
        probe.destroy_node()


def test_save_map_without_a_map_folder_says_why_and_the_graph_is_not_needed():
    from std_srvs.srv import Trigger

    with ros_context() as ctx:
        node = SlamNode(context=ctx)  # the dataclass default: map_dir empty
        probe = Node("probe", context=ctx)
        client = probe.create_client(Trigger, "/slam/save_map")
        try:
            assert spin_until([node, probe], client.service_is_ready, timeout_s=10.0)
            future = client.call_async(Trigger.Request())
            assert spin_until([node, probe], future.done, timeout_s=10.0)
            assert not future.result().success
            assert "map_dir is empty" in future.result().message
        finally:
            node.destroy_node()
            probe.destroy_node()
