"""Stereo visual odometry: the front end of hearth's V-SLAM (ROS-free).

``VisualOdometry.track(left, right, t_s, prior)`` per stereo pair:

1. rectify the pair (when the calibration says so), extract bucketed ORB on both images,
   match them along rows for metric depth (:mod:`~hearth_slam.stereo_matching`);
2. predict the camera pose with the motion prior (fused odometry), or the last motion;
3. track the local map: match its points by projection, PnP-RANSAC, motion-only refinement
   (:mod:`~hearth_slam.tracking`), with a wider window if the first pass finds too few;
4. when that fails (darkness, a blank wall, blur: too few features or inliers), tracking is
   **lost**: the pose follows the prediction and no twist is reported; as soon as a frame
   has enough stereo points, a new local map starts from it at the predicted pose (its
   keyframe says ``after_loss``: the back end must not link it visually to the old ones);
5. decide on a keyframe (tracked-feature ratio, parallax, time), and add its new stereo
   points to the local map; cull points that are seen too rarely or left the window;
6. report the camera pose and the body twist of base_link with its covariance.

Frames. The front end's world frame is base_link where it started (or ``reset`` put it):
``T_world_base = T_world_cam · T_base_cam⁻¹``. ``T_base_cam`` is the rectified left camera
in base_link: the URDF's ``base_link -> stereo_left_optical`` composed with the
rectification (:attr:`StereoRig.T_raw_rect`). The prior is base_link's relative motion
``T_prevbase_base`` between the previous frame's stamp and this one (odom -> base_link at the
two stamps), carried into the camera frame by ``T_base_cam``.

Twist and covariance. Between two frames tracked against the same map, the relative pose
``T_prev_curr`` (camera) has covariance ``Ad(T_rel⁻¹) Σ_prev Ad(T_rel⁻¹)ᵀ + Σ_curr`` (each
pose's pixel noise is its own; a map point's error is common to both and cancels in the
difference). The body twist is ``log(T_bc T_rel T_bc⁻¹) / dt`` (linear m/s, angular rad/s
in base_link), its covariance ``Ad(T_bc) Σ_rel Ad(T_bc)ᵀ / dt²`` times
``covariance_inflation``. Σ_prev is zero when the previous frame started the map.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hearth_slam import se3
from hearth_slam.features import OrbExtractor, OrbParams, match_descriptors
from hearth_slam.frame import Frame, Keyframe, MapPoints
from hearth_slam.stereo_camera import StereoRig
from hearth_slam.stereo_matching import StereoMatchParams, match_stereo
from hearth_slam.tracking import (
    PoseEstimate,
    TrackingParams,
    estimate_pose,
    match_by_projection,
    predict_pose,
)


class TrackingState(enum.Enum):
    INITIALIZING = "initializing"  # no map yet (no frame with enough stereo points)
    TRACKING = "tracking"
    LOST = "lost"


@dataclass(frozen=True)
class FrontEndParams:
    orb: OrbParams = field(default_factory=OrbParams)
    stereo: StereoMatchParams = field(default_factory=StereoMatchParams)
    tracking: TrackingParams = field(default_factory=TrackingParams)
    min_stereo_points: int = 40  # to start (or restart) a map from one frame
    max_point_depth_baselines: float = 60.0  # new map points nearer than this many baselines
    keyframe_min_tracked_ratio: float = 0.6  # tracked / tracked in the last keyframe
    keyframe_min_tracked: int = 60  # fewer tracked points: replenish the map
    keyframe_parallax_deg: float = 4.0  # median viewing-angle change since the keyframe
    keyframe_max_interval_s: float = 2.0
    local_map_keyframes: int = 6  # points not seen in this many keyframes leave the map
    cull_min_found_ratio: float = 0.25  # found / visible, checked after 5 sightings
    max_speed_mps: float = 3.0  # faster motion between frames is a tracking failure
    max_rate_radps: float = 6.0
    covariance_inflation: float = 1.0  # on the twist covariance, from the evaluation

    def __post_init__(self) -> None:
        if self.min_stereo_points < self.tracking.min_inliers:
            raise ValueError("min_stereo_points must be >= tracking.min_inliers")
        if not 0.0 < self.keyframe_min_tracked_ratio < 1.0:
            raise ValueError("keyframe_min_tracked_ratio must be in (0, 1)")
        if self.local_map_keyframes < 1 or self.covariance_inflation < 1.0:
            raise ValueError("local_map_keyframes must be >= 1, covariance_inflation >= 1")


@dataclass(frozen=True)
class VoOutput:
    """What one stereo pair gave."""

    t_s: float
    state: TrackingState
    T_world_cam: np.ndarray  # (4, 4) rectified left camera in the front end's world
    T_world_base: np.ndarray  # (4, 4)
    pose_covariance: np.ndarray | None  # (6, 6) camera pose, None unless tracked
    twist_base: np.ndarray | None  # (6,) vx, vy, vz (m/s), wx, wy, wz (rad/s) in base_link
    twist_covariance: np.ndarray | None  # (6, 6) over the same order
    n_features: int
    n_stereo: int
    n_matches: int
    n_inliers: int
    keyframe_id: int | None  # set when this frame became a keyframe
    restarted: bool  # a new local map began at this frame (after a loss, or the first)

    @property
    def tracked(self) -> bool:
        return self.state is TrackingState.TRACKING


class VisualOdometry:
    """Stereo VO over a local map of recent keyframes (see the module's notes)."""

    def __init__(self, rig: StereoRig, T_base_optical: np.ndarray | None = None,
                 params: FrontEndParams | None = None) -> None:
        self.rig = rig
        self.params = params or FrontEndParams()
        T_bo = np.eye(4) if T_base_optical is None else np.asarray(T_base_optical, float)
        if not se3.is_rigid(T_bo):
            raise ValueError("T_base_optical must be a rigid 4x4 transform")
        self.T_base_cam = T_bo @ rig.T_raw_rect
        self.extractor = OrbExtractor(self.params.orb)
        self.points = MapPoints()
        self.keyframes: deque[Keyframe] = deque(maxlen=self.params.local_map_keyframes)
        # for the back end (take them with pop_keyframes); the oldest go if nobody does
        self.new_keyframes: deque[Keyframe] = deque(maxlen=200)
        self.frames_lost = 0  # consecutive frames not tracked
        self._next_kf_id = 0  # unique over resets
        self.last_frame: Frame | None = None  # the latest pair's features (relocalization)
        self._keyframe_requested = False
        self.reset()

    def reset(self, T_world_base: np.ndarray | None = None) -> None:
        """Forget the map and start again (at ``T_world_base``, identity by default)."""
        T_wb = np.eye(4) if T_world_base is None else np.asarray(T_world_base, float)
        self.state = TrackingState.INITIALIZING
        self.points.clear()
        self.keyframes.clear()
        self._T_world_cam = T_wb @ self.T_base_cam
        self._prev_t_s: float | None = None
        self._prev_cov: np.ndarray | None = None  # None: previous pose not tied to the map
        self._last_motion_cam: np.ndarray | None = None  # T_prev_curr, per second of dt
        self._kf_tracked = 0
        self._prev_inliers = 0  # of the last tracked frame (or the points of a new map)

    # ------------------------------------------------------------------ the algorithm
    def track(self, left_image: np.ndarray, right_image: np.ndarray, t_s: float,
              prior_T_prevbase_base: np.ndarray | None = None) -> VoOutput:
        """Process one stereo pair taken at ``t_s`` (see the module's notes)."""
        if self._prev_t_s is not None and not t_s > self._prev_t_s:
            raise ValueError(f"stamp {t_s:.6f} s is not after the previous {self._prev_t_s:.6f} s")
        dt = None if self._prev_t_s is None else t_s - self._prev_t_s
        T_pred = predict_pose(self._T_world_cam, self._camera_motion(prior_T_prevbase_base, dt))
        frame = self.make_frame(left_image, right_image, t_s)
        self.last_frame = frame

        n_matches = 0
        if self.state is TrackingState.TRACKING:
            estimate, n_matches, kp_idx, rows = self._track_local_map(frame, T_pred)
            if estimate is not None and self._plausible(estimate.T_world_cam, dt):
                return self._tracked(frame, estimate, kp_idx, rows, n_matches, dt)
            self.state = TrackingState.LOST
        return self._restart_or_predict(frame, T_pred, n_matches)

    def make_frame(self, left_image: np.ndarray, right_image: np.ndarray, t_s: float) -> Frame:
        """Step 1: rectified pair -> bucketed ORB -> stereo depth -> points in the camera."""
        left, right = self.rig.rectify(left_image, right_image)
        f_left = self.extractor.extract(left)
        f_right = self.extractor.extract(right)
        stereo = match_stereo(left, right, f_left, f_right, self.rig, self.params.stereo)
        points = self.rig.back_project(f_left.keypoints_px[:, 0], f_left.keypoints_px[:, 1],
                                       stereo.depth_m)
        return Frame.from_features(t_s, f_left, stereo, points)

    def set_next_ids(self, keyframe_id: int, point_id: int) -> None:
        """Continue numbering keyframes and map points from these (a loaded map's next ids),
        so that ids never collide with the back end's."""
        self._next_kf_id = max(self._next_kf_id, int(keyframe_id))
        self.points.reserve_ids(int(point_id))

    def next_ids(self) -> tuple[int, int]:
        """(keyframe id, map point id) the next ones will get."""
        return self._next_kf_id, self.points.next_id

    def request_keyframe(self) -> None:
        """Make the next tracked frame a keyframe (the back end wants a view to relocalize
        with)."""
        self._keyframe_requested = True

    def pop_keyframes(self) -> list[Keyframe]:
        """The keyframes made since the last call (the back end's input), oldest first."""
        out = list(self.new_keyframes)
        self.new_keyframes.clear()
        return out

    # ------------------------------------------------------------------ steps
    def _camera_motion(self, prior_T_prevbase_base: np.ndarray | None, dt: float | None
                       ) -> np.ndarray | None:
        """Step 2: the predicted camera motion since the last frame."""
        if prior_T_prevbase_base is not None:
            prior = np.asarray(prior_T_prevbase_base, dtype=float)
            if not se3.is_rigid(prior, tol=1e-4):
                raise ValueError("the motion prior must be a rigid 4x4 transform")
            return se3.inverse(self.T_base_cam) @ prior @ self.T_base_cam
        if self._last_motion_cam is not None and dt is not None:
            return se3.exp(self._last_motion_cam * dt)  # constant velocity
        return None

    def _track_local_map(self, frame: Frame, T_pred: np.ndarray
                         ) -> tuple[PoseEstimate | None, int, np.ndarray, np.ndarray]:
        """Step 3: (estimate or None, matches, keypoint indices, map rows)."""
        tp, pts = self.params.tracking, self.points
        m = match_by_projection(pts.positions_world_m, pts.descriptors, T_pred, frame,
                                self.rig, tp.search_radius_px, tp)
        pts.n_visible[m.visible_rows] += 1
        estimate = estimate_pose(pts.positions_world_m[m.point_rows], frame, m.keypoint_idx,
                                 self.rig, T_pred, tp)
        best = (estimate, m)
        if estimate is None or estimate.n_inliers < tp.weak_fraction * self._prev_inliers:
            # the prediction may be off (a sudden turn without a prior), and a window around
            # it may have matched a shifted copy of a repeated texture: exhaustive matching
            # for a coarse pose, project again around it, keep the one with more inliers
            rows, kp_idx = match_descriptors(pts.descriptors, frame.descriptors,
                                             tp.max_hamming, tp.global_ratio)
            coarse = estimate_pose(pts.positions_world_m[rows], frame, kp_idx, self.rig,
                                   T_pred, tp)
            if coarse is not None:
                m2 = match_by_projection(pts.positions_world_m, pts.descriptors,
                                         coarse.T_world_cam, frame, self.rig,
                                         tp.search_radius_px, tp)
                second = estimate_pose(pts.positions_world_m[m2.point_rows], frame,
                                       m2.keypoint_idx, self.rig, coarse.T_world_cam, tp)
                if second is not None and (estimate is None
                                           or second.n_inliers > estimate.n_inliers):
                    best = (second, m2)
        estimate, m = best
        return estimate, len(m.keypoint_idx), m.keypoint_idx, m.point_rows

    def _plausible(self, T_world_cam: np.ndarray, dt: float | None) -> bool:
        """Motion no robot makes between two frames is a wrong solution, not a fast robot."""
        if dt is None:
            return True
        rel = se3.inverse(self._T_world_cam) @ T_world_cam
        return (np.linalg.norm(rel[:3, 3]) <= self.params.max_speed_mps * dt
                and se3.rotation_angle_rad(rel) <= self.params.max_rate_radps * dt)

    def _tracked(self, frame: Frame, estimate: PoseEstimate, kp_idx: np.ndarray,
                 rows: np.ndarray, n_matches: int, dt: float | None) -> VoOutput:
        """Steps 5-6 for a tracked frame."""
        self.frames_lost = 0
        frame.T_world_cam = estimate.T_world_cam
        frame.point_ids[kp_idx[estimate.inliers]] = self.points.ids[rows[estimate.inliers]]
        self.points.n_found[rows[estimate.inliers]] += 1
        twist, twist_cov = self._twist(estimate, dt)
        keyframe_id = None
        if self._need_keyframe(frame, estimate):
            keyframe_id = self._insert_keyframe(frame)
        self._advance(frame, estimate.covariance)
        self._prev_inliers = estimate.n_inliers
        return self._output(frame, TrackingState.TRACKING, estimate.covariance, twist,
                            twist_cov, n_matches, estimate.n_inliers, keyframe_id, False)

    def _restart_or_predict(self, frame: Frame, T_pred: np.ndarray, n_matches: int
                            ) -> VoOutput:
        """No map yet, or tracking failed (step 4): the pose follows the prediction; a frame
        with enough stereo points starts a new local map at that pose."""
        state = self.state
        frame.T_world_cam = T_pred
        self._last_motion_cam = None
        if frame.n_stereo < self.params.min_stereo_points:
            if state is TrackingState.LOST:
                self.frames_lost += 1
            self._advance(frame, None)
            return self._output(frame, state, None, None, None, n_matches, 0, None, False)
        self.points.clear()
        self.keyframes.clear()
        keyframe_id = self._insert_keyframe(frame, after_loss=state is TrackingState.LOST)
        self.state = TrackingState.TRACKING
        if state is TrackingState.LOST:
            self.frames_lost += 1
        # this frame defines the new map: the next pose is measured relative to it exactly
        self._advance(frame, np.zeros((6, 6)))
        self._prev_inliers = self._kf_tracked
        return self._output(frame, state if state is TrackingState.LOST
                            else TrackingState.TRACKING, None, None, None, n_matches, 0,
                            keyframe_id, True)

    def _need_keyframe(self, frame: Frame, estimate: PoseEstimate) -> bool:
        """Step 5: tracked-feature ratio, parallax or time."""
        p = self.params
        kf = self.keyframes[-1]
        n = estimate.n_inliers
        if self._keyframe_requested:
            return True
        if n < p.keyframe_min_tracked or n < p.keyframe_min_tracked_ratio * self._kf_tracked:
            return True
        if frame.t_s - kf.t_s >= p.keyframe_max_interval_s:
            return True
        tracked = frame.point_ids >= 0
        rows = self.points.rows_of(frame.point_ids[tracked])
        pts = self.points.positions_world_m[rows[rows >= 0]]
        if len(pts) == 0:
            return True
        a = pts - kf.T_world_cam[:3, 3]
        b = pts - estimate.T_world_cam[:3, 3]
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        parallax = np.degrees(np.median(np.arccos(np.clip(cos, -1.0, 1.0))))
        return bool(parallax >= p.keyframe_parallax_deg)

    def _insert_keyframe(self, frame: Frame, after_loss: bool = False) -> int:
        """Make ``frame`` a keyframe: its new stereo points join the map, old ones are culled."""
        p = self.params
        kf_id = self._next_kf_id
        self._next_kf_id += 1
        self._keyframe_requested = False
        tracked = frame.point_ids >= 0
        rows = self.points.rows_of(frame.point_ids[tracked])
        self.points.last_seen_keyframe[rows[rows >= 0]] = kf_id
        new = (~tracked & frame.has_depth
               & (frame.depth_m <= p.max_point_depth_baselines * self.rig.baseline_m))
        points_world = np.full((len(frame), 3), np.nan)
        known = np.flatnonzero(tracked)[rows >= 0]
        points_world[known] = self.points.positions_world_m[rows[rows >= 0]]
        if np.any(new):
            points_world[new] = se3.transform_points(frame.T_world_cam, frame.points_cam_m[new])
            frame.point_ids[new] = self.points.add(points_world[new], frame.descriptors[new],
                                                   kf_id)
        keyframe = Keyframe.from_frame(kf_id, frame, new, points_world, after_loss)
        self.keyframes.append(keyframe)
        self.new_keyframes.append(keyframe)
        self._kf_tracked = int(np.count_nonzero(frame.point_ids >= 0))
        pts = self.points
        stale = pts.last_seen_keyframe <= kf_id - p.local_map_keyframes
        unreliable = (pts.n_visible >= 5) & (pts.n_found < p.cull_min_found_ratio
                                             * pts.n_visible)
        pts.keep(~(stale | unreliable))
        return kf_id

    def _twist(self, estimate: PoseEstimate, dt: float | None
               ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Step 6: body twist of base_link since the previous frame, and its covariance."""
        if dt is None or self._prev_cov is None:
            return None, None
        T_rel = se3.inverse(self._T_world_cam) @ estimate.T_world_cam
        self._last_motion_cam = se3.log(T_rel) / dt
        Ad_inv = se3.adjoint(se3.inverse(T_rel))
        cov_rel = Ad_inv @ self._prev_cov @ Ad_inv.T + estimate.covariance
        T_bc = self.T_base_cam
        twist = se3.log(T_bc @ T_rel @ se3.inverse(T_bc)) / dt
        Ad = se3.adjoint(T_bc)
        cov = (Ad @ cov_rel @ Ad.T) * (self.params.covariance_inflation / dt**2)
        return twist, 0.5 * (cov + cov.T)

    def _advance(self, frame: Frame, pose_cov: np.ndarray | None) -> None:
        self._T_world_cam = frame.T_world_cam
        self._prev_t_s = frame.t_s
        self._prev_cov = pose_cov

    def _output(self, frame: Frame, state: TrackingState, pose_cov, twist, twist_cov,
                n_matches: int, n_inliers: int, keyframe_id: int | None,
                restarted: bool) -> VoOutput:
        T_wc = frame.T_world_cam
        return VoOutput(frame.t_s, state, T_wc.copy(), T_wc @ se3.inverse(self.T_base_cam),
                        pose_cov, twist, twist_cov, len(frame), frame.n_stereo, n_matches,
                        n_inliers, keyframe_id, restarted)


# ------------------------------------------------------------------ to the message


def twist_message_fields(out: VoOutput, base_frame: str = "base_link",
                         min_variance: float = 1e-8) -> dict | None:
    """The fields of a geometry_msgs/TwistWithCovarianceStamped for ``out`` (None when it
    carries no twist: lost, initialising, restarted): ``stamp_s``, ``frame_id``, ``linear``
    (3), ``angular`` (3) and ``covariance`` (36, row-major over vx, vy, vz, wx, wy, wz, with
    ``min_variance`` added on the diagonal so it stays positive definite)."""
    if out.twist_base is None or out.twist_covariance is None:
        return None
    cov = out.twist_covariance + min_variance * np.eye(6)
    return {
        "stamp_s": out.t_s,
        "frame_id": base_frame,
        "linear": [float(v) for v in out.twist_base[:3]],
        "angular": [float(v) for v in out.twist_base[3:]],
        "covariance": [float(v) for v in cov.ravel()],
    }
