"""The assembled apartment with the robot, rendered: the published camera_info and the URDF's
TF chain (ground truth world -> base_link, then base_link -> optical frame as state_publisher
publishes it, through the pan joint for the screen's camera) put known world points on the
pixels where the cameras see them; darkness leaves the IR illuminator; low power turns the
cameras off."""

from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
mujoco = pytest.importorskip("mujoco")

from hearth_common.config import load_config  # noqa: E402
from hearth_description.robot_model import (  # noqa: E402
    expand_xacro,
    joint_transform,
    parse_urdf,
    quaternion_multiply,
    rotate_vector,
)
from hearth_sim import mujoco_sim  # noqa: E402
from hearth_sim.config import SimConfig  # noqa: E402
from hearth_sim.home.loader import resolve_home  # noqa: E402
from hearth_sim.sensors.cameras import camera_info_fields  # noqa: E402
from hearth_sim.world.lighting import Darkness  # noqa: E402

# Glowing markers in the hallway ahead of the robot's start (3.2, 4.0, facing east).
MARKERS_M = np.array([[5.0, 4.2, 0.45], [4.4, 3.75, 0.25], [6.5, 4.05, 0.6]])
MARKER_RADIUS_M = 0.012


def _with_markers(assemble):
    def wrapped(*args, **kwargs):
        xml, assets = assemble(*args, **kwargs)
        spheres = "".join(
            f'<geom name="marker{i}" type="sphere" size="{MARKER_RADIUS_M}" '
            f'pos="{x} {y} {z}" material="marker" contype="0" conaffinity="0"/>'
            for i, (x, y, z) in enumerate(MARKERS_M))
        xml = xml.replace("</asset>", '<material name="marker" emission="1" rgba="1 1 1 1"/>'
                          "</asset>", 1)
        return xml.replace("</worldbody>", spheres + "</worldbody>", 1), assets
    return wrapped


@pytest.fixture(scope="module")
def sim(robot):
    patch = pytest.MonkeyPatch()
    patch.setattr(mujoco_sim, "assemble", _with_markers(mujoco_sim.assemble))
    try:
        cfg = load_config(SimConfig, {"stereo_noise_std": 0.0, "people": 0})
        s = mujoco_sim.MujocoSim(resolve_home("apartment"), robot, cfg)
    finally:
        patch.undo()
    try:
        mujoco.Renderer(s.model, 8, 8).close()
    except Exception as exc:  # no EGL / OSMesa on this machine
        pytest.skip(f"MuJoCo cannot render offscreen here: {exc}")
    yield s
    s.close()


