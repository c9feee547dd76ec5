"""hearth_common.frames over real rclpy and DDS (tf2_ros where installed, else tf2_lite)."""

from __future__ import annotations

import math

import pytest
from builtin_interfaces.msg import Time as TimeMsg
from rclpy.node import Node
from rclpy.time import Time

from hearth_common.frames import (
    BACKEND,
    FrameBuffer,
    FramePublisher,
    TransformError,
    make_transform,
)
from hearth_common.testing import ros_context, spin_until

# REP-103 optical frame (x right, y down, z forward) in a body frame (x forward, z up)
OPTICAL = (-0.5, 0.5, -0.5, 0.5)


def _rotate(q, v):
    """Rotate vector v by unit quaternion q = (x, y, z, w)."""
    qx, qy, qz, qw = q
    tx = 2.0 * (qy * v[2] - qz * v[1])
    ty = 2.0 * (qz * v[0] - qx * v[2])
    tz = 2.0 * (qx * v[1] - qy * v[0])
    return (
        v[0] + qw * tx + (qy * tz - qz * ty),
        v[1] + qw * ty + (qz * tx - qx * tz),
        v[2] + qw * tz + (qx * ty - qy * tx),
    )


def test_backend_is_tf2_ros_or_the_ci_stand_in():
    assert BACKEND in ("tf2_ros", "tf2_lite")
    assert issubclass(TransformError, Exception)


def test_make_transform_from_yaw_and_from_quaternion():
    t = make_transform("odom", "base_link", TimeMsg(sec=3, nanosec=5), 1.0, 2.0, 0.5, yaw=1.0)
    assert (t.header.frame_id, t.child_frame_id) == ("odom", "base_link")
    assert (t.header.stamp.sec, t.header.stamp.nanosec) == (3, 5)
    assert (t.transform.translation.x, t.transform.translation.y) == (1.0, 2.0)
    assert t.transform.rotation.z == pytest.approx(math.sin(0.5))
    assert t.transform.rotation.w == pytest.approx(math.cos(0.5))

    q = make_transform("a", "b", Time(seconds=2), quaternion=(0.0, 0.0, 0.0, 2.0))
    assert q.transform.rotation.w == 1.0  # normalised
    assert q.header.stamp.sec == 2
    assert make_transform("a", "b", None).header.stamp.sec == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"x": float("nan")},
        {"yaw": math.inf},
        {"quaternion": (0.0, 0.0, 0.0, 0.0)},
        {"quaternion": (0.0, 0.0, 1.0)},
        {"quaternion": (0.0, 0.0, 0.0, 1.0), "yaw": 0.3},
    ],
)
def test_make_transform_rejects_bad_numbers(kwargs):
    with pytest.raises(ValueError):
        make_transform("a", "b", None, **kwargs)


