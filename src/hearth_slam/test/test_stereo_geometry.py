"""The rig model: projection, disparity and depth, rectification from a raw calibration, and
the rigid-transform algebra underneath."""

import cv2
import numpy as np
import pytest

from hearth_slam import se3
from hearth_slam.stereo_camera import (
    CameraCalibration,
    StereoRig,
    mount_from_urdf,
    rectified_camera_info_fields,
)


def test_se3_exp_log_inverse_and_adjoint_agree():
    rng = np.random.default_rng(0)
    for _ in range(20):
        xi = rng.normal(scale=[0.5, 0.5, 0.5, 0.6, 0.6, 0.6])  # |phi| < pi
        T = se3.exp(xi)
        assert se3.is_rigid(T)
        assert se3.log(T) == pytest.approx(xi, abs=1e-9)
        assert T @ se3.inverse(T) == pytest.approx(np.eye(4), abs=1e-12)
        eta = rng.normal(size=6) * 1e-3
        # T exp(eta) T^-1 = exp(Ad_T eta)
        lhs = T @ se3.exp(eta) @ se3.inverse(T)
        assert lhs == pytest.approx(se3.exp(se3.adjoint(T) @ eta), abs=1e-12)
        q = se3.to_quaternion(T)
        assert se3.from_quaternion(q, T[:3, 3]) == pytest.approx(T, abs=1e-12)
    near_pi = se3.so3_exp([0.0, np.pi - 1e-6, 0.0])
    assert se3.so3_log(near_pi) == pytest.approx([0.0, np.pi - 1e-6, 0.0], abs=1e-5)


def test_projection_and_depth_from_disparity_invert_each_other(rig):
    points = np.array([[0.3, -0.2, 1.0], [-1.0, 0.5, 4.0], [0.0, 0.0, 0.5]])
    u, v, u_right = rig.project(points)
    disparity = u - u_right
    assert disparity == pytest.approx(rig.fx * rig.baseline_m / points[:, 2])
    depth = rig.depth_from_disparity(disparity)
    assert depth == pytest.approx(points[:, 2])
    assert rig.back_project(u, v, depth) == pytest.approx(points)
    assert np.isnan(rig.depth_from_disparity(np.array([0.0, -1.0]))).all()


def test_rectified_pair_from_camera_info_is_passed_through(rig):
    assert rig.baseline_m == pytest.approx(0.08)
    assert not rig.needs_rectification
    assert rig.T_raw_rect == pytest.approx(np.eye(4))
    left = np.zeros((400, 640), np.uint8)
    out_l, out_r = rig.rectify(left, left)
    assert out_l is left and out_r is left


def _raw_pair():
    """A distorted, slightly toed-in pair (EuRoC-like) and its rectification by OpenCV."""
    size = (752, 480)
    K0 = np.array([[458.0, 0, 367.0], [0, 457.0, 248.0], [0, 0, 1]])
    K1 = np.array([[457.0, 0, 380.0], [0, 456.0, 255.0], [0, 0, 1]])
    D0 = np.array([-0.28, 0.074, 0.0002, 0.00002])
    D1 = np.array([-0.28, 0.075, -0.0001, -0.00004])
    T_c1_c0 = se3.make(se3.so3_exp([0.003, -0.01, 0.002]), [-0.11, 0.001, -0.0005])
    R1, R2, P1, P2, *_ = cv2.stereoRectify(K0, D0, K1, D1, size, T_c1_c0[:3, :3],
                                           T_c1_c0[:3, 3:].copy(), flags=cv2.CALIB_ZERO_DISPARITY,
                                           alpha=0.0)
    left, right = ({"width": size[0], "height": size[1], "k": K.ravel(), "d": D, "r": R.ravel(),
                    "p": P.ravel()} for K, D, R, P in ((K0, D0, R1, P1), (K1, D1, R2, P2)))
    return StereoRig.from_camera_info_fields(left, right), (K0, D0, K1, D1, T_c1_c0)


