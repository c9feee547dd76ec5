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

**Relocalization** (``start_relocalization``, queued in order with the keyframes). Each
keyframe that follows is first located in the map as it was when relocalization started
(``LoopDetector.relocalize``: BoW candidates, PnP-RANSAC with ``reloc_min_inliers``):

- *tracking lost, odometry intact* (darkness, a blank wall): keyframes go on into the graph
  on the odometry; a located keyframe gets a loop factor to the keyframe it matched, which
  the graph gates against the odometry's drift like any loop (``Backend.add_loop``).
- *odometry broken* (the robot lifted and put down, a new session on a loaded map): the
  robot could be anywhere, so keyframes are **held** out of the graph until
  ``reloc_confirmations`` consecutive located keyframes agree on map->odom (a single PnP
  could be a coincidence, and across a break nothing else would catch it). The confirming
  keyframe enters with ``set_map_odom`` as its first guess, an odometry break, and the loop
  factor. The landmarks that held keyframes created are kept aside (``orphans``) and enter
  with the first keyframe that observes them again.

Until then the snapshot says ``localized=False``; ``relocalized`` lists the events.
"""

from __future__ import annotations

import math
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hearth_slam import se3
from hearth_slam.backend import (
    Backend,
    BackendInputError,
    CulledKeyframe,
    KeyframeUpdate,
    LoopDecision,
)
from hearth_slam.loop_closure import LoopDetection, LoopDetector, Relocalization

MAX_ORPHANS = 20000  # landmarks of held keyframes kept aside (descriptors: 32 B each)


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
class Relocalized:
    """A keyframe located in the map after tracking was lost or the odometry broke."""

    kf_id: int  # the keyframe that was located (now in the graph)
    matched_kf: int  # the map's keyframe it matched
    t_s: float
    inliers: int
    odometry_broken: bool
    pose_map_base: np.ndarray  # (4, 4) where PnP put it


@dataclass(frozen=True)
class RelocalizationParams:
    confirmations: int = 2  # consecutive located keyframes that must agree after a break
    agree_m: float = 0.15  # ... on map->odom within this (plus 2 % of the path between them)
    agree_rad: float = math.radians(5.0)
    give_up_after: int = 30  # queries after a loss with intact odometry (loops take over)

    def __post_init__(self) -> None:
        if self.confirmations < 1 or not (self.agree_m > 0.0 and self.agree_rad > 0.0):
            raise ValueError("RelocalizationParams: confirmations >= 1, agree_m, agree_rad > 0")


@dataclass(frozen=True)
class _StartRelocalization:
    odometry_broken: bool


@dataclass(frozen=True)
class BackendSnapshot:
    """The back end's results after its latest batch (immutable: safe to read anywhere)."""

    seq: int  # batches done
    latest_kf: int | None
    latest_t_s: float | None
    pose_map_odom: np.ndarray
    keyframe_ids: np.ndarray  # (K,)
    poses_map_base: np.ndarray  # (K, 4, 4)
    landmark_ids: np.ndarray  # (M,) (refreshed at most every landmarks_period_s)
    landmarks_map: np.ndarray  # (M, 3)
    loops: tuple[tuple[int, int], ...]
    stats: dict
    culled: tuple[CulledKeyframe, ...] = ()  # keyframes culled in this batch (to re-anchor
    # what hangs on them: ToF scans go to the anchor keyframe)
    loops_added: tuple[tuple[int, int], ...] = ()  # loops accepted in this batch
    errors: tuple[str, ...] = ()  # rejected inputs of this batch, one line each
    batch_ms: float = 0.0
    localized: bool = True  # False while relocalizing after an odometry break
    relocalizing: bool = False  # a relocalization is under way (tracking lost or a break)
    relocalized: tuple[Relocalized, ...] = ()  # in this batch
    held: tuple[int, ...] = ()  # keyframes of this batch held out of the graph (not located)
    latest_covariance: np.ndarray | None = None  # (6, 6) marginal of latest_kf (or, within
    # covariance_period_s of the last one taken, of an earlier keyframe), GTSAM order


@dataclass
class _Call:
    fn: Callable[[Backend], Any]
    future: Future = field(default_factory=Future)


