"""Depth images to points: the pinhole back-projection, invalid pixels dropped, the decoding of
sensor_msgs/Image buffers, and the transform into another frame."""

import math

import numpy as np
import pytest

from hearth_perception.depth_points import (
    DepthProjector,
    decode_depth_image,
    intrinsics_from_k,
    transform_matrix,
)

W, H = 16, 12
K = np.array([[10.0, 0.0, 7.5], [0.0, 10.0, 5.5], [0.0, 0.0, 1.0]])


def test_a_flat_wall_back_projects_onto_its_plane_through_each_pixels_ray():
    depth = np.full((H, W), 2.0, dtype=np.float32)
    pts = DepthProjector(K, W, H).points_camera(depth)
    assert pts.shape == (W * H, 3)
    np.testing.assert_allclose(pts[:, 2], 2.0)
    # pixel (u=0, v=0) is the first point: x = (0 - cx) / fx * z
    np.testing.assert_allclose(pts[0], [-7.5 / 10 * 2.0, -5.5 / 10 * 2.0, 2.0])


def test_invalid_pixels_give_no_point_and_the_range_limits_apply():
    depth = np.full((H, W), 1.0, dtype=np.float32)
    depth[0, :4] = [np.nan, np.inf, 0.0, -1.0]
    depth[1, 0] = 0.05  # below min range
    depth[1, 1] = 9.0  # beyond max range
    pts = DepthProjector(K, W, H, min_range_m=0.1, max_range_m=4.0).points_camera(depth)
    assert len(pts) == W * H - 6
    assert np.all(np.isfinite(pts))
    all_nan = np.full((H, W), np.nan, dtype=np.float32)
    assert DepthProjector(K, W, H).points_camera(all_nan).shape == (0, 3)


def test_stride_keeps_every_nth_pixel():
    depth = np.ones((H, W), dtype=np.float32)
    assert len(DepthProjector(K, W, H, stride_px=2).points_camera(depth)) == (W // 2) * (H // 2)


def test_points_move_into_the_target_frame():
    # optical frame (z forward, x right, y down) on a base 0.3 m up, looking along base +x
    R = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, [0.1, 0.0, 0.3]
    depth = np.full((H, W), np.nan, dtype=np.float32)
    depth[5, 7] = 2.0  # near the principal point
    (p,) = DepthProjector(K, W, H).points_in(depth, T)
    np.testing.assert_allclose(p, [2.1, 0.1, 0.3 + 0.1], atol=1e-9)


def test_transform_matrix_of_a_yaw():
    T = transform_matrix((1.0, 2.0, 0.0), (0.0, 0.0, math.sin(0.25 * math.pi),
                                           math.cos(0.25 * math.pi)))
    np.testing.assert_allclose(T[:3, :3] @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(T[:3, 3], [1.0, 2.0, 0.0])
    with pytest.raises(ValueError):
        transform_matrix((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0))


@pytest.mark.parametrize("bigendian", [False, True])
def test_32fc1_buffers_decode_with_row_padding_and_either_byte_order(bigendian):
    img = np.arange(W * H, dtype=np.float32).reshape(H, W) / 10.0
    img[2, 3] = np.nan
    step = W * 4 + 8  # padded rows
    rows = np.zeros((H, step), dtype=np.uint8)
    rows[:, : W * 4] = img.astype(">f4" if bigendian else "<f4").view(np.uint8).reshape(H, -1)
    out = decode_depth_image(rows.tobytes(), H, W, step, "32FC1", bigendian)
    np.testing.assert_array_equal(out, img)


def test_16uc1_millimetres_become_metres_and_zero_becomes_nan():
    mm = np.full((H, W), 1500, dtype="<u2")
    mm[0, 0] = 0
    out = decode_depth_image(mm.tobytes(), H, W, W * 2, "16UC1", False)
    assert np.isnan(out[0, 0]) and out[1, 1] == pytest.approx(1.5)


@pytest.mark.parametrize("case", ["encoding", "short", "step"])
def test_bad_images_are_clear_errors(case):
    data = np.zeros(W * H, dtype=np.float32).tobytes()
    args = {"height": H, "width": W, "step": W * 4, "encoding": "32FC1"}
    if case == "encoding":
        args["encoding"] = "rgb8"
    elif case == "short":
        data = data[:-4]
    else:
        args["step"] = W * 2
    with pytest.raises(ValueError):
        decode_depth_image(data, **args)


def test_bad_intrinsics_and_size_mismatch_are_clear_errors():
    with pytest.raises(ValueError):
        intrinsics_from_k([0.0] * 9)
    with pytest.raises(ValueError):
        intrinsics_from_k([np.nan] + [1.0] * 8)
    with pytest.raises(ValueError, match="intrinsics"):
        DepthProjector(K, W, H).points_camera(np.ones((H + 1, W), dtype=np.float32))


def test_the_side_border_marks_the_points_of_the_images_outer_columns():
    depth = np.full((H, W), 2.0, dtype=np.float32)
    depth[0, 0] = np.nan  # no point there: the flags follow the valid points
    for stride in (1, 2, 3):
        proj = DepthProjector(K, W, H, stride_px=stride)
        pts, border = proj.points_camera(depth), proj.side_border(depth)
        assert border.shape == (len(pts),)
        u = pts[:, 0] / pts[:, 2] * K[0, 0] + K[0, 2]  # back to the pixel column
        last = (W - 1) // stride * stride
        np.testing.assert_array_equal(border, np.isclose(u, 0.0) | np.isclose(u, last))
    assert proj.half_fov_rad == pytest.approx(math.atan(8.5 / 10.0))
