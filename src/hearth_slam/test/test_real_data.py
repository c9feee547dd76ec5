"""The front end on real images (skipped when ../shared/data is absent).

- EuRoC V1_01: the rig stands on the floor for the 4.7 s of images. The estimated motion
  stays under 5 mm and 0.2 deg. (The rig is not perfectly still: the rectified left image
  drifts 1.3-1.7 px down over the window, a pitch of 0.17-0.22 deg, so this bound is about
  the rig's real motion; ``./hearth eval slam_frontend`` prints that reference.)
- TUM fr3 office, colour frames ~1 s apart with mocap ground truth: the front end's features
  and an essential-matrix estimate give each overlapping pair's relative rotation.
"""

import numpy as np

from hearth_slam import se3
from hearth_slam.datasets import euroc_stereo, tum_office
from hearth_slam.features import OrbExtractor
from hearth_slam.stereo_camera import StereoRig
from hearth_slam.two_view import relative_pose_essential
from hearth_slam.visual_odometry import VisualOdometry


def test_euroc_rig_at_rest_moves_less_than_5_mm_and_0_2_deg(euroc_dir):
    data = euroc_stereo(euroc_dir)
    rig = StereoRig.from_camera_info_fields(data.left_info, data.right_info)
    assert rig.needs_rectification and 0.10 < rig.baseline_m < 0.12
    vo = VisualOdometry(rig)
    outs = [vo.track(*data.images(k), t * 1e-9) for k, t in enumerate(data.t_ns)]
    assert len(outs) == 95 and all(o.tracked for o in outs)
    T0 = outs[0].T_world_cam
    moves = [se3.inverse(T0) @ o.T_world_cam for o in outs]
    assert max(np.linalg.norm(m[:3, 3]) for m in moves) < 0.005
    assert max(np.degrees(se3.rotation_angle_rad(m)) for m in moves) < 0.2


def test_tum_office_relative_rotations_from_the_front_end_features(tum_dir):
    seq = tum_office(tum_dir)
    extractor = OrbExtractor()
    feats = [extractor.extract(seq.image(k)) for k in range(len(seq.t_s))]
    truth = [seq.pose_at(t) for t in seq.t_s]
    errors, pairs = [], 0
    for a in range(len(feats)):
        for b in range(a + 1, len(feats)):
            if truth[a] is None or truth[b] is None:
                continue
            T_b_a = se3.inverse(truth[b]) @ truth[a]
            if se3.rotation_angle_rad(T_b_a) > np.radians(30) or np.linalg.norm(
                    T_b_a[:3, 3]) > 1.0:
                continue  # not enough overlap for ORB (see hearth_eval slam_frontend)
            pairs += 1
            est = relative_pose_essential(feats[a], feats[b], seq.K)
            if est is not None:
                errors.append(np.degrees(se3.rotation_angle_rad(est.R_2_1.T @ T_b_a[:3, :3])))
    assert pairs >= 40
    assert len(errors) >= 0.6 * pairs
    assert np.median(errors) < 1.5 and np.percentile(errors, 90) < 5.0
