"""Rendered cameras agree with their published geometry (issue 3, acceptance 1).

A small world: a textured wall, small glowing marker spheres at known world points, and a
stereo pair at a known pose (turned and pitched). The rendered centroid of each marker must
be the projection of its centre through K and the camera pose (0.5 px), the disparity must
be f*B/Z (0.5 px) and agree with the right camera's P; the ToF depth of a plane and of a box
face must be their distance along the optical axis (1 cm).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
mujoco = pytest.importorskip("mujoco")
pytest.importorskip("cv2")
Rotation = pytest.importorskip("scipy.spatial.transform").Rotation

from hearth_sim.sensors.cameras import (  # noqa: E402
    Q_MJ_OPTICAL,
    R_MJ_OPTICAL,
    MuJoCoCamera,
    PinholeIntrinsics,
    RendererPool,
    camera_info_fields,
    camera_mjcf,
    cull_scene_lights,
    mujoco_quat_from_optical,
    optical_quat_from_mujoco,
    render_depth_m,
    render_mono8,
)
from hearth_sim.world.textures import TextureAssets  # noqa: E402

STEREO = PinholeIntrinsics(640, 400, math.radians(90.0))
TOF = PinholeIntrinsics(160, 120, math.radians(90.0))
BASELINE_M = 0.08
# the robot looks along world +x: optical z = +x, x = -y, y = -z (columns)
R_LOOK_X = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def _quat(R: np.ndarray) -> np.ndarray:
    return Rotation.from_matrix(R).as_quat(scalar_first=True)


def _render_ok(model) -> None:
    try:
        mujoco.Renderer(model, 8, 8).close()
    except Exception as exc:  # no EGL / OSMesa on this machine
        pytest.skip(f"MuJoCo cannot render offscreen here: {exc}")


# ---------------------------------------------------------------------------- pure geometry


def test_intrinsics_follow_the_field_of_view():
    assert STEREO.fx == pytest.approx(320.0)
    assert STEREO.fy == STEREO.fx
    assert (STEREO.cx, STEREO.cy) == (319.5, 199.5)
    back = PinholeIntrinsics.from_fovy(640, 400, STEREO.fovy_deg)
    assert back.hfov_rad == pytest.approx(STEREO.hfov_rad, abs=1e-12)
    assert STEREO.fovy_deg == pytest.approx(math.degrees(2 * math.atan(200 / 320)))
    with pytest.raises(ValueError):
        PinholeIntrinsics(640, 400, math.pi)


def test_camera_info_follows_ros_conventions():
    left = camera_info_fields(STEREO, "stereo_left_optical")
    right = camera_info_fields(STEREO, "stereo_right_optical", BASELINE_M, right=True)
    assert left["distortion_model"] == "plumb_bob" and left["d"] == [0.0] * 5
    assert left["r"] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert left["k"] == pytest.approx([320.0, 0, 319.5, 0, 320.0, 199.5, 0, 0, 1])
    assert left["p"] == pytest.approx([320.0, 0, 319.5, 0, 0, 320.0, 199.5, 0, 0, 0, 1, 0])
    assert right["p"][3] == pytest.approx(-320.0 * BASELINE_M)  # Tx = -fx * B
    assert (right["width"], right["height"], right["frame_id"]) == (640, 400,
                                                                  "stereo_right_optical")
    with pytest.raises(ValueError):
        camera_info_fields(STEREO, "x", right=True)


def test_optical_to_mujoco_rotation_is_pi_about_x():
    R = Rotation.from_quat(Q_MJ_OPTICAL, scalar_first=True).as_matrix()
    np.testing.assert_allclose(R, R_MJ_OPTICAL, atol=1e-12)
    q = _quat(R_LOOK_X)
    np.testing.assert_allclose(optical_quat_from_mujoco(mujoco_quat_from_optical(q)), q,
                               atol=1e-12)


# ---------------------------------------------------------------------------- rendered


def _camera_pose() -> tuple[np.ndarray, np.ndarray]:
    """Left optical frame in the world: turned 20 deg left, pitched 5 deg down."""
    R = Rotation.from_euler("zy", [20.0, 5.0], degrees=True).as_matrix() @ R_LOOK_X
    return R, np.array([0.3, -0.2, 0.8])


def _markers(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A grid of world points spread over the image, 1.2 to 3.6 m deep."""
    pts = []
    depths = np.linspace(1.2, 3.6, 12)
    k = 0
    for v in np.linspace(60.0, 340.0, 3):
        for u in np.linspace(90.0, 560.0, 4):
            z = depths[(k * 5) % 12]
            k += 1
            p_opt = np.array([(u - STEREO.cx) / STEREO.fx * z, (v - STEREO.cy) / STEREO.fy * z, z])
            pts.append(R @ p_opt + t)
    return np.array(pts)


