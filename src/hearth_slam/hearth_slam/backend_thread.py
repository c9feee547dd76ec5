"""The back end off the tracking thread: a queue in, snapshots out (ROS-free).

``BackendThread`` owns a ``Backend`` (and optionally a ``LoopDetector``) and runs them on
its own thread. Tracking calls ``submit_keyframe(KeyframeInput(...))``, which only puts the
keyframe on a bounded queue and returns at once (False, and counted, when the queue is
full: the optimiser has fallen far behind); it reads the latest results with
``snapshot()``, an immutable ``BackendSnapshot`` swapped in under a lock after every batch.
The worker drains everything queued, adds each keyframe to the graph, looks for a loop
with it and adds the loop when the graph accepts it, then publishes one snapshot.

Python threads share the interpreter lock, and GTSAM's bindings hold it while iSAM2 runs:
the worker never blocks the tracking thread on a lock or a queue, but while an update runs
(about 10 ms per keyframe here, see ``backend_bench``) the tracking thread's Python code
runs slower. ``backend_bench.measure`` reports that stall.

Anything else the worker should do with the graph (export the map, answer a relocalization
query) goes through ``call(fn)``: ``fn(backend)`` runs on the worker between keyframes and
its result comes back through a ``concurrent.futures.Future``.
"""

from __future__ import annotations

import math
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hearth_slam.backend import (
    Backend,
    BackendInputError,
    CulledKeyframe,
    KeyframeUpdate,
    LoopDecision,
)
from hearth_slam.loop_closure import LoopDetection, LoopDetector


@dataclass(frozen=True)
class KeyframeInput:
    """What the front end hands the back end for one keyframe (see ``Backend.add_keyframe``
    for the graph's part); ``keypoints_px`` (K, 2) and ``descriptors`` (K, 32) uint8 are
    all the keyframe's ORB features (left image) for place recognition."""

    kf_id: int
    t_s: float
    pose_odom_base: np.ndarray
    landmark_ids: np.ndarray
    stereo_uv: np.ndarray
    new_landmark_ids: np.ndarray | None = None
    new_points_map: np.ndarray | None = None
    new_descriptors: np.ndarray | None = None
    uv_sigma_px: np.ndarray | None = None
    odom_valid: bool = True
    keypoints_px: np.ndarray | None = None
    descriptors: np.ndarray | None = None


@dataclass(frozen=True)
class BackendSnapshot:
    """The back end's results after its latest batch (immutable: safe to read anywhere)."""

    seq: int  # batches done
    latest_kf: int | None
    latest_t_s: float | None
    pose_map_odom: np.ndarray
    keyframe_ids: np.ndarray  # (K,)
    poses_map_base: np.ndarray  # (K, 4, 4)
    landmark_ids: np.ndarray  # (M,)
    landmarks_map: np.ndarray  # (M, 3)
    loops: tuple[tuple[int, int], ...]
    stats: dict
    culled: tuple[CulledKeyframe, ...] = ()  # keyframes culled in this batch (to re-anchor
    # what hangs on them: ToF scans go to the anchor keyframe)
    loops_added: tuple[tuple[int, int], ...] = ()  # loops accepted in this batch
    errors: tuple[str, ...] = ()  # rejected inputs of this batch, one line each
    batch_ms: float = 0.0


@dataclass
class _Call:
    fn: Callable[[Backend], Any]
    future: Future = field(default_factory=Future)


