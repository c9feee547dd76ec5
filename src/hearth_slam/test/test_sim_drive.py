"""The front end on the simulator's own stereo images (MuJoCo, 640x400 at 10 Hz) on a
short drive (a gentle left arc at 0.3 m/s), against the simulator's ground truth."""

import itertools

import numpy as np

from hearth_slam import se3
from hearth_slam.visual_odometry import VisualOdometry


def test_visual_odometry_follows_the_simulated_drive(sim_drive):
    vo = VisualOdometry(sim_drive.rig(), sim_drive.T_base_optical)
    outs = [vo.track(left, right, t * 1e-9)  # vision alone: no odometry prior
            for left, right, t in zip(sim_drive.left, sim_drive.right, sim_drive.t_ns,
                                      strict=True)]
    assert all(o.tracked for o in outs)
    truth = sim_drive.T_world_base
    path_m = sum(np.linalg.norm((se3.inverse(a) @ b)[:3, 3])
                 for a, b in itertools.pairwise(truth))
    assert path_m > 0.6
    # relative pose error per metre over the whole drive
    est = se3.inverse(outs[0].T_world_base) @ outs[-1].T_world_base
    err = se3.inverse(se3.inverse(truth[0]) @ truth[-1]) @ est
    assert np.linalg.norm(err[:3, 3]) / path_m < 0.02
    assert np.degrees(se3.rotation_angle_rad(err)) < 1.0
    # the published twist: forward speed and yaw rate, within their stated uncertainty
    for k in range(2, len(outs)):
        o, dt = outs[k], (sim_drive.t_ns[k] - sim_drive.t_ns[k - 1]) * 1e-9
        true_twist = se3.log(se3.inverse(truth[k - 1]) @ truth[k]) / dt
        sd = np.sqrt(np.diag(o.twist_covariance))
        assert abs(o.twist_base[0] - true_twist[0]) < max(4 * sd[0], 0.02)
        assert abs(o.twist_base[5] - true_twist[5]) < max(4 * sd[5], 0.02)
