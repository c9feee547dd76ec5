"""hearth's V-SLAM as one object: stereo pairs and odometry in, map->odom and a map out
(ROS-free). The node (``slam_node``) and the evaluation (``hearth eval slam``) both drive it.

``SlamSystem.process_stereo(t_s, left, right, pose_odom_base)``, per stereo pair:

1. **Track** the pair with the front end (``VisualOdometry``), the fused odometry's motion
   since the previous pair as the motion prior.
2. **Lost?** When tracking is lost (darkness, a blank wall), the back end is told to locate
   the next keyframes in the map as it was (relocalization); the odometry carries the pose.
3. **Keyframes to the back end** (``BackendThread``, its own thread): each keyframe's stereo
   observations, new landmarks, ORB features and ``T_odom_base`` at its stamp. The back end
   adds it to the iSAM2 graph, looks for a loop (place recognition, PnP verification,
   consistency, the graph's drift gate) and adds the loop factor.
4. **map->odom** from the optimised latest keyframe: ``T_map_odom = T_map_base(keyframe) ·
   T_odom_base(keyframe stamp)⁻¹``, flattened to the floor (x, y, yaw). It jumps after a loop
   closure or a relocalization: that is its job.

Around it:

- ``request_relocalization()``: fusion says the robot was lifted and put down (its
  ``needs_relocalization`` flag). The odometry broke: the front end starts a new local map
  and keyframes are held out of the graph until located in the map (``BackendThread``);
  ``pop_events()`` then returns a ``Relocalized`` with ``odometry_broken`` and the node tells
  fusion (``/fusion/relocalized``).
- ``load_map(path)``: a saved map is restored and the new session starts relocalizing (the
  odometry of a new session has nothing to do with the old one); until located, map->odom
  assumes the robot is where the old session's last keyframe was (on its dock), or where
  ``set_initial_pose`` put it. Keyframe and landmark ids continue from the map's.
- ``save_map(path)``: graph, BoW vectors and occupancy in one atomic file (``map_store``).
- ``add_tof(...)``: ToF depth images; each keyframe keeps a scan from the image nearest its
  stamp, and ``update_occupancy()`` draws them at the optimised keyframe poses (all again
  after a loop closure or a relocalization).

Threads. ``process_stereo`` runs on one thread (the node's tracking thread); everything else
may be called from another (the node's executor): requests go through a small inbox read at
the next pair, results are immutable snapshots. With ``wait_for_backend`` (the evaluation,
tests) each pair waits until the back end has done its keyframes, so a run is repeatable.

Frames: ``T_a_b`` (4x4) is frame b in frame a; map, odom, base_link as in ``docs/interfaces.md``.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from hearth_slam import map_store, se3
from hearth_slam.backend import BackendCamera, BackendParams
from hearth_slam.backend_thread import (
    BackendSnapshot,
    BackendThread,
    KeyframeInput,
    RelocalizationParams,
    Relocalized,
)
from hearth_slam.frame import Keyframe
from hearth_slam.loop_closure import LoopDetector, LoopParams
from hearth_slam.occupancy_mapping import OccupancyMapper, OccupancyParams, make_scan
from hearth_slam.place_recognition import Vocabulary
from hearth_slam.stereo_camera import StereoRig
from hearth_slam.visual_odometry import FrontEndParams, TrackingState, VisualOdometry, VoOutput

NOT_LOCALIZED_SIGMA_M = 5.0  # /slam/pose's sigma while not located in a loaded map: "the home"


@dataclass(frozen=True)
class SlamParams:
    front_end: FrontEndParams = field(default_factory=FrontEndParams)
    backend: BackendParams = field(default_factory=BackendParams)
    loop: LoopParams = field(default_factory=LoopParams)
    relocalization: RelocalizationParams = field(default_factory=RelocalizationParams)
    occupancy: OccupancyParams = field(default_factory=OccupancyParams)
    loop_closure: bool = True  # place recognition: loop closures and relocalization
    wait_for_backend: bool = False  # each pair waits for the back end (evaluation, tests)
    reloc_keyframe_interval_s: float = 0.5  # while relocalizing, a keyframe this often
    # the back end takes a front-end keyframe when the robot has moved this much since the
    # last one it took (the front end makes one every few frames for its local map; the
    # graph needs places, not every view of them)
    backend_keyframe_min_m: float = 0.1  # (measured: every front-end keyframe, 8 mm keyframe
    backend_keyframe_min_rad: float = 0.14  # error and 2x the time; 0.1 m / 8 deg, 9 mm;
    backend_keyframe_max_s: float = 3.0  # 0.25 m / 20 deg, 37 mm on the quick tour)
    tof_max_offset_s: float = 0.1  # a keyframe's ToF image within this of its stamp
    tof_buffer: int = 8  # ToF images kept for the keyframes to come
    backend_queue: int = 64
    landmarks_period_s: float = 1.0  # the snapshot's landmarks (rviz) at most this often

    def __post_init__(self) -> None:
        if not (self.reloc_keyframe_interval_s > 0.0 and self.tof_max_offset_s >= 0.0):
            raise ValueError("SlamParams: reloc_keyframe_interval_s > 0, tof_max_offset_s >= 0")
        if min(self.backend_keyframe_min_m, self.backend_keyframe_min_rad,
               self.backend_keyframe_max_s) < 0.0:
            raise ValueError("SlamParams: backend_keyframe_* must be >= 0")
        if self.tof_buffer < 1 or self.backend_queue < 1:
            raise ValueError("SlamParams: tof_buffer >= 1, backend_queue >= 1")


@dataclass(frozen=True)
class FrameResult:
    """What one stereo pair gave."""

    t_s: float
    vo: VoOutput  # the front end's output (twist, counts, state)
    pose_odom_base: np.ndarray | None  # (4, 4) the odometry used (given, or bridged by VO)
    pose_map_odom: np.ndarray  # (4, 4) planar map->odom after this pair
    pose_map_base: np.ndarray | None  # (4, 4) map->odom ∘ odom->base; None without odometry
    localized: bool  # False while not yet located in a loaded map or after a lift
    keyframe_ids: tuple[int, ...]  # keyframes this pair made

    @property
    def tracked(self) -> bool:
        return self.vo.tracked


@dataclass(frozen=True)
class _Tof:
    t_s: float
    depth_m: np.ndarray
    K: np.ndarray
    pose_base_tof: np.ndarray
    pose_odom_base: np.ndarray | None


def planar(T: np.ndarray) -> np.ndarray:
    """``T`` flattened onto the floor: its x, y and yaw only (z, roll, pitch zero)."""
    yaw = math.atan2(T[1, 0], T[0, 0])
    c, s = math.cos(yaw), math.sin(yaw)
    return se3.make(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]),
                    [T[0, 3], T[1, 3], 0.0])


def ros_covariance(cov_gtsam: np.ndarray, R_map_base: np.ndarray) -> np.ndarray:
    """A pose covariance in GTSAM's tangent order (rotation, translation; in the body frame)
    as ROS's 6x6 (x, y, z, roll, pitch, yaw) in the map frame (small-angle: the body axes
    rotated by ``R_map_base``)."""
    order = [3, 4, 5, 0, 1, 2]
    C = np.asarray(cov_gtsam, dtype=float)[np.ix_(order, order)]
    J = np.zeros((6, 6))
    J[:3, :3] = R_map_base
    J[3:, 3:] = R_map_base
    out = J @ C @ J.T
    return 0.5 * (out + out.T)


class SlamSystem:
    """See the module doc. ``vocabulary`` None: no place recognition (no loops, no
    relocalization; a map still saves and loads)."""

    def __init__(self, params: SlamParams | None = None, vocabulary: Vocabulary | None = None,
                 pose_map_odom: np.ndarray | None = None) -> None:
        self.p = params or SlamParams()
        self.vocabulary = vocabulary
        self.rig: StereoRig | None = None
        self.camera: BackendCamera | None = None
        self.vo: VisualOdometry | None = None
        self.backend: BackendThread | None = None
        self.occupancy = OccupancyMapper(self.p.occupancy)
        self._hint = planar(np.eye(4) if pose_map_odom is None else np.asarray(pose_map_odom))
        self._hint_from_last_keyframe = False  # a loaded map: "the robot is where it stopped"
        self._hint_given = False  # by set_initial_pose
        self._lock = threading.Lock()  # inbox, events, ToF buffer
        self._occupancy_lock = threading.Lock()
        self._inbox: list[tuple] = []
        self._tof: deque[_Tof] = deque(maxlen=self.p.tof_buffer)
        self._scans_in: list[tuple[int, _Tof, np.ndarray]] = []  # kf, ToF, T_kfbase_tof
        self._to_draw: list[int] = []  # keyframes whose scan waits for its pose
        self._redraw = False
        self._culled: list = []
        self._held: list[int] = []
        self._events: list[Relocalized] = []
        self.loops: list[tuple[int, int]] = []  # accepted (kf_a, kf_b), loops and relocalizations
        self.relocalizations: list[Relocalized] = []
        self.keyframe_t_s: dict[int, float] = {}
        self._introduced: set[int] = set()  # landmark ids the back end has been given
        self._last_submitted: tuple[float, np.ndarray] | None = None  # t_s, T_odom_base
        self._prev_odom: np.ndarray | None = None
        self._prev_world_base: np.ndarray | None = None
        self._odometry_broken = False  # since the last keyframe (a lift)
        self._lost = False
        self._fusion_asked = False  # fusion's needs_relocalization is being served
        self._last_reloc_kf_t: float | None = None
        self._map_loaded = False
        self.counts = {"pairs": 0, "lost_pairs": 0, "keyframes": 0, "keyframes_refused": 0,
                       "no_odometry": 0, "tof": 0, "scans": 0, "renders": 0,
                       "relocalization_requests": 0}

    # ------------------------------------------------------------------ set-up

    def configure_camera(self, rig: StereoRig, pose_base_optical: np.ndarray) -> None:
        """The stereo rig (from camera_info) and the left camera's raw optical frame in
        base_link (URDF). The first call builds the front and back ends; a later one with
        another calibration restarts the front end only (``ValueError`` when the rectified
        camera changed: the map's measurements would no longer fit it)."""
        vo = VisualOdometry(rig, pose_base_optical, self.p.front_end)
        camera = BackendCamera(rig.fx, rig.fy, rig.cx, rig.cy, rig.baseline_m, vo.T_base_cam)
        if self.camera is not None and not _same_camera(self.camera, camera):
            raise ValueError("the stereo calibration changed while a map is held: restart the "
                             "node to map with the new one")
        if self.vo is not None:
            vo.set_next_ids(*self.vo.next_ids())
        self.rig, self.vo = rig, vo
        self._prev_odom = self._prev_world_base = None
        if self.backend is None:
            self.camera = camera
            from hearth_slam.backend import Backend

            self._start_backend(Backend(camera, self._backend_params, pose_map_odom=self._hint))

    @property
    def _backend_params(self) -> BackendParams:
        """Without loop closure the graph does not find earlier visits' landmarks either
        (that would close loops by another route)."""
        return self.p.backend if self.p.loop_closure else replace(self.p.backend, fuse=False)

    def _start_backend(self, backend) -> None:
        detector = None
        if self.p.loop_closure and self.vocabulary is not None:
            assert self.camera is not None
            detector = LoopDetector(self.vocabulary, self.camera.K,
                                    self.camera.pose_base_camera, self.p.loop)
        self.backend = BackendThread(backend, detector, self.p.backend_queue,
                                     on_snapshot=self._on_snapshot,
                                     reloc_params=self.p.relocalization,
                                     landmarks_period_s=self.p.landmarks_period_s).start()

    def close(self) -> None:
        """Finish the back end's queue and stop its thread."""
        if self.backend is not None:
            self.backend.stop()

    @property
    def ready(self) -> bool:
        return self.vo is not None and self.backend is not None

    # ------------------------------------------------------------------ the algorithm

    def process_stereo(self, t_s: float, left: np.ndarray, right: np.ndarray,
                       pose_odom_base: np.ndarray | None = None) -> FrameResult:
        """One stereo pair (rectified or raw mono8, as the calibration says) taken at
        ``t_s``, with the fused odometry's ``T_odom_base`` at that stamp (None when it is
        missing: the front end's motion bridges it). Raises ``ValueError`` for a pair the
        front end cannot use (wrong size, stamp not after the previous one)."""
        if not self.ready:
            raise ValueError("no camera yet: configure_camera first")
        vo, backend = self.vo, self.backend
        assert vo is not None and backend is not None
        self._apply_requests(pose_odom_base)
        out = vo.track(left, right, t_s, self._motion_prior(pose_odom_base))
        self.counts["pairs"] += 1
        T_odom_base = self._odometry(out, pose_odom_base)
        if out.state is TrackingState.LOST:
            self.counts["lost_pairs"] += 1
            if not self._lost:
                self._lost = True  # locate the keyframes after the loss in the map as it was
                backend.start_relocalization(odometry_broken=False)
        elif out.tracked:
            self._lost = False
        made = []
        for kf in vo.pop_keyframes():
            if self._submit(kf, T_odom_base):
                made.append(kf.id)
        if made and self.p.wait_for_backend:
            backend.wait_idle(600.0)
        self._ask_for_relocalization_views(t_s)
        map_odom = self.pose_map_odom
        return FrameResult(t_s, out, T_odom_base, map_odom,
                           None if T_odom_base is None else map_odom @ planar(T_odom_base),
                           self.localized, tuple(made))

    # ------------------------------------------------------------------ steps

    def _motion_prior(self, pose_odom_base: np.ndarray | None) -> np.ndarray | None:
        """Step 1's prior: base_link's motion in odom since the previous pair."""
        prev = self._prev_odom
        if pose_odom_base is None or prev is None:
            return None
        return se3.inverse(prev) @ np.asarray(pose_odom_base, dtype=float)

    def _odometry(self, out: VoOutput, pose_odom_base: np.ndarray | None
                  ) -> np.ndarray | None:
        """``T_odom_base`` at this pair: the given one, or the previous one moved by the front
        end's own motion while it tracks (a silent odometry), else None."""
        T = None if pose_odom_base is None else np.asarray(pose_odom_base, dtype=float)
        if T is None:
            self.counts["no_odometry"] += 1
            if (self._prev_odom is not None and self._prev_world_base is not None
                    and out.tracked and not out.restarted):
                T = self._prev_odom @ se3.inverse(self._prev_world_base) @ out.T_world_base
        self._prev_odom = T
        self._prev_world_base = out.T_world_base
        return T

    def _wanted(self, kf: Keyframe, T_odom_base: np.ndarray, relocalizing: bool) -> bool:
        """Does the back end take this front-end keyframe? The first, the first after a
        loss or a break, every one while relocalizing, else once the robot has moved
        ``backend_keyframe_min_m`` or turned ``backend_keyframe_min_rad`` since the last one
        taken, or ``backend_keyframe_max_s`` passed."""
        p, last = self.p, self._last_submitted
        if last is None or kf.after_loss or relocalizing or self._odometry_broken:
            return True
        step = se3.inverse(last[1]) @ T_odom_base
        return (float(np.linalg.norm(step[:2, 3])) >= p.backend_keyframe_min_m
                or abs(math.atan2(step[1, 0], step[0, 0])) >= p.backend_keyframe_min_rad
                or kf.t_s - last[0] >= p.backend_keyframe_max_s)

    def _submit(self, kf: Keyframe, T_odom_base: np.ndarray | None) -> bool:
        """Step 3: one keyframe to the back end (never waits): its stereo observations, the
        landmarks the back end has not been given yet as new ones (with this keyframe's
        descriptors), all its ORB features (place recognition) and the odometry."""
        backend = self.backend
        assert backend is not None and self.vo is not None
        if T_odom_base is None:
            self.counts["keyframes_refused"] += 1  # no odometry, no bridge: it cannot be placed
            return False
        if not self._wanted(kf, T_odom_base, backend.snapshot().relocalizing):
            return False
        stereo = (kf.point_ids >= 0) & np.isfinite(kf.right_u_px)
        ids = kf.point_ids[stereo]
        uv = np.column_stack([kf.keypoints_px[stereo, 0], kf.right_u_px[stereo],
                              kf.keypoints_px[stereo, 1]]).astype(float)
        new = np.array([j not in self._introduced for j in ids.tolist()], dtype=bool)
        item = KeyframeInput(
            kf.id, kf.t_s, T_odom_base, ids, uv, ids[new],
            new_descriptors=kf.descriptors[stereo][new],
            uv_sigma_px=1.2 ** kf.octaves[stereo].astype(float),
            odom_valid=not self._odometry_broken,
            keypoints_px=kf.keypoints_px.astype(float), descriptors=kf.descriptors)
        if not backend.submit_keyframe(item):
            self.counts["keyframes_refused"] += 1
            return False
        # the front end never sees a point again once it left its local map: forget those
        if len(self.vo.points):
            oldest = int(self.vo.points.ids[0])  # ids ascend
            self._introduced = {j for j in self._introduced if j >= oldest}
        self._introduced.update(ids[new].tolist())
        self._last_submitted = (kf.t_s, T_odom_base)
        self._odometry_broken = False
        self.counts["keyframes"] += 1
        self.keyframe_t_s[kf.id] = kf.t_s
        self._attach_tof(kf.id, kf.t_s, T_odom_base)
        return True

    def _ask_for_relocalization_views(self, t_s: float) -> None:
        """While relocalizing, a keyframe at least every ``reloc_keyframe_interval_s``: each
        is a query (and after a lift, none enters the graph until one is located)."""
        snap = self.backend.snapshot() if self.backend is not None else None
        if snap is None or not snap.relocalizing or self.vo is None:
            return
        last = self._last_reloc_kf_t
        if last is None or t_s - last >= self.p.reloc_keyframe_interval_s:
            self.vo.request_keyframe()
            self._last_reloc_kf_t = t_s

    # ------------------------------------------------------------------ requests

    def request_relocalization(self, fusion_asked: bool = True) -> None:
        """The odometry broke (any thread): fusion says the robot was lifted and put down
        (``fusion_asked``: it wants to hear ``/fusion/relocalized`` when located), or the
        clock and the odometry started over."""
        with self._lock:
            self._inbox.append(("lifted", bool(fusion_asked)))
        self.counts["relocalization_requests"] += 1

    def set_initial_pose(self, pose_map_base: np.ndarray, pose_odom_base: np.ndarray) -> None:
        """Someone says where the robot is (``/initialpose``; any thread). Before the first
        keyframe it places the map frame; with a map it says where to look: the robot is
        taken to be there, and relocalization then locates it in the map (a kidnap)."""
        T = planar(np.asarray(pose_map_base, dtype=float)) @ se3.inverse(
            planar(np.asarray(pose_odom_base, dtype=float)))
        with self._lock:
            self._hint = T
            self._hint_given = True
            self._hint_from_last_keyframe = False
            if self.backend is not None:  # else it is the map frame of the back end to come
                self._inbox.append(("initial_pose", T))

    def _apply_requests(self, pose_odom_base: np.ndarray | None) -> None:
        with self._lock:
            inbox, self._inbox = self._inbox, []
        backend, vo = self.backend, self.vo
        assert backend is not None and vo is not None
        if self._hint_from_last_keyframe and pose_odom_base is not None:
            snap = backend.snapshot()
            if snap.latest_kf is not None and len(snap.keyframe_ids):
                self._hint = planar(snap.poses_map_base[-1]) @ se3.inverse(
                    planar(np.asarray(pose_odom_base, dtype=float)))
            self._hint_from_last_keyframe = False
        for request in inbox:
            if request[0] == "lifted":
                self._fusion_asked = self._fusion_asked or request[1]
                where = self.pose_map_odom  # until located: where it was, loosely
                with self._lock:
                    self._hint = where
                self._break_odometry()
            elif request[0] == "initial_pose":
                T = request[1]
                if self.has_map:
                    self._break_odometry()
                backend.call(lambda be, T=T: be.set_map_odom(T))

    def _break_odometry(self) -> None:
        """The robot was moved by hand: a new local map, keyframes held until located."""
        assert self.vo is not None and self.backend is not None
        self.vo.reset()
        self._prev_odom = self._prev_world_base = None
        self._odometry_broken = True
        self.backend.start_relocalization(odometry_broken=True)

    # ------------------------------------------------------------------ results

    def _on_snapshot(self, snap: BackendSnapshot) -> None:
        """On the back end's thread, after each batch: keep what must not be missed."""
        with self._lock:
            self._culled.extend(snap.culled)
            self._held.extend(snap.held)
            self.loops.extend(snap.loops_added)
            self._events.extend(snap.relocalized)
            self.relocalizations.extend(snap.relocalized)
            if snap.loops_added or snap.relocalized:
                self._redraw = True

    def pop_events(self) -> list[tuple[str, Relocalized]]:
        """Relocalizations since the last call, each as (``"fusion"`` when fusion asked for it
        (tell it: ``/fusion/relocalized``) else ``"lost"``, the event)."""
        with self._lock:
            events, self._events = self._events, []
        out = []
        for e in events:
            kind = "fusion" if (e.odometry_broken and self._fusion_asked) else "lost"
            if e.odometry_broken:
                self._fusion_asked = False
            out.append((kind, e))
        return out

    @property
    def snapshot(self) -> BackendSnapshot | None:
        return None if self.backend is None else self.backend.snapshot()

    @property
    def localized(self) -> bool:
        snap = self.snapshot
        return snap is None or snap.localized

    @property
    def has_map(self) -> bool:
        snap = self.snapshot
        return snap is not None and snap.latest_kf is not None

    @property
    def pose_map_odom(self) -> np.ndarray:
        """Planar map->odom: the back end's (latest optimised keyframe) once there is a
        keyframe and the robot is located, else the hint (initial pose, the loaded map's
        last keyframe, or where it was before a lift)."""
        snap = self.snapshot
        if snap is None or snap.latest_kf is None or not snap.localized \
                or self._hint_from_last_keyframe:
            with self._lock:
                return self._hint.copy()
        return planar(snap.pose_map_odom)

    def pose_covariance(self, pose_odom_base: np.ndarray,
                        odom_covariance: np.ndarray | None = None) -> np.ndarray:
        """ROS 6x6 (x, y, z, roll, pitch, yaw) covariance of ``map->odom ∘ pose_odom_base``:
        the latest keyframe's marginal from the graph plus the odometry's drift model over
        the path since it; ``odom_covariance`` (rotated into the map) before the first
        keyframe; metres of uncertainty while not located."""
        snap = self.snapshot
        map_odom = self.pose_map_odom
        R = map_odom[:3, :3]
        if snap is None or snap.latest_kf is None or snap.latest_covariance is None:
            if odom_covariance is None:
                return np.diag([1e-2, 1e-2, 1e-4, 1e-4, 1e-4, 1e-2])
            J = np.zeros((6, 6))
            J[:3, :3] = R
            J[3:, 3:] = R
            return J @ np.asarray(odom_covariance, dtype=float).reshape(6, 6) @ J.T
        if not snap.localized:
            s = NOT_LOCALIZED_SIGMA_M ** 2
            return np.diag([s, s, 1e-4, 1e-4, 1e-4, math.pi ** 2])
        idx = int(np.searchsorted(snap.keyframe_ids, snap.latest_kf))
        T_kf = snap.poses_map_base[idx] if idx < len(snap.keyframe_ids) else map_odom
        cov = ros_covariance(snap.latest_covariance, T_kf[:3, :3])
        T_map_base = map_odom @ planar(np.asarray(pose_odom_base, dtype=float))
        step = se3.inverse(T_kf) @ T_map_base
        assert self.backend is not None
        sig = self.backend.backend.odometry_sigmas(float(np.linalg.norm(step[:2, 3])),
                                                   abs(math.atan2(step[1, 0], step[0, 0])),
                                                   False)
        drift = np.diag(np.square(sig[[3, 4, 5, 0, 1, 2]]))
        J = np.zeros((6, 6))
        J[:3, :3] = T_kf[:3, :3]
        J[3:, 3:] = T_kf[:3, :3]
        return cov + J @ drift @ J.T

    def keyframe_graph(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
        """(ids (K,), T_map_base (K, 4, 4), loop edges (kf_a, kf_b)) of the graph now."""
        snap = self.snapshot
        if snap is None:
            return np.zeros(0, np.int64), np.zeros((0, 4, 4)), []
        return snap.keyframe_ids, snap.poses_map_base, list(snap.loops)

    def landmarks_map(self) -> np.ndarray:
        """(M, 3) landmark positions in the map."""
        snap = self.snapshot
        return np.zeros((0, 3)) if snap is None else snap.landmarks_map

    def status(self) -> dict:
        """Counts and states for diagnostics."""
        snap = self.snapshot
        stats = {} if snap is None else snap.stats
        return {"localized": self.localized, "relocalizing": bool(snap and snap.relocalizing),
                "map_loaded": self._map_loaded, "keyframes_in_graph": stats.get("keyframes", 0),
                "keyframes_culled": stats.get("keyframes_culled", 0),
                "landmarks_in_graph": stats.get("landmarks", 0),
                "landmarks_fused": stats.get("landmarks_fused", 0), "loops": len(self.loops),
                "relocalizations": len(self.relocalizations), **self.counts,
                "backend_rejected": stats.get("rejected", 0),
                "backend_errors": stats.get("errors", 0)}

    # ------------------------------------------------------------------ occupancy

    def add_tof(self, t_s: float, depth_m: np.ndarray, K: np.ndarray,
                pose_base_tof: np.ndarray, pose_odom_base: np.ndarray | None = None) -> None:
        """A ToF depth image (metres along the optical axis) taken at ``t_s``, with its 3x3
        ``K``, its optical frame in base_link and ``T_odom_base`` at its stamp (None: taken
        to be the keyframe's). Any thread."""
        depth = np.asarray(depth_m, dtype=np.float32)
        if depth.ndim != 2 or depth.size == 0:
            raise ValueError(f"depth image must be 2-D, got shape {depth.shape}")
        K = np.asarray(K, dtype=float).reshape(3, 3)
        if not (np.isfinite(K).all() and K[0, 0] > 0 and K[1, 1] > 0):
            raise ValueError("ToF K must be finite with positive focal lengths")
        with self._lock:
            self._tof.append(_Tof(float(t_s), depth, K, np.asarray(pose_base_tof, float),
                                  None if pose_odom_base is None
                                  else np.asarray(pose_odom_base, float)))
        self.counts["tof"] += 1

    def _attach_tof(self, kf_id: int, t_s: float, T_odom_kf: np.ndarray) -> None:
        """The ToF image nearest the keyframe's stamp becomes its scan (made later, off the
        tracking thread), in the keyframe's base_link (moved by the odometry between the
        two stamps)."""
        with self._lock:
            best = min(self._tof, key=lambda f: abs(f.t_s - t_s), default=None)
        if best is None or abs(best.t_s - t_s) > self.p.tof_max_offset_s:
            return
        T_kf_tof = best.pose_base_tof
        if best.pose_odom_base is not None:
            T_kf_tof = se3.inverse(T_odom_kf) @ best.pose_odom_base @ best.pose_base_tof
        with self._occupancy_lock:
            self._scans_in.append((kf_id, best, T_kf_tof))

    def update_occupancy(self) -> bool:
        """Make the waiting scans, move culled keyframes' scans to their anchors, and draw:
        everything again after a loop closure or a relocalization, else the new keyframes at
        their optimised poses. Returns whether the grid changed. Call it from one thread
        (the node's map timer, the evaluation)."""
        snap = self.snapshot
        if snap is None:
            return False
        with self._lock:
            culled, self._culled = self._culled, []
            held, self._held = self._held, []
            redraw, self._redraw = self._redraw, False
        with self._occupancy_lock:
            scans_in, self._scans_in = self._scans_in, []
            mapper = self.occupancy
            for kf_id, tof, T_kf_tof in scans_in:
                mapper.add_scan(kf_id, make_scan(tof.depth_m, tof.K, T_kf_tof, mapper.p))
                self._to_draw.append(kf_id)
                self.counts["scans"] += 1
            for k in held:
                mapper.remove(k)
            for c in culled:
                mapper.reanchor(c.kf_id, c.anchor_id, c.pose_anchor_culled)
            in_graph = dict(zip(snap.keyframe_ids.tolist(), range(len(snap.keyframe_ids)),
                                strict=True))
            done = set(held) | {c.kf_id for c in culled}
            if redraw:
                mapper.render(snap.keyframe_ids, snap.poses_map_base)
                self.counts["renders"] += 1
                self._to_draw = [k for k in self._to_draw if k not in in_graph
                                 and k not in done and (snap.latest_kf is None
                                                        or k > snap.latest_kf)]
                return True
            waiting, changed = [], False
            for k in self._to_draw:
                if k in done:
                    continue
                if k in in_graph:
                    changed |= mapper.integrate(k, snap.poses_map_base[in_graph[k]])
                elif snap.latest_kf is None or k > snap.latest_kf:
                    waiting.append(k)  # the back end has not got to it yet
            self._to_draw = waiting
            return changed

    def occupancy_grid(self) -> tuple[np.ndarray, tuple[float, float], float] | None:
        """(data (rows, cols) int8 as nav_msgs/OccupancyGrid, origin x, y (m), resolution
        (m)), or None while nothing was seen."""
        with self._occupancy_lock:
            data, origin, res = self.occupancy.occupancy_grid()
        return None if data.size == 0 else (data, origin, res)

    # ------------------------------------------------------------------ the map file

    def save_map(self, path, timeout_s: float = 60.0) -> tuple[int, dict]:
        """Write the map (graph, BoW vectors, occupancy) to ``path`` atomically; returns
        (bytes, counts). ``MapFileError`` when there is nothing to save or it fails its own
        checks; ``TimeoutError`` when the back end does not answer in ``timeout_s``."""
        if self.backend is None or self.camera is None:
            raise map_store.MapFileError(f"{path}: no map yet (no camera, no keyframe)")
        self.update_occupancy()
        state, bow = self.backend.map_parts().result(timeout=timeout_s)
        if len(state["keyframe_ids"]) == 0:
            raise map_store.MapFileError(f"{path}: the map is empty, nothing saved")
        kept = set(state["keyframe_ids"].tolist())
        with self._occupancy_lock:
            occ = OccupancyMapper(self.occupancy.p)
            occ.set_grid(self.occupancy.log_odds(), self.occupancy.seen(),
                         np.asarray(self.occupancy.occupancy_grid()[1]))
            occ.scans = {k: s for k, s in self.occupancy.scans.items() if k in kept}
        bow = {k: v for k, v in bow.items() if k in kept}
        cam = self.camera
        rig = {"fx_px": cam.fx_px, "fy_px": cam.fy_px, "cx_px": cam.cx_px, "cy_px": cam.cy_px,
               "baseline_m": cam.baseline_m}
        vocab_id = self.vocabulary.vocabulary_id if self.vocabulary is not None else ""
        slam_map = map_store.build_map(state, vocab_id, bow, occ, rig)
        size = map_store.save_map(path, slam_map)
        return size, dict(slam_map.meta["counts"])

    def map_size(self, timeout_s: float = 60.0) -> dict:
        """The map's contents and bytes as ``save_map`` would write them before compression:
        the graph (``Backend.map_size``), the keyframes' bag-of-words vectors and the
        occupancy (ToF scans and grid); with ``bytes_per_keyframe``. ``TimeoutError`` when
        the back end does not answer in ``timeout_s``."""
        if self.backend is None:
            return {"keyframes": 0, "total_bytes": 0}
        det = self.backend.loop_detector

        def measure(be):
            size = be.map_size()
            bow = 0 if det is None else sum(
                det.db.get(k).words.nbytes + det.db.get(k).weights.nbytes for k in det.db.ids())
            return size, bow
        size, bow = self.backend.call(measure).result(timeout=timeout_s)
        with self._occupancy_lock:
            occupancy = self.occupancy.memory_bytes()
        total = size["graph_bytes"] + bow + occupancy
        return {**size, "bow_bytes": int(bow), "occupancy_bytes": int(occupancy),
                "total_bytes": int(total),
                "bytes_per_keyframe": round(total / max(size["keyframes"], 1))}

    def load_map(self, path) -> dict:
        """Restore a saved map (call after ``configure_camera``, before the first pair);
        the session then starts relocalizing. Returns the map's counts. Raises
        ``MapFileError`` (corrupt, another version or vocabulary, another camera), leaving
        the system as it was: a fresh map."""
        if self.camera is None or self.vo is None:
            raise map_store.MapFileError(f"{path}: no camera yet to load the map for")
        if self.has_map:
            raise map_store.MapFileError(f"{path}: a map is already being built")
        vocab_id = self.vocabulary.vocabulary_id if self.vocabulary is not None else None
        slam_map = map_store.load_map(path, vocab_id)
        saved = slam_map.meta.get("camera") or {}
        cam = self.camera
        for key, mine in (("fx_px", cam.fx_px), ("baseline_m", cam.baseline_m)):
            if key in saved and not math.isclose(float(saved[key]), mine, rel_tol=1e-3):
                raise map_store.MapFileError(
                    f"{path}: made with {key} = {saved[key]}, this camera has {mine:.6g}")
        detector = None
        if self.p.loop_closure and self.vocabulary is not None:
            detector = LoopDetector(self.vocabulary, cam.K, cam.pose_base_camera, self.p.loop)
        occ = OccupancyMapper(self.p.occupancy)
        try:
            backend = map_store.restore(slam_map, cam, self._backend_params, detector, occ)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise map_store.MapFileError(f"{path}: the graph does not rebuild ({exc})") from None
        self.backend.stop()
        self.backend = BackendThread(backend, detector, self.p.backend_queue,
                                     on_snapshot=self._on_snapshot,
                                     reloc_params=self.p.relocalization,
                                     landmarks_period_s=self.p.landmarks_period_s).start()
        with self._occupancy_lock:
            self.occupancy = occ
        self.vo.set_next_ids(*backend.next_ids())
        self.keyframe_t_s.update(zip(slam_map.arrays["keyframe_ids"].tolist(),
                                     slam_map.arrays["keyframe_t_s"].tolist(), strict=True))
        self.backend.start_relocalization(odometry_broken=True)
        self.backend.wait_idle(10.0)
        self._odometry_broken = True
        self._hint_from_last_keyframe = not self._hint_given
        self._map_loaded = True
        return dict(slam_map.meta.get("counts", {}))


def _same_camera(a: BackendCamera, b: BackendCamera) -> bool:
    return (np.allclose([a.fx_px, a.fy_px, a.cx_px, a.cy_px, a.baseline_m],
                        [b.fx_px, b.fy_px, b.cx_px, b.cy_px, b.baseline_m], rtol=1e-6)
            and np.allclose(a.pose_base_camera, b.pose_base_camera, atol=1e-9))
