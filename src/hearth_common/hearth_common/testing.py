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


class Spinner:
    """One executor over ``nodes`` for a whole test, so that work started in one wait (an
    action goal's coroutine, say) goes on in the next. Use as a context manager."""

    def __init__(self, nodes: list[Node]):
        self.executor = SingleThreadedExecutor(context=nodes[0].context)
        self.nodes = list(nodes)
        for n in self.nodes:
            self.executor.add_node(n)

    def until(self, condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        """Spin until ``condition()`` holds or ``timeout_s`` of wall time passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            self.executor.spin_once(timeout_sec=0.02)
        return condition()

    def close(self) -> None:
        for n in self.nodes:
            self.executor.remove_node(n)
        self.executor.shutdown()

    def __enter__(self) -> Spinner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def spin_until(
    nodes: list[Node], condition: Callable[[], bool], timeout_s: float = 10.0
) -> bool:
    """Spin ``nodes`` together until ``condition()`` holds or ``timeout_s`` of wall time passes."""
    with Spinner(nodes) as spinner:
        return spinner.until(condition, timeout_s)
