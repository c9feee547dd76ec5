"""The QoS profiles of the interface contract (docs/interfaces.md), defined once."""

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

#: Reliable, transient local, depth 1: the last message reaches late subscribers
#: (/map, /power_mode, /robot_description). Subscribe with it too, or a late subscriber
#: misses what was published before it joined.
LATCHED = QoSProfile(
    depth=1,
    history=HistoryPolicy.KEEP_LAST,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)

#: Best effort, volatile, depth 5: high-rate sensor streams (/imu/data, images, depth).
#: A best-effort subscription also matches reliable publishers.
SENSOR = qos_profile_sensor_data