@pytest.fixture(scope="module")
def stereo_world(tmp_path_factory):
    R, t = _camera_pose()
    pts = _markers(R, t)
    tex = TextureAssets(tmp_path_factory.mktemp("textures"))
    wall_png = tex.file("plaster:1")
    markers = "".join(
        f'<geom name="marker{i}" type="sphere" size="{5.0 * np.linalg.norm(p - t) / STEREO.fx:.6f}"'
        f' pos="{p[0]:.9f} {p[1]:.9f} {p[2]:.9f}" material="glow"/>' for i, p in enumerate(pts))
    q = _quat(R)
    right_pos = t + R[:, 0] * BASELINE_M  # +x of the optical frame
    xml = f"""<mujoco>
<visual><headlight active="0"/><quality offsamples="0"/>
  <global offwidth="640" offheight="400"/></visual>
<asset><texture name="wall" type="2d" file="{wall_png}"/>
  <material name="wallmat" texture="wall" texrepeat="2 2"/>
  <material name="glow" rgba="1 1 1 1" emission="1"/></asset>
<worldbody>
  <light type="directional" dir="0 0 -1" diffuse="0.3 0.3 0.3" castshadow="false"/>
  <geom type="box" size="0.1 6 3" pos="6 0 1" material="wallmat"/>
  {markers}
  {camera_mjcf("left", tuple(t), q, STEREO)}
  {camera_mjcf("right", tuple(right_pos), q, STEREO)}
</worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml, tex.assets())
    _render_ok(model)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    pool = RendererPool(model)
    yield model, data, pool, pts, R, t
    pool.close()


def _centroids(img: np.ndarray, predicted: np.ndarray, half: int = 14) -> np.ndarray:
    """Centroid of the bright marker pixels near each predicted pixel."""
    out = []
    for u, v in predicted:
        u0, v0 = round(u), round(v)
        win = img[v0 - half:v0 + half + 1, u0 - half:u0 + half + 1]
        vv, uu = np.nonzero(win > 200)
        assert len(uu) > 20, f"marker near ({u:.1f}, {v:.1f}) not seen"
        out.append((uu.mean() + u0 - half, vv.mean() + v0 - half))
    return np.array(out)


def test_markers_project_through_K_and_the_pose(stereo_world):
    model, data, pool, pts, R, t = stereo_world
    left = MuJoCoCamera("left", STEREO)
    left.check(model)
    R_model, t_model = left.pose_world(model, data)  # the optical frame MuJoCo renders from
    np.testing.assert_allclose(R_model, R, atol=1e-7)
    np.testing.assert_allclose(t_model, t, atol=1e-7)

    predicted = STEREO.project((pts - t) @ R)  # through K and the known pose only
    img = render_mono8(pool.for_camera(left), data, left)
    err = _centroids(img, predicted) - predicted
    assert np.abs(err).max() < 0.5, err


def test_stereo_disparity_is_f_b_over_z(stereo_world):
    _, data, pool, pts, R, t = stereo_world
    left, right = MuJoCoCamera("left", STEREO), MuJoCoCamera("right", STEREO)
    r = pool.for_camera(left)
    p_left = (pts - t) @ R  # in the left optical frame
    z = p_left[:, 2]
    P = np.array(camera_info_fields(STEREO, "r", BASELINE_M, right=True)["p"]).reshape(3, 4)
    pred_left = STEREO.project(p_left)
    hom = np.column_stack([p_left, np.ones(len(p_left))]) @ P.T  # the right camera's P
    pred_right = hom[:, :2] / hom[:, 2:3]
    uv_left = _centroids(render_mono8(r, data, left), pred_left)
    uv_right = _centroids(render_mono8(r, data, right), pred_right)
    np.testing.assert_allclose(uv_right[:, 1], uv_left[:, 1], atol=0.5)  # rectified rows
    disparity = uv_left[:, 0] - uv_right[:, 0]
    assert np.abs(disparity - STEREO.fx * BASELINE_M / z).max() < 0.5
    assert np.abs(uv_right - pred_right).max() < 0.5


@pytest.fixture(scope="module")
def depth_world():
    # the ToF looks along +x from (0, 0, 0.5): a wall whose face is at x = 2.0, a box whose
    # near face is at x = 1.2; the wall ends at y = 0, beyond it a far wall at x = 6
    q = _quat(R_LOOK_X)
    xml = f"""<mujoco>
