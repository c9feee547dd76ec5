"""CI-only pure-Python stand-in for the part of tf2_ros that hearth uses.

Same names as tf2_ros: ``Buffer``, ``TransformListener``, ``TransformBroadcaster``,
``StaticTransformBroadcaster`` and the exceptions ``TransformException`` (base),
``LookupException``, ``ConnectivityException``, ``ExtrapolationException``,
``InvalidArgumentException``, ``TimeoutException``. Importing the package does not import
rclpy; the listener and the broadcasters import it when constructed.

Built only on machines without ROS 2 (see tools/ci_underlay/README.md); where tf2_ros
imports, hearth uses it instead (hearth_common.frames).
"""

from tf2_lite.broadcasters import StaticTransformBroadcaster, TransformBroadcaster
from tf2_lite.buffer import Buffer
from tf2_lite.exceptions import (
    ConnectivityException,
    ExtrapolationException,
    InvalidArgumentException,
    LookupException,
    TimeoutException,
    TransformException,
)
from tf2_lite.transform_listener import TransformListener

__all__ = [
    "Buffer",
    "ConnectivityException",
    "ExtrapolationException",
    "InvalidArgumentException",
    "LookupException",
    "StaticTransformBroadcaster",
    "TimeoutException",
    "TransformBroadcaster",
    "TransformException",
    "TransformListener",
]
