"""The V-SLAM back end: an iSAM2 factor graph of keyframe poses and landmarks (ROS-free).

The graph, in the order one explains it (README "Back end" gives the values and why):

- **Variables.** ``X(k)``: keyframe ``k``'s base_link pose in the map (``gtsam.Pose3``);
  ``L(j)``: landmark ``j``'s position in the map (``gtsam.Point3``).
- **Prior** on the first keyframe's pose: it defines the map frame.
- **Odometry between-factors** ``X(p) -> X(k)`` from the fused odometry (``T_odom_base`` at
  each keyframe) across consecutive keyframes: they carry the graph through featureless
  stretches. Sigmas grow with the distance and the turn between the two keyframes; z, roll
  and pitch are held near zero (the floor is flat).
- **Stereo factors** ``X(k), L(j)`` (``GenericStereoFactor3D``, ``Cal3_S2Stereo``, the left
  camera's pose in base_link as ``body_P_sensor``) with a Huber kernel: one bad match costs
  linearly, not quadratically.
- **Loop factors** ``X(a) -> X(b)`` (``add_loop``) from geometrically verified place
  recognition, gated against the drift the odometry could have accumulated between them.

Landmarks enter the graph only once ``min_keyframes_per_landmark`` keyframes have observed
them (a landmark seen from one keyframe constrains no pose); until then they wait, and one
not seen again within ``pending_landmark_max_age_keyframes`` is forgotten.

Back in a place already mapped (the front end sees it under new ids), a keyframe's rows are
matched by projection to the landmarks of an earlier visit's keyframes nearby and verified
by PnP-RANSAC (``_match_map``). If enough match and the last keyframe in the graph is close,
the keyframe only locates the robot (map->odom from its PnP pose; it is not added:
``KeyframeUpdate.skipped``); otherwise it enters the graph and its matched rows become
observations of the old landmarks, whose young duplicates go (``_apply_fusion``; the
front end's ids become aliases). Keyframes whose landmarks are almost all seen by enough
others, or mostly by an earlier visit's keyframes, are culled: their factors are removed
(``ISAM2.update(removeFactorIndices=...)``; iSAM2 then drops the variable), their two
odometry factors are replaced by one across the gap, and landmarks left with too few
observers are removed the same way. So the graph, and memory, grow with the places visited
rather than with time.

``map->odom`` is ``T_map_base(optimised) @ inv(T_odom_base)`` of the latest keyframe.

Frames and conventions: ``T_a_b`` (4x4 numpy) is frame b's pose in frame a. Information and
covariance matrices of poses are in GTSAM's Pose3 tangent order: rotation (rad) first, then
translation (m), in the child frame (``T' = T exp(xi)``).
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from dataclasses import dataclass, field

import cv2
import gtsam
import numpy as np
from gtsam.symbol_shorthand import L, X

from hearth_slam import se3
from hearth_slam.features import best_two, hamming, pairs_in_band, unique_by_target


class BackendInputError(ValueError):
    """A keyframe or loop the back end refuses (the graph is left unchanged)."""


# ------------------------------------------------------------------------------ the camera


@dataclass(frozen=True)
class BackendCamera:
    """The rectified stereo pair as the graph models it: the left camera's intrinsics (px),
    the baseline (m), and the left optical frame's pose in base_link. (The front end's
    ``stereo_camera.StereoRig`` holds the full calibration and rectification; the lead's
    node builds this from it: ``BackendCamera(rig.fx, rig.fy, rig.cx, rig.cy,
    rig.baseline_m, mount_from_urdf(urdf, "stereo_left_optical"))``.)"""

    fx_px: float
    fy_px: float
    cx_px: float
    cy_px: float
    baseline_m: float
    pose_base_camera: np.ndarray = field(default_factory=lambda: np.eye(4))

    def __post_init__(self) -> None:
        for key in ("fx_px", "fy_px", "baseline_m"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"BackendCamera.{key} must be finite and > 0, got {value}")
        if not (math.isfinite(self.cx_px) and math.isfinite(self.cy_px)):
            raise ValueError("BackendCamera principal point must be finite")
        if not se3.is_rigid(np.asarray(self.pose_base_camera, dtype=float)):
            raise ValueError("BackendCamera.pose_base_camera must be a rigid 4x4 transform")

    @classmethod
    def from_robot(cls, robot_yaml: str | None = None) -> BackendCamera:
        """The hearth robot's pair from robot.yaml (ideal pinholes: ``fx = w / (2 tan(hfov /
        2))``, principal point at the image centre) and the URDF's left optical frame."""
        from hearth_description.robot_model import expand_xacro, load_robot_params
        from hearth_slam.stereo_camera import mount_from_urdf

        p = load_robot_params(robot_yaml).stereo
        f = p.width_px / (2.0 * math.tan(p.hfov_rad / 2.0))
        return cls(f, f, (p.width_px - 1) / 2.0, (p.height_px - 1) / 2.0, p.baseline_m,
                   mount_from_urdf(expand_xacro(robot_yaml=robot_yaml), "stereo_left_optical"))

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx_px, 0.0, self.cx_px], [0.0, self.fy_px, self.cy_px],
                         [0.0, 0.0, 1.0]])

    def calibration(self) -> gtsam.Cal3_S2Stereo:
        return gtsam.Cal3_S2Stereo(self.fx_px, self.fy_px, 0.0, self.cx_px, self.cy_px,
                                   self.baseline_m)

    def triangulate(self, stereo_uv: np.ndarray) -> np.ndarray:
        """Points (N, 3) in the left optical frame from (uL, uR, v) rows (px)."""
        uv = np.asarray(stereo_uv, dtype=float).reshape(-1, 3)
        disparity = uv[:, 0] - uv[:, 1]
        z = self.fx_px * self.baseline_m / disparity
        x = (uv[:, 0] - self.cx_px) * z / self.fx_px
        y = (uv[:, 2] - self.cy_px) * z / self.fy_px
        return np.column_stack([x, y, z])

    def project(self, points_camera: np.ndarray) -> np.ndarray:
        """(uL, uR, v) rows (N, 3) of points (N, 3) in the left optical frame."""
        p = np.asarray(points_camera, dtype=float).reshape(-1, 3)
        uL = self.fx_px * p[:, 0] / p[:, 2] + self.cx_px
        v = self.fy_px * p[:, 1] / p[:, 2] + self.cy_px
        uR = uL - self.fx_px * self.baseline_m / p[:, 2]
        return np.column_stack([uL, uR, v])


# ------------------------------------------------------------------------------ parameters