def base_to_frame(urdf: str, frame: str, positions: dict[str, float] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) of ``frame`` in base_link through the URDF's joints: the static TF, and the
    moving joints at ``positions`` (by name; 0 otherwise)."""
    positions = positions or {}
    parents = {j.child: j for j in parse_urdf(urdf)}
    q, t = (0.0, 0.0, 0.0, 1.0), np.zeros(3)
    chain = []
    while frame != "base_link":
        chain.append(parents[frame])
        frame = parents[frame].parent
    for j in reversed(chain):
        tf = joint_transform(j, positions.get(j.name, 0.0))
        t = t + np.array(rotate_vector(q, tf.translation_m))
        q = quaternion_multiply(q, tf.rotation_xyzw)
    x, y, z, w = q
    R = np.zeros(9)
    mujoco.mju_quat2Mat(R, np.array([w, x, y, z]))
    return R.reshape(3, 3), t


def world_to_optical(truth, R_bo: np.ndarray, t_bo: np.ndarray, p: np.ndarray) -> np.ndarray:
    R_wb = np.zeros(9)
    mujoco.mju_quat2Mat(R_wb, truth.quat_wxyz)
    R_wb = R_wb.reshape(3, 3)
    p_base = R_wb.T @ (p - truth.position_m)
    return R_bo.T @ (p_base - t_bo)


def blob_centroids(img: np.ndarray, expected_px: np.ndarray, window: int = 14) -> np.ndarray:
    """Intensity-weighted centroid of the bright blob near each expected pixel."""
    out = []
    for u, v in expected_px:
        u0, v0 = round(u), round(v)
        patch = img[v0 - window:v0 + window + 1, u0 - window:u0 + window + 1].astype(float)
        w = np.clip(patch - 40.0, 0.0, None)
        vv, uu = np.mgrid[v0 - window:v0 + window + 1, u0 - window:u0 + window + 1]
        assert w.sum() > 0, (u, v)
        out.append(((w * uu).sum() / w.sum(), (w * vv).sum() / w.sum()))
    return np.array(out)


def test_markers_project_through_camera_info_and_the_tf_chain(sim, robot):
    # darkness with the IR illuminator off: only the glowing markers show
    lighting = sim.lighting
    sim.lighting = replace(lighting, darkness=(Darkness(0.0, math.inf, ir_on=False),))
    for _ in range(20):
        sim.step(0.0, 0.0)
    truth = sim.robot_truth()
    left, right = sim.render("stereo")
    urdf = expand_xacro()
    pixels = {}
    for side, img in (("left", left), ("right", right)):
        frame = sim.cameras.frames[f"stereo_{side}"]
        info = camera_info_fields(sim.cameras.stereo_left.intrinsics, frame,
                                  robot.stereo.baseline_m, right=(side == "right"))
        K = np.array(info["k"]).reshape(3, 3)
        R_bo, t_bo = base_to_frame(urdf, frame)
        p_opt = np.array([world_to_optical(truth, R_bo, t_bo, p) for p in MARKERS_M])
        expected = (K @ (p_opt / p_opt[:, 2:]).T).T[:, :2]
        seen = blob_centroids(img, expected)
        assert np.abs(seen - expected).max() < 0.5, (side, seen - expected)
        print(f"FIGURE stereo {side}: max reprojection error through camera_info and TF "
              f"{np.abs(seen - expected).max():.3f} px over {len(MARKERS_M)} markers")
        pixels[side] = seen
        if side == "left":
            z_left = p_opt[:, 2]
            P = np.array(info["p"]).reshape(3, 4)
    # disparity = f B / Z, and the right camera's P says the same (Tx = -f B)
    info_r = camera_info_fields(sim.cameras.stereo_right.intrinsics, "r",
                                robot.stereo.baseline_m, right=True)
    f_b = -info_r["p"][3]
    disparity = pixels["left"][:, 0] - pixels["right"][:, 0]
    assert disparity == pytest.approx(f_b / z_left, abs=0.5)
    print(f"FIGURE disparity - f*B/Z: max {np.abs(disparity - f_b / z_left).max():.3f} px")
    assert P[0, 0] * robot.stereo.baseline_m == pytest.approx(f_b)
    sim.lighting = lighting


def test_the_screen_camera_projects_through_camera_info_and_the_tf_chain_as_it_pans(sim):
    lighting = sim.lighting
    sim.lighting = replace(lighting, darkness=(Darkness(0.0, math.inf, ir_on=False),))
    urdf = expand_xacro()
    cam = sim.cameras.screen
    frame = sim.cameras.frames[cam.name]
    assert frame == "screen_camera_optical"
    K = np.array(camera_info_fields(cam.intrinsics, frame)["k"]).reshape(3, 3)
    try:
        for target in (0.25, 0.0):  # panned left, then back
            sim.command_pan(target)
            pan = None
            for _ in range(600):
                pan = sim.step(0.0, 0.0).pan or pan
            assert pan.position_rad == pytest.approx(target, abs=0.01)
            assert abs(pan.velocity_radps) < 0.01  # settled: /screen/joint_states is current
            truth = sim.robot_truth()
            (rgb,) = sim.render("screen_camera")
            assert rgb.shape == (cam.intrinsics.height_px, cam.intrinsics.width_px, 3)
            R_bo, t_bo = base_to_frame(urdf, frame, {sim.robot.pan_joint: pan.position_rad})
            p_opt = np.array([world_to_optical(truth, R_bo, t_bo, p) for p in MARKERS_M])
            assert (p_opt[:, 2] > 0.5).all()
            expected = (K @ (p_opt / p_opt[:, 2:]).T).T[:, :2]
            seen = blob_centroids(rgb.mean(axis=2), expected)
            assert np.abs(seen - expected).max() < 0.5, (target, seen - expected)
    finally:
        sim.lighting = lighting


def test_darkness_leaves_the_ir_illuminator_and_low_power_stops_the_cameras(sim):
    lit = sim.render("stereo")[0].astype(float)
    sim.set_darkness(True)  # the IR illuminator comes on in darkness
    ir = sim.render("stereo")[0].astype(float)
    lighting = sim.lighting
    sim.lighting = replace(lighting, darkness=(Darkness(0.0, math.inf, ir_on=False),))
    black = sim.render("stereo")[0].astype(float)
    sim.lighting = lighting
    sim.set_darkness(False)
    again = sim.render("stereo")[0].astype(float)
    assert (black > 0).sum() < 200  # no light at all: nothing but this test's glowing markers
    # the IR spot fades with distance: the near hallway walls stay visible, the far end of
    # the hallway (about 6 m ahead, mid image) goes dark
    far = (slice(150, 250), slice(290, 350))
    near = (slice(100, 300), slice(0, 120))
    assert ir[far].mean() < 0.35 * lit[far].mean()
    assert ir[near].mean() > 40.0
    assert ir.mean() < lit.mean()
    assert np.abs(again - lit).mean() < 1.0  # lights back as before
    sim.set_power_mode("low")
    outs = [sim.step(0.0, 0.0) for _ in range(300)]
    assert not any(o.stereo or o.tof or o.screen_camera for o in outs)
    sim.set_power_mode("normal")
    outs = [sim.step(0.0, 0.0) for _ in range(300)]
    assert any(o.stereo for o in outs) and any(o.tof for o in outs)
    frame = next(o.stereo[0] for o in outs if o.stereo)
    assert frame.images[0].shape == frame.images[1].shape == (400, 640)
    depth = next(o.tof[0] for o in outs if o.tof).images[0]
    assert depth.dtype == np.float32 and depth.shape == (120, 160)
    assert np.nanmin(depth) >= 0.1 and np.nanmax(depth) <= 4.0


def test_tof_sees_the_floor_at_its_known_distance(sim, robot):
    """A ToF pixel's depth along the optical axis matches the floor plane through the TF
    chain (1 cm)."""
    truth = sim.robot_truth()
    (depth,) = sim.render("tof")
    urdf = expand_xacro()
    R_bo, t_bo = base_to_frame(urdf, "tof_optical")
    K = np.array(camera_info_fields(sim.cameras.tof.intrinsics, "tof_optical")["k"]).reshape(3, 3)
    R_wb = np.zeros(9)
    mujoco.mju_quat2Mat(R_wb, truth.quat_wxyz)
    R_wo = R_wb.reshape(3, 3) @ R_bo
    c_w = truth.position_m + R_wb.reshape(3, 3) @ t_bo
    checked, worst_m = 0, 0.0
    # rows 70-100 look at the floor 0.3-0.8 m ahead (the last dozen rows see the robot's
    # own chassis: the ToF is mounted to look down past its front edge)
    for v in range(70, 101, 6):
        for u in range(40, 120, 10):
            ray = R_wo @ np.linalg.solve(K, [u, v, 1.0])  # optical z = 1
            z = -c_w[2] / ray[2]  # where the ray meets the floor (world z = 0)
            if math.isfinite(depth[v, u]) and z < 2.0:
                assert depth[v, u] == pytest.approx(z, abs=0.01), (u, v)
                checked += 1
                worst_m = max(worst_m, abs(depth[v, u] - z))
    assert checked >= 10
    print(f"FIGURE ToF vs floor geometry: max error {worst_m * 100:.2f} cm over {checked} pixels")


def test_rendering_does_not_change_the_ground_truth(robot):
    home = resolve_home("apartment")

    def trajectory(render: bool) -> np.ndarray:
        cfg = load_config(SimConfig, {"render_cameras": render, "stereo_rate_hz": 20.0})
        sim = mujoco_sim.MujocoSim(home, robot, cfg)
        out = [np.concatenate([o.truth.position_m, o.truth.quat_wxyz])
               for o in (sim.step(0.5, 0.8) for _ in range(400)) if o.truth is not None]
        sim.close()
        return np.array(out)

    assert np.array_equal(trajectory(True), trajectory(False))
