"""A rosbag2 in MCAP, written with the ``rosbags`` package (ROS-free: no rosbag2 needed).

``BagWriter`` takes serialized (CDR) messages as they came off DDS and writes them with their
type's definition (ROS 2 Jazzy's, from rosbags' typestore; hearth's own messages registered
from ``hearth_msgs/msg/*.msg``), the QoS their publishers offered (so that ``ros2 bag play``
republishes /map, /tf_static and /robot_description latched), zstd-compressed chunks, and a
timestamp per message (the simulated time it was received at). The bag opens in Foxglove
and in ``ros2 bag play`` (rosbag2's MCAP storage plugin), and with rosbags' ``AnyReader``.

Images are large (a stereo pair is 0.5 MB, ten times a second): ``image_rate_hz`` keeps at
most that many frames per second of simulated time of every ``sensor_msgs/msg/Image`` topic
(by the image's own stamp, so both images of a stereo pair are kept or skipped together);
0 leaves images out. Everything else is written whole.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

from rosbags.interfaces import (
    Connection,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

IMAGE_TYPE = "sensor_msgs/msg/Image"
_TIME_ZERO = QosTime(0, 0)
# rclpy's "infinite" durations as rosbag2 writes them
_TIME_INFINITE = QosTime(2147483647, 4294967295)


def hearth_msg_dirs() -> list[Path]:
    """Where hearth_msgs' .msg files are: the install's share (AMENT_PREFIX_PATH), then the
    source tree's."""
    dirs = [Path(p) / "share" / "hearth_msgs" / "msg" for p in _ament_prefixes()]
    dirs.append(Path(__file__).resolve().parents[2] / "hearth_msgs" / "msg")
    return dirs


def _ament_prefixes() -> list[Path]:
    return [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


def jazzy_typestore(extra_msg_dirs: Iterable[Path] | None = None) -> Typestore:
    """ROS 2 Jazzy's message types, plus every ``<pkg>/msg/*.msg`` found in
    ``extra_msg_dirs`` (default: hearth_msgs'), registered under ``<pkg>/msg/<Name>``.
    (Action feedback topics, e.g. /navigate_to_pose/_action/feedback, are not among them:
    rosbags writes definitions of ``<pkg>/msg/`` types only.)"""
    store = get_typestore(Stores.ROS2_JAZZY)
    dirs = list(extra_msg_dirs) if extra_msg_dirs is not None else hearth_msg_dirs()
    for d in dirs:
        files = sorted(Path(d).glob("*.msg"))
        if not files:
            continue
        package = Path(d).parent.name
        types: dict = {}
        for f in files:
            types.update(get_types_from_msg(f.read_text(), f"{package}/msg/{f.stem}"))
        store.register(types)
        break  # the first place that has them (an install shadows the sources)
    return store


def qos_profile(*, reliable: bool = True, latched: bool = False, depth: int = 10) -> Qos:
    """A QoS profile as rosbag2 records a publisher's offered QoS."""
    return Qos(
        history=QosHistory.KEEP_LAST, depth=depth,
        reliability=QosReliability.RELIABLE if reliable else QosReliability.BEST_EFFORT,
        durability=QosDurability.TRANSIENT_LOCAL if latched else QosDurability.VOLATILE,
        deadline=_TIME_INFINITE, lifespan=_TIME_INFINITE, liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=_TIME_INFINITE, avoid_ros_namespace_conventions=False,
    )


class BagWriter:
    """Writes one MCAP rosbag2 at ``path`` (a new directory). Topics are added as they are
    discovered; unknown message types are refused (``add_topic`` returns False) and listed in
    ``skipped_types``. Not thread-safe: call from one thread."""

    def __init__(self, path: str | os.PathLike, *, image_rate_hz: float = 1.0,
                 typestore: Typestore | None = None, compress: bool = True):
        if not (math.isfinite(image_rate_hz) and image_rate_hz >= 0.0):
            raise ValueError(f"image_rate_hz must be >= 0, got {image_rate_hz}")
        self.path = Path(path)
        self.image_rate_hz = float(image_rate_hz)
        self.typestore = typestore if typestore is not None else jazzy_typestore()
        self._writer = Writer(self.path, version=Writer.VERSION_LATEST,
                              storage_plugin=StoragePlugin.MCAP)
        if compress:
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        self._connections: dict[str, Connection] = {}
        self._types: dict[str, str] = {}
        self._image_slot: dict[str, int] = {}  # topic -> last kept slot of 1/image_rate_hz
        self.counts: dict[str, int] = {}
        self.decimated: dict[str, int] = {}
        self.skipped_types: dict[str, str] = {}
        self.bytes_written = 0
        self._closed = False

    def has_topic(self, topic: str) -> bool:
        return topic in self._connections

    def add_topic(self, topic: str, msgtype: str, qos: Iterable[Qos] = ()) -> bool:
        """Registers a topic of ``msgtype`` ('pkg/msg/Name'); False (and remembered in
        ``skipped_types``) when the type is unknown or images are left out."""
        if topic in self._connections:
            return True
        if msgtype not in self.typestore.types:
            self.skipped_types[topic] = msgtype
            return False
        if msgtype == IMAGE_TYPE and self.image_rate_hz == 0.0:
            self.skipped_types[topic] = f"{msgtype} (images left out)"
            return False
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self.typestore, offered_qos_profiles=list(qos))
        self._types[topic] = msgtype
        self.counts[topic] = 0
        return True

    def write(self, topic: str, t_ns: int, data: bytes | memoryview,
              stamp_ns: int | None = None) -> bool:
        """Writes one serialized message received at ``t_ns``; ``stamp_ns`` (the header's)
        decides which images are kept. False when not written (unknown topic, decimated)."""
        conn = self._connections.get(topic)
        if conn is None or self._closed:
            return False
        if self._types[topic] == IMAGE_TYPE:
            slot = math.floor((stamp_ns if stamp_ns is not None else t_ns) * 1e-9
                              * self.image_rate_hz)
            if self._image_slot.get(topic) == slot:
                self.decimated[topic] = self.decimated.get(topic, 0) + 1
                return False
            self._image_slot[topic] = slot
        self._writer.write(conn, int(t_ns), bytes(data))
        self.counts[topic] += 1
        self.bytes_written += len(data)
        return True

    def close(self) -> None:
        """Writes the index and metadata.yaml; the bag is complete only after this."""
        if not self._closed:
            self._closed = True
            self._writer.close()

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def image_stamp_ns(data: bytes | memoryview) -> int:
    """The header stamp of a CDR-serialized message that starts with a std_msgs/Header
    (sec int32, nanosec uint32 after the 4-byte encapsulation header), without decoding the
    rest (an image's pixels)."""
    b = bytes(data[:12])
    if len(b) < 12:
        raise ValueError("message too short for a header stamp")
    little = b[1] == 1  # CDR_LE encapsulation (0x0001), else big endian
    order = "little" if little else "big"
    sec = int.from_bytes(b[4:8], order, signed=True)
    nanosec = int.from_bytes(b[8:12], order, signed=False)
    return sec * 1_000_000_000 + nanosec
