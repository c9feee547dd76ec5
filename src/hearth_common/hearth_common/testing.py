"""Test helpers for nodes over real rclpy and DDS, each test on its own ROS domain."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

_next_offset = 0


def pick_domain_id() -> int:
    """A ROS domain id unlikely to be shared with tests running in parallel processes.

    Ids 1..100 are spread by process id; successive calls within a process step through them.
    """
    global _next_offset
    _next_offset += 1
    return 1 + (os.getpid() * 7 + _next_offset) % 100


@contextmanager
def ros_context(domain_id: int | None = None) -> Iterator[Context]:
    """An initialised rclpy context on an isolated domain, shut down on exit."""
    ctx = Context()
    rclpy.init(context=ctx, domain_id=pick_domain_id() if domain_id is None else domain_id)
    try:
        yield ctx
    finally:
        ctx.try_shutdown()


def spin_until(
    nodes: list[Node], condition: Callable[[], bool], timeout_s: float = 10.0
) -> bool:
    """Spin ``nodes`` together until ``condition()`` holds or ``timeout_s`` of wall time passes."""
    executor = SingleThreadedExecutor(context=nodes[0].context)
    for n in nodes:
        executor.add_node(n)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if condition():
                return True
            executor.spin_once(timeout_sec=0.02)
        return condition()
    finally:
        for n in nodes:
            executor.remove_node(n)
        executor.shutdown()