def test_lookup_composes_dynamic_and_static_transforms_across_nodes():
    with ros_context() as ctx:
        robot = Node("frames_test_robot", context=ctx)
        user = Node("frames_test_user", context=ctx)
        try:
            publisher = FramePublisher(robot)
            publisher.send_static(
                make_transform(
                    "base_link", "stereo_left_optical", None, 0.1, 0.03, 0.2, quaternion=OPTICAL
                )
            )

            def send_odom():
                stamp = robot.get_clock().now()
                publisher.send(
                    make_transform("odom", "base_link", stamp, 1.0, 2.0, yaw=math.pi / 2)
                )

            robot.create_timer(0.02, send_odom)
            frames = FrameBuffer(user)

            assert spin_until(
                [robot, user],
                lambda: frames.can_transform("odom", "stereo_left_optical"),
                timeout_s=10.0,
            ), "odom -> stereo_left_optical never became available"

            out = frames.lookup("odom", "stereo_left_optical")
            assert out.header.frame_id == "odom"
            assert out.child_frame_id == "stereo_left_optical"
            t, r = out.transform.translation, out.transform.rotation
            # camera origin: (1, 2, 0) + Rz(90 deg) (0.1, 0.03, 0.2)
            assert (t.x, t.y, t.z) == (
                pytest.approx(0.97),
                pytest.approx(2.1),
                pytest.approx(0.2),
            )
            q = (r.x, r.y, r.z, r.w)
            # optical z (forward) looks along base x, which is odom +y; optical x (right) is
            # base -y, i.e. odom +x; optical y (down) is odom -z
            assert _rotate(q, (0.0, 0.0, 1.0)) == pytest.approx((0.0, 1.0, 0.0), abs=1e-9)
            assert _rotate(q, (1.0, 0.0, 0.0)) == pytest.approx((1.0, 0.0, 0.0), abs=1e-9)
            assert _rotate(q, (0.0, 1.0, 0.0)) == pytest.approx((0.0, 0.0, -1.0), abs=1e-9)

            x, y, yaw = frames.lookup_pose2d("odom", "base_link")
            assert (x, y, yaw) == (
                pytest.approx(1.0),
                pytest.approx(2.0),
                pytest.approx(math.pi / 2),
            )

            with pytest.raises(TransformError):
                frames.lookup("odom", "no_such_frame")
            assert not frames.can_transform("odom", "no_such_frame")
            frames.close()
        finally:
            user.destroy_node()
            robot.destroy_node()


def test_static_transforms_accumulate_and_reach_a_late_subscriber():
    with ros_context() as ctx:
        robot = Node("frames_test_static_robot", context=ctx)
        try:
            publisher = FramePublisher(robot)
            publisher.send_static(make_transform("base_link", "imu_link", None, z=0.1))
            publisher.send_static(make_transform("base_link", "tof_optical", None, x=0.2))
            publisher.send_static(make_transform("base_link", "imu_link", None, z=0.15))

            late = Node("frames_test_static_late", context=ctx)
            try:
                frames = FrameBuffer(late)
                assert spin_until(
                    [robot, late],
                    lambda: frames.can_transform("imu_link", "tof_optical"),
                    timeout_s=10.0,
                ), "the latched static set did not reach a late subscriber"
                imu = frames.lookup("base_link", "imu_link").transform.translation
                assert imu.z == pytest.approx(0.15)  # the newest static for a child wins
            finally:
                late.destroy_node()
        finally:
            robot.destroy_node()


def test_a_localization_fallen_behind_leaves_its_last_correction_on_the_latest_odometry():
    """map -> odom last sent 15 s ago, odom -> base_link now (the buffer keeps 10 s): the
    chain has no common time, but the pose via odom is the old correction on new odometry."""
    with ros_context() as ctx:
        robot = Node("frames_test_lagging", context=ctx)
        user = Node("frames_test_navigator", context=ctx)
        try:
            publisher = FramePublisher(robot)
            old = robot.get_clock().now() - rclpy_duration(15.0)

            def send_odom():  # the localization's last correction, again, and odometry
                publisher.send(make_transform("map", "odom", old, 10.0, 0.0, yaw=math.pi / 2))
                publisher.send(make_transform("odom", "base_link", robot.get_clock().now(),
                                              1.0, 0.0, yaw=0.0))

            robot.create_timer(0.02, send_odom)
            frames = FrameBuffer(user)
            assert spin_until([robot, user], lambda: frames.can_transform("odom", "base_link")
                              and frames.can_transform("map", "odom", old.to_msg()),
                              timeout_s=10.0)
            with pytest.raises(TransformError):
                frames.lookup_pose2d("map", "base_link")
            x, y, yaw = frames.lookup_pose2d_via("map", "odom", "base_link")
            assert (x, y, yaw) == (pytest.approx(10.0), pytest.approx(1.0),
                                   pytest.approx(math.pi / 2))
            frames.close()
        finally:
            user.destroy_node()
            robot.destroy_node()


def rclpy_duration(seconds: float):
    from rclpy.duration import Duration

    return Duration(seconds=seconds)
