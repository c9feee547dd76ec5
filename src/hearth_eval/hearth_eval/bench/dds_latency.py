"""Latency of nav_msgs/Odometry from one process to another over Fast DDS.

A child process publishes Odometry at a fixed rate, stamping each message with the wall clock
just before publishing; this process subscribes and measures arrival minus stamp (both clocks
are the same host clock). Measures the transport the whole stack rides on.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from nav_msgs.msg import Odometry
from rclpy.node import Node

from hearth_common.msg_conversions import ns_to_stamp, stamp_to_ns
from hearth_common.testing import pick_domain_id, ros_context, spin_until
from hearth_eval.bench.stats import summarize_ms

TOPIC = "/bench/odom"


def _publish(rate_hz: float, count: int, domain_id: int) -> None:
    with ros_context(domain_id) as ctx:
        node = Node("bench_publisher", context=ctx)
        pub = node.create_publisher(Odometry, TOPIC, 10)
        # Wait for the subscriber so the first messages are not lost to discovery.
        spin_until([node], lambda: pub.get_subscription_count() > 0, timeout_s=20.0)
        period = 1.0 / rate_hz
        for _ in range(count):
            msg = Odometry()
            msg.header.stamp = ns_to_stamp(time.time_ns())
            pub.publish(msg)
            time.sleep(period)
        node.destroy_node()


def run(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="hearth bench dds", description=__doc__)
    ap.add_argument("--rate-hz", type=float, default=100.0)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--domain-id", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.publish:
        _publish(args.rate_hz, args.count, args.domain_id)
        return {}

    domain_id = pick_domain_id()
    latencies_s: list[float] = []
    with ros_context(domain_id) as ctx:
        node = Node("bench_subscriber", context=ctx)

        def on_odom(msg: Odometry) -> None:
            latencies_s.append((time.time_ns() - stamp_to_ns(msg.header.stamp)) * 1e-9)

        node.create_subscription(Odometry, TOPIC, on_odom, 10)
        child = subprocess.Popen(
            [sys.executable, "-m", "hearth_eval.bench", "dds", "--publish",
             "--rate-hz", str(args.rate_hz), "--count", str(args.count),
             "--domain-id", str(domain_id)],
            env=dict(os.environ),
        )
        expected_s = args.count / args.rate_hz + 30.0
        spin_until([node], lambda: len(latencies_s) >= args.count or child.poll() is not None,
                   timeout_s=expected_s)
        spin_until([node], lambda: len(latencies_s) >= args.count, timeout_s=1.0)
        child.wait(timeout=10)
        node.destroy_node()
    return {
        "bench": "dds",
        "what": "nav_msgs/Odometry latency between two processes over Fast DDS",
        "rmw": os.environ.get("RMW_IMPLEMENTATION", ""),
        "rate_hz": args.rate_hz,
        "received": len(latencies_s),
        "sent": args.count,
        "latency": summarize_ms(latencies_s),
    }

