"""``tf2_ros.TransformListener`` stand-in: fills a Buffer from /tf and /tf_static."""

from __future__ import annotations

from typing import Any

DEFAULT_AUTHORITY = "default_authority"


class TransformListener:
    """Subscribes /tf (depth 100) and /tf_static (transient local, reliable, depth 100) on
    ``node`` and feeds every tf2_msgs/TFMessage into ``buffer``.

    The subscriptions belong to ``node``: spin it (any executor) for the buffer to fill.
    ``spin_thread=True`` (a dedicated spinning thread in tf2_ros) is not supported.
    """

    def __init__(
        self,
        buffer: Any,
        node: Any,
        *,
        spin_thread: bool = False,
        qos: Any = None,
        static_qos: Any = None,
    ) -> None:
        if spin_thread:
            raise NotImplementedError(
                "tf2_lite.TransformListener does not spin its own thread; spin the node"
            )
        from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
        from tf2_msgs.msg import TFMessage

        if qos is None:
            qos = QoSProfile(depth=100)
        if static_qos is None:
            static_qos = QoSProfile(
                depth=100,
                durability=DurabilityPolicy.TRANSIENT_LOCAL,
                history=HistoryPolicy.KEEP_LAST,
                reliability=ReliabilityPolicy.RELIABLE,
            )
        self.buffer = buffer
        self.node = node
        self.tf_sub = node.create_subscription(TFMessage, "/tf", self.callback, qos)
        self.tf_static_sub = node.create_subscription(
            TFMessage, "/tf_static", self.static_callback, static_qos
        )

    def callback(self, data: Any) -> None:
        for transform in data.transforms:
            self.buffer.set_transform(transform, DEFAULT_AUTHORITY)

    def static_callback(self, data: Any) -> None:
        for transform in data.transforms:
            self.buffer.set_transform_static(transform, DEFAULT_AUTHORITY)

    def unregister(self) -> None:
        """Destroy the two subscriptions."""
        if self.tf_sub is not None:
            self.node.destroy_subscription(self.tf_sub)
            self.tf_sub = None
        if self.tf_static_sub is not None:
            self.node.destroy_subscription(self.tf_static_sub)
            self.tf_static_sub = None
