"""The one frames (TF) helper the hearth nodes use: look transforms up, publish them.

Backed by the real ``tf2_ros`` wherever it imports (a ROS 2 install), otherwise by
``tf2_lite``, the pure-Python stand-in that the CI underlay builds on machines without ROS 2
(tools/ci_underlay). Callers see one API either way:

- :class:`FrameBuffer` (buffer + /tf, /tf_static listener) with ``lookup``,
  ``can_transform``, ``lookup_pose2d`` and ``lookup_pose2d_via``;
- :class:`FramePublisher` with ``send`` (/tf) and ``send_static`` (latched /tf_static);
- :func:`make_transform` to build a ``geometry_msgs/TransformStamped``;
- :data:`TransformError`, the base exception of the backend in use (``TransformException``),
  so ``except TransformError`` catches lookup, connectivity, extrapolation and argument errors.

Conventions as tf2: ``lookup(target, source)`` returns ``T_target_source`` (header.frame_id =
target, child_frame_id = source), mapping source coordinates into the target frame; time
``None`` (zero) means the latest time at which the whole chain is known.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from builtin_interfaces.msg import Time as TimeMsg
from geometry_msgs.msg import Quaternion, TransformStamped
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.time import Time

from hearth_common.geometry import quaternion_to_yaw, yaw_to_quaternion

try:
    import tf2_ros as _tf
except ImportError:  # no ROS 2 install: the CI underlay's stand-in
    import tf2_lite as _tf

BACKEND: str = _tf.__name__
"""Which implementation is in use: ``"tf2_ros"`` or ``"tf2_lite"``."""

TransformError: type[Exception] = _tf.TransformException
"""Base class of every lookup error of the backend in use."""

__all__ = [
    "BACKEND",
    "FrameBuffer",
    "FramePublisher",
    "TransformError",
    "make_transform",
    "transform_to_xyz_quat",
]


def _as_time(time: Time | TimeMsg | None) -> Time:
    if time is None:
        return Time()
    if isinstance(time, Time):
        return time
    if isinstance(time, TimeMsg):
        return Time.from_msg(time)
    raise TypeError(f"time must be rclpy Time, builtin_interfaces/Time or None, not {time!r}")


def _as_list(transforms: TransformStamped | Iterable[TransformStamped]) -> list[TransformStamped]:
    if isinstance(transforms, TransformStamped):
        return [transforms]
    return list(transforms)


class FrameBuffer:
    """A TF buffer filled from /tf and /tf_static through subscriptions on ``node``.

    Spin ``node`` (its executor) for the buffer to fill. ``cache_time_s`` is how much history
    each dynamic link keeps.
    """

    def __init__(self, node: Node, cache_time_s: float = 10.0) -> None:
        if not cache_time_s > 0.0:
            raise ValueError(f"cache_time_s must be > 0, got {cache_time_s}")
        self.node = node
        self.buffer = _tf.Buffer(cache_time=Duration(seconds=cache_time_s), node=node)
        self.listener = _tf.TransformListener(self.buffer, node)

    def lookup(
        self,
        target_frame: str,
        source_frame: str,
        time: Time | TimeMsg | None = None,
        timeout_s: float = 0.0,
    ) -> TransformStamped:
        """``T_target_source`` at ``time`` (None: latest). Raises :data:`TransformError`.

        A positive ``timeout_s`` waits for the transform, which only helps when the node is
        spun by another thread (a multi-threaded executor); from a callback keep it 0.
        """
        return self.buffer.lookup_transform(
            target_frame, source_frame, _as_time(time), timeout=Duration(seconds=timeout_s)
        )

    def can_transform(
        self,
        target_frame: str,
        source_frame: str,
        time: Time | TimeMsg | None = None,
        timeout_s: float = 0.0,
    ) -> bool:
        """Whether :meth:`lookup` would succeed now (never raises for missing data)."""
        return bool(
            self.buffer.can_transform(
                target_frame, source_frame, _as_time(time), timeout=Duration(seconds=timeout_s)
            )
        )

    def lookup_pose2d(
        self, target_frame: str, source_frame: str, time: Time | TimeMsg | None = None
    ) -> tuple[float, float, float]:
        """Planar pose ``(x_m, y_m, yaw_rad)`` of ``source_frame`` in ``target_frame``.

        E.g. ``lookup_pose2d("map", "base_link")`` is the robot's pose on the map. Height,
        roll and pitch are dropped. Raises :data:`TransformError`.
        """
        msg = self.lookup(target_frame, source_frame, time)
        t, q = msg.transform.translation, msg.transform.rotation
        return (t.x, t.y, quaternion_to_yaw(q.x, q.y, q.z, q.w))

    def lookup_pose2d_via(
        self, target_frame: str, via_frame: str, source_frame: str
    ) -> tuple[float, float, float]:
        """The planar pose of ``source_frame`` in ``target_frame`` as the latest
        ``target <- via`` composed with the latest ``via <- source``, each at its own time.

        For ``map <- odom <- base_link`` this is what a localization that falls behind
        leaves: its last correction applied to the latest odometry. A plain lookup of the
        chain needs both at one time, and fails once the correction is older than the
        buffer's odometry. Raises :data:`TransformError`.
        """
        tx, ty, tyaw = self.lookup_pose2d(target_frame, via_frame)
        x, y, yaw = self.lookup_pose2d(via_frame, source_frame)
        c, s = math.cos(tyaw), math.sin(tyaw)
        return (tx + c * x - s * y, ty + s * x + c * y,
                math.atan2(math.sin(tyaw + yaw), math.cos(tyaw + yaw)))

    def close(self) -> None:
        """Stop listening (destroys the two subscriptions)."""
        self.listener.unregister()


class FramePublisher:
    """Publishes transforms on /tf and latched static transforms on /tf_static.

    ``send_static`` keeps every static transform given so far (one per child frame, the newest
    wins) and republishes them all in one latched message, as tf2_ros's
    StaticTransformBroadcaster does, so late subscribers get the whole set.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        self._broadcaster = _tf.TransformBroadcaster(node)
        self._static_broadcaster = _tf.StaticTransformBroadcaster(node)

    def send(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        """Publish one transform or several (in one message) on /tf."""
        batch = _as_list(transforms)
        if batch:
            self._broadcaster.sendTransform(batch)

    def send_static(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        """Add static transforms and republish the whole static set on /tf_static."""
        batch = _as_list(transforms)
        if batch:
            self._static_broadcaster.sendTransform(batch)


def make_transform(
    parent: str,
    child: str,
    stamp: Time | TimeMsg | None,
    x: float = 0.0,
    y: float = 0.0,
    z: float = 0.0,
    yaw: float = 0.0,
    quaternion: Sequence[float] | Quaternion | None = None,
) -> TransformStamped:
    """A ``TransformStamped`` placing ``child`` in ``parent`` (metres, radians).

    The rotation is ``yaw`` about z, or ``quaternion`` (x, y, z, w), normalised, when given
    (then ``yaw`` must stay 0). ``stamp`` None means time zero (fine for static transforms).
    Raises ``ValueError`` for non-finite numbers, an all-zero quaternion or empty frame ids.
    """
    if not parent or not child:
        raise ValueError(f"frame ids must not be empty (parent={parent!r}, child={child!r})")
    if quaternion is None:
        q = yaw_to_quaternion(yaw)
    else:
        if yaw != 0.0:
            raise ValueError("give either yaw or quaternion, not both")
        if isinstance(quaternion, Quaternion):
            q = (quaternion.x, quaternion.y, quaternion.z, quaternion.w)
        else:
            q = tuple(float(v) for v in quaternion)
            if len(q) != 4:
                raise ValueError(f"quaternion must be (x, y, z, w), got {quaternion!r}")
    values = (x, y, z, yaw, *q)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"non-finite value in transform {parent} -> {child}: {values}")
    norm = math.sqrt(sum(v * v for v in q))
    if norm < 1e-9:
        raise ValueError(f"zero quaternion in transform {parent} -> {child}")
    msg = TransformStamped()
    msg.header.frame_id = parent
    msg.header.stamp = _as_time(stamp).to_msg()
    msg.child_frame_id = child
    msg.transform.translation.x = float(x)
    msg.transform.translation.y = float(y)
    msg.transform.translation.z = float(z)
    msg.transform.rotation.x = q[0] / norm
    msg.transform.rotation.y = q[1] / norm
    msg.transform.rotation.z = q[2] / norm
    msg.transform.rotation.w = q[3] / norm
    return msg


def transform_to_xyz_quat(
    msg: TransformStamped,
) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
    """``((x, y, z), (qx, qy, qz, qw))`` of a TransformStamped, for numeric code."""
    t, q = msg.transform.translation, msg.transform.rotation
    return (t.x, t.y, t.z), (q.x, q.y, q.z, q.w)