class BackendThread:
    """See the module doc. ``on_snapshot(snapshot)`` (optional) is called on the worker
    after each batch; it must be quick and must not raise (exceptions are counted)."""

    def __init__(self, backend: Backend, loop_detector: LoopDetector | None = None,
                 max_queue: int = 64,
                 on_snapshot: Callable[[BackendSnapshot], None] | None = None) -> None:
        self.backend = backend
        self.loop_detector = loop_detector
        self.on_snapshot = on_snapshot
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self.counts = {"submitted": 0, "dropped_queue_full": 0, "rejected": 0, "errors": 0,
                       "loops_detected": 0, "loops_accepted": 0, "loops_rejected": 0}
        self.loop_decisions: list[tuple[LoopDetection, LoopDecision]] = []
        self.last_error: str = ""
        self._snapshot = self._make_snapshot(0, (), (), (), 0.0)

    # ------------------------------------------------------------------ life

    def start(self) -> BackendThread:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="slam-backend", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish what is queued, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> BackendThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ in

    def submit_keyframe(self, kf: KeyframeInput) -> bool:
        """Queue a keyframe; never blocks. False (counted) when the queue is full."""
        return self._put(kf)

    def call(self, fn: Callable[[Backend], Any]) -> Future:
        """Run ``fn(backend)`` on the worker; its result (or exception) in the future."""
        c = _Call(fn)
        if not self._put(c):
            c.future.set_exception(RuntimeError("the back end's queue is full"))
        return c.future

    def relocalize(self, keypoints_px: np.ndarray, descriptors: np.ndarray) -> Future:
        """Where is the robot? (tracking lost, or fusion says it was lifted): the query
        frame's ORB keypoints (N, 2) and descriptors (N, 32) against the map, on the worker;
        the future gives a ``loop_closure.Relocalization`` or None. Feed the answer back
        with ``call(lambda be: be.set_map_odom(reloc.pose_map_base @ inv(T_odom_base)))``
        and submit the next keyframe with ``odom_valid=False``."""
        det = self.loop_detector
        if det is None:
            f: Future = Future()
            f.set_exception(RuntimeError("no loop detector: relocalization needs one"))
            return f
        kps = np.array(keypoints_px, dtype=float, copy=True)
        desc = np.array(descriptors, dtype=np.uint8, copy=True)
        return self.call(lambda be: det.relocalize(kps, desc, self._landmarks))

    def map_parts(self) -> Future:
        """For ``map_store.build_map``: the future gives (``Backend.export_state()``, the
        keyframes' BoW vectors kf -> (words, weights)), taken on the worker between
        keyframes, so consistent with each other."""
        def take(be: Backend):
            bow = {}
            if self.loop_detector is not None:
                db = self.loop_detector.db
                bow = {k: (db.get(k).words, db.get(k).weights) for k in db.ids()}
            return be.export_state(), bow
        return self.call(take)

    def _landmarks(self, kf_id: int):
        try:
            return self.backend.keyframe_landmarks(kf_id)
        except KeyError:  # culled meanwhile
            return None

    def _put(self, item: object) -> bool:
        try:
            self._idle.clear()
            self._queue.put_nowait(item)
        except queue.Full:
            self.counts["dropped_queue_full"] += 1
            return False
        self.counts["submitted"] += 1
        return True

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Until everything queued is done (tests, evaluation, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.wait(0.01) and self._queue.empty():
                return True
        return False

    # ------------------------------------------------------------------ out

    def snapshot(self) -> BackendSnapshot:
        with self._lock:
            return self._snapshot

    # ------------------------------------------------------------------ the worker

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=0.05)
            except queue.Empty:
                self._idle.set()
                if self._stop.is_set():
                    return
                continue
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._process(batch)
            if self._queue.empty():
                self._idle.set()

    def _process(self, batch: list) -> None:
        tick = time.perf_counter()
        culled: list[CulledKeyframe] = []
        loops: list[tuple[int, int]] = []
        errors: list[str] = []
        for item in batch:
            if isinstance(item, _Call):
                try:
                    item.future.set_result(item.fn(self.backend))
                except Exception as exc:  # the caller gets it through the future
                    item.future.set_exception(exc)
                continue
            try:
                update = self._add(item)
            except BackendInputError as exc:
                self.counts["rejected"] += 1
                errors.append(f"keyframe {item.kf_id}: {exc}")
                continue
            except Exception as exc:  # the worker never dies: count, keep the message
                self.counts["errors"] += 1
                self.last_error = "".join(traceback.format_exception_only(exc)).strip()
                errors.append(f"keyframe {item.kf_id}: {self.last_error}")
                continue
            culled.extend(update.culled)
            loop = self._detect_loop(item)
            if loop is not None:
                loops.append(loop)
        snap = self._make_snapshot(self._snapshot.seq + 1, tuple(culled), tuple(loops),
                                   tuple(errors), (time.perf_counter() - tick) * 1e3)
        with self._lock:
            self._snapshot = snap
        if self.on_snapshot is not None:
            try:
                self.on_snapshot(snap)
            except Exception:
                self.counts["errors"] += 1

    def _add(self, kf: KeyframeInput) -> KeyframeUpdate:
        update = self.backend.add_keyframe(
            kf.kf_id, kf.t_s, kf.pose_odom_base, kf.landmark_ids, kf.stereo_uv,
            kf.new_landmark_ids, kf.new_points_map, kf.new_descriptors, kf.uv_sigma_px,
            kf.odom_valid)
        if self.loop_detector is not None:
            for c in update.culled:
                self.loop_detector.remove_keyframe(c.kf_id)
        return update

    def _detect_loop(self, kf: KeyframeInput) -> tuple[int, int] | None:
        det = self.loop_detector
        if det is None or kf.descriptors is None or kf.keypoints_px is None:
            return None
        found = det.process(kf.kf_id, kf.t_s, kf.keypoints_px, kf.descriptors,
                            self._landmarks)
        if found is None:
            return None
        self.counts["loops_detected"] += 1
        try:
            decision = self.backend.add_loop(found.kf_a, found.kf_b, found.pose_a_b,
                                             found.information)
        except BackendInputError as exc:
            decision = LoopDecision(False, str(exc), math.nan, math.nan, math.nan)
        self.loop_decisions.append((found, decision))
        if decision.accepted:
            self.counts["loops_accepted"] += 1
            return found.kf_a, found.kf_b
        self.counts["loops_rejected"] += 1
        return None

    def _make_snapshot(self, seq: int, culled: tuple, loops: tuple, errors: tuple,
                       ms: float) -> BackendSnapshot:
        be = self.backend
        ids, poses = be.optimized_poses()
        lm_ids, pts = be.landmarks_in_graph()
        latest = be.latest_keyframe
        return BackendSnapshot(
            seq, latest, None if latest is None else be.keyframes[latest].t_s, be.map_odom(),
            ids, poses, lm_ids, pts, tuple(be.loops()),
            {**be.stats(), **self.counts}, culled, loops, errors, ms)