class BackendThread:
    """See the module doc. ``on_snapshot(snapshot)`` (optional) is called on the worker
    after each batch; it must be quick and must not raise (exceptions are counted)."""

    def __init__(self, backend: Backend, loop_detector: LoopDetector | None = None,
                 max_queue: int = 64,
                 on_snapshot: Callable[[BackendSnapshot], None] | None = None,
                 reloc_params: RelocalizationParams | None = None,
                 landmarks_period_s: float = 1.0, covariance_period_s: float = 1.0) -> None:
        self.backend = backend
        self.landmarks_period_s = landmarks_period_s
        self._landmarks_taken = (-math.inf, np.zeros(0, np.int64), np.zeros((0, 3)))
        self.covariance_period_s = covariance_period_s
        self._covariance: tuple = (None, None, -math.inf)  # (key, marginal, taken at)
        self.loop_detector = loop_detector
        self.on_snapshot = on_snapshot
        self.reloc_params = reloc_params or RelocalizationParams()
        # relocalization state (worker only): None, or (odometry broken, newest map keyframe
        # to match against), the candidate awaiting confirmation, landmarks of held keyframes
        self._reloc: tuple[bool, int | None] | None = None
        self._reloc_candidate: tuple[np.ndarray, np.ndarray, int] | None = None
        self._orphans: dict[int, np.ndarray] = {}
        self._reloc_queries = 0
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._done = threading.Condition()  # guards _unfinished
        self._unfinished = 0  # items submitted and not yet done (their snapshot out)
        self._thread: threading.Thread | None = None
        self.counts = {"submitted": 0, "dropped_queue_full": 0, "rejected": 0, "errors": 0,
                       "loops_detected": 0, "loops_accepted": 0, "loops_rejected": 0,
                       "reloc_queries": 0, "reloc_found": 0, "relocalized": 0,
                       "reloc_rejected": 0, "held": 0, "loop_queries_skipped": 0,
                       "loop_refinements": 0}
        self.loop_decisions: list[tuple[LoopDetection, LoopDecision]] = []
        self.last_error: str = ""
        self._snapshot = self._make_snapshot(0, (), (), (), 0.0, (), ())

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

    def start_relocalization(self, odometry_broken: bool) -> bool:
        """Locate the next keyframes in the map (see the module doc): ``odometry_broken``
        after a lift or at the start of a session on a loaded map (keyframes are held until
        located), else after tracking was lost (keyframes go on, on the odometry). Queued in
        order with the keyframes; never blocks (False when the queue is full)."""
        return self._put(_StartRelocalization(bool(odometry_broken)))

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
        with self._done:
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self.counts["dropped_queue_full"] += 1
                return False
            self._unfinished += 1
        self.counts["submitted"] += 1
        return True

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Until everything queued is done and its snapshot is out (tests, evaluation,
        shutdown); False after ``timeout_s``."""
        with self._done:
            return self._done.wait_for(lambda: self._unfinished == 0, timeout_s)

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
                if self._stop.is_set():
                    return
                continue
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._process(batch)
            finally:
                with self._done:
                    self._unfinished -= len(batch)
                    self._done.notify_all()

    def _process(self, batch: list) -> None:
        tick = time.perf_counter()
        culled: list[CulledKeyframe] = []
        loops: list[tuple[int, int]] = []
        errors: list[str] = []
        relocalized: list[Relocalized] = []
        held: list[int] = []

        def publish() -> None:
            nonlocal tick
            snap = self._make_snapshot(self._snapshot.seq + 1, tuple(culled), tuple(loops),
                                       tuple(errors), (time.perf_counter() - tick) * 1e3,
                                       tuple(relocalized), tuple(held))
            with self._lock:
                self._snapshot = snap
            if self.on_snapshot is not None:
                try:
                    self.on_snapshot(snap)
                except Exception:
                    self.counts["errors"] += 1
            for done in (culled, loops, errors, relocalized, held):
                done.clear()
            tick = time.perf_counter()

        for item in batch:
            if isinstance(item, _Call):
                try:
                    item.future.set_result(item.fn(self.backend))
                except Exception as exc:  # the caller gets it through the future
                    item.future.set_exception(exc)
                continue
            if isinstance(item, _StartRelocalization):
                self._begin_relocalization(item.odometry_broken)
                continue
            try:
                reloc = self._locate(item)
                if self._reloc is not None and self._reloc[0] and not self._confirmed(
                        item, reloc):
                    self._hold(item)
                    held.append(item.kf_id)
                    continue
                if reloc is not None and self._reloc is not None and self._reloc[0]:
                    self.backend.set_map_odom(reloc.pose_map_base
                                              @ se3.inverse(np.asarray(item.pose_odom_base)))
                    item = replace(item, odom_valid=False)
                update = self._add(self._adopt_orphans(item))
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
            event = self._relocalized(item, reloc) if reloc is not None else None
            if event is not None:
                relocalized.append(event)
                loops.append((event.matched_kf, event.kf_id))
                self._remember(item)
            else:
                loop = self._detect_loop(item, update)
                if loop is not None:
                    loops.append(loop)
            if loops and self.loop_decisions and self.loop_decisions[-1][1].refine_iterations:
                # a large correction: map->odom goes out after the loop's first iteration,
                # then again once the remaining ones have converged
                publish()
                self._refine()
        publish()

    def _refine(self) -> None:
        found, decision = self.loop_decisions[-1]
        ms = self.backend.refine(decision.refine_iterations)
        self.loop_decisions[-1] = (found, replace(decision, refine_iterations=0, refine_ms=ms))
        self.counts["loop_refinements"] += 1

    def _add(self, kf: KeyframeInput) -> KeyframeUpdate:
        # while relocalizing every keyframe enters the graph: a located one gets a loop
        update = self.backend.add_keyframe(
            kf.kf_id, kf.t_s, kf.pose_odom_base, kf.landmark_ids, kf.stereo_uv,
            kf.new_landmark_ids, kf.new_points_map, kf.new_descriptors, kf.uv_sigma_px,
            kf.odom_valid, may_skip=self._reloc is None)
        if self.loop_detector is not None:
            for c in update.culled:
                self.loop_detector.remove_keyframe(c.kf_id)
        return update

    # ------------------------------------------------------------------ relocalization

    def _begin_relocalization(self, odometry_broken: bool) -> None:
        if self.loop_detector is None:
            return  # nothing to locate with: the graph goes on on the odometry
        broken = odometry_broken or (self._reloc is not None and self._reloc[0])
        newest = self.backend.latest_keyframe
        if self._reloc is not None:  # already under way: keep matching the older map
            newest = self._reloc[1]
        self._reloc = (broken, newest)
        self._reloc_candidate = None
        self._reloc_queries = 0

    def _locate(self, kf: KeyframeInput) -> Relocalization | None:
        det = self.loop_detector
        if self._reloc is None or det is None or kf.descriptors is None \
                or kf.keypoints_px is None or self._reloc[1] is None:
            return None
        self.counts["reloc_queries"] += 1
        self._reloc_queries += 1
        if not self._reloc[0] and self._reloc_queries > self.reloc_params.give_up_after:
            self._reloc = None  # new ground after the loss: ordinary loop closure takes over
            return None
        found = det.relocalize(kf.keypoints_px, kf.descriptors, self._landmarks,
                               max_kf_id=self._reloc[1])
        if found is not None:
            self.counts["reloc_found"] += 1
        return found

    def _confirmed(self, kf: KeyframeInput, reloc: Relocalization | None) -> bool:
        """After a break: do ``confirmations`` consecutive located keyframes agree on where
        odometry's origin lies in the map?"""
        if reloc is None:
            self._reloc_candidate = None
            return False
        p = self.reloc_params
        T_odom_base = np.asarray(kf.pose_odom_base, dtype=float)
        map_odom = reloc.pose_map_base @ se3.inverse(T_odom_base)
        previous = self._reloc_candidate
        count = 1
        if previous is not None:
            prev_map_odom, prev_odom_base, prev_count = previous
            travelled = float(np.linalg.norm((se3.inverse(prev_odom_base) @ T_odom_base)[:3, 3]))
            diff = se3.inverse(prev_map_odom) @ map_odom
            if (np.linalg.norm(diff[:2, 3]) <= p.agree_m + 0.02 * travelled
                    and se3.rotation_angle_rad(diff) <= p.agree_rad):
                count = prev_count + 1
            else:
                self.counts["reloc_rejected"] += 1
        self._reloc_candidate = (map_odom, T_odom_base, count)
        return count >= p.confirmations

    def _relocalized(self, kf: KeyframeInput, reloc: Relocalization) -> Relocalized | None:
        """The located keyframe is in the graph: tie it to the keyframe it matched."""
        assert self._reloc is not None and self.loop_detector is not None
        broken = self._reloc[0]
        be = self.backend
        info = self.loop_detector.information(reloc.inliers)
        pose_a_b = np.eye(4)
        try:
            pose_a_b = se3.inverse(be.pose(reloc.kf_id)) @ reloc.pose_map_base
            decision = be.add_loop(reloc.kf_id, kf.kf_id, pose_a_b, info, refine=False)
        except (BackendInputError, KeyError) as exc:  # the matched keyframe was culled
            decision = LoopDecision(False, str(exc), math.nan, math.nan, math.nan)
        self.loop_decisions.append(
            (LoopDetection(reloc.kf_id, kf.kf_id, pose_a_b, info, reloc.inliers, 0.0), decision))
        if not decision.accepted:
            self.counts["reloc_rejected"] += 1
            return None
        self._reloc = None
        self._reloc_candidate = None
        self.counts["relocalized"] += 1
        return Relocalized(kf.kf_id, reloc.kf_id, kf.t_s, reloc.inliers, broken,
                           reloc.pose_map_base.copy())

    def _remember(self, kf: KeyframeInput) -> None:
        """A keyframe that relocalized goes into the place database without a loop query."""
        det = self.loop_detector
        if det is not None and kf.descriptors is not None:
            det.add_keyframe(kf.kf_id, kf.t_s, kf.descriptors)

    def _hold(self, kf: KeyframeInput) -> None:
        """Keep a keyframe that could not be located out of the graph; keep its new
        landmarks' descriptors for the keyframe that will see them again."""
        self.counts["held"] += 1
        if kf.new_landmark_ids is None or kf.new_descriptors is None:
            return
        for j, d in zip(np.asarray(kf.new_landmark_ids).tolist(),
                        np.asarray(kf.new_descriptors, dtype=np.uint8), strict=True):
            self._orphans[int(j)] = d.copy()
        while len(self._orphans) > MAX_ORPHANS:
            del self._orphans[next(iter(self._orphans))]

    def _adopt_orphans(self, kf: KeyframeInput) -> KeyframeInput:
        """Observations of landmarks born in held keyframes become new landmarks here."""
        if not self._orphans:
            return kf
        ids = np.asarray(kf.landmark_ids, dtype=np.int64).reshape(-1)
        known = self.backend.landmarks
        adopt = [j for j in ids.tolist() if j in self._orphans and j not in known]
        if not adopt:
            return kf
        new_ids = (np.zeros(0, np.int64) if kf.new_landmark_ids is None
                   else np.asarray(kf.new_landmark_ids, dtype=np.int64).reshape(-1))
        new_desc = (np.zeros((len(new_ids), 32), np.uint8) if kf.new_descriptors is None
                    else np.asarray(kf.new_descriptors, dtype=np.uint8).reshape(-1, 32))
        extra = np.array([self._orphans.pop(j) for j in adopt], dtype=np.uint8).reshape(-1, 32)
        return replace(kf, new_landmark_ids=np.concatenate([new_ids, np.array(adopt, np.int64)]),
                       new_descriptors=np.vstack([new_desc, extra]), new_points_map=None)

    # ------------------------------------------------------------------ loops

    def _detect_loop(self, kf: KeyframeInput, update: KeyframeUpdate) -> tuple[int, int] | None:
        det = self.loop_detector
        if det is None or kf.descriptors is None or kf.keypoints_px is None or update.skipped:
            return None  # a keyframe not added (a place already mapped) is no place to return to
        if update.landmarks_fused >= self.backend.p.fuse_min_matches:
            det.skip(kf.kf_id, kf.t_s, kf.descriptors)  # already tied to the map
            self.counts["loop_queries_skipped"] += 1
            return None
        found = det.process(kf.kf_id, kf.t_s, kf.keypoints_px, kf.descriptors,
                            self._landmarks)
        if found is None:
            return None
        self.counts["loops_detected"] += 1
        try:
            decision = self.backend.add_loop(found.kf_a, found.kf_b, found.pose_a_b,
                                             found.information, refine=False)
        except BackendInputError as exc:
            decision = LoopDecision(False, str(exc), math.nan, math.nan, math.nan)
        self.loop_decisions.append((found, decision))
        if decision.accepted:
            self.counts["loops_accepted"] += 1
            return found.kf_a, found.kf_b
        self.counts["loops_rejected"] += 1
        return None

    def _make_snapshot(self, seq: int, culled: tuple, loops: tuple, errors: tuple,
                       ms: float, relocalized: tuple, held: tuple) -> BackendSnapshot:
        be = self.backend
        ids, poses = be.optimized_poses()
        # the landmarks (for rviz) at most every landmarks_period_s: a full estimate of the
        # map costs more than a keyframe's update
        taken, lm_ids, pts = self._landmarks_taken
        now = time.monotonic()
        if now - taken >= self.landmarks_period_s:
            lm_ids, pts = be.landmarks_in_graph()
            self._landmarks_taken = (now, lm_ids, pts)
        latest = be.latest_keyframe
        cov = None
        if latest is not None and seq > 0:
            # only when the graph changed, and at most every covariance_period_s: a marginal
            # costs 20-200 ms on a big graph (GTSAM holds the interpreter lock meanwhile);
            # in between, the previous keyframe's (the odometry's drift since is added later)
            key, last_cov, taken_at = self._covariance
            now = time.monotonic()
            if key == (latest, be.version) or (last_cov is not None
                                                and now - taken_at < self.covariance_period_s):
                cov = last_cov
            else:
                try:
                    cov = be.marginal_covariance(latest)
                except (KeyError, RuntimeError):
                    cov = None
                self._covariance = ((latest, be.version), cov, now)
        return BackendSnapshot(
            seq, latest, None if latest is None else be.keyframes[latest].t_s, be.map_odom(),
            ids, poses, lm_ids, pts, tuple(be.loops()),
            {**be.stats(), **self.counts}, culled, loops, errors, ms,
            localized=not (self._reloc is not None and self._reloc[0]),
            relocalizing=self._reloc is not None, relocalized=relocalized, held=held,
            latest_covariance=cov)
