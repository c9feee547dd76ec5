"""``tf2_ros.TransformBroadcaster`` and ``StaticTransformBroadcaster`` stand-ins."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _as_list(transform: Any) -> list[Any]:
    if isinstance(transform, Iterable) and not hasattr(transform, "child_frame_id"):
        return list(transform)
    return [transform]


class TransformBroadcaster:
    """Publishes tf2_msgs/TFMessage on /tf (depth 100 by default)."""

    def __init__(self, node: Any, qos: Any = None) -> None:
        from rclpy.qos import QoSProfile
        from tf2_msgs.msg import TFMessage

        self._msg_type = TFMessage
        self.pub_tf = node.create_publisher(
            TFMessage, "/tf", QoSProfile(depth=100) if qos is None else qos
        )

    def sendTransform(self, transform: Any) -> None:
        """Publish one TransformStamped or a list of them in one TFMessage."""
        self.pub_tf.publish(self._msg_type(transforms=_as_list(transform)))


class StaticTransformBroadcaster:
    """Latched publisher on /tf_static (transient local, reliable, depth 1 by default).

    Like tf2_ros's, it remembers every static transform it was given (one per child frame,
    the newest wins) and republishes all of them in one message on each call, so a late
    subscriber receives the whole set from the single latched message.
    """

    def __init__(self, node: Any, qos: Any = None) -> None:
        from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
        from tf2_msgs.msg import TFMessage

        if qos is None:
            qos = QoSProfile(
                depth=1,
                durability=DurabilityPolicy.TRANSIENT_LOCAL,
                history=HistoryPolicy.KEEP_LAST,
                reliability=ReliabilityPolicy.RELIABLE,
            )
        self._msg_type = TFMessage
        self._by_child: dict[str, Any] = {}
        self.pub_tf = node.create_publisher(TFMessage, "/tf_static", qos)

    def sendTransform(self, transform: Any) -> None:
        for t in _as_list(transform):
            self._by_child[t.child_frame_id] = t
        self.pub_tf.publish(self._msg_type(transforms=list(self._by_child.values())))
