"""A home becomes a MuJoCo world: named walls, doors, furniture, rugs, lights and people; a
camera sees textured walls; darkness, the IR illuminator and the sun change the images.

Uses the shipped apartment (maps/apartment/home.yaml) when it and its loader are present,
else a small two-room home built here.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
mujoco = pytest.importorskip("mujoco")
cv2 = pytest.importorskip("cv2")

from hearth_sim.home import geometry  # noqa: E402
from hearth_sim.home.model import (  # noqa: E402
    Door,
    Furniture,
    Home,
    Light,
    Rug,
    Threshold,
    Wall,
    Window,
)
from hearth_sim.sensors.cameras import (  # noqa: E402
    MuJoCoCamera,
    PinholeIntrinsics,
    RendererPool,
    camera_mjcf,
    render_depth_m,
    render_mono8,
)
from hearth_sim.world import lighting  # noqa: E402
from hearth_sim.world.assemble import PERSON_RADIUS_M, assemble  # noqa: E402
from hearth_sim.world.home_mjcf import (  # noqa: E402
    PERSON_CONTYPE,
    ROBOT_CONAFFINITY,
    ROBOT_CONTYPE,
    WORLD_CONAFFINITY,
    WORLD_CONTYPE,
    element_kind,
    home_mjcf,
)
from hearth_sim.world.textures import TextureAssets  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
STEREO = PinholeIntrinsics(640, 400, math.radians(90.0))
TOF = PinholeIntrinsics(160, 120, math.radians(90.0))
# optical frame in a body whose x is forward: optical z = x, x = -y, y = -z  (w, x, y, z)
Q_BODY_OPTICAL = np.array([0.5, -0.5, 0.5, -0.5])


def _small_home() -> Home:
    walls = (Wall("south", (0, 0), (6, 0)), Wall("east", (6, 0), (6, 4)),
             Wall("north", (6, 4), (0, 4)), Wall("west", (0, 4), (0, 0)),
             Wall("mid", (3, 0), (3, 4)))
    return Home(
        "small", walls,
        doors=(Door("inner", (3, 2.0)), Door("front", (0, 1.0), closed=True)),
        windows=(Window("south_w", (1.5, 0.0), width_m=1.2), Window("east_w", (6, 2.0))),
        furniture=(Furniture("sofa", "box", (1.5, 3.4), (1.8, 0.8, 0.8)),
                   Furniture("dining_table", "box", (4.5, 2.0), (1.4, 0.8, 0.75),
                             movable=True, texture="wood"),
                   Furniture("shelf", "box", (5.7, 1.0), (0.3, 1.0, 1.8), texture="books"),
                   Furniture("bin", "cylinder", (2.5, 0.5), (0.3, 0.3, 0.5), texture="metal")),
        rugs=(Rug("rug", (1.5, 2.0), (2.0, 1.4), friction=0.5),),
        thresholds=(Threshold("inner_bump", (3.0, 2.0), 0.1, 0.8, 0.015),),
        lights=(Light("living", (1.5, 2.0, 2.4)), Light("dining", (4.5, 2.0, 2.4), on=False)))


def _load_home() -> Home:
    path = REPO / "maps" / "apartment" / "home.yaml"
    if path.exists():
        try:
            from hearth_sim.home.loader import load_home
        except ImportError:
            return _small_home()
        return load_home(path)
    return _small_home()


def _rig_parts() -> dict:
    """A stand-in for the robot's parts: a mocap body carrying the cameras and IR spot."""
    b = 0.08
    return {"worldbody": f"""
<body name="rig" mocap="true" pos="0 0 1">
  {camera_mjcf("stereo_left", (0.0, b / 2, 0.0), Q_BODY_OPTICAL, STEREO)}
  {camera_mjcf("stereo_right", (0.0, -b / 2, 0.0), Q_BODY_OPTICAL, STEREO)}
  {camera_mjcf("tof", (0.0, 0.0, 0.0), Q_BODY_OPTICAL, TOF)}
  <light name="ir_illuminator" type="spot" pos="0 0 0" dir="1 0 0" cutoff="55" exponent="2"
         attenuation="0.3 0 0.3" diffuse="1 1 1" specular="0 0 0" castshadow="false"
         active="false"/>
  <geom name="rig_probe" type="sphere" size="0.01" contype="{ROBOT_CONTYPE}"
        conaffinity="{ROBOT_CONAFFINITY}" rgba="0 0 0 0" group="3"/>
</body>"""}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = _load_home()
    hm = home_mjcf(home, assets=TextureAssets(tmp_path_factory.mktemp("textures")))
    xml, assets = assemble(hm, _rig_parts(), people_count=2)
    model = mujoco.MjModel.from_xml_string(xml, assets)
    try:
        mujoco.Renderer(model, 8, 8).close()
    except Exception as exc:
        pytest.skip(f"MuJoCo cannot render offscreen here: {exc}")
    data = mujoco.MjData(model)
    pool = RendererPool(model)
    yield home, hm, model, data, pool
    pool.close()


