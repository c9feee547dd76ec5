"""Tracking a frame against the local map: prediction, matching by projection, PnP, refinement.

1. **Predict** the camera pose: the last pose moved by the motion prior (fused odometry's
   relative pose between the two frames' stamps, carried into the camera frame), or by the
   last measured motion when there is no prior.
2. **Match by projection**: every map point in front of the predicted camera is projected;
   keypoints within ``search_radius_px`` of the projection (and, for stereo keypoints, of the
   projection's right-image column) are candidates; the least Hamming distance wins if it is
   below ``max_hamming`` and clearly better than the runner-up; a keypoint takes one point.
   When that fails or finds fewer than ``weak_fraction`` of the last frame's inliers (the
   prediction was off: a sudden turn with no prior), the local map's descriptors are also
   matched to the frame's exhaustively (mutual nearest neighbours, a stricter ratio), PnP
   gives a coarse pose, matching by projection around it a second estimate, and the one
   with more inliers wins. A window around a wrong prediction can match a shifted copy of a
   repeated texture (wallpaper, tiles) and give a consistent, wrong pose; widening the
   window makes that worse, while exhaustive matching with a ratio test ignores the
   repeated (ambiguous) features and anchors on the distinctive ones.
3. **PnP with RANSAC** (``cv2.solvePnPRansac``, AP3P minimal sets, the prediction as the
   initial guess) on the matched world points and their left-image pixels: rejects wrong
   matches that a window let through.
4. **Motion-only refinement** (:func:`refine_pose`): Gauss-Newton over the 6 pose
   parameters on the stereo reprojection error (u, v and the right image's u where the
   keypoint has depth), Huber-weighted, with the observations re-classified by a chi-square
   test between rounds (95 %: 5.99 for 2 dof, 7.81 for 3). Its Hessian gives the pose
   covariance (below).

The pose covariance. With pixel noise σ at level 0 (``σ·1.2^octave`` at coarser levels), the
information of the inliers is ``H = Σ Jᵢᵀ Jᵢ / σᵢ²`` and the formal covariance ``H⁻¹``. Two
honest corrections: it is scaled by the fit's residual variance factor ``s² = χ² / (dof − 6)``
when that is above 1 (map point errors and unmodelled effects show in the residuals), and by
``max(1, reference_inliers / n_inliers)`` (with few inliers the inlier set and ``s²`` are
themselves unreliable). The covariance is over ``xi = (rho, phi)`` with
``T_world_cam_true = T_world_cam · exp(xi)`` (:mod:`hearth_slam.se3`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hearth_slam import se3
from hearth_slam.features import best_two, hamming, pairs_in_band, unique_by_target
from hearth_slam.frame import Frame
from hearth_slam.stereo_camera import StereoRig

CHI2_2DOF_95 = 5.991
CHI2_3DOF_95 = 7.815


@dataclass(frozen=True)
class TrackingParams:
    search_radius_px: float = 15.0  # window around a predicted projection
    max_hamming: int = 64
    ratio: float = 0.9  # within a window
    global_ratio: float = 0.8  # over the whole local map (no predicted position)
    weak_fraction: float = 0.5  # fewer inliers than this x the last frame's: try harder
    min_matches: int = 25  # fewer: tracking fails (dark, blank wall, blur)
    min_inliers: int = 20
    ransac_reprojection_px: float = 3.0
    ransac_iterations: int = 100
    ransac_confidence: float = 0.99
    pixel_sigma_px: float = 1.0  # corner position noise at pyramid level 0
    scale_factor: float = 1.2  # the extractor's pyramid scale
    refine_rounds: int = 3
    refine_iterations: int = 10
    huber_k: float = 2.45  # on the normalised residual (sqrt of a 2-dof 95 % chi-square)
    reference_inliers: int = 50  # covariance inflated below this many inliers
    min_depth_m: float = 0.1  # a projected point must be this far in front

    def __post_init__(self) -> None:
        if self.min_inliers < 6 or self.min_matches < self.min_inliers:
            raise ValueError("need 6 <= min_inliers <= min_matches")
        if not self.search_radius_px > 0.0:
            raise ValueError("search_radius_px must be > 0")


@dataclass(frozen=True)
class ProjectionMatches:
    keypoint_idx: np.ndarray  # (K,) rows of the frame
    point_rows: np.ndarray  # (K,) rows of the map's arrays
    visible_rows: np.ndarray  # map rows that projected into the image


@dataclass(frozen=True)
class PoseEstimate:
    T_world_cam: np.ndarray  # (4, 4)
    covariance: np.ndarray  # (6, 6) over (rho, phi), right perturbation of T_world_cam
    inliers: np.ndarray  # (K,) bool over the correspondences given
    residual_scale: float  # sqrt(chi2 / (dof - 6)) of the inliers (1 = as modelled)

    @property
    def n_inliers(self) -> int:
        return int(np.count_nonzero(self.inliers))


def predict_pose(T_world_cam: np.ndarray, T_prev_curr_cam: np.ndarray | None) -> np.ndarray:
    """The predicted camera pose: the last one moved by the camera's relative motion (or
    unmoved without one)."""
    return T_world_cam if T_prev_curr_cam is None else T_world_cam @ T_prev_curr_cam


def match_by_projection(points_world_m: np.ndarray, point_descriptors: np.ndarray,
                        T_world_cam: np.ndarray, frame: Frame, rig: StereoRig,
                        radius_px: float, params: TrackingParams) -> ProjectionMatches:
    """Map points matched to the frame's keypoints around their predicted projections."""
    empty = np.zeros(0, dtype=np.int64)
    if len(points_world_m) == 0 or len(frame) == 0:
        return ProjectionMatches(empty, empty, empty)
    p_cam = se3.transform_points(se3.inverse(T_world_cam), points_world_m)
    in_front = p_cam[:, 2] > params.min_depth_m
    u, v, u_right = rig.project(np.where(in_front[:, None], p_cam, 1.0))
    visible = in_front & (u >= 0) & (u < rig.width_px) & (v >= 0) & (v < rig.height_px)
    rows = np.flatnonzero(visible)
    if len(rows) == 0:
        return ProjectionMatches(empty, empty, empty)
    kp = frame.keypoints_px
    q, k = pairs_in_band(v[rows], kp[:, 1], radius_px)
    near = np.abs(kp[k, 0] - u[rows[q]]) <= radius_px
    # a stereo keypoint must also agree in the right image (depth): cuts false matches
    r_obs = frame.right_u_px[k]
    near &= ~(np.abs(r_obs - u_right[rows[q]]) > radius_px)  # NaN (mono) passes
    q, k = q[near], k[near]
    dist = hamming(point_descriptors[rows[q]], frame.descriptors[k])
    ok = dist <= params.max_hamming
    q, k, dist = q[ok], k[ok], dist[ok]
    best_k, best, second = best_two(q, k, dist, len(rows))
    good = np.flatnonzero((best_k >= 0) & (best < params.ratio * second))
    kp_idx = best_k[good]
    keep = unique_by_target(kp_idx, best[good])
    return ProjectionMatches(kp_idx[keep], rows[good[keep]], rows)


