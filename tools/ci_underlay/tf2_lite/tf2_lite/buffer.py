"""A transform buffer with the behaviour and the Python API of ``tf2_ros.Buffer``.

Importing this module needs neither rclpy nor any message package: times and durations are
taken from anything with ``.nanoseconds`` (``rclpy.time.Time``, ``rclpy.duration.Duration``) or
with ``.sec`` and ``.nanosec`` (``builtin_interfaces`` messages), and transforms from anything
shaped like ``geometry_msgs/TransformStamped``. Only ``lookup_transform`` builds a
``geometry_msgs.msg.TransformStamped`` to return.

Semantics follow tf2's BufferCore:

- Each child frame has one parent per instant; dynamic links keep a time-sorted cache,
  static links (``set_transform_static``) are valid at every time.
- A lookup walks from both frames towards the root and composes the two chains at their
  first common ancestor. ``lookup_transform(target, source, t)`` returns ``T_target_source``
  (header.frame_id = target, child_frame_id = source), which maps source coordinates into
  the target frame.
- Between two buffered stamps translation is interpolated linearly and rotation by slerp;
  if the parent changes between them the older sample is used, as tf2 does.
- Time zero asks for the latest common time: the oldest of the newest stamps over the
  dynamic links of the chain (zero when the chain is all static).
- Asking before the oldest or after the newest buffered stamp of a link raises
  ``ExtrapolationException``; unknown frames raise ``LookupException``; frames in separate
  trees raise ``ConnectivityException``; empty frame ids or ids starting with '/' raise
  ``InvalidArgumentException``.
- Data older than the newest stamp of its link minus ``cache_time`` is rejected, and each
  insertion prunes entries older than that; the newest entry always stays.
- Rejected input (NaN, denormalised quaternion, self transform, empty ids) is logged and
  dropped, never raised, as tf2 does. A sample with a stamp already in the cache replaces it.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time as _wall
from dataclasses import dataclass
from typing import Any

from tf2_lite.exceptions import (
    ConnectivityException,
    ExtrapolationException,
    InvalidArgumentException,
    LookupException,
    TransformException,
)
from tf2_lite.maths import IDENTITY, Transform, compose, interpolate, invert, quat_normalize

_LOG = logging.getLogger("tf2_lite")

NS_PER_S = 1_000_000_000
DEFAULT_CACHE_TIME_NS = 10 * NS_PER_S
MAX_GRAPH_DEPTH = 1000


def to_nanoseconds(value: Any, what: str = "time") -> int:
    """Integer nanoseconds of an rclpy Time/Duration or a builtin_interfaces Time/Duration."""
    ns = getattr(value, "nanoseconds", None)
    if ns is not None:
        return int(ns)
    if hasattr(value, "sec") and hasattr(value, "nanosec"):
        return int(value.sec) * NS_PER_S + int(value.nanosec)
    raise TypeError(
        f"{what} must be an rclpy Time/Duration or a builtin_interfaces Time/Duration, "
        f"not {type(value).__name__}"
    )


def _fmt(t_ns: int) -> str:
    return f"{t_ns / NS_PER_S:.9f}"


@dataclass(frozen=True, slots=True)
class _Entry:
    stamp_ns: int
    parent: str
    transform: Transform


class _TimeCache:
    """Time-sorted samples of one child frame's link to its parent(s)."""

    def __init__(self, max_storage_ns: int) -> None:
        self._max_storage_ns = max_storage_ns
        self._stamps: list[int] = []
        self._entries: list[_Entry] = []

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def newest(self) -> _Entry:
        return self._entries[-1]

    @property
    def oldest(self) -> _Entry:
        return self._entries[0]

    def insert(self, entry: _Entry) -> bool:
        if self._stamps and entry.stamp_ns < self._stamps[-1] - self._max_storage_ns:
            return False  # older than the cache keeps: tf2's TF_OLD_DATA
        i = bisect.bisect_left(self._stamps, entry.stamp_ns)
        if i < len(self._stamps) and self._stamps[i] == entry.stamp_ns:
            self._entries[i] = entry
        else:
            self._stamps.insert(i, entry.stamp_ns)
            self._entries.insert(i, entry)
        cutoff = self._stamps[-1] - self._max_storage_ns
        k = bisect.bisect_left(self._stamps, cutoff)
        if k:
            del self._stamps[:k]
            del self._entries[:k]
        return True

    def at(self, t_ns: int, child: str) -> _Entry:
        """The link at ``t_ns`` (0 = newest), interpolated; raises ExtrapolationException."""
        if t_ns == 0:
            return self._entries[-1]
        link = f"when looking up transform from frame [{child}] to frame [{self.newest.parent}]"
        if len(self._entries) == 1:
            only = self._entries[0]
            if only.stamp_ns == t_ns:
                return only
            raise ExtrapolationException(
                f"Lookup would require extrapolation at time {_fmt(t_ns)}, but only time "
                f"{_fmt(only.stamp_ns)} is in the buffer, {link}"
            )
        if t_ns < self._stamps[0]:
            raise ExtrapolationException(
                f"Lookup would require extrapolation into the past.  Requested time "
                f"{_fmt(t_ns)} but the earliest data is at time {_fmt(self._stamps[0])}, {link}"
            )
        if t_ns > self._stamps[-1]:
            raise ExtrapolationException(
                f"Lookup would require extrapolation into the future.  Requested time "
                f"{_fmt(t_ns)} but the latest data is at time {_fmt(self._stamps[-1])}, {link}"
            )
        i = bisect.bisect_left(self._stamps, t_ns)
        if self._stamps[i] == t_ns:
            return self._entries[i]
        before, after = self._entries[i - 1], self._entries[i]
        if before.parent != after.parent:
            return before  # no interpolation across a change of parent (as tf2)
        ratio = (t_ns - before.stamp_ns) / (after.stamp_ns - before.stamp_ns)
        return _Entry(t_ns, before.parent, interpolate(before.transform, after.transform, ratio))

    def clear(self) -> None:
        self._stamps.clear()
        self._entries.clear()