def _set_rig(model, data, xy, yaw_rad, z_m=1.2, pitch_rad=0.0) -> None:
    """Place the rig; positive pitch looks down."""
    i = model.body("rig").mocapid[0]
    cy, sy = math.cos(yaw_rad / 2), math.sin(yaw_rad / 2)
    cp, sp = math.cos(pitch_rad / 2), math.sin(pitch_rad / 2)
    data.mocap_pos[i] = (xy[0], xy[1], z_m)
    data.mocap_quat[i] = (cy * cp, -sy * sp, cy * sp, sy * cp)  # yaw about z, then pitch about y
    mujoco.mj_forward(model, data)


def _daylight(model, data) -> None:
    lighting.set_sun(model, -math.pi / 2, math.radians(35), 0.9, data)
    lighting.set_ambient(model, 0.25)
    lighting.set_sky(model, 0.7)
    for name in lighting.ceiling_lights(model):
        lighting.set_light(model, name, True)
    lighting.set_ir(model, False)


def _free(home: Home, xy: np.ndarray, margin_m: float = 0.3) -> bool:
    x0, y0, x1, y1 = geometry.bounds(home)
    if not (x0 + margin_m < xy[0] < x1 - margin_m and y0 + margin_m < xy[1] < y1 - margin_m):
        return False
    return not any(geometry.point_in_polygon(tuple(xy), poly)
                   for _, poly in geometry.floor_footprints(home))


def _wall_view(home, model, data, pool, distance_m=1.8):
    """A pose 1.8 m in front of a long full-height plastered wall piece, with a clear view
    (checked with the ToF): the longest such piece first."""
    tof = MuJoCoCamera("tof", TOF)
    pieces = [p for p in geometry.wall_pieces(home) if re.search(r"#\d+$", p.name)
              and p.texture.split(":")[0] == "plaster" and p.size_m[0] >= 2.0]
    for piece in sorted(pieces, key=lambda p: (-p.size_m[0], p.name)):
        n = np.array([-math.sin(piece.yaw_rad), math.cos(piece.yaw_rad)])
        for side in (1.0, -1.0):
            xy = np.array(piece.center_m[:2]) + side * n * (piece.size_m[1] / 2 + distance_m)
            if not _free(home, xy):
                continue
            yaw = math.atan2(-side * n[1], -side * n[0])
            _set_rig(model, data, xy, yaw)
            depth = render_depth_m(pool.for_camera(tof), data, tof, 0.1, 4.0)
            if np.nanmax(np.abs(depth[40:80, 50:110] - distance_m)) < 0.05:
                return xy, yaw
    pytest.fail("no clear view of a plastered wall in this home")