@dataclass(frozen=True)
class BackendParams:
    """Noise models and policies of the graph (README "Back end" says why each value)."""

    # stereo measurements
    pixel_sigma_px: float = 1.0  # ORB keypoint at octave 0; callers pass 1.2**octave per point
    huber_k: float = 1.345  # whitened residual where Huber turns linear (95 % efficiency)
    min_disparity_px: float = 1.0  # nearer than fx * b / 1 px (26 m here): depth is noise
    max_depth_m: float = 15.0  # farther than any home's room
    observation_gate_px: float = 10.0  # x sigma: farther from the prediction is a mismatch
    # odometry between-factors (fused wheels + gyro: ~1 % drift, heading ~0.1 deg/m)
    odom_sigma_m: float = 0.005  # floor, per factor
    odom_sigma_per_m: float = 0.02  # per metre travelled between the keyframes
    odom_yaw_sigma_rad: float = math.radians(0.2)  # floor
    odom_yaw_sigma_per_m: float = math.radians(0.2)  # heading drift per metre
    odom_yaw_sigma_per_rad: float = 0.02  # gyro scale error per radian turned
    odom_z_sigma_m: float = 0.01  # flat floor: z between keyframes ~ 0
    odom_tilt_sigma_rad: float = math.radians(1.0)  # roll, pitch ~ 0 (thresholds: a degree)
    odom_broken_sigma_m: float = 100.0  # odometry reset (lift, restart): no information
    odom_broken_sigma_rad: float = math.pi
    # the map frame
    prior_sigma_m: float = 1e-3
    prior_sigma_rad: float = 1e-3
    # landmarks and culling
    min_keyframes_per_landmark: int = 2
    pending_landmark_max_age_keyframes: int = 8
    cull_redundant_fraction: float = 0.9  # of a keyframe's landmarks ...
    cull_min_other_observers: int = 3  # ... seen by at least this many other keyframes
    cull_min_age_keyframes: int = 4  # the newest keyframes are never culled
    cull_min_landmarks: int = 10  # a keyframe seeing fewer is kept (featureless stretch)
    # ... or when this share of its landmarks is seen by two keyframes of an earlier visit
    # (a place already mapped: the newer keyframe goes, the older ones hold the place)
    cull_mapped_fraction: float = 0.5
    # finding an earlier visit's landmarks again: a keyframe's observations of young
    # landmarks that match, by projection, landmarks of nearby keyframes added at least
    # fuse_min_age_keyframes earlier become observations of those (their duplicates go)
    fuse: bool = True
    fuse_min_age_keyframes: int = 15
    fuse_radius_m: float = 1.5  # source keyframes within this of the first guess ...
    fuse_max_turn_rad: float = math.radians(40.0)  # ... heading within this of it
    fuse_source_keyframes: int = 8  # the nearest this many
    fuse_window_px: float = 15.0  # |(uL, uR, v) - projection| per axis (2 deg: 14 px)
    fuse_max_hamming: int = 50
    fuse_ratio: float = 0.8  # best / second-best Hamming distance within the window
    fuse_min_matches: int = 20  # fewer verified matches: nothing is fused
    fuse_max_correction_m: float = 0.05  # the PnP pose of the matches vs the first guess:
    fuse_max_correction_rad: float = math.radians(2.0)  # farther is a loop's job, not ours
    fuse_reprojection_sigmas: float = 3.0  # inliers at the PnP pose, x the row's sigma
    alias_max_age_keyframes: int = 30  # a fused id the front end has not sent for this long
    # a place already mapped: a keyframe whose rows match at least mapped_min_matches and
    # mapped_min_fraction of them the map's landmarks only locates the robot (it is not
    # added) unless the last keyframe in the graph is this far behind (one in so many metres
    # keeps the trajectory tied to the map). (The map keeps about a third of what a view
    # shows, the landmarks two keyframes saw: a revisit matches 20-40 % of its rows.)
    skip_mapped_keyframes: bool = True
    mapped_min_matches: int = 50
    mapped_min_fraction: float = 0.15
    mapped_keyframe_spacing_m: float = 1.0
    mapped_keyframe_spacing_rad: float = math.radians(30.0)
    mapped_keyframe_max_s: float = 10.0
    # loops: the correction a loop implies must fit the drift odometry allows
    loop_gate_m: float = 0.3
    loop_gate_per_m: float = 0.05
    loop_gate_rad: float = math.radians(10.0)
    loop_gate_rad_per_m: float = math.radians(1.0)
    loop_extra_updates: int = 4  # iSAM2 iterations after a loop (one is a single GN step)
    # ... only when the loop moves things this much (the loops that follow the first of a
    # revisit are small corrections, and an iteration on a big graph costs seconds)
    loop_extra_min_m: float = 0.05
    loop_extra_min_rad: float = math.radians(1.0)
    # iSAM2
    relinearize_threshold: float = 0.01
    relinearize_skip: int = 1

    def __post_init__(self) -> None:
        for key, value in self.__dict__.items():
            if isinstance(value, float) and not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"BackendParams.{key} must be finite and >= 0, got {value}")
        if self.min_keyframes_per_landmark < 1:
            raise ValueError("BackendParams.min_keyframes_per_landmark must be >= 1")
        for key in ("cull_redundant_fraction", "cull_mapped_fraction"):
            if not 0.0 < getattr(self, key) <= 1.0:
                raise ValueError(f"BackendParams.{key} must be in (0, 1]")
        if self.fuse_min_matches < 6 or self.fuse_source_keyframes < 1:
            raise ValueError("BackendParams: fuse_min_matches >= 6, fuse_source_keyframes >= 1")
        for key in ("pixel_sigma_px", "huber_k", "prior_sigma_m", "prior_sigma_rad",
                    "odom_sigma_m", "odom_yaw_sigma_rad", "odom_z_sigma_m",
                    "odom_tilt_sigma_rad"):
            if getattr(self, key) <= 0.0:
                raise ValueError(f"BackendParams.{key} must be > 0")


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class CulledKeyframe:
    """A keyframe taken out of the graph; ``pose_anchor_culled`` is its pose in the base_link
    of ``anchor_id`` (the previous kept keyframe) when it was culled, so that data attached
    to it (a ToF scan) can move to the anchor."""

    kf_id: int
    anchor_id: int
    pose_anchor_culled: np.ndarray


@dataclass(frozen=True)
class KeyframeUpdate:
    kf_id: int
    observations_used: int
    observations_rejected: int
    landmarks_added: int
    landmarks_removed: int
    culled: tuple[CulledKeyframe, ...]
    update_ms: float
    landmarks_fused: int = 0  # observations that found an earlier visit's landmark
    skipped: bool = False  # a place already mapped: located, not added (and in ``culled``)


@dataclass(frozen=True)
class KeyframeLandmarks:
    """The landmarks a keyframe observed, with descriptors, in its left camera's frame."""

    kf_id: int
    landmark_ids: np.ndarray  # (N,)
    points_camera: np.ndarray  # (N, 3), left optical frame of the keyframe
    descriptors: np.ndarray  # (N, 32) uint8
    stereo_uv: np.ndarray  # (N, 3) what the keyframe measured
    pose_map_camera: np.ndarray  # (4, 4) the keyframe's left camera in the map


@dataclass(frozen=True)
class LoopDecision:
    accepted: bool
    reason: str  # "accepted" or why not
    correction_m: float  # translation of inv(predicted) @ measured
    correction_rad: float
    path_m: float  # odometry distance between the two keyframes
    update_ms: float = 0.0
    refine_iterations: int = 0  # iSAM2 iterations still to run (``Backend.refine``)
    refine_ms: float = 0.0  # what they took, when run


# ------------------------------------------------------------------------------ bookkeeping


@dataclass(eq=False)
class _Keyframe:
    kf_id: int
    t_s: float
    pose_odom_base: np.ndarray
    path_m: float  # odometry distance travelled since the first keyframe
    turn_rad: float  # odometry |yaw| turned since the first keyframe
    segment: int  # odometry segment: increments at every odometry break
    added: int = -(10 ** 9)  # the back end's clock (keyframes offered) when added (loaded:
    # long ago)
    fused: int = 0  # landmarks of an earlier visit it found again
    prior_factor: int | None = None
    in_loop: bool = False
    stereo_factors: dict[int, int] = field(default_factory=dict)  # landmark -> factor index


@dataclass(eq=False)
class _Landmark:
    lm_id: int
    point_map: np.ndarray  # initial guess, then the latest estimate
    descriptor: np.ndarray | None
    born_kf: int
    # keyframe -> (uL, uR, v, sigma_px); for a landmark in the graph, its factor indices are
    # in the keyframes' stereo_factors
    obs: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)
    in_graph: bool = False
    last_seen: int = 0  # the back end's clock (keyframes offered) when last observed
    version: int = -1  # the estimate ``point_map`` was read from (in the graph: lazily)


@dataclass(eq=False)
class _Edge:
    """An odometry between-factor (consecutive kept keyframes) or a loop factor."""

    kf_a: int
    kf_b: int
    pose_a_b: np.ndarray
    sigmas: np.ndarray | None  # odometry: (6,) rot-first; loop: None
    information: np.ndarray | None  # loop: (6, 6)
    factor: int = -1


@dataclass(frozen=True)
class _MapMatch:
    """A keyframe's rows that match the map's landmarks, verified (``_match_map``)."""

    rows: np.ndarray  # (M,) indices into the keyframe's rows
    old_ids: np.ndarray  # (M,) the map's landmark each shows
    correction: np.ndarray  # (4, 4) T_map_cam(PnP) @ inv(T_map_cam(first guess)), in the map
    n_rows: int  # the rows that could have matched (with a descriptor)


@dataclass(frozen=True)
class _Localization:
    """Where a keyframe that was not added (a place already mapped) put the robot."""

    kf_id: int
    t_s: float
    pose_map_base: np.ndarray
    pose_odom_base: np.ndarray


def _orthonormal(T: np.ndarray) -> np.ndarray:
    """``T`` with its rotation part projected onto the nearest rotation (SVD)."""
    U, _, Vt = np.linalg.svd(T[:3, :3])
    R = U @ Vt
    if np.linalg.det(R) < 0.0:
        R = U @ np.diag([1.0, 1.0, -1.0]) @ Vt
    return se3.make(R, T[:3, 3])


def _yaw_of(T: np.ndarray) -> float:
    return math.atan2(T[1, 0], T[0, 0])


# ------------------------------------------------------------------------------ the back end


