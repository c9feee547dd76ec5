"""Measures which topics flow and at what rate; prints the table at exit (the demo's view)."""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.topic_endpoint_info import TopicEndpointInfo

from hearth_common.node_config import declare_config, run_node
from hearth_eval.config import TopicMonitorConfig
from hearth_eval.topic_rates import RateTable

NODE_CONFIG = TopicMonitorConfig



def qos_matching(publishers: list[TopicEndpointInfo]) -> QoSProfile:
    """A subscription QoS that matches every given publisher and, when they are all latched
    (transient local), also receives what they published before we subscribed."""
    profiles = [p.qos_profile for p in publishers]
    latched = bool(profiles) and all(
        q.durability == DurabilityPolicy.TRANSIENT_LOCAL for q in profiles
    )
    reliable = bool(profiles) and all(q.reliability == ReliabilityPolicy.RELIABLE for q in profiles)
    return QoSProfile(
        depth=10,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def import_message_type(type_name: str) -> type:
    """'nav_msgs/msg/Odometry' -> the Odometry class."""
    pkg, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


class TopicMonitorNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("topic_monitor", **node_kwargs)
        self.cfg: TopicMonitorConfig = declare_config(self, TopicMonitorConfig)
        self.table = RateTable()
        self._subscribed: set[str] = set()
        self.create_timer(self.cfg.discovery_period_s, self._discover)
        if self.cfg.report_period_s > 0:
            self.create_timer(self.cfg.report_period_s, self._print_table)

    def _discover(self) -> None:
        wanted = set(self.cfg.topics) - self._subscribed
        for topic, types in self.get_topic_names_and_types():
            if topic not in wanted or not types:
                continue
            try:
                msg_type = import_message_type(types[0])
            except (ImportError, AttributeError, ValueError) as exc:
                self.get_logger().warning(f"cannot monitor {topic} ({types[0]}): {exc}")
                self._subscribed.add(topic)
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue  # seen through a subscription only: wait for a publisher
            qos = qos_matching(publishers)
            self.table.row(topic, types[0]).latched = (
                qos.durability == DurabilityPolicy.TRANSIENT_LOCAL
            )
            self.create_subscription(
                msg_type, topic, self._counter(topic, types[0]), qos, raw=True
            )
            self._subscribed.add(topic)

    def _counter(self, topic: str, type_name: str):
        def on_message(_raw: bytes) -> None:
            self.table.add(topic, type_name, time.monotonic())

        return on_message

    def _print_table(self) -> None:
        print(self.table.format(), flush=True)

    def report(self) -> None:
        """Print the final table (topics that never flowed show 0) and write the JSON file."""
        for topic in self.cfg.topics:
            if topic not in self.table.rows:
                self.table.row(topic, "(no publisher)")
        print("\nTopics seen by topic_monitor:\n" + self.table.format(), flush=True)
        if self.cfg.report_file:
            path = Path(self.cfg.report_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(self.table.as_dict(), indent=2))
            tmp.replace(path)

    def destroy_node(self) -> None:
        self.report()
        super().destroy_node()


def main(args=None):
    sys.exit(run_node(TopicMonitorNode, "topic_monitor", args))