def test_home_compiles_with_named_elements(world):
    home, hm, model, _, _ = world
    geoms = [model.geom(i).name for i in range(model.ngeom)]
    pieces = geometry.wall_pieces(home)
    walls = [g for g in geoms if element_kind(g) == "wall"]
    assert len(walls) == len(pieces) == len(hm.wall_geoms)
    for piece in pieces:
        g = model.geom(f"wall/{piece.name}")
        assert g.type[0] == mujoco.mjtGeom.mjGEOM_BOX
        np.testing.assert_allclose(g.size, np.array(piece.size_m) / 2, atol=1e-6)
        np.testing.assert_allclose(g.pos, piece.center_m, atol=1e-6)
        assert (g.contype[0], g.conaffinity[0]) == (WORLD_CONTYPE, WORLD_CONAFFINITY)
    closed = [d.name for d in home.doors if d.closed]
    assert [b.removeprefix("door/") for b in hm.door_bodies] == closed
    for name in hm.door_bodies + hm.movable_bodies:
        assert model.body(name).mocapid[0] >= 0  # movable at run time
    assert len(hm.furniture_bodies) == len(home.furniture)
    for rug in home.rugs:
        assert model.geom(f"rug/{rug.name}").friction[0] == pytest.approx(rug.friction)
    for t in home.thresholds:  # a round bump, height_m proud, length_m long at the floor
        g = model.geom(f"threshold/{t.name}")
        radius, centre_z = g.size[0], g.pos[2]
        assert centre_z + radius == pytest.approx(t.height_m)
        assert 2 * math.sqrt(radius**2 - centre_z**2) == pytest.approx(t.length_m)
        assert g.size[1] * 2 == pytest.approx(t.width_m)
        axis = np.zeros(9)
        mujoco.mju_quat2Mat(axis, g.quat)
        axis = axis.reshape(3, 3)[:, 2]  # the cylinder's axis lies across the way
        assert np.dot(axis, (math.cos(t.yaw_rad), math.sin(t.yaw_rad), 0.0)) == pytest.approx(
            0.0, abs=1e-9)
        assert axis[2] == pytest.approx(0.0, abs=1e-9)
        assert g.contype[0] == WORLD_CONTYPE
    names = lighting.light_names(model)
    assert {"sun", "ambient", "ir_illuminator"} <= set(names)
    assert sorted(lighting.ceiling_lights(model)) == sorted(f"light/{li.name}"
                                                           for li in home.lights)
    for li in home.lights:
        assert bool(model.light(f"light/{li.name}").active[0]) == li.on
    for i in range(2):
        body = model.body(f"person_{i}")
        assert body.mocapid[0] >= 0
        assert model.geom(f"person_{i}/body").contype[0] == PERSON_CONTYPE
    assert model.light("sun").castshadow[0]


def test_collision_groups_robot_meets_world_and_people_only():
    def collide(a, b):
        return bool((a[0] & b[1]) or (b[0] & a[1]))

    world_g, robot_g = (WORLD_CONTYPE, WORLD_CONAFFINITY), (ROBOT_CONTYPE, ROBOT_CONAFFINITY)
    person_g = (PERSON_CONTYPE, 0)
    assert collide(robot_g, world_g) and collide(robot_g, person_g)
    assert not collide(world_g, world_g) and not collide(robot_g, robot_g)
    assert not collide(person_g, world_g) and not collide(person_g, person_g)


def test_mocap_door_moves_and_physics_steps(world):
    _, hm, model, data, _ = world
    if not hm.door_bodies:
        pytest.skip("no closed door in this home")
    body = model.body(hm.door_bodies[0])
    geom = model.geom(f"{hm.door_bodies[0]}/leaf")
    saved = data.mocap_pos[body.mocapid[0]].copy()
    data.mocap_pos[body.mocapid[0]] += (0.0, 0.0, 3.0)
    mujoco.mj_forward(model, data)
    assert data.geom_xpos[geom.id][2] == pytest.approx(saved[2] + 3.0)
    data.mocap_pos[body.mocapid[0]] = saved
    mujoco.mj_step(model, data, 5)
    assert np.all(np.isfinite(data.qpos))


def test_camera_sees_texture_on_a_wall(world):
    home, _, model, data, pool = world
    _daylight(model, data)
    _wall_view(home, model, data, pool)
    left = MuJoCoCamera("stereo_left", STEREO)
    left.check(model)
    img = render_mono8(pool.for_camera(left), data, left)
    assert img.shape == (400, 640)
    assert img.std() > 20.0
    keypoints = cv2.ORB_create(nfeatures=3000).detect(img, None)
    assert len(keypoints) > 200