def solve_pnp_ransac(points_world_m: np.ndarray, pixels: np.ndarray, K: np.ndarray,
                     T_world_cam_guess: np.ndarray, params: TrackingParams
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(T_world_cam, inlier mask)`` from 3D-2D correspondences, or None when RANSAC finds
    no consensus of ``min_inliers``."""
    n = len(points_world_m)
    if n < max(params.min_inliers, 4):
        return None
    T_cam_world = se3.inverse(T_world_cam_guess)
    rvec, _ = cv2.Rodrigues(T_cam_world[:3, :3])
    tvec = T_cam_world[:3, 3].reshape(3, 1).copy()
    try:
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(
            np.ascontiguousarray(points_world_m, dtype=np.float64),
            np.ascontiguousarray(pixels, dtype=np.float64), K, None, rvec, tvec,
            useExtrinsicGuess=True, iterationsCount=params.ransac_iterations,
            reprojectionError=params.ransac_reprojection_px,
            confidence=params.ransac_confidence, flags=cv2.SOLVEPNP_AP3P)
    except cv2.error:
        return None
    if not ok or inliers is None or len(inliers) < params.min_inliers:
        return None
    mask = np.zeros(n, dtype=bool)
    mask[inliers.ravel()] = True
    R, _ = cv2.Rodrigues(rvec)
    T = se3.inverse(se3.make(R, tvec.ravel()))
    if not se3.is_rigid(T, tol=1e-5):
        return None
    return T, mask


def _residuals_and_jacobians(T_cam_world: np.ndarray, points_world_m: np.ndarray,
                             observed: np.ndarray, rig: StereoRig
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stereo reprojection residuals (K, 3) in pixels (predicted - observed: u, v, u_right),
    their Jacobians (K, 3, 6) for ``T_cam_world ← exp(delta) T_cam_world``, and depth z."""
    p = se3.transform_points(T_cam_world, points_world_m)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    zs = np.where(np.abs(z) > 1e-9, z, 1e-9)
    fx, fy, bf = rig.fx, rig.fy, rig.bf
    pred = np.column_stack([fx * x / zs + rig.cx, fy * y / zs + rig.cy,
                            fx * x / zs + rig.cx - bf / zs])
    r = pred - observed
    jp = np.zeros((len(p), 3, 3))  # d(u, v, u_right) / d(x, y, z)
    jp[:, 0, 0] = fx / zs
    jp[:, 0, 2] = -fx * x / zs**2
    jp[:, 1, 1] = fy / zs
    jp[:, 1, 2] = -fy * y / zs**2
    jp[:, 2, 0] = fx / zs
    jp[:, 2, 2] = -(fx * x - bf) / zs**2
    dp = np.zeros((len(p), 3, 6))  # d p / d delta = [I, -[p]x]
    dp[:, 0, 0] = dp[:, 1, 1] = dp[:, 2, 2] = 1.0
    dp[:, 0, 4], dp[:, 0, 5] = z, -y
    dp[:, 1, 3], dp[:, 1, 5] = -z, x
    dp[:, 2, 3], dp[:, 2, 4] = y, -x
    return r, jp @ dp, z


def refine_pose(points_world_m: np.ndarray, keypoints_px: np.ndarray, right_u_px: np.ndarray,
                octaves: np.ndarray, rig: StereoRig, T_world_cam_init: np.ndarray,
                params: TrackingParams, inliers_init: np.ndarray | None = None
                ) -> PoseEstimate | None:
    """Motion-only Gauss-Newton with Huber weights and chi-square outlier rounds (see the
    module's notes). ``right_u_px`` is NaN for keypoints without stereo. None when fewer than
    ``min_inliers`` survive or the normal equations are singular."""
    n = len(points_world_m)
    if n < params.min_inliers:
        return None
    has_r = np.isfinite(right_u_px)
    observed = np.column_stack([keypoints_px[:, 0], keypoints_px[:, 1],
                                np.where(has_r, right_u_px, 0.0)]).astype(float)
    sigma = params.pixel_sigma_px * params.scale_factor ** octaves.astype(float)
    use_r = has_r.astype(float)
    chi2_limit = np.where(has_r, CHI2_3DOF_95, CHI2_2DOF_95)
    active = np.ones(n, bool) if inliers_init is None else inliers_init.copy()
    T_cw = se3.inverse(T_world_cam_init)
    for _ in range(params.refine_rounds):
        if np.count_nonzero(active) < params.min_inliers:
            return None
        for _ in range(params.refine_iterations):
            r, J, z = _residuals_and_jacobians(T_cw, points_world_m, observed, rig)
            rn = r / sigma[:, None]
            rn[:, 2] *= use_r
            e = np.sqrt((rn**2).sum(axis=1))
            w = np.where(e <= params.huber_k, 1.0, params.huber_k / np.maximum(e, 1e-12))
            w = w * active * (z > params.min_depth_m)
            Jn = J / sigma[:, None, None]
            Jn[:, 2, :] *= use_r[:, None]
            H = np.einsum("k,kij,kil->jl", w, Jn, Jn)
            g = np.einsum("k,kij,ki->j", w, Jn, rn)
            try:
                delta = np.linalg.solve(H, -g)
            except np.linalg.LinAlgError:
                return None
            if not np.isfinite(delta).all():
                return None
            T_cw = se3.exp(delta) @ T_cw
            if np.linalg.norm(delta) < 1e-9:
                break
        r, J, z = _residuals_and_jacobians(T_cw, points_world_m, observed, rig)
        rn = r / sigma[:, None]
        rn[:, 2] *= use_r
        chi2 = (rn**2).sum(axis=1)
        active = (chi2 < chi2_limit) & (z > params.min_depth_m)
    n_in = int(np.count_nonzero(active))
    if n_in < params.min_inliers:
        return None
    Jn = J / sigma[:, None, None]
    Jn[:, 2, :] *= use_r[:, None]
    H = np.einsum("k,kij,kil->jl", active.astype(float), Jn, Jn)
    try:
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None
    dof = 2 * n_in + int(np.count_nonzero(active & has_r)) - 6
    s2 = float(chi2[active].sum() / max(dof, 1))
    cov = cov * max(1.0, s2) * max(1.0, params.reference_inliers / n_in)
    cov = 0.5 * (cov + cov.T)
    if not np.isfinite(cov).all() or np.linalg.eigvalsh(cov)[0] <= 0.0:
        return None
    return PoseEstimate(se3.inverse(T_cw), cov, active, float(np.sqrt(s2)))


def estimate_pose(points_world_m: np.ndarray, frame: Frame, keypoint_idx: np.ndarray,
                  rig: StereoRig, T_world_cam_pred: np.ndarray, params: TrackingParams
                  ) -> PoseEstimate | None:
    """PnP-RANSAC, then refinement, on matched map points (steps 3-4); None on failure."""
    if len(keypoint_idx) < params.min_matches:
        return None
    pixels = frame.keypoints_px[keypoint_idx]
    ransac = solve_pnp_ransac(points_world_m, pixels, rig.K, T_world_cam_pred, params)
    if ransac is None:
        return None
    T_init, inliers = ransac
    return refine_pose(points_world_m, pixels, frame.right_u_px[keypoint_idx],
                       frame.octaves[keypoint_idx], rig, T_init, params, inliers)
