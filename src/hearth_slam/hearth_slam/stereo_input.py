"""Getting stereo pairs to the front end (ROS-free): image conversion, exact-stamp pairing,
and the tracking thread.

- :func:`mono8_from_fields` turns sensor_msgs/Image fields into an (H, W) uint8 array (a view
  when the rows are contiguous), refusing what it cannot read.
- :class:`StereoPairer` pairs left and right by identical stamps (the driver stamps both
  images of a pair with the capture time), as message_filters' exact-time policy does. An
  image whose partner never comes is dropped once a newer pair completes.
- :class:`LatestPairWorker` runs the front end on its own thread so that callbacks return at
  once: it always takes the newest complete pair; a pair that is overtaken before the thread
  gets to it is dropped (counted), since tracking an old frame late helps no one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MONO8_ENCODINGS = ("mono8", "8UC1")


def mono8_from_fields(encoding: str, height: int, width: int, step: int, data) -> np.ndarray:
    """The image as (height, width) uint8. Raises ``ValueError`` for another encoding or a
    buffer that does not hold ``height`` rows of ``step`` bytes."""
    if encoding not in MONO8_ENCODINGS:
        raise ValueError(f"encoding '{encoding}' (expected mono8)")
    if height < 1 or width < 1 or step < width:
        raise ValueError(f"bad geometry {width}x{height}, step {step}")
    buf = np.frombuffer(memoryview(data), dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.astype(np.uint8, copy=False).ravel()
    if buf.size < height * step:
        raise ValueError(f"{buf.size} bytes for {height} rows of {step}")
    return buf[:height * step].reshape(height, step)[:, :width]


@dataclass(frozen=True)
class StereoPair:
    stamp_ns: int
    left: Any
    right: Any


class StereoPairer:
    """Exact-stamp pairing of left and right messages."""

    def __init__(self, max_pending: int = 10) -> None:
        self._pending: dict[str, dict[int, Any]] = {"left": {}, "right": {}}
        self._max_pending = max_pending
        self.unpaired_dropped = 0

    def add(self, side: str, stamp_ns: int, item: Any) -> StereoPair | None:
        """Add one image; returns the pair it completes (or None)."""
        if side not in self._pending:
            raise ValueError(f"side must be 'left' or 'right', not {side!r}")
        other = "right" if side == "left" else "left"
        partner = self._pending[other].pop(stamp_ns, None)
        if partner is None:
            mine = self._pending[side]
            mine[stamp_ns] = item
            while len(mine) > self._max_pending:
                del mine[min(mine)]
                self.unpaired_dropped += 1
            return None
        for s in ("left", "right"):  # older halves will never be completed now
            stale = [t for t in self._pending[s] if t < stamp_ns]
            for t in stale:
                del self._pending[s][t]
            self.unpaired_dropped += len(stale)
        left, right = (item, partner) if side == "left" else (partner, item)
        return StereoPair(stamp_ns, left, right)


class LatestPairWorker:
    """A thread that calls ``process(pair)`` on the newest submitted pair (see the notes)."""

    def __init__(self, process: Callable[[StereoPair], None],
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self._process = process
        self._on_error = on_error
        self._cond = threading.Condition()
        self._next: StereoPair | None = None
        self._stop = False
        self.dropped = 0
        self.processed = 0
        self._thread = threading.Thread(target=self._run, name="slam-front-end", daemon=True)
        self._thread.start()

    def submit(self, pair: StereoPair) -> None:
        with self._cond:
            if self._next is not None:
                self.dropped += 1
            self._next = pair
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._next is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                pair, self._next = self._next, None
            try:
                self._process(pair)
            except Exception as exc:
                if self._on_error is not None:
                    self._on_error(exc)
            self.processed += 1

    def stop(self, timeout_s: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout_s)