def test_darkness_leaves_only_the_ir_spot(world):
    home, _, model, data, pool = world
    left = MuJoCoCamera("stereo_left", STEREO)
    r = pool.for_camera(left)
    _daylight(model, data)
    _wall_view(home, model, data, pool)
    lit = render_mono8(r, data, left).mean()
    lighting.set_darkness(model, ir_on=False)
    dark = render_mono8(r, data, left).mean()
    lighting.set_darkness(model, ir_on=True)
    ir = render_mono8(r, data, left)
    assert dark < 2.0 < 30.0 < lit
    assert ir.mean() > dark + 10.0
    assert ir[150:250, 270:370].mean() > 40.0  # the spot lights the wall ahead
    # a noisy, low-gain camera in the dark is still dark
    noisy = render_mono8(r, data, left, gain=0.5, noise_std=2.0, rng=np.random.default_rng(0))
    assert noisy.mean() < ir.mean()


def _window_view(home: Home):
    """A pose 2 m inside a window, looking out of it (to be pitched down at the floor)."""
    for w in sorted(home.windows, key=lambda w: (-w.width_m, w.name)):
        wall = geometry.wall_of(home, w.center_m)
        if wall is None:
            continue
        yaw = geometry.wall_yaw(wall)
        n = np.array([-math.sin(yaw), math.cos(yaw)])
        for side in (1.0, -1.0):
            xy = np.array(w.center_m) + side * n * 2.0
            if _free(home, xy) and not _free(home, np.array(w.center_m) - side * n * 0.5):
                return xy, math.atan2(-side * n[1], -side * n[0])
    pytest.skip("no window with free floor in front of it")


def test_sun_direction_changes_the_image(world):
    home, _, model, data, pool = world
    xy, yaw = _window_view(home)
    _set_rig(model, data, xy, yaw, z_m=1.3, pitch_rad=math.radians(35))
    left = MuJoCoCamera("stereo_left", STEREO)
    r = pool.for_camera(left)
    _daylight(model, data)
    for name in lighting.ceiling_lights(model):
        lighting.set_light(model, name, False)
    outward = yaw  # the camera looks out of the window: the sun is that way
    images = []
    for da in (-0.6, 0.6):  # a high sun: its patch lies on the floor in view
        lighting.set_sun(model, outward + da, math.radians(55), 0.9, data)
        images.append(render_mono8(r, data, left).astype(float))
    lighting.set_sun(model, outward, math.radians(55), 0.0, data)  # sun gone
    no_sun = render_mono8(r, data, left).astype(float)
    assert np.abs(images[0] - images[1]).mean() > 2.0
    assert images[0].mean() > no_sun.mean() + 2.0


def test_people_are_seen_by_the_tof(world):
    home, _, model, data, pool = world
    _daylight(model, data)
    xy, yaw = _wall_view(home, model, data, pool)
    ahead = np.array([math.cos(yaw), math.sin(yaw)])
    person = model.body("person_0").mocapid[0]
    data.mocap_pos[person] = (*(xy + 1.2 * ahead), 0.0)
    mujoco.mj_forward(model, data)
    tof = MuJoCoCamera("tof", TOF)
    depth = render_depth_m(pool.for_camera(tof), data, tof, 0.1, 4.0)
    # the capsule's nearest surface, straight ahead at the camera's height
    assert depth[59:61, 79:81].mean() == pytest.approx(1.2 - PERSON_RADIUS_M, abs=0.02)
    data.mocap_pos[person] = (0.0, 0.0, -5.0)
    mujoco.mj_forward(model, data)


def test_at_most_eight_lights_are_rendered(world):
    _, _, model, data, pool = world
    _daylight(model, data)
    lighting.set_ir(model, True)
    left = MuJoCoCamera("stereo_left", STEREO)
    r = pool.for_camera(left)
    render_mono8(r, data, left)
    kept = {model.light(int(r.scene.lights[k].id)).name for k in range(r.scene.nlight)}
    assert r.scene.nlight == min(8, int(model.light_active.sum()))
    assert {"sun", "ambient", "ir_illuminator"} <= kept
