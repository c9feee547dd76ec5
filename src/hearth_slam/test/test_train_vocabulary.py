"""The vocabulary trainer on a few rendered images of the simulated apartment (the shipped
vocabulary is the same tool run with its defaults), and the ToF map of the same home."""

import json
import math
import os

import numpy as np
import pytest

from hearth_slam.place_recognition import Vocabulary


@pytest.fixture(scope="module")
def egl():
    os.environ.setdefault("MUJOCO_GL", "egl")
    mujoco = pytest.importorskip("mujoco")
    try:
        mujoco.GLContext(8, 8).free()
    except Exception as exc:  # no EGL / OSMesa here
        pytest.skip(f"MuJoCo cannot render offscreen here: {exc}")


def test_the_trainer_renders_homes_and_writes_a_versioned_vocabulary(egl, tmp_path, capsys):
    from hearth_slam.tools.train_vocabulary import main

    out = tmp_path / "voc.npz"
    rc = main(["--homes", "apartment", "--images-per-home", "4", "--k", "4", "--levels", "2",
               "--max-descriptors", "2000", "--data-dir", str(tmp_path / "no_data"),
               "--out", str(out), "--seed", "3"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    voc = Vocabulary.load(out)
    assert summary["vocabulary_id"] == voc.vocabulary_id
    training = voc.header["training"]
    assert training["homes"] == ["apartment"]
    assert training["sources"]["sim:apartment"]["images"] == 4
    assert training["data_folders"] == []
    assert voc.header["seed"] == 3 and voc.k == 4
    assert json.loads(out.with_suffix(".json").read_text())["vocabulary_id"] == voc.vocabulary_id


def test_free_poses_keep_clear_of_walls():
    from hearth_sim.home.loader import maps_dir
    from hearth_sim.home.occupancy import read_map_server
    from hearth_slam.tools.train_vocabulary import free_poses

    raster = read_map_server(maps_dir() / "apartment" / "map.yaml")
    occupied = np.argwhere(raster.data == 100)
    centres = np.column_stack([raster.origin_xy_m[0] + (occupied[:, 1] + 0.5) * 0.05,
                               raster.origin_xy_m[1] + (occupied[:, 0] + 0.5) * 0.05])
    for x, y, yaw in free_poses("apartment", 20, 0.3, np.random.default_rng(0)):
        assert np.hypot(centres[:, 0] - x, centres[:, 1] - y).min() > 0.25
        assert -math.pi <= yaw <= math.pi


def test_the_tof_map_of_the_apartment_matches_its_floor_plan(egl):
    """Depth rendered at 30 free poses, registered with the true poses: every occupied
    cell lies on a wall or a piece of furniture of the home's own map."""
    import mujoco
    from scipy.ndimage import binary_dilation

    from hearth_common.config import load_config
    from hearth_description.robot_model import expand_xacro, load_robot_params
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import maps_dir, resolve_home
    from hearth_sim.home.occupancy import read_map_server
    from hearth_sim.mujoco_sim import MujocoSim
    from hearth_sim.world.robot_mjcf import FREE_JOINT
    from hearth_slam.occupancy_mapping import OccupancyMapper, make_scan
    from hearth_slam.stereo_camera import mount_from_urdf
    from hearth_slam.synthetic_landmarks import yaw_pose
    from hearth_slam.tools.train_vocabulary import free_poses

    sim = MujocoSim(resolve_home("apartment"), load_robot_params(),
                    load_config(SimConfig, {"people": 0, "render_cameras": False}))
    try:
        T_base_tof = mount_from_urdf(expand_xacro(), "tof_optical")
        K = sim.cameras.tof.intrinsics.K
        q = sim.model.jnt_qposadr[sim.model.joint(FREE_JOINT).id]
        z = float(sim.data.qpos[q + 2])
        mapper = OccupancyMapper()
        for k, (x, y, yaw) in enumerate(free_poses("apartment", 30, 0.3,
                                                   np.random.default_rng(1))):
            sim.data.qpos[q:q + 3] = (x, y, z)
            sim.data.qpos[q + 3:q + 7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
            mujoco.mj_forward(sim.model, sim.data)
            mapper.add_scan(k, make_scan(sim.render("tof")[0], K, T_base_tof))
            mapper.integrate(k, yaw_pose(x, y, yaw))
    finally:
        sim.close()
    grid, origin, res = mapper.occupancy_grid()
    truth = read_map_server(maps_dir() / "apartment" / "map.yaml")
    near_obstacle = binary_dilation(truth.data == 100, iterations=2)  # within 10 cm
    rows, cols = np.nonzero(grid == 100)
    tr = np.floor((origin[1] + (rows + 0.5) * res - truth.origin_xy_m[1]) / res).astype(int)
    tc = np.floor((origin[0] + (cols + 0.5) * res - truth.origin_xy_m[0]) / res).astype(int)
    assert len(rows) > 500
    assert near_obstacle[tr, tc].mean() > 0.98
    free = np.nonzero(grid == 0)
    assert len(free[0]) > 3 * len(rows)