def _strip_slash(frame_id: str) -> str:
    return frame_id[1:] if frame_id.startswith("/") else frame_id


class Buffer:
    """``tf2_ros.Buffer`` stand-in: stores transforms and answers lookups, thread-safe.

    ``cache_time`` is an rclpy Duration (or builtin_interfaces Duration); default 10 s.
    ``node`` is accepted for signature compatibility and otherwise unused: lookup timeouts
    are measured in wall time.
    """

    def __init__(self, cache_time: Any = None, node: Any = None) -> None:
        self.cache_time_ns = (
            DEFAULT_CACHE_TIME_NS
            if cache_time is None
            else to_nanoseconds(cache_time, "cache_time")
        )
        if self.cache_time_ns <= 0:
            raise ValueError("cache_time must be positive")
        self._node = node
        self._cond = threading.Condition(threading.RLock())
        self._dynamic: dict[str, _TimeCache] = {}
        self._static: dict[str, _Entry] = {}
        self._known: set[str] = set()

    # ---- input --------------------------------------------------------------------------

    def set_transform(self, transform: Any, authority: str) -> bool:
        """Add a dynamic transform (a geometry_msgs/TransformStamped). False if rejected."""
        return self._set(transform, authority, is_static=False)

    def set_transform_static(self, transform: Any, authority: str) -> bool:
        """Add a static transform, valid at all times. False if rejected."""
        return self._set(transform, authority, is_static=True)

    def _set(self, msg: Any, authority: str, is_static: bool) -> bool:
        child = _strip_slash(msg.child_frame_id)
        parent = _strip_slash(msg.header.frame_id)
        tr = msg.transform
        t = (float(tr.translation.x), float(tr.translation.y), float(tr.translation.z))
        q = (float(tr.rotation.x), float(tr.rotation.y), float(tr.rotation.z), float(tr.rotation.w))
        stamp_ns = to_nanoseconds(msg.header.stamp, "header.stamp")
        problem = None
        if not child:
            problem = "TF_NO_CHILD_FRAME_ID: child_frame_id is empty"
        elif not parent:
            problem = "TF_NO_FRAME_ID: header.frame_id is empty"
        elif child == parent:
            problem = f"TF_SELF_TRANSFORM: frame_id and child_frame_id are both '{child}'"
        elif not all(math.isfinite(v) for v in (*t, *q)):
            problem = "TF_NAN_INPUT: the transform contains NaN or Inf"
        elif abs(sum(v * v for v in q) - 1.0) > 1e-5:
            problem = "TF_DENORMALIZED_QUATERNION: the rotation is not a unit quaternion"
        if problem is not None:
            _LOG.error("Ignoring transform %s -> %s from %s: %s", parent, child, authority, problem)
            return False
        entry = _Entry(0 if is_static else stamp_ns, parent, (t, quat_normalize(q)))
        with self._cond:
            if is_static:
                self._static[child] = entry
                self._dynamic.pop(child, None)
            else:
                self._static.pop(child, None)
                cache = self._dynamic.get(child)
                if cache is None:
                    cache = self._dynamic[child] = _TimeCache(self.cache_time_ns)
                if not cache.insert(entry):
                    _LOG.warning(
                        "TF_OLD_DATA ignoring data from the past for frame %s at time %s "
                        "(authority %s): older than the cache time",
                        child,
                        _fmt(stamp_ns),
                        authority,
                    )
                    return False
            self._known.add(child)
            self._known.add(parent)
            self._cond.notify_all()
        return True

    def clear(self) -> None:
        """Forget every dynamic transform (static ones stay, as in tf2)."""
        with self._cond:
            for cache in self._dynamic.values():
                cache.clear()
            self._dynamic.clear()

    # ---- queries ------------------------------------------------------------------------

    def lookup_transform(
        self, target_frame: str, source_frame: str, time: Any, timeout: Any = None
    ) -> Any:
        """``T_target_source`` at ``time`` as a geometry_msgs/TransformStamped.

        ``time`` zero (``rclpy.time.Time()``) means the latest common time. With a positive
        ``timeout`` this first waits (wall time) for the transform to become available.
        """
        if timeout is not None and to_nanoseconds(timeout, "timeout") > 0:
            self.can_transform(target_frame, source_frame, time, timeout)
        t_ns = to_nanoseconds(time)
        with self._cond:
            transform, used_ns = self._resolve(target_frame, source_frame, t_ns)
        return _to_msg(target_frame, source_frame, used_ns, transform)

    def lookup_transform_full(
        self,
        target_frame: str,
        target_time: Any,
        source_frame: str,
        source_time: Any,
        fixed_frame: str,
        timeout: Any = None,
    ) -> Any:
        """Transform from ``source_frame`` at ``source_time`` to ``target_frame`` at
        ``target_time``, going through ``fixed_frame`` (assumed not to move)."""
        if timeout is not None and to_nanoseconds(timeout, "timeout") > 0:
            self.can_transform(fixed_frame, source_frame, source_time, timeout)
            self.can_transform(target_frame, fixed_frame, target_time, timeout)
        with self._cond:
            fixed_source, _ = self._resolve(fixed_frame, source_frame, to_nanoseconds(source_time))
            target_fixed, used_ns = self._resolve(
                target_frame, fixed_frame, to_nanoseconds(target_time)
            )
        return _to_msg(target_frame, source_frame, used_ns, compose(target_fixed, fixed_source))

    def can_transform(
        self,
        target_frame: str,
        source_frame: str,
        time: Any,
        timeout: Any = None,
        return_debug_tuple: bool = False,
    ) -> bool | tuple[bool, str]:
        """Whether ``lookup_transform`` would succeed, waiting up to ``timeout`` for it."""
        t_ns = to_nanoseconds(time)
        timeout_ns = 0 if timeout is None else to_nanoseconds(timeout, "timeout")
        deadline = _wall.monotonic() + timeout_ns / NS_PER_S
        ok, error = False, ""
        with self._cond:
            while True:
                try:
                    self._resolve(target_frame, source_frame, t_ns)
                    ok, error = True, ""
                    break
                except TransformException as exc:
                    ok, error = False, str(exc)
                remaining = deadline - _wall.monotonic()
                if remaining <= 0.0:
                    break
                self._cond.wait(remaining)
        return (ok, error) if return_debug_tuple else ok

    def all_frames(self) -> list[str]:
        """Every frame id the buffer has seen, as a child or as a parent."""
        with self._cond:
            return sorted(self._known)

    # ---- the tree walk ------------------------------------------------------------------

    def _validate(self, frame: str, argument: str) -> None:
        if not frame:
            raise InvalidArgumentException(
                f"Invalid argument passed to lookupTransform argument {argument} in tf2 "
                "frame_ids cannot be empty"
            )
        if frame.startswith("/"):
            raise InvalidArgumentException(
                f'Invalid argument "{frame}" passed to lookupTransform argument {argument} - '
                "in tf2 frame_ids cannot start with a '/'"
            )
        if frame not in self._known:
            raise LookupException(
                f'"{frame}" passed to lookupTransform argument {argument} does not exist. '
            )

    def _link(self, frame: str, t_ns: int) -> _Entry | None:
        """The link from ``frame`` to its parent at ``t_ns``; None at a root."""
        entry = self._static.get(frame)
        if entry is not None:
            return entry
        cache = self._dynamic.get(frame)
        if cache is None or not len(cache):
            return None
        return cache.at(t_ns, frame)

    def _latest_link(self, frame: str) -> _Entry | None:
        entry = self._static.get(frame)
        if entry is not None:
            return entry
        cache = self._dynamic.get(frame)
        if cache is None or not len(cache):
            return None
        return cache.newest

    def _walk(
        self, frame: str, t_ns: int | None
    ) -> tuple[list[str], list[_Entry], Exception | None]:
        """Frames from ``frame`` up to its root and the links between them.

        ``t_ns`` None walks the newest links. Stops early (returning the error) where a link
        cannot be evaluated at ``t_ns``.
        """
        frames, links = [frame], []
        while True:
            try:
                entry = self._latest_link(frame) if t_ns is None else self._link(frame, t_ns)
            except ExtrapolationException as exc:
                return frames, links, exc
            if entry is None:
                return frames, links, None
            links.append(entry)
            frame = entry.parent
            frames.append(frame)
            if len(frames) > MAX_GRAPH_DEPTH:
                raise TransformException("The tf tree is invalid because it contains a loop.")

    @staticmethod
    def _meet(src: list[str], tgt: list[str]) -> tuple[int, int] | None:
        where = {f: j for j, f in enumerate(tgt)}
        for i, f in enumerate(src):
            if f in where:
                return i, where[f]
        return None

    def _not_connected(self, target: str, source: str) -> ConnectivityException:
        return ConnectivityException(
            f"Could not find a connection between '{target}' and '{source}' because they are "
            "not part of the same tree.Tf has two or more unconnected trees."
        )

    def _latest_common_time(self, target: str, source: str) -> int:
        src_frames, src_links, _ = self._walk(source, None)
        tgt_frames, tgt_links, _ = self._walk(target, None)
        meet = self._meet(src_frames, tgt_frames)
        if meet is None:
            raise self._not_connected(target, source)
        i, j = meet
        stamps = [e.stamp_ns for e in src_links[:i] + tgt_links[:j] if e.stamp_ns != 0]
        return min(stamps) if stamps else 0

    def _resolve(self, target: str, source: str, t_ns: int) -> tuple[Transform, int]:
        """``T_target_source`` at ``t_ns`` (0 = latest common time) and the time used."""
        self._validate(target, "target_frame")
        self._validate(source, "source_frame")
        if target == source:
            if t_ns == 0:
                cache = self._dynamic.get(source)
                t_ns = cache.newest.stamp_ns if cache is not None and len(cache) else 0
            return IDENTITY, t_ns
        if t_ns == 0:
            t_ns = self._latest_common_time(target, source)
        src_frames, src_links, src_err = self._walk(source, t_ns)
        tgt_frames, tgt_links, tgt_err = self._walk(target, t_ns)
        meet = self._meet(src_frames, tgt_frames)
        if meet is None:
            err = src_err or tgt_err
            if err is not None:
                raise err
            raise self._not_connected(target, source)
        i, j = meet
        ancestor_source = IDENTITY
        for entry in src_links[:i]:
            ancestor_source = compose(entry.transform, ancestor_source)
        ancestor_target = IDENTITY
        for entry in tgt_links[:j]:
            ancestor_target = compose(entry.transform, ancestor_target)
        return compose(invert(ancestor_target), ancestor_source), t_ns


def _to_msg(target: str, source: str, t_ns: int, transform: Transform) -> Any:
    from geometry_msgs.msg import TransformStamped  # message package only, no rclpy

    (x, y, z), (qx, qy, qz, qw) = transform
    msg = TransformStamped()
    msg.header.frame_id = target
    msg.header.stamp.sec = t_ns // NS_PER_S
    msg.header.stamp.nanosec = t_ns % NS_PER_S
    msg.child_frame_id = source
    msg.transform.translation.x = x
    msg.transform.translation.y = y
    msg.transform.translation.z = z
    msg.transform.rotation.x = qx
    msg.transform.rotation.y = qy
    msg.transform.rotation.z = qz
    msg.transform.rotation.w = qw
    return msg