def test_raw_calibration_is_rectified_so_a_point_lands_on_one_row_at_its_disparity():
    rig, (K0, D0, K1, D1, T_c1_c0) = _raw_pair()
    assert rig.needs_rectification
    assert rig.baseline_m == pytest.approx(0.11, abs=2e-3)
    # A bright dot at a known 3D point, drawn where the raw (distorted) cameras see it.
    p_cam0 = np.array([[0.4, -0.25, 2.5]])
    images = []
    for K, D, T in ((K0, D0, np.eye(4)), (K1, D1, T_c1_c0)):
        uv, _ = cv2.projectPoints(se3.transform_points(T, p_cam0), np.zeros(3), np.zeros(3), K, D)
        img = np.zeros((480, 752), np.uint8)
        cv2.circle(img, tuple(round(16 * c) for c in uv.ravel()), 3 * 16, 255, -1,
                   lineType=cv2.LINE_AA, shift=4)  # sub-pixel centre
        images.append(cv2.GaussianBlur(img, (0, 0), 1.5))
    left, right = rig.rectify(*images)

    def centroid(img):
        ys, xs = np.nonzero(img > 40)
        w = img[ys, xs].astype(float)
        return np.array([(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum()])

    # where the rectified model says the point is: p in the rectified frame = R p_raw
    p_rect = se3.transform_points(se3.inverse(rig.T_raw_rect), p_cam0)
    u, v, u_right = rig.project(p_rect)
    cl, cr = centroid(left), centroid(right)
    assert cl == pytest.approx([u[0], v[0]], abs=0.3)
    assert cr == pytest.approx([u_right[0], v[0]], abs=0.3)
    assert cl[0] - cr[0] == pytest.approx(u[0] - u_right[0], abs=0.3)  # disparity, px


def _info(**over):
    base = {"width": 640, "height": 400, "k": [330, 0, 320, 0, 330, 200, 0, 0, 1], "d": [0.0] * 5,
                "r": np.eye(3).ravel(), "p": [330, 0, 320, 0, 0, 330, 200, 0, 0, 0, 1, 0]}
    base.update(over)
    return base


@pytest.mark.parametrize("bad, match", [
    ({"k": [np.nan] + [0.0] * 8}, "non-finite"),
    ({"k": [0.0] * 9}, "focal lengths"),
    ({"p": [1.0] * 11}, "12 numbers"),
    ({"width": 0}, "positive"),
    ({"distortion_model": "kannala_brandt"}, "not supported"),
    ({"d": [0.1, 0.2, 0.3]}, "coefficients"),
    ({"r": np.diag([1.0, 1.0, -1.0]).ravel()}, "rotation"),
])
def test_a_bad_camera_info_is_a_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        CameraCalibration.from_camera_info_fields(**_info(**bad))


def test_a_pair_that_is_not_a_horizontal_stereo_rig_is_refused():
    left = _info()
    right_wrong_sign = _info(p=[330, 0, 320, 26.4, 0, 330, 200, 0, 0, 0, 1, 0])
    with pytest.raises(ValueError, match="baseline"):
        StereoRig.from_camera_info_fields(left, right_wrong_sign)
    with pytest.raises(ValueError, match="one size"):
        StereoRig.from_camera_info_fields(left, _info(width=320, p=[330, 0, 160, -26.4, 0, 330,
                                                                     200, 0, 0, 0, 1, 0]))
    rig = StereoRig.from_camera_info_fields(
        *rectified_camera_info_fields(np.array([[330.0, 0, 320], [0, 330, 200], [0, 0, 1]]),
                                      640, 400, 0.08))
    with pytest.raises(ValueError, match="mono8"):
        rig.rectify(np.zeros((400, 640, 3), np.uint8), np.zeros((400, 640), np.uint8))
    with pytest.raises(ValueError, match="calibration says"):
        rig.rectify(np.zeros((200, 320), np.uint8), np.zeros((200, 320), np.uint8))


def test_the_camera_mount_comes_from_the_urdf():
    from hearth_description.robot_model import expand_xacro

    urdf = expand_xacro()
    T_left = mount_from_urdf(urdf, "stereo_left_optical")
    T_right = mount_from_urdf(urdf, "stereo_right_optical")
    # optical z looks forward along base x; the right camera is +baseline along optical x
    assert T_left[:3, 2] == pytest.approx([1.0, 0.0, 0.0], abs=1e-9)
    offset = se3.inverse(T_left) @ T_right
    assert offset[:3, 3] == pytest.approx([0.08, 0.0, 0.0], abs=1e-9)
    with pytest.raises(ValueError, match="no joint chain"):
        mount_from_urdf(urdf, "no_such_frame")
    with pytest.raises(ValueError, match="not fixed"):
        mount_from_urdf(urdf, "wheel_left_link")
