"""tf2_lite.Buffer behaves like tf2_ros.Buffer. Buffer maths only: no rclpy, no DDS."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from dataclasses import dataclass

import pytest
from builtin_interfaces.msg import Duration as DurationMsg
from builtin_interfaces.msg import Time as TimeMsg
from geometry_msgs.msg import TransformStamped

import tf2_lite
from tf2_lite import (
    Buffer,
    ConnectivityException,
    ExtrapolationException,
    InvalidArgumentException,
    LookupException,
    TransformException,
)

NS = 1_000_000_000


@dataclass(frozen=True)
class T:
    """Quacks like rclpy.time.Time / rclpy.duration.Duration (what tf2_ros takes)."""

    seconds: float

    @property
    def nanoseconds(self) -> int:
        return round(self.seconds * NS)


LATEST = T(0.0)


def tf(parent: str, child: str, t_s: float, x=0.0, y=0.0, z=0.0, yaw=0.0) -> TransformStamped:
    msg = TransformStamped()
    msg.header.frame_id = parent
    msg.header.stamp = TimeMsg(sec=int(t_s), nanosec=round((t_s - int(t_s)) * NS))
    msg.child_frame_id = child
    msg.transform.translation.x = float(x)
    msg.transform.translation.y = float(y)
    msg.transform.translation.z = float(z)
    msg.transform.rotation.z = math.sin(yaw / 2.0)
    msg.transform.rotation.w = math.cos(yaw / 2.0)
    return msg


def xyz_yaw(msg: TransformStamped) -> tuple[float, float, float, float]:
    t, q = msg.transform.translation, msg.transform.rotation
    yaw = math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))
    return (t.x, t.y, t.z, yaw)


def stamp_s(msg: TransformStamped) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec / NS


# ---- interpolation --------------------------------------------------------------------


def test_lookup_between_two_stamps_interpolates_translation_linearly_and_rotation_by_slerp():
    buf = Buffer()
    buf.set_transform(tf("odom", "base_link", 1.0, x=0.0, y=0.0, yaw=0.0), "test")
    buf.set_transform(tf("odom", "base_link", 3.0, x=2.0, y=-4.0, yaw=math.pi / 2), "test")

    out = buf.lookup_transform("odom", "base_link", T(2.5))

    x, y, _, yaw = xyz_yaw(out)
    assert x == pytest.approx(1.5)
    assert y == pytest.approx(-3.0)
    assert yaw == pytest.approx(0.75 * math.pi / 2)  # slerp: uniform in angle
    assert stamp_s(out) == pytest.approx(2.5)
    assert out.header.frame_id == "odom"
    assert out.child_frame_id == "base_link"


def test_slerp_takes_the_short_way_round():
    buf = Buffer()
    buf.set_transform(tf("odom", "base_link", 0.0, yaw=math.radians(170)), "test")
    buf.set_transform(tf("odom", "base_link", 1.0, yaw=math.radians(-170)), "test")

    _, _, _, yaw = xyz_yaw(buf.lookup_transform("odom", "base_link", T(0.5)))

    assert abs(yaw) == pytest.approx(math.pi)


def test_lookup_at_a_buffered_stamp_returns_that_sample():
    buf = Buffer()
    buf.set_transform(tf("odom", "base_link", 1.0, x=1.0), "test")
    buf.set_transform(tf("odom", "base_link", 2.0, x=5.0), "test")

    assert xyz_yaw(buf.lookup_transform("odom", "base_link", T(2.0)))[0] == pytest.approx(5.0)


def test_time_zero_means_the_latest_common_time_of_the_chain():
    buf = Buffer()
    for t in (1.0, 2.0, 3.0):
        buf.set_transform(tf("map", "odom", t, x=t), "test")
    for t in (1.0, 2.0, 3.0, 4.0, 5.0):
        buf.set_transform(tf("odom", "base_link", t, y=t), "test")

    out = buf.lookup_transform("map", "base_link", LATEST)

    assert stamp_s(out) == pytest.approx(3.0)  # map->odom ends at 3 s
    x, y, _, _ = xyz_yaw(out)
    assert (x, y) == (pytest.approx(3.0), pytest.approx(3.0))
    assert stamp_s(buf.lookup_transform("odom", "base_link", LATEST)) == pytest.approx(5.0)


def test_builtin_interfaces_time_is_accepted_as_lookup_time():
    buf = Buffer(cache_time=DurationMsg(sec=5))
    buf.set_transform(tf("odom", "base_link", 1.0, x=1.0), "test")
    buf.set_transform(tf("odom", "base_link", 2.0, x=2.0), "test")

    out = buf.lookup_transform("odom", "base_link", TimeMsg(sec=1, nanosec=500_000_000))

    assert xyz_yaw(out)[0] == pytest.approx(1.5)


# ---- static frames ------------------------------------------------------------------


def test_static_transforms_are_valid_at_all_times():
    buf = Buffer()
    buf.set_transform_static(tf("base_link", "camera", 0.0, x=0.2, z=0.5), "test")

    for t in (LATEST, T(1e-9), T(12345.678)):
        out = buf.lookup_transform("base_link", "camera", t)
        assert xyz_yaw(out)[:3] == (pytest.approx(0.2), 0.0, pytest.approx(0.5))
    assert stamp_s(buf.lookup_transform("base_link", "camera", LATEST)) == 0.0
    assert stamp_s(buf.lookup_transform("base_link", "camera", T(7.0))) == pytest.approx(7.0)


def test_static_link_joined_to_a_dynamic_one_is_bounded_only_by_the_dynamic_data():
    buf = Buffer()
    buf.set_transform_static(tf("base_link", "camera", 0.0, x=1.0), "test")
    buf.set_transform(tf("odom", "base_link", 10.0, x=0.0), "test")
    buf.set_transform(tf("odom", "base_link", 20.0, x=10.0), "test")

    out = buf.lookup_transform("odom", "camera", LATEST)

    assert stamp_s(out) == pytest.approx(20.0)
    assert xyz_yaw(out)[0] == pytest.approx(11.0)
    assert xyz_yaw(buf.lookup_transform("odom", "camera", T(15.0)))[0] == pytest.approx(6.0)


# ---- chains ---------------------------------------------------------------------------


def _robot_tree() -> Buffer:
    """map -> odom -> base_link -> {camera (yawed 90 deg), laser}, all at t = 1 s."""
    buf = Buffer()
    buf.set_transform(tf("map", "odom", 1.0, x=10.0, yaw=math.pi / 2), "test")
    buf.set_transform(tf("odom", "base_link", 1.0, x=1.0, y=2.0, yaw=-math.pi / 2), "test")
    buf.set_transform_static(tf("base_link", "camera", 0.0, x=0.5, yaw=math.pi / 2), "test")
    buf.set_transform_static(tf("base_link", "laser", 0.0, x=-0.5, z=0.3), "test")
    return buf


def test_chain_lookup_composes_down_from_the_root():
    buf = _robot_tree()

    out = buf.lookup_transform("map", "camera", LATEST)

    # base_link in map: (10,0) + R(90deg)(1,2) = (8, 1), yaw 0; camera: +0.5 along x, yaw 90
    x, y, z, yaw = xyz_yaw(out)
    assert (x, y, z) == (pytest.approx(8.5), pytest.approx(1.0), pytest.approx(0.0))
    assert yaw == pytest.approx(math.pi / 2)


def test_chain_lookup_between_siblings_goes_through_their_common_ancestor():
    buf = _robot_tree()

    out = buf.lookup_transform("camera", "laser", LATEST)

    # laser origin in base: (-0.5, 0, 0.3); camera at (0.5, 0) yawed 90: in camera coords the
    # point (-1, 0) relative to the camera becomes (0, 1)
    x, y, z, yaw = xyz_yaw(out)
    assert (x, y, z) == (pytest.approx(0.0), pytest.approx(1.0), pytest.approx(0.3))
    assert yaw == pytest.approx(-math.pi / 2)


def test_lookup_and_reverse_lookup_are_inverses():
    buf = _robot_tree()
    a = xyz_yaw(buf.lookup_transform("map", "laser", LATEST))
    b = xyz_yaw(buf.lookup_transform("laser", "map", LATEST))

    # planar here: compose (x, y, yaw) by hand
    x, y, yaw = a[0], a[1], a[3]
    bx = math.cos(yaw) * b[0] - math.sin(yaw) * b[1] + x
    by = math.sin(yaw) * b[0] + math.cos(yaw) * b[1] + y
    assert (bx, by) == (pytest.approx(0.0, abs=1e-9), pytest.approx(0.0, abs=1e-9))
    assert a[2] + b[2] == pytest.approx(0.0, abs=1e-9)
    assert math.remainder(a[3] + b[3], 2 * math.pi) == pytest.approx(0.0, abs=1e-9)


def test_same_frame_gives_identity():
    buf = _robot_tree()
    out = buf.lookup_transform("odom", "odom", T(3.0))
    assert xyz_yaw(out) == (0.0, 0.0, 0.0, 0.0)
    assert stamp_s(out) == pytest.approx(3.0)


def test_a_frame_can_change_parent_over_time():
    buf = Buffer()
    buf.set_transform_static(tf("world", "shelf", 0.0, x=5.0), "test")
    buf.set_transform(tf("world", "cup", 1.0, x=1.0), "test")
    buf.set_transform(tf("world", "cup", 2.0, x=2.0), "test")
    buf.set_transform(tf("shelf", "cup", 3.0, x=0.5), "test")

    assert xyz_yaw(buf.lookup_transform("world", "cup", T(1.5)))[0] == pytest.approx(1.5)
    assert xyz_yaw(buf.lookup_transform("world", "cup", T(3.0)))[0] == pytest.approx(5.5)
    # between samples with different parents, tf2 holds the older sample
    assert xyz_yaw(buf.lookup_transform("world", "cup", T(2.5)))[0] == pytest.approx(2.0)


# ---- errors ---------------------------------------------------------------------------


def test_extrapolation_into_the_past_or_future_raises():
    buf = Buffer()
    buf.set_transform(tf("odom", "base_link", 5.0), "test")
    buf.set_transform(tf("odom", "base_link", 6.0), "test")

    with pytest.raises(ExtrapolationException, match="into the past"):
        buf.lookup_transform("odom", "base_link", T(4.0))
    with pytest.raises(ExtrapolationException, match="into the future"):
        buf.lookup_transform("odom", "base_link", T(6.5))


def test_a_single_sample_answers_only_its_own_stamp():
    buf = Buffer()
    buf.set_transform(tf("odom", "base_link", 5.0, x=1.0), "test")

    assert xyz_yaw(buf.lookup_transform("odom", "base_link", T(5.0)))[0] == 1.0
    assert buf.can_transform("odom", "base_link", LATEST)
    with pytest.raises(ExtrapolationException):
        buf.lookup_transform("odom", "base_link", T(5.1))


def test_extrapolation_anywhere_in_the_chain_raises():
    buf = _robot_tree()  # everything dynamic stamped at 1 s
    with pytest.raises(ExtrapolationException):
        buf.lookup_transform("map", "camera", T(2.0))


def test_unknown_frame_raises_lookup_exception():
    buf = _robot_tree()
    with pytest.raises(LookupException, match="nonexistent"):
        buf.lookup_transform("map", "nonexistent", LATEST)
    with pytest.raises(LookupException):
        Buffer().lookup_transform("a", "b", LATEST)


def test_malformed_frame_ids_raise_invalid_argument():
    buf = _robot_tree()
    with pytest.raises(InvalidArgumentException):
        buf.lookup_transform("", "base_link", LATEST)
    with pytest.raises(InvalidArgumentException):
        buf.lookup_transform("/map", "base_link", LATEST)


def test_disconnected_trees_raise_connectivity_exception():
    buf = _robot_tree()
    buf.set_transform(tf("elsewhere", "drone", 1.0), "test")

    with pytest.raises(ConnectivityException):
        buf.lookup_transform("map", "drone", LATEST)
    with pytest.raises(ConnectivityException):
        buf.lookup_transform("map", "drone", T(1.0))


def test_exception_family_matches_tf2_ros():
    for name in (
        "LookupException",
        "ConnectivityException",
        "ExtrapolationException",
        "InvalidArgumentException",
        "TimeoutException",
    ):
        assert issubclass(getattr(tf2_lite, name), TransformException)
    assert issubclass(TransformException, Exception)


def test_can_transform_reports_instead_of_raising():
    buf = _robot_tree()
    assert buf.can_transform("map", "camera", LATEST) is True
    assert buf.can_transform("map", "camera", T(2.0)) is False
    ok, why = buf.can_transform("map", "ghost", LATEST, return_debug_tuple=True)
    assert ok is False
    assert "ghost" in why


def test_can_transform_with_a_timeout_waits_for_data_from_another_thread():
    buf = Buffer()
    buf.set_transform(tf("odom", "base_link", 1.0), "test")
    feeder = threading.Timer(0.05, buf.set_transform, (tf("map", "odom", 1.0), "test"))
    feeder.start()
    try:
        assert buf.can_transform("map", "base_link", LATEST, timeout=T(10.0))
    finally:
        feeder.join()


# ---- input checks and pruning ---------------------------------------------------------


def test_bad_input_is_rejected_not_raised():
    buf = Buffer()
    nan = tf("odom", "base_link", 1.0)
    nan.transform.translation.x = float("nan")
    denormalised = tf("odom", "base_link", 1.0)
    denormalised.transform.rotation.w = 2.0

    assert buf.set_transform(nan, "test") is False
    assert buf.set_transform(denormalised, "test") is False
    assert buf.set_transform(tf("odom", "odom", 1.0), "test") is False
    assert buf.set_transform(tf("", "base_link", 1.0), "test") is False
    assert buf.all_frames() == []


def test_leading_slash_in_published_frame_ids_is_stripped():
    buf = Buffer()
    buf.set_transform(tf("/odom", "/base_link", 1.0, x=3.0), "test")
    assert xyz_yaw(buf.lookup_transform("odom", "base_link", LATEST))[0] == 3.0


def test_cache_is_pruned_to_cache_time_behind_the_newest_sample():
    buf = Buffer(cache_time=T(2.0))
    for t in range(11):
        buf.set_transform(tf("odom", "base_link", float(t), x=float(t)), "test")

    with pytest.raises(ExtrapolationException, match="into the past"):
        buf.lookup_transform("odom", "base_link", T(7.5))  # pruned: only [8, 10] remain
    assert xyz_yaw(buf.lookup_transform("odom", "base_link", T(8.5)))[0] == pytest.approx(8.5)
    # data older than the cache keeps is refused, newer data still accepted
    assert buf.set_transform(tf("odom", "base_link", 3.0), "test") is False
    assert buf.set_transform(tf("odom", "base_link", 9.5, x=42.0), "test") is True
    assert xyz_yaw(buf.lookup_transform("odom", "base_link", T(9.5)))[0] == 42.0


def test_a_repeated_stamp_replaces_the_sample():
    buf = Buffer()
    buf.set_transform(tf("odom", "base_link", 1.0, x=1.0), "test")
    buf.set_transform(tf("odom", "base_link", 1.0, x=2.0), "test")
    assert xyz_yaw(buf.lookup_transform("odom", "base_link", LATEST))[0] == 2.0


def test_importing_tf2_lite_does_not_import_rclpy():
    code = "import sys, tf2_lite; tf2_lite.Buffer(); print('rclpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
