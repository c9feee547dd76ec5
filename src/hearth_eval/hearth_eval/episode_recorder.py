"""Records a run: every topic of the graph into a bag, and what the metrics need into arrays.

``EpisodeRecorder`` is an rclpy node (one per run: the demo's, or one per episode of the
scenario suite). It looks for topics every ``discovery_period_s`` (wall time) and subscribes
to each new one with a QoS that matches its publishers (latched topics latched), taking the
serialized bytes (``raw=True``): they go to the MCAP bag (``bag_writer.BagWriter``) as they
came off DDS, stamped with the simulated time of their reception (the newest /clock).
Messages that arrive before the first /clock wait and are stamped with it.

The topics the metrics read (``episode_log.TOPICS``) are also decoded into an
:class:`~hearth_eval.episode_log.EpisodeLog`; ``episode(goals)`` gives the run's
:class:`~hearth_eval.run_metrics.Episode`.

The node does not use sim time itself (its discovery timer must run before /clock does); it
reads /clock. Callbacks never raise: a message that cannot be decoded is counted and logged
at most once a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message

from hearth_common.msg_conversions import stamp_to_ns
from hearth_eval.bag_writer import IMAGE_TYPE, BagWriter, image_stamp_ns, qos_profile
from hearth_eval.episode_log import TOPICS, EpisodeLog
from hearth_eval.run_metrics import Episode, GoalRun
from hearth_eval.topic_monitor_node import import_message_type

NS = 1_000_000_000


class EpisodeRecorder(Node):
    """See the module docstring. ``bag_path`` None: arrays only, no bag."""

    def __init__(self, bag_path: Path | None, *, robot_radius_m: float,
                 image_rate_hz: float = 1.0, discovery_period_s: float = 0.5,
                 fan_period_s: float = 0.5, exclude_topics: tuple[str, ...] = (),
                 node_name: str = "hearth_recorder", **node_kwargs):
        super().__init__(node_name, **node_kwargs)
        self.robot_radius_m = float(robot_radius_m)
        self.bag = BagWriter(bag_path, image_rate_hz=image_rate_hz) if bag_path else None
        self.exclude_topics = set(exclude_topics)
        self.sim_ns: int | None = None
        self.first_clock_wall_s: float | None = None
        self.first_clock_ns = 0
        self.rejected: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending: list[tuple[str, bytes, int | None]] = []  # before the first /clock
        self._subscribed: set[str] = set()
        self.log = EpisodeLog(robot_radius_m, fan_period_s)
        clock_type = import_message_type("rosgraph_msgs/msg/Clock")
        self._decoders: dict[str, tuple[type, Callable]] = {
            topic: (import_message_type(type_name), self._logger_for(topic))
            for topic, type_name in TOPICS.items()}
        self._decoders["/clock"] = (clock_type, self._on_clock)
        self.create_timer(discovery_period_s, self._discover)

    # ------------------------------------------------------------------ time

    @property
    def sim_time_s(self) -> float:
        return (self.sim_ns or 0) / NS

    def real_time_factor(self) -> float:
        """Simulated seconds per wall second since the first /clock (0 before 0.5 s)."""
        if self.first_clock_wall_s is None:
            return 0.0
        wall = time.monotonic() - self.first_clock_wall_s
        return (self.sim_ns - self.first_clock_ns) / NS / wall if wall > 0.5 else 0.0

    # ------------------------------------------------------------------ discovery

    def _discover(self) -> None:
        for topic, types in self.get_topic_names_and_types():
            if topic in self._subscribed or topic in self.exclude_topics or not types:
                continue
            publishers = [p for p in self.get_publishers_info_by_topic(topic)
                          if p.node_name != self.get_name()]
            if not publishers:
                continue  # seen through a subscription only: wait for a publisher
            type_name = types[0]
            try:
                msg_type = import_message_type(type_name)
            except (ImportError, AttributeError, ValueError):
                msg_type = None
            offered = [p.qos_profile for p in publishers]
            latched = all(q.durability == DurabilityPolicy.TRANSIENT_LOCAL for q in offered)
            reliable = all(q.reliability == ReliabilityPolicy.RELIABLE for q in offered)
            self._subscribed.add(topic)
            in_bag = self.bag is not None and self.bag.add_topic(
                topic, type_name, [qos_profile(reliable=q.reliability ==
                                               ReliabilityPolicy.RELIABLE,
                                               latched=q.durability ==
                                               DurabilityPolicy.TRANSIENT_LOCAL,
                                               depth=max(1, q.depth))
                                   for q in offered])
            decoder = self._decoders.get(topic)
            if msg_type is None or (not in_bag and decoder is None):
                continue
            qos = QoSProfile(
                depth=100 if topic in ("/tf", "/tf_static") else 50,
                reliability=(ReliabilityPolicy.RELIABLE if reliable
                             else ReliabilityPolicy.BEST_EFFORT),
                durability=(DurabilityPolicy.TRANSIENT_LOCAL if latched
                            else DurabilityPolicy.VOLATILE))
            self.create_subscription(
                msg_type, topic, self._receiver(topic, type_name, in_bag, decoder), qos,
                raw=True)

    def _receiver(self, topic: str, type_name: str, in_bag: bool,
                  decoder: tuple[type, Callable] | None) -> Callable[[bytes], None]:
        is_image = type_name == IMAGE_TYPE

        def on_message(raw: bytes) -> None:
            try:
                if decoder is not None:
                    decoder[1](deserialize_message(raw, decoder[0]))
                if in_bag:
                    stamp = image_stamp_ns(raw) if is_image else None
                    self._record(topic, raw, stamp)
            except Exception as exc:  # a callback never raises
                self.rejected[topic] = self.rejected.get(topic, 0) + 1
                self.get_logger().warning(
                    f"{topic}: message not recorded ({type(exc).__name__}: {exc}; "
                    f"{self.rejected[topic]} so far)", throttle_duration_sec=1.0)

        return on_message

    def _record(self, topic: str, raw: bytes, stamp_ns: int | None) -> None:
        with self._lock:
            if self.bag is None:
                return
            if self.sim_ns is None:
                self._pending.append((topic, raw, stamp_ns))
                return
            self.bag.write(topic, self.sim_ns, raw, stamp_ns)

    def _flush_pending(self) -> None:
        """Writes what came before the first /clock, stamped with it."""
        with self._lock:
            if self.bag is not None and self.sim_ns is not None:
                for p_topic, p_raw, p_stamp in self._pending:
                    self.bag.write(p_topic, self.sim_ns, p_raw, p_stamp)
            self._pending.clear()

    def close_bag(self) -> None:
        """Finishes the bag (index, metadata.yaml). Call after the executor has stopped."""
        self._flush_pending()
        with self._lock:
            if self.bag is not None:
                self.bag.close()

    # ------------------------------------------------------------------ decoders

    def _on_clock(self, msg) -> None:
        t_ns = stamp_to_ns(msg.clock)
        first = self.sim_ns is None
        if first:
            self.first_clock_wall_s = time.monotonic()
            self.first_clock_ns = t_ns
        self.sim_ns = t_ns
        if first:
            self._flush_pending()

    def _logger_for(self, topic: str) -> Callable:
        def add(msg) -> None:
            self.log.add(topic, msg, self.sim_time_s)

        return add

    # ------------------------------------------------------------------ the episode

    def episode(self, goals: list[GoalRun]) -> Episode:
        """The recorded arrays as an :class:`Episode`. Call once the executor has stopped."""
        return self.log.episode(goals)