<visual><headlight active="0"/><map znear="0.001"/></visual>
<worldbody>
  <geom name="wall" type="box" size="0.05 3 3" pos="2.05 -3.0 0.5"/>
  <geom name="far" type="box" size="0.05 3 3" pos="6.05 0 0.5"/>
  <geom name="box" type="box" size="0.2 0.3 0.25" pos="1.4 -0.4 0.4"/>
  {camera_mjcf("tof", (0.0, 0.0, 0.5), q, TOF)}
</worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    _render_ok(model)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    pool = RendererPool(model)
    yield model, data, pool
    pool.close()


def test_depth_is_distance_along_the_optical_axis(depth_world):
    _, data, pool = depth_world
    tof = MuJoCoCamera("tof", TOF)
    depth = render_depth_m(pool.for_camera(tof), data, tof, 0.1, 4.0)
    assert depth.shape == (120, 160) and depth.dtype == np.float32
    # pixel -> ray in the optical frame; world x = optical z, world y = -optical x
    v, u = np.mgrid[0:120, 0:160]
    x_ray = (u - TOF.cx) / TOF.fx  # optical x per unit depth
    y_ray = (v - TOF.cy) / TOF.fy
    world_y = -x_ray * depth
    world_z = 0.5 - y_ray * depth
    on_box = (np.abs(depth - 1.2) < 0.05) & (np.abs(world_y + 0.4) < 0.28) & (
        np.abs(world_z - 0.4) < 0.23)
    on_wall = (np.abs(depth - 2.0) < 0.05)
    assert on_box.sum() > 200 and on_wall.sum() > 2000
    assert np.abs(depth[on_box] - 1.2).max() < 0.01
    assert np.abs(depth[on_wall] - 2.0).max() < 0.01  # flat: z-depth, not range
    # the wall's pixels are those whose ray meets it (y <= 0 at x = 2, outside the box)
    y_at_wall = -x_ray * 2.0
    assert np.all(y_at_wall[on_wall] < 0.01)
    # through the opening the far wall is at 6 m, past the 4 m range: NaN
    open_side = (-x_ray * 2.0 > 0.05)
    assert open_side.sum() > 1000
    assert np.all(np.isnan(depth[open_side]))
    near = render_depth_m(pool.for_camera(tof), data, tof, 1.5, 4.0)
    assert np.all(np.isnan(near[on_box]))  # closer than min range


def test_light_culling_keeps_the_directional_and_the_nearest(tmp_path):
    spots = "".join(f'<light name="s{i}" type="spot" pos="{i} 0 2.4" dir="0 0 -1" '
                    f'castshadow="false"/>' for i in range(12))
    xml = f"""<mujoco><visual><headlight active="0"/></visual><worldbody>
<light name="sun" type="directional" dir="0 0 -1" castshadow="false"/>{spots}
<camera name="c" pos="9.2 0 1" xyaxes="0 -1 0 0 0 1"/></worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    _render_ok(model)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    with RendererPool(model) as pool:
        r = pool.get(32, 24)
        r.update_scene(data, "c")
        assert r.scene.nlight == 13
        cull_scene_lights(r.scene, model, data.cam_xpos[0])
        kept = sorted(int(r.scene.lights[k].id) for k in range(r.scene.nlight))
    assert len(kept) == 8
    assert 0 in kept  # the sun
    spot_ids = [i for i in kept if i]
    assert sorted(spot_ids) == [1 + i for i in range(5, 12)]  # the 7 spots nearest x = 9.2