class Backend:
    """The graph. Not thread-safe: ``BackendThread`` owns one and feeds it from a queue."""

    def __init__(self, camera: BackendCamera, params: BackendParams | None = None,
                 pose_map_odom: np.ndarray | None = None) -> None:
        self.camera = camera
        self.p = p = params or BackendParams()
        self._cal = camera.calibration()
        self._body_P_sensor = gtsam.Pose3(np.asarray(camera.pose_base_camera, dtype=float))
        self.isam = self._new_isam()
        self._huber = gtsam.noiseModel.mEstimator.Huber.Create(p.huber_k)
        self._pixel_noise: dict[float, gtsam.noiseModel.Base] = {}
        self.keyframes: dict[int, _Keyframe] = {}
        self.landmarks: dict[int, _Landmark] = {}
        self._pending: set[int] = set()  # landmarks waiting for a second observer
        self._version = 0  # bumped by every iSAM2 update: landmark estimates are read lazily
        self._odom_into: dict[int, _Edge] = {}  # kf -> the odometry edge ending there
        self._odom_out: dict[int, _Edge] = {}  # kf -> the odometry edge leaving it
        self._loops: list[_Edge] = []
        self._poses: dict[int, np.ndarray] = {}  # the latest estimate, T_map_base
        self._last_kf: int | None = None
        self._segment = 0
        self._pose_map_odom = (np.eye(4) if pose_map_odom is None
                               else np.asarray(pose_map_odom, dtype=float).copy())
        self._factor_owner: dict[int, tuple] = {}
        self._prior_pose = np.eye(4)  # the first keyframe's pose: the map frame
        self._deferred_remove: list[int] = []  # culled factors, removed with the next update
        self._deferred_bridges: list[_Edge] = []
        self._odometry_restarted = False  # a loaded map: the next keyframe's odometry is new
        self._map_odom_given = False  # set_map_odom since the last keyframe
        # a fused landmark's id -> [the landmark it became, keyframe count when last sent]:
        # the front end keeps tracking it under its own id for a few keyframes
        self._alias: dict[int, list[int]] = {}
        self._clock = 0  # keyframes offered (added or located only): the age of things
        self._last_id: int | None = None  # the latest keyframe offered
        self._localized: _Localization | None = None  # located since the last keyframe added
        self.counts = {"keyframes_added": 0, "keyframes_culled": 0, "landmarks_added": 0,
                       "landmarks_removed": 0, "landmarks_forgotten": 0,
                       "landmarks_fused": 0, "keyframes_fused": 0, "fusions_refused": 0,
                       "keyframes_skipped": 0,
                       "observations_rejected": 0, "loops_accepted": 0, "loops_rejected": 0,
                       "rebuilds": 0}

    # ------------------------------------------------------------------ queries

    @property
    def latest_keyframe(self) -> int | None:
        return self._last_kf

    @property
    def version(self) -> int:
        """Bumped by every iSAM2 update: the estimate changed."""
        return self._version

    def optimized_poses(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (K,), T_map_base (K, 4, 4)) of the keyframes in the graph, by id."""
        ids = np.array(sorted(self._poses), dtype=np.int64)
        poses = np.array([self._poses[i] for i in ids]).reshape(-1, 4, 4)
        return ids, poses

    def pose(self, kf_id: int) -> np.ndarray:
        """T_map_base of a keyframe in the graph (``KeyError`` when culled or unknown)."""
        return self._poses[kf_id].copy()

    def landmarks_in_graph(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids (M,), points_map (M, 3)) of the landmarks in the graph."""
        ids, pts = self._estimated_landmarks()
        lms = self.landmarks
        keep = np.fromiter((j in lms for j in ids.tolist()), dtype=bool, count=len(ids))
        return ids[keep], pts[keep]

    def keyframe_landmarks(self, kf_id: int) -> KeyframeLandmarks:
        """What keyframe ``kf_id`` sees of the map, for loop verification and
        relocalization: the landmarks it observed that carry a descriptor, at their
        current estimates (landmarks still waiting to enter the graph at their first
        guess). ``KeyError`` when the keyframe is not in the graph."""
        kf = self.keyframes[kf_id]
        lms = self.landmarks
        seen = set(kf.stereo_factors) | {j for j in self._pending if kf_id in lms[j].obs}
        ids = sorted(j for j in seen if j in lms and kf_id in lms[j].obs
                     and lms[j].descriptor is not None)
        T_map_camera = self._poses[kf.kf_id] @ self.camera.pose_base_camera
        pts = np.array([self._point(self.landmarks[j]) for j in ids]).reshape(-1, 3)
        desc = np.array([self.landmarks[j].descriptor for j in ids],
                        dtype=np.uint8).reshape(-1, 32)
        uv = np.array([self.landmarks[j].obs[kf_id][:3] for j in ids]).reshape(-1, 3)
        return KeyframeLandmarks(kf_id, np.array(ids, dtype=np.int64),
                                 se3.transform_points(se3.inverse(T_map_camera), pts), desc,
                                 uv, T_map_camera)

    def marginal_covariance(self, kf_id: int) -> np.ndarray:
        """The 6x6 marginal covariance of keyframe ``kf_id``'s pose (GTSAM's Pose3 tangent:
        rotation (rad) first, then translation (m), in the keyframe's base_link), relative to
        the map frame's prior. ``KeyError`` when the keyframe is not in the graph."""
        if kf_id not in self._poses:
            raise KeyError(kf_id)
        return np.asarray(self.isam.marginalCovariance(X(int(kf_id))), dtype=float)

    def map_odom(self) -> np.ndarray:
        """T_map_odom: the latest keyframe's optimised pose composed with its odometry."""
        if self._localized is not None:  # located in the map by a keyframe not added
            loc = self._localized
            return loc.pose_map_base @ se3.inverse(loc.pose_odom_base)
        if self._last_kf is None:
            return self._pose_map_odom.copy()
        kf = self.keyframes[self._last_kf]
        return self._poses[kf.kf_id] @ se3.inverse(kf.pose_odom_base)

    def set_map_odom(self, pose_map_odom: np.ndarray) -> None:
        """Where odometry's origin lies in the map (after a relocalization): the first guess
        of the next keyframe added with ``odom_valid=False``."""
        T = np.asarray(pose_map_odom, dtype=float)
        if not se3.is_rigid(T, 1e-5):
            raise BackendInputError("pose_map_odom must be a finite rigid 4x4 transform")
        self._pose_map_odom = T.copy()
        self._map_odom_given = True

    def loops(self) -> list[tuple[int, int]]:
        """The (kf_a, kf_b) of the loop factors in the graph."""
        return [(e.kf_a, e.kf_b) for e in self._loops]

    def _register(self, e: _Edge) -> None:
        if e.information is not None:
            self._loops.append(e)
        else:
            self._odom_out[e.kf_a] = e
            self._odom_into[e.kf_b] = e

    # ------------------------------------------------------------------ noise models

    def _stereo_noise(self, sigma_px: float) -> gtsam.noiseModel.Base:
        key = round(float(sigma_px), 3)
        if key not in self._pixel_noise:
            self._pixel_noise[key] = gtsam.noiseModel.Robust.Create(
                self._huber, gtsam.noiseModel.Isotropic.Sigma(3, key))
        return self._pixel_noise[key]

    def odometry_sigmas(self, distance_m: float, turn_rad: float, broken: bool) -> np.ndarray:
        """Sigmas (rx, ry, rz, tx, ty, tz) of the odometry between two keyframes that are
        ``distance_m`` and ``turn_rad`` apart along the odometry."""
        p = self.p
        if broken:
            return np.array([p.odom_broken_sigma_rad] * 3 + [p.odom_broken_sigma_m] * 3)
        yaw = p.odom_yaw_sigma_rad + p.odom_yaw_sigma_per_m * distance_m \
            + p.odom_yaw_sigma_per_rad * turn_rad
        xy = p.odom_sigma_m + p.odom_sigma_per_m * distance_m
        return np.array([p.odom_tilt_sigma_rad, p.odom_tilt_sigma_rad, yaw, xy, xy,
                         p.odom_z_sigma_m])

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _check_pose(T, what: str) -> np.ndarray:
        try:
            T = np.asarray(T, dtype=float)
        except (TypeError, ValueError) as exc:
            raise BackendInputError(f"{what} is not a 4x4 array: {exc}") from None
        if not se3.is_rigid(T, 1e-5):
            raise BackendInputError(f"{what} must be a finite rigid 4x4 transform")
        return T

    def _valid_observations(self, ids: np.ndarray, uv: np.ndarray,
                            sigma: np.ndarray) -> np.ndarray:
        """Mask of the rows to use: finite, positive disparity within the depth limits, a
        positive sigma, not a repeated id."""
        p = self.p
        disparity = uv[:, 0] - uv[:, 1]
        min_disp = max(p.min_disparity_px,
                       self.camera.fx_px * self.camera.baseline_m / max(p.max_depth_m, 1e-9))
        ok = np.isfinite(uv).all(axis=1) & np.isfinite(sigma) & (sigma > 0.0)
        ok &= disparity >= min_disp
        _, first = np.unique(ids, return_index=True)
        unique = np.zeros(len(ids), dtype=bool)
        unique[first] = True
        return ok & unique

    # ------------------------------------------------------------------ keyframes

    def add_keyframe(self, kf_id: int, t_s: float, pose_odom_base: np.ndarray,
                     landmark_ids: np.ndarray, stereo_uv: np.ndarray,
                     new_landmark_ids: np.ndarray | None = None,
                     new_points_map: np.ndarray | None = None,
                     new_descriptors: np.ndarray | None = None,
                     uv_sigma_px: np.ndarray | None = None,
                     odom_valid: bool = True, may_skip: bool = True) -> KeyframeUpdate:
        """Add keyframe ``kf_id`` (larger than every earlier id) at ``t_s`` (s) with the fused
        odometry pose ``pose_odom_base`` (4x4) and what it observes:

        - ``landmark_ids`` (N,) int and ``stereo_uv`` (N, 3): (uL, uR, v) px in the rectified
          pair, one row per landmark seen;
        - ``new_landmark_ids`` (M,): landmarks first seen here (each also in
          ``landmark_ids``), with optional first guesses ``new_points_map`` (M, 3) in the
          map frame (triangulated from this keyframe's stereo measurement when None) and
          ORB descriptors ``new_descriptors`` (M, 32) uint8 (kept for loop verification and
          the saved map);
        - ``uv_sigma_px`` (N,): the measurement sigma per row (``1.2 ** octave`` for ORB);
          ``pixel_sigma_px`` when None;
        - ``odom_valid=False`` when the odometry restarted or jumped since the previous
          keyframe (a lift, a new session): the odometry factor then carries no information
          and the first guess comes from ``set_map_odom``;
        - ``may_skip=False``: into the graph even in a place already mapped (a query that
          relocalization will tie to the map).

        A keyframe in a place the map already holds (``_mapped_place``), close to the last
        keyframe in the graph, only locates the robot: it is not added, and the update says
        ``skipped`` (and lists it as culled).

        Rows that are not finite, have too small a disparity, repeat an id or name a landmark
        the back end does not know are dropped and counted. A bad pose, id or array shape
        raises ``BackendInputError`` and changes nothing."""
        tick = time.perf_counter()
        kf_id = int(kf_id)
        if self._last_id is not None and kf_id <= self._last_id:
            raise BackendInputError(f"keyframe id {kf_id} is not after {self._last_id}")
        if not math.isfinite(t_s):
            raise BackendInputError("t_s must be finite")
        T_odom = self._check_pose(pose_odom_base, "pose_odom_base")
        ids, uv, sigma, new_ids, new_points_map, new_descriptors = self._checked_rows(
            landmark_ids, stereo_uv, uv_sigma_px, new_landmark_ids, new_points_map,
            new_descriptors)
        ids = self._resolve(ids)  # landmarks fused into others go on under the others' ids

        # --- the keyframe and its first guess
        prev = self.keyframes[self._last_kf] if self._last_kf is not None else None
        odom_valid = bool(odom_valid) and not self._odometry_restarted
        if not odom_valid:
            self._localized = None
        if prev is not None and not odom_valid and not self._map_odom_given:
            # no relocalization yet: the robot is most likely near where it was
            self._pose_map_odom = self._poses[prev.kf_id] @ se3.inverse(T_odom)
        if prev is not None:
            step = se3.inverse(prev.pose_odom_base) @ T_odom
            distance = float(np.linalg.norm(step[:3, 3])) if odom_valid else 0.0
            turn = abs(_yaw_of(step)) if odom_valid else 0.0
            path, turned = prev.path_m + distance, prev.turn_rad + turn
            if not odom_valid:
                guess = self._pose_map_odom @ T_odom
            elif self._localized is not None:  # located in the map since prev: from there
                guess = self.map_odom() @ T_odom
            else:
                guess = self._poses[prev.kf_id] @ step
        else:
            path, turned = 0.0, 0.0
            guess = self._pose_map_odom @ T_odom

        # --- the rows to use, and the map's landmarks they show again
        keep = self._valid_observations(ids, uv, sigma)
        new_rows: dict[int, int] = {}  # new landmark -> its index in new_ids
        for n, j in enumerate(new_ids.tolist()):
            if j in self.landmarks:
                keep &= ids != j  # a "new" landmark we already know: refuse the row
            else:
                new_rows[j] = n
        keep &= np.array([j in self.landmarks or j in new_rows for j in ids.tolist()],
                         dtype=bool)
        rejected = int(len(ids) - keep.sum())
        self.counts["observations_rejected"] += rejected

        def descriptor(j: int) -> np.ndarray | None:
            if j in new_rows:
                return None if new_descriptors is None else new_descriptors[new_rows[j]]
            return self.landmarks[j].descriptor
        match = self._match_map(guess, ids, uv, sigma, keep, descriptor)
        if may_skip and self._mapped_place(prev, t_s, T_odom, odom_valid, match):
            return self._localize_only(kf_id, t_s, T_odom, guess, ids, uv, keep, new_rows,
                                       new_descriptors, match, prev, rejected, tick)

        # --- into the graph
        kf = _Keyframe(kf_id, float(t_s), T_odom.copy(), path, turned,
                       self._segment + (prev is not None and not odom_valid), added=self._clock)
        self._segment = kf.segment
        graph = gtsam.NonlinearFactorGraph()
        values = gtsam.Values()
        values.insert(X(kf_id), gtsam.Pose3(guess))
        owners: list[tuple] = []
        if prev is None:
            self._prior_pose = guess.copy()
            graph.add(self._prior_factor(kf_id, guess))
            owners.append(("prior", kf_id))
        else:
            # across an odometry break the edge only keeps the graph connected: it measures
            # the first guess, with no information
            measured = (se3.inverse(prev.pose_odom_base) @ T_odom if odom_valid
                        else se3.inverse(self._poses[prev.kf_id]) @ guess)
            edge = _Edge(prev.kf_id, kf_id, measured,
                         self.odometry_sigmas(path - prev.path_m, turned - prev.turn_rad,
                                              not odom_valid), None)
            graph.add(self._edge_factor(edge))
            owners.append(("edge", edge))
            self._register(edge)
        for j, n in new_rows.items():
            self.landmarks[j] = _Landmark(
                j, None if new_points_map is None else new_points_map[n].copy(),
                None if new_descriptors is None else new_descriptors[n].copy(), kf_id)
            self._pending.add(j)
        self.keyframes[kf_id] = kf
        self._poses[kf_id] = guess
        remove: list[int] = []
        fused = (set() if match is None
                 else self._apply_fusion(kf_id, match, ids, graph, owners, remove))
        admitted, gated = self._observe(kf_id, guess, ids[keep], uv[keep], sigma[keep], graph,
                                        owners, fused)
        # new landmarks that were never observed in a usable row (or were fused)
        for j in new_rows:
            lm = self.landmarks.get(j)
            if lm is not None and not lm.obs:
                del self.landmarks[j]
                self._pending.discard(j)
        for lm in admitted:
            values.insert(L(lm.lm_id), gtsam.Point3(*lm.point_map))
            for k in lm.obs:
                graph.add(self._stereo_factor(k, lm))
                owners.append(("stereo", k, lm.lm_id))
            lm.in_graph = True
            self._pending.discard(lm.lm_id)
        rejected += gated
        self.counts["observations_rejected"] += gated
        self._update(graph, values, remove, owners)
        self._last_kf = self._last_id = kf_id
        self._localized = None  # map->odom comes from this keyframe now
        self._odometry_restarted = self._map_odom_given = False
        self.counts["keyframes_added"] += 1
        self.counts["landmarks_added"] += len(admitted)
        self._clock += 1
        self._forget()
        culled, removed = self._cull(kf_id)
        return KeyframeUpdate(kf_id, int(keep.sum()) - gated, rejected, len(admitted), removed,
                              tuple(culled), (time.perf_counter() - tick) * 1e3, len(fused))

    def _forget(self) -> None:
        """Landmarks waiting for a second keyframe that none saw again for
        ``pending_landmark_max_age_keyframes``; fused ids the front end stopped sending."""
        p = self.p
        forgotten = [j for j in self._pending
                     if self._clock - self.landmarks[j].last_seen
                     > p.pending_landmark_max_age_keyframes]
        for j in forgotten:
            del self.landmarks[j]
            self._pending.discard(j)
        self.counts["landmarks_forgotten"] += len(forgotten)
        stale = [j for j, (_, used) in self._alias.items()
                 if self._clock - used > p.alias_max_age_keyframes]
        for j in stale:
            del self._alias[j]

    def _mapped_place(self, prev: _Keyframe | None, t_s: float, T_odom: np.ndarray,
                      odom_valid: bool, match: _MapMatch | None) -> bool:
        """Is this keyframe a view of a place the map holds (its rows match enough of an
        earlier visit's landmarks, verified) taken close to the last keyframe in the graph?
        Then it locates the robot and adds nothing."""
        p = self.p
        if not (p.skip_mapped_keyframes and odom_valid and prev is not None
                and match is not None):
            return False
        n = len(match.rows)
        if n < p.mapped_min_matches or n < p.mapped_min_fraction * match.n_rows:
            return False
        step = se3.inverse(prev.pose_odom_base) @ T_odom
        return (float(np.linalg.norm(step[:2, 3])) < p.mapped_keyframe_spacing_m
                and abs(_yaw_of(step)) < p.mapped_keyframe_spacing_rad
                and t_s - prev.t_s < p.mapped_keyframe_max_s)

    def _localize_only(self, kf_id: int, t_s: float, T_odom: np.ndarray, guess: np.ndarray,
                       ids: np.ndarray, uv: np.ndarray, keep: np.ndarray,
                       new_rows: dict[int, int], new_descriptors: np.ndarray | None,
                       match: _MapMatch, prev: _Keyframe, rejected: int,
                       tick: float) -> KeyframeUpdate:
        """A keyframe in a mapped place: it says where the robot is (map->odom until the
        next keyframe in the graph) and is reported culled at once (its ToF scan joins the
        previous keyframe's). Its new landmarks that matched the map's become aliases of
        those; the others wait, unplaced, for a keyframe in the graph to see them."""
        # projected onto a rotation: a chain of localizations (each guess built on the last)
        # would otherwise double its rounding error at every step
        T_map_base = _orthonormal(match.correction @ guess)
        now = self._clock
        fused = 0
        for r, old in zip(match.rows.tolist(), match.old_ids.tolist(), strict=True):
            j = int(ids[r])
            if j in new_rows:
                self._alias[j] = [old, now]
                fused += 1
        T_map_cam = T_map_base @ self.camera.pose_base_camera
        for r in np.flatnonzero(keep).tolist():
            j = int(ids[r])
            if j not in new_rows or j in self._alias:
                continue
            lm = _Landmark(j, se3.transform_points(T_map_cam, self.camera.triangulate(uv[r]))[0],
                           None if new_descriptors is None
                           else new_descriptors[new_rows[j]].copy(), kf_id, last_seen=now)
            self.landmarks[j] = lm
            self._pending.add(j)
        self._localized = _Localization(kf_id, float(t_s), T_map_base, T_odom.copy())
        self._last_id = kf_id
        self._clock += 1
        self.counts["keyframes_skipped"] += 1
        self._forget()
        gone = CulledKeyframe(kf_id, prev.kf_id,
                              se3.inverse(self._poses[prev.kf_id]) @ T_map_base)
        return KeyframeUpdate(kf_id, 0, rejected, 0, 0, (gone,),
                              (time.perf_counter() - tick) * 1e3, fused, skipped=True)

    def _checked_rows(self, landmark_ids, stereo_uv, uv_sigma_px, new_landmark_ids,
                      new_points_map, new_descriptors) -> tuple:
        """The observation arrays as numpy, or ``BackendInputError`` on a wrong shape."""
        ids = np.array(landmark_ids, dtype=np.int64).reshape(-1)  # a copy: fusion renames
        uv = np.asarray(stereo_uv, dtype=float)
        if uv.shape != (len(ids), 3):
            raise BackendInputError(f"stereo_uv must be ({len(ids)}, 3), got {uv.shape}")
        sigma = (np.full(len(ids), self.p.pixel_sigma_px) if uv_sigma_px is None
                 else np.asarray(uv_sigma_px, dtype=float).reshape(-1))
        if sigma.shape != (len(ids),):
            raise BackendInputError(f"uv_sigma_px must be ({len(ids)},), got {sigma.shape}")
        new_ids = (np.zeros(0, dtype=np.int64) if new_landmark_ids is None
                   else np.asarray(new_landmark_ids, dtype=np.int64).reshape(-1))
        if new_points_map is not None:
            new_points_map = np.asarray(new_points_map, dtype=float)
            if new_points_map.shape != (len(new_ids), 3):
                raise BackendInputError(
                    f"new_points_map must be ({len(new_ids)}, 3), got {new_points_map.shape}")
        if new_descriptors is not None:
            new_descriptors = np.asarray(new_descriptors)
            if new_descriptors.shape != (len(new_ids), 32) or new_descriptors.dtype != np.uint8:
                raise BackendInputError("new_descriptors must be (M, 32) uint8")
        return ids, uv, sigma, new_ids, new_points_map, new_descriptors

    def _observe(self, kf_id: int, guess: np.ndarray, ids: np.ndarray, rows: np.ndarray,
                 sig: np.ndarray, graph: gtsam.NonlinearFactorGraph,
                 owners: list[tuple], verified: set[int]) -> tuple[list[_Landmark], int]:
        """Record the keyframe's valid observations: stereo factors for landmarks in the
        graph (gated at the guess, but for ``verified`` ones), and the pending landmarks
        that now have enough observers (returned, to be inserted with all their factors).
        Returns (admitted, observations gated out)."""
        p = self.p
        # a landmark in the graph must reproject near its measurement: farther is a
        # mismatch of the front end's, or an object that moved
        lms = [self.landmarks[int(j)] for j in ids]
        in_graph = np.array([lm.in_graph for lm in lms], dtype=bool)
        error_px = np.zeros(len(lms))
        if in_graph.any():
            pts = np.array([self._point(lm) for lm, g in zip(lms, in_graph, strict=True) if g])
            error_px[in_graph] = self._reprojection_px(kf_id, pts, rows[in_graph])
        gated = 0
        admitted: list[_Landmark] = []
        for lm, row, s, err in zip(lms, rows, sig, error_px, strict=True):
            if lm.in_graph and not err <= p.observation_gate_px * s \
                    and lm.lm_id not in verified:
                gated += 1
                continue
            lm.obs[kf_id] = (float(row[0]), float(row[1]), float(row[2]), float(s))
            lm.last_seen = self._clock
            if lm.point_map is None:
                lm.point_map = se3.transform_points(guess @ self.camera.pose_base_camera,
                                                    self.camera.triangulate(row))[0]
            if lm.in_graph:
                graph.add(self._stereo_factor(kf_id, lm))
                owners.append(("stereo", kf_id, lm.lm_id))
            elif len(lm.obs) >= p.min_keyframes_per_landmark:
                gated += self._admit(lm)
                if len(lm.obs) >= p.min_keyframes_per_landmark:
                    admitted.append(lm)
        return admitted, gated

    # ------------------------------------------------------------------ finding a place again

    def _resolve(self, ids: np.ndarray) -> np.ndarray:
        """The ids with every fused landmark replaced by the one it became."""
        if not self._alias:
            return ids
        now = self._clock
        out = ids.copy()
        for n, j in enumerate(ids.tolist()):
            hops = 0
            while j in self._alias and hops < 64:
                entry = self._alias[j]
                entry[1] = now  # used: the whole chain stays
                j = entry[0]
                hops += 1
            out[n] = j
        return out

    def _fusion_sources(self, guess: np.ndarray) -> list[int]:
        """Keyframes of an earlier visit (added at least ``fuse_min_age_keyframes`` ago)
        near the first guess and heading the same way, nearest first."""
        p = self.p
        now = self._clock
        old = [k for k, kf in self.keyframes.items()
               if now - kf.added >= p.fuse_min_age_keyframes]
        if not old:
            return []
        poses = np.array([self._poses[k] for k in old])
        dist = np.linalg.norm(poses[:, :2, 3] - guess[:2, 3], axis=1)
        yaw = np.arctan2(poses[:, 1, 0], poses[:, 0, 0]) - _yaw_of(guess)
        turn = np.abs(np.arctan2(np.sin(yaw), np.cos(yaw)))
        near = np.flatnonzero((dist <= p.fuse_radius_m) & (turn <= p.fuse_max_turn_rad))
        near = near[np.argsort(dist[near], kind="stable")][:p.fuse_source_keyframes]
        return [old[i] for i in near]

    def _match_map(self, guess: np.ndarray, ids: np.ndarray, uv: np.ndarray,
                   sigma: np.ndarray, keep: np.ndarray, descriptor) -> _MapMatch | None:
        """A place seen before? The keyframe's rows (``descriptor(landmark id)`` gives each
        row's ORB descriptor) matched, by projection at the first guess (within
        ``fuse_window_px``) and by descriptor, to the landmarks of an earlier visit's
        keyframes nearby (``_fusion_sources``); the matches must agree on one camera pose
        (PnP-RANSAC) within ``fuse_max_correction_*`` of the guess (more is a loop
        closure's job) and reproject there within ``fuse_reprojection_sigmas`` in both
        images. None when fewer than ``fuse_min_matches`` do (or ``fuse`` is off)."""
        p = self.p
        if not p.fuse:
            return None
        lms = self.landmarks
        rows, desc = [], []
        for r in np.flatnonzero(keep).tolist():
            d = descriptor(int(ids[r]))
            if d is not None:
                rows.append(r)
                desc.append(d)
        if len(rows) < p.fuse_min_matches:
            return None
        rows = np.array(rows, dtype=np.int64)
        row_desc = np.array(desc, dtype=np.uint8)
        mapped = {j for k in self._fusion_sources(guess) for j in self.keyframes[k].stereo_factors}
        # rows that show the map's landmarks already (fused before, under an alias)
        already = np.array([j in mapped for j in ids[rows].tolist()], dtype=bool)
        cand = sorted(mapped - set(ids[rows].tolist()))
        cand = [j for j in cand if lms[j].descriptor is not None]
        T_map_cam = guess @ self.camera.pose_base_camera
        pts = np.array([self._point(lms[j]) for j in cand]).reshape(-1, 3)
        pc = se3.transform_points(se3.inverse(T_map_cam), pts)
        front = np.flatnonzero(pc[:, 2] > 0.1)
        proj = self.camera.project(pc[front])
        row_uv, row_sigma = uv[rows], sigma[rows]
        win = np.maximum(p.fuse_window_px, 3.0 * row_sigma)
        q, c = pairs_in_band(row_uv[:, 2], proj[:, 2], win)
        near = ((np.abs(proj[c, 0] - row_uv[q, 0]) <= win[q])
                & (np.abs(proj[c, 1] - row_uv[q, 1]) <= win[q])) & ~already[q]
        q, c = q[near], c[near]
        cand_desc = np.array([lms[cand[i]].descriptor for i in front],
                             dtype=np.uint8).reshape(-1, 32)
        dist = hamming(row_desc[q], cand_desc[c])
        ok = dist <= p.fuse_max_hamming
        q, c, dist = q[ok], c[ok], dist[ok]
        best_c, best, second = best_two(q, c, dist, len(rows))
        good = np.flatnonzero((best_c >= 0) & (best < p.fuse_ratio * second))
        unique = unique_by_target(best_c[good], best[good])
        qi, ci = good[unique], best_c[good][unique]
        # the correspondences: the new matches and the rows on the map's landmarks already
        on = np.concatenate([qi, np.flatnonzero(already)])
        old_ids = np.array([cand[i] for i in front[ci]] + ids[rows[already]].tolist(),
                           dtype=np.int64)
        if len(on) < p.fuse_min_matches:
            return None
        old_pts = np.array([self._point(lms[j]) for j in old_ids.tolist()]).reshape(-1, 3)
        verified = self._verify_fusion(T_map_cam, old_pts, row_uv[on], row_sigma[on])
        if verified is None:
            self.counts["fusions_refused"] += 1
            return None
        inliers, T_correction = verified
        return _MapMatch(rows[on[inliers]], old_ids[inliers], T_correction, len(rows))

    def _apply_fusion(self, kf_id: int, match: _MapMatch, ids: np.ndarray,
                      graph: gtsam.NonlinearFactorGraph, owners: list[tuple],
                      remove: list[int]) -> set[int]:
        """The matched rows become observations of the map's landmarks (``ids`` is
        rewritten in place): each matched young landmark goes, its earlier observations
        move to the old one (checked at their keyframes' poses moved by the match's
        correction; new factors in ``graph``, its own factors into ``remove``), and its id
        becomes an alias. Returns the old landmarks this keyframe now observes (verified at
        the PnP pose: the guess's gate does not apply to them; the optimiser takes up the
        correction)."""
        lms = self.landmarks
        gate = self.p.observation_gate_px
        fused: set[int] = set()
        renamed = 0
        for r, old_id in zip(match.rows.tolist(), match.old_ids.tolist(), strict=True):
            if int(ids[r]) == old_id:
                fused.add(old_id)  # the map's landmark already (an alias): verified again
                continue
            young, old = lms[int(ids[r])], lms[old_id]
            if young.obs.keys() & old.obs.keys():
                continue  # seen together by one keyframe: two points
            for k, o in young.obs.items():
                T = match.correction @ self._poses[k] @ self.camera.pose_base_camera
                if self._reprojection_at(T, self._point(old), o[:3])[0] <= gate * o[3]:
                    old.obs[k] = o
                    graph.add(self._stereo_factor(k, old))
                    owners.append(("stereo", k, old.lm_id))
                if young.in_graph:
                    remove.append(self.keyframes[k].stereo_factors.pop(young.lm_id))
            del lms[young.lm_id]
            self._pending.discard(young.lm_id)
            self._alias[young.lm_id] = [old.lm_id, self._clock]
            ids[r] = old.lm_id
            fused.add(old.lm_id)
            renamed += 1
        self.keyframes[kf_id].fused = len(fused)
        self.counts["landmarks_fused"] += renamed
        self.counts["keyframes_fused"] += bool(fused)
        return fused

    def _verify_fusion(self, T_map_cam: np.ndarray, points_map: np.ndarray,
                       stereo_uv: np.ndarray, sigma_px: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray] | None:
        """PnP-RANSAC of the camera on the matched old landmarks. (inlier mask, the
        correction ``T_map_cam(PnP) @ inv(T_map_cam(guess))`` in the map) when at least
        ``fuse_min_matches`` reproject within ``fuse_reprojection_sigmas`` (uL, uR and v)
        at a pose within ``fuse_max_correction_*`` of the first guess; else None."""
        p = self.p
        T_cam_map = se3.inverse(T_map_cam)
        rvec, _ = cv2.Rodrigues(T_cam_map[:3, :3])
        tvec = T_cam_map[:3, 3].reshape(3, 1).copy()
        cv2.setRNGSeed(0)  # the same input gives the same answer
        try:
            ok, rvec, tvec, inl = cv2.solvePnPRansac(
                np.ascontiguousarray(points_map, dtype=np.float64),
                np.ascontiguousarray(stereo_uv[:, [0, 2]], dtype=np.float64), self.camera.K,
                None, rvec, tvec, useExtrinsicGuess=True, iterationsCount=100,
                reprojectionError=p.fuse_reprojection_sigmas * float(np.median(sigma_px)),
                confidence=0.99, flags=cv2.SOLVEPNP_ITERATIVE)
        except cv2.error:
            return None
        if not ok or inl is None or len(inl) < p.fuse_min_matches:
            return None
        T_pnp = se3.inverse(se3.make(cv2.Rodrigues(rvec)[0], tvec.reshape(3)))
        if not se3.is_rigid(T_pnp, 1e-5):
            return None
        diff = se3.inverse(T_map_cam) @ T_pnp
        if (np.linalg.norm(diff[:3, 3]) > p.fuse_max_correction_m
                or se3.rotation_angle_rad(diff) > p.fuse_max_correction_rad):
            return None
        err = np.abs(self._reprojection_rows(T_pnp, points_map) - stereo_uv).max(axis=1)
        inliers = err <= p.fuse_reprojection_sigmas * sigma_px
        if inliers.sum() < p.fuse_min_matches:
            return None
        return inliers, _orthonormal(T_pnp @ se3.inverse(T_map_cam))

    def _reprojection_rows(self, T_map_cam: np.ndarray, points_map: np.ndarray) -> np.ndarray:
        """(uL, uR, v) (N, 3) of points (N, 3) in a camera at ``T_map_cam``; inf behind it."""
        pc = se3.transform_points(se3.inverse(T_map_cam), np.asarray(points_map).reshape(-1, 3))
        out = np.full((len(pc), 3), np.inf)
        front = pc[:, 2] > 1e-3
        out[front] = self.camera.project(pc[front])
        return out

    def _reprojection_at(self, T_map_cam: np.ndarray, points_map: np.ndarray,
                         uv) -> np.ndarray:
        """|measured - predicted| (px) of stereo measurements (N, 3) of points (N, 3) seen
        from a camera at ``T_map_cam``; inf behind the camera."""
        pred = self._reprojection_rows(T_map_cam, points_map)
        with np.errstate(invalid="ignore"):
            err = np.linalg.norm(pred - np.asarray(uv, dtype=float).reshape(-1, 3), axis=1)
        return np.where(np.isfinite(err), err, np.inf)

    def _reprojection_px(self, kf_id: int, points_map: np.ndarray,
                         uv: np.ndarray) -> np.ndarray:
        """|measured - predicted| (px) of stereo measurements (N, 3) of points (N, 3) at the
        keyframe's current estimate; inf behind the camera."""
        return self._reprojection_at(self._poses[kf_id] @ self.camera.pose_base_camera,
                                     points_map, uv)

    def _admit(self, lm: _Landmark) -> int:
        """Place a pending landmark from its best (largest-disparity) observation at that
        keyframe's current estimate, and drop the observations that disagree with it (a
        mismatch would otherwise pull a pose); returns how many were dropped."""
        best = max(lm.obs, key=lambda k: lm.obs[k][0] - lm.obs[k][1])
        T = self._poses[best] @ self.camera.pose_base_camera
        lm.point_map = se3.transform_points(T, self.camera.triangulate(lm.obs[best][:3]))[0]
        bad = [k for k, o in lm.obs.items()
               if not self._reprojection_px(k, lm.point_map, o[:3])[0]
               <= self.p.observation_gate_px * o[3]]
        for k in bad:
            del lm.obs[k]
        return len(bad)

    def _stereo_factor(self, kf_id: int, lm: _Landmark) -> gtsam.NonlinearFactor:
        uL, uR, v, s = lm.obs[kf_id]
        return gtsam.GenericStereoFactor3D(gtsam.StereoPoint2(uL, uR, v), self._stereo_noise(s),
                                           X(kf_id), L(lm.lm_id), self._cal,
                                           self._body_P_sensor)

    def _edge_factor(self, e: _Edge) -> gtsam.NonlinearFactor:
        noise = (gtsam.noiseModel.Diagonal.Sigmas(e.sigmas) if e.information is None
                 else gtsam.noiseModel.Gaussian.Information(e.information))
        return gtsam.BetweenFactorPose3(X(e.kf_a), X(e.kf_b), gtsam.Pose3(e.pose_a_b), noise)

    # ------------------------------------------------------------------ iSAM2

    def _update(self, graph: gtsam.NonlinearFactorGraph, values: gtsam.Values,
                remove: list[int], owners: list[tuple], extra_iterations: int = 0) -> None:
        if self._deferred_remove or self._deferred_bridges:
            remove = remove + self._deferred_remove
            for edge in self._deferred_bridges:
                graph.add(self._edge_factor(edge))
                owners.append(("edge", edge))
            self._deferred_remove, self._deferred_bridges = [], []
        try:
            result = self.isam.update(graph, values, remove)
            for _ in range(extra_iterations):
                self.isam.update()
        except RuntimeError as exc:
            # GTSAM found the system indeterminate (a landmark pushed behind a camera, a
            # degenerate measurement): our bookkeeping holds every factor, so rebuild the
            # graph without the variable it names rather than lose the map
            self._rebuild(str(exc))
            return
        for index, owner in zip(result.getNewFactorsIndices(), owners, strict=True):
            self._own(int(index), owner)
        for index in remove:
            self._factor_owner.pop(index, None)
        self._refresh()

    def _rebuild(self, error: str, max_attempts: int = 5) -> None:
        """A fresh iSAM2 from the bookkeeping, at the latest estimates, without the landmark
        GTSAM's ``error`` names (each further failure drops the next one it names)."""
        with contextlib.suppress(RuntimeError):  # the guesses: the last estimate, if any
            self._estimated_landmarks()
        for _ in range(max_attempts):
            bad = re.search(r"Symbol: l(\d+)", error)
            if bad is not None:
                self._drop_landmark(int(bad.group(1)))
            self.counts["rebuilds"] += 1
            self._deferred_remove, self._deferred_bridges = [], []
            self.isam = self._new_isam()
            self._factor_owner.clear()
            graph, values, owners = gtsam.NonlinearFactorGraph(), gtsam.Values(), []
            for k, kf in self.keyframes.items():
                values.insert(X(k), gtsam.Pose3(self._poses[k]))
                kf.stereo_factors.clear()
                if kf.prior_factor is not None:
                    graph.add(self._prior_factor(k, self._prior_pose))
                    owners.append(("prior", k))
            for e in [*self._odom_out.values(), *self._loops]:
                graph.add(self._edge_factor(e))
                owners.append(("edge", e))
            for lm in self.landmarks.values():
                if lm.in_graph:
                    values.insert(L(lm.lm_id), gtsam.Point3(*lm.point_map))
                    for k in lm.obs:
                        graph.add(self._stereo_factor(k, lm))
                        owners.append(("stereo", k, lm.lm_id))
            try:
                result = self.isam.update(graph, values)
            except RuntimeError as exc:
                error = str(exc)
                continue
            for index, owner in zip(result.getNewFactorsIndices(), owners, strict=True):
                self._own(int(index), owner)
            self._refresh()
            return
        raise RuntimeError(f"the back end could not rebuild its graph: {error}")

    def _new_isam(self) -> gtsam.ISAM2:
        params = gtsam.ISAM2Params()
        params.setRelinearizeThreshold(self.p.relinearize_threshold)
        params.relinearizeSkip = self.p.relinearize_skip
        return gtsam.ISAM2(params)

    def _drop_landmark(self, lm_id: int) -> None:
        lm = self.landmarks.pop(lm_id, None)
        self._pending.discard(lm_id)
        if lm is None:
            return
        for k in lm.obs:
            if k in self.keyframes:
                self.keyframes[k].stereo_factors.pop(lm_id, None)
        self.counts["landmarks_removed"] += 1

    def _prior_factor(self, kf_id: int, pose_map_base: np.ndarray) -> gtsam.NonlinearFactor:
        p = self.p
        sig = np.array([p.prior_sigma_rad] * 3 + [p.prior_sigma_m] * 3)
        return gtsam.PriorFactorPose3(X(kf_id), gtsam.Pose3(pose_map_base),
                                      gtsam.noiseModel.Diagonal.Sigmas(sig))

    def _own(self, index: int, owner: tuple) -> None:
        self._factor_owner[index] = owner
        kind = owner[0]
        if kind == "prior":
            self.keyframes[owner[1]].prior_factor = index
        elif kind == "edge":
            owner[1].factor = index
        else:
            self.keyframes[owner[1]].stereo_factors[owner[2]] = index

    def _refresh(self) -> None:
        """The latest estimate of every keyframe pose into ``_poses``; landmarks are read
        when needed (``_point``): a full estimate of 50 000 landmarks per keyframe would cost
        more than the update itself."""
        self._version += 1
        isam = self.isam
        self._poses = {k: np.asarray(isam.calculateEstimatePose3(X(k)).matrix(), dtype=float)
                       for k in self.keyframes}

    def _point(self, lm: _Landmark) -> np.ndarray:
        """A landmark's position: its latest estimate when it is in the graph."""
        if lm.in_graph and lm.version != self._version:
            lm.point_map = np.asarray(self.isam.calculateEstimatePoint3(L(lm.lm_id)),
                                      dtype=float)
            lm.version = self._version
        return lm.point_map

    def _estimated_landmarks(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, points (N, 3)) of every landmark in iSAM2's estimate, in one pass (Values
        iterate in key order, so ``extractPoint3``'s rows follow the sorted ids); it also
        refreshes their ``point_map``."""
        est = self.isam.calculateEstimate()
        keys = np.array(est.keys(), dtype=np.uint64)
        chars = keys >> np.uint64(56)
        ids = (keys & np.uint64((1 << 56) - 1)).astype(np.int64)[chars == ord("l")]
        pts = np.asarray(gtsam.utilities.extractPoint3(est), dtype=float).reshape(-1, 3)
        for j, xyz in zip(ids.tolist(), pts, strict=True):
            lm = self.landmarks.get(j)
            if lm is not None:
                lm.point_map, lm.version = xyz, self._version
        return ids, pts

    # ------------------------------------------------------------------ culling

    def _cull(self, newest: int) -> tuple[list[CulledKeyframe], int]:
        """Cull redundant keyframes covisible with the newest, then landmarks left with too
        few observers; one iSAM2 update removes their factors and bridges the gaps."""
        p = self.p
        order = sorted(self.keyframes)
        rank = {k: n for n, k in enumerate(order)}
        newest_rank = rank[newest]
        covisible: set[int] = set()
        for j in self.keyframes[newest].stereo_factors:
            covisible.update(k for k in self.landmarks[j].obs if k in self.keyframes)
        if newest_rank >= p.cull_min_age_keyframes:  # and each keyframe once it is old enough
            covisible.add(order[newest_rank - p.cull_min_age_keyframes])
        # newest first: of two keyframes that hold the same place, the older one stays
        candidates = sorted((k for k in covisible
                             if newest_rank - rank[k] >= p.cull_min_age_keyframes
                             and rank[k] > 0 and not self.keyframes[k].in_loop), reverse=True)
        gone: set[int] = set()
        for k in candidates:
            kf = self.keyframes[k]
            seen = list(kf.stereo_factors)
            if len(seen) < p.cull_min_landmarks:
                continue
            redundant = mapped = 0
            for j in seen:
                # the other keyframes that see it, but for later visits (a revisit does not
                # make the keyframes of the place redundant: its own keyframes are)
                age = [kf.added - self.keyframes[o].added for o in self.landmarks[j].obs
                       if o != k and o not in gone and o in self.keyframes
                       and j in self.keyframes[o].stereo_factors]
                age = [a for a in age if a > -p.fuse_min_age_keyframes]
                redundant += len(age) >= p.cull_min_other_observers
                mapped += sum(a >= p.fuse_min_age_keyframes for a in age) >= 2
            if (redundant >= p.cull_redundant_fraction * len(seen)
                    or mapped >= p.cull_mapped_fraction * len(seen)):
                gone.add(k)
        if not gone:
            return [], 0
        culled: list[CulledKeyframe] = []
        remove: list[int] = []
        bridges: list[_Edge] = []
        for k in sorted(gone):  # ascending: a bridge over k may be bridged again over k+1
            kf = self.keyframes[k]
            remove.extend(kf.stereo_factors.values())
            kf.stereo_factors.clear()
            into, out = self._odom_into.pop(k, None), self._odom_out.pop(k, None)
            for e in (into, out):
                if e is None:
                    continue
                if e in bridges:
                    bridges.remove(e)
                else:
                    remove.append(e.factor)
            if into is not None:
                self._odom_out.pop(into.kf_a, None)
            if out is not None:
                self._odom_into.pop(out.kf_b, None)
            if into is None:
                continue
            a = self.keyframes[into.kf_a]
            if out is not None:
                nxt = self.keyframes[out.kf_b]
                broken = a.segment != nxt.segment
                measured = (se3.inverse(self._poses[a.kf_id]) @ self._poses[nxt.kf_id]
                            if broken else se3.inverse(a.pose_odom_base) @ nxt.pose_odom_base)
                edge = _Edge(a.kf_id, nxt.kf_id, measured,
                             self.odometry_sigmas(nxt.path_m - a.path_m,
                                                  nxt.turn_rad - a.turn_rad, broken), None)
                self._register(edge)
                bridges.append(edge)
            culled.append(CulledKeyframe(
                k, a.kf_id, se3.inverse(self._poses[a.kf_id]) @ self._poses[k]))
        for lm in self.landmarks.values():
            for k in gone:
                lm.obs.pop(k, None)
        removed = 0
        for j, lm in list(self.landmarks.items()):
            if lm.in_graph and len(lm.obs) < p.min_keyframes_per_landmark:
                for k in lm.obs:
                    remove.append(self.keyframes[k].stereo_factors.pop(j))
                del self.landmarks[j]
                removed += 1
        for k in gone:
            del self.keyframes[k]
            self._poses.pop(k, None)
        # the removal rides on the next update (one iSAM2 update per keyframe)
        self._deferred_remove.extend(remove)
        self._deferred_bridges.extend(bridges)
        self.counts["keyframes_culled"] += len(gone)
        self.counts["landmarks_removed"] += removed
        return culled, removed

    # ------------------------------------------------------------------ loops

    def add_loop(self, kf_a: int, kf_b: int, pose_a_b: np.ndarray,
                 information: np.ndarray, refine: bool = True) -> LoopDecision:
        """Add a loop factor: keyframe ``kf_b``'s base_link pose in ``kf_a``'s,
        ``pose_a_b`` (4x4), with its 6x6 ``information`` (GTSAM order: rotation first).

        Gate: the correction the loop implies (``inv(predicted) @ measured``) must fit the
        drift the odometry could have accumulated between the two keyframes:
        ``loop_gate_m + loop_gate_per_m * path`` and ``loop_gate_rad + loop_gate_rad_per_m *
        path``; a loop across an odometry break (a lift, a new session) is not gated. An
        accepted loop that corrects more than ``loop_extra_min_m`` or ``loop_extra_min_rad`` is
        followed by ``loop_extra_updates`` iSAM2 iterations; with ``refine=False`` they are
        left to the caller (``refine(decision.refine_iterations)``): the first iteration's
        estimate can go out before them."""
        tick = time.perf_counter()
        p = self.p
        for k in (kf_a, kf_b):
            if k not in self.keyframes:
                raise BackendInputError(f"keyframe {k} is not in the graph")
        if kf_a == kf_b:
            raise BackendInputError("a loop needs two different keyframes")
        T = self._check_pose(pose_a_b, "pose_a_b")
        info = np.asarray(information, dtype=float)
        if info.shape != (6, 6) or not np.isfinite(info).all():
            raise BackendInputError("information must be a finite 6x6 matrix")
        info = 0.5 * (info + info.T)
        if np.linalg.eigvalsh(info).min() <= 0.0:
            raise BackendInputError("information must be positive definite")
        a, b = self.keyframes[kf_a], self.keyframes[kf_b]
        predicted = se3.inverse(self._poses[kf_a]) @ self._poses[kf_b]
        diff = se3.inverse(predicted) @ T
        corr_m = float(np.linalg.norm(diff[:3, 3]))
        corr_rad = se3.rotation_angle_rad(diff)
        path = abs(b.path_m - a.path_m)
        if a.segment == b.segment:
            gate_m = p.loop_gate_m + p.loop_gate_per_m * path
            gate_rad = p.loop_gate_rad + p.loop_gate_rad_per_m * path
            if corr_m > gate_m or corr_rad > gate_rad:
                self.counts["loops_rejected"] += 1
                return LoopDecision(
                    False, f"correction {corr_m:.2f} m / {math.degrees(corr_rad):.1f} deg "
                    f"exceeds the odometry drift allowed over {path:.1f} m "
                    f"({gate_m:.2f} m / {math.degrees(gate_rad):.1f} deg)",
                    corr_m, corr_rad, path)
        edge = _Edge(kf_a, kf_b, T.copy(), None, info)
        self._register(edge)
        graph = gtsam.NonlinearFactorGraph()
        graph.add(self._edge_factor(edge))
        large = corr_m > p.loop_extra_min_m or corr_rad > p.loop_extra_min_rad
        more = p.loop_extra_updates if large else 0
        self._update(graph, gtsam.Values(), [], [("edge", edge)], more if refine else 0)
        a.in_loop = b.in_loop = True
        self.counts["loops_accepted"] += 1
        return LoopDecision(True, "accepted", corr_m, corr_rad, path,
                            (time.perf_counter() - tick) * 1e3, 0 if refine else more)

    def refine(self, iterations: int) -> float:
        """Run ``iterations`` more iSAM2 iterations (after a large loop correction: one is a
        single Gauss-Newton step); returns the time taken (ms)."""
        tick = time.perf_counter()
        if iterations > 0 and self.keyframes:
            try:
                for _ in range(iterations):
                    self.isam.update()
            except RuntimeError as exc:  # as in _update: rebuild rather than lose the map
                self._rebuild(str(exc))
            else:
                self._refresh()
        return (time.perf_counter() - tick) * 1e3

    # ------------------------------------------------------------------ export, import

    def next_ids(self) -> tuple[int, int]:
        """(keyframe id, landmark id) larger than any the back end holds: where a front end
        starts counting in a session that extends a loaded map."""
        kf = max(self.keyframes, default=-1) + 1
        lm = max(self.landmarks, default=-1) + 1
        return kf, lm

    def export_state(self) -> dict[str, np.ndarray]:
        """The graph as arrays (``map_store`` documents each): keyframes, landmarks in the
        graph with their observations and descriptors, odometry and loop edges, the prior.
        Landmarks still waiting to enter the graph are not part of the map."""
        kf_ids = np.array(sorted(self.keyframes), dtype=np.int64)
        kfs = [self.keyframes[k] for k in kf_ids]
        if self.keyframes:
            self._estimated_landmarks()
        lms = [self.landmarks[j] for j in sorted(self.landmarks) if self.landmarks[j].in_graph]
        obs = [(k, lm.lm_id, *o) for lm in lms for k, o in sorted(lm.obs.items())]
        odom = sorted(self._odom_out.values(), key=lambda e: e.kf_a)
        prior = [k for k in kf_ids if self.keyframes[k].prior_factor is not None]
        return {
            "keyframe_ids": kf_ids,
            "keyframe_t_s": np.array([k.t_s for k in kfs], dtype=np.float64),
            "keyframe_pose_map_base": np.array([self._poses[k] for k in kf_ids]).reshape(
                -1, 4, 4),
            "keyframe_pose_odom_base": np.array([k.pose_odom_base for k in kfs]).reshape(
                -1, 4, 4),
            "keyframe_path_m": np.array([k.path_m for k in kfs], dtype=np.float64),
            "keyframe_turn_rad": np.array([k.turn_rad for k in kfs], dtype=np.float64),
            "keyframe_segment": np.array([k.segment for k in kfs], dtype=np.int64),
            "keyframe_in_loop": np.array([k.in_loop for k in kfs], dtype=bool),
            "prior_keyframe": np.array(prior[:1], dtype=np.int64),
            "prior_pose_map_base": self._prior_pose.copy(),
            "landmark_ids": np.array([lm.lm_id for lm in lms], dtype=np.int64),
            "landmark_points_map": np.array([lm.point_map for lm in lms],
                                            dtype=np.float64).reshape(-1, 3),
            "landmark_descriptors": np.array(
                [lm.descriptor if lm.descriptor is not None else np.zeros(32, np.uint8)
                 for lm in lms], dtype=np.uint8).reshape(-1, 32),
            "landmark_has_descriptor": np.array([lm.descriptor is not None for lm in lms],
                                                dtype=bool),
            "observation_keyframe": np.array([o[0] for o in obs], dtype=np.int64),
            "observation_landmark": np.array([o[1] for o in obs], dtype=np.int64),
            "observation_uv": np.array([o[2:5] for o in obs], dtype=np.float64).reshape(-1, 3),
            "observation_sigma_px": np.array([o[5] for o in obs], dtype=np.float64),
            "odometry_a": np.array([e.kf_a for e in odom], dtype=np.int64),
            "odometry_b": np.array([e.kf_b for e in odom], dtype=np.int64),
            "odometry_pose_a_b": np.array([e.pose_a_b for e in odom]).reshape(-1, 4, 4),
            "odometry_sigmas": np.array([e.sigmas for e in odom]).reshape(-1, 6),
            "loop_a": np.array([e.kf_a for e in self._loops], dtype=np.int64),
            "loop_b": np.array([e.kf_b for e in self._loops], dtype=np.int64),
            "loop_pose_a_b": np.array([e.pose_a_b for e in self._loops]).reshape(-1, 4, 4),
            "loop_information": np.array([e.information for e in self._loops]).reshape(
                -1, 6, 6),
        }

    @classmethod
    def from_state(cls, camera: BackendCamera, state: dict[str, np.ndarray],
                   params: BackendParams | None = None) -> Backend:
        """A back end holding an exported graph (one batch update). Its odometry is taken to
        restart: the next keyframe gets no odometry information (a new session's odometry
        starts anew) and its first guess comes from ``set_map_odom`` (a relocalization).
        ``map_store.load_map`` has checked the arrays' consistency."""
        be = cls(camera, params)
        s = state
        for n, k in enumerate(s["keyframe_ids"].tolist()):
            be.keyframes[k] = _Keyframe(
                k, float(s["keyframe_t_s"][n]), s["keyframe_pose_odom_base"][n].copy(),
                float(s["keyframe_path_m"][n]), float(s["keyframe_turn_rad"][n]),
                int(s["keyframe_segment"][n]), in_loop=bool(s["keyframe_in_loop"][n]))
            be._poses[k] = s["keyframe_pose_map_base"][n].copy()
        if len(s["prior_keyframe"]):
            k0 = int(s["prior_keyframe"][0])
            be.keyframes[k0].prior_factor = -1  # marks it; the rebuild adds the factor
            be._prior_pose = s["prior_pose_map_base"].copy()
        for n, j in enumerate(s["landmark_ids"].tolist()):
            be.landmarks[j] = _Landmark(
                j, s["landmark_points_map"][n].copy(),
                s["landmark_descriptors"][n].copy() if s["landmark_has_descriptor"][n]
                else None, -1, in_graph=True)
        for k, j, uv, sig in zip(s["observation_keyframe"].tolist(),
                                 s["observation_landmark"].tolist(), s["observation_uv"],
                                 s["observation_sigma_px"].tolist(), strict=True):
            be.landmarks[j].obs[k] = (float(uv[0]), float(uv[1]), float(uv[2]), sig)
        for lm in be.landmarks.values():
            lm.born_kf = min(lm.obs, default=-1)
        for n in range(len(s["odometry_a"])):
            be._register(_Edge(int(s["odometry_a"][n]), int(s["odometry_b"][n]),
                               s["odometry_pose_a_b"][n].copy(),
                               s["odometry_sigmas"][n].copy(), None))
        for n in range(len(s["loop_a"])):
            be._register(_Edge(int(s["loop_a"][n]), int(s["loop_b"][n]),
                               s["loop_pose_a_b"][n].copy(), None,
                               s["loop_information"][n].copy()))
        be._segment = int(s["keyframe_segment"].max(initial=0)) + 1
        be._last_kf = be._last_id = max(be.keyframes, default=None)
        be._odometry_restarted = True
        be.counts["rebuilds"] -= 1  # loading is not a repair
        if be.keyframes:
            be._rebuild("")
        return be

    # ------------------------------------------------------------------ the graph's size

    def map_size(self) -> dict:
        """What the map holds and its bytes as saved (``export_state``'s arrays,
        uncompressed; iSAM2's own Bayes tree is not counted: ``factors`` says its size)."""
        state = self.export_state()
        n_kf = len(state["keyframe_ids"])
        graph = sum(a.nbytes for a in state.values())
        c = self.counts
        return {"keyframes": n_kf,
                "keyframes_created": c["keyframes_added"] + c["keyframes_skipped"],
                "keyframes_skipped": c["keyframes_skipped"],
                "keyframes_culled": c["keyframes_culled"],
                "landmarks": len(state["landmark_ids"]),
                "observations": len(state["observation_keyframe"]),
                "factors": len(self._factor_owner), "graph_bytes": int(graph)}

    def stats(self) -> dict:
        n_lm = len(self.landmarks) - len(self._pending)
        return {"keyframes": len(self.keyframes), "landmarks": n_lm,
                "landmarks_pending": len(self.landmarks) - n_lm,
                "factors": len(self._factor_owner), "loops": len(self.loops()), **self.counts}
