"""Test helpers for nodes over real rclpy and DDS, each test on its own ROS domain."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

DOMAIN_IDS = 100  # ids 1..100
KEEP_CLAIMS = 4  # a process keeps its last few ids: a node of a test just ended may linger
_LOCK_DIR = Path(tempfile.gettempdir()) / "hearth-ros-domains"
_next_offset = 0
_claims: deque = deque()  # (domain id, its locked file), oldest first


def pick_domain_id() -> int:
    """A ROS domain id that no other process on this machine holds (tests run in parallel
    processes under ``colcon test``).

    Each id is claimed with an exclusive ``flock`` on a file in the temp dir, held by this
    process until it has claimed ``KEEP_CLAIMS`` newer ones (or exits: the kernel drops the
    lock). Spread by process id, ids could coincide: two packages' tests then heard each
    other's topics (a /slam/pose stamped by another test's clock failed a V-SLAM test)."""
    global _next_offset
    _LOCK_DIR.mkdir(exist_ok=True)
    held = {d for d, _ in _claims}
    for _ in range(DOMAIN_IDS):
        _next_offset += 1
        domain_id = 1 + (os.getpid() * 7 + _next_offset) % DOMAIN_IDS
        if domain_id in held:
            continue
        f = open(_LOCK_DIR / f"{domain_id}.lock", "w")  # noqa: SIM115 (held, not scoped)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process holds it
            f.close()
            continue
        _claims.append((domain_id, f))
        while len(_claims) > KEEP_CLAIMS:
            _claims.popleft()[1].close()  # closing releases the lock
        return domain_id
    raise RuntimeError(f"all {DOMAIN_IDS} ROS domain ids are held by other processes "
                       f"(locks in {_LOCK_DIR})")


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
