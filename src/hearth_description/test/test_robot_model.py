"""The robot model: robot.yaml is validated, and the URDF built from it is a sound tree."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from hearth_common.config import ConfigError
from hearth_description.robot_model import (
    FrameTransform,
    default_robot_yaml,
    expand_xacro,
    fixed_transforms,
    joint_transform,
    load_robot_params,
    pan_joint,
    parse_links,
    parse_urdf,
    quaternion_multiply,
    rotate_vector,
    wheel_joints,
)

OPTICAL_FRAMES = ("stereo_left_optical", "stereo_right_optical", "tof_optical",
                  "screen_camera_optical")


@pytest.fixture(scope="module")
def urdf() -> str:
    return expand_xacro()


@pytest.fixture(scope="module")
def params():
    return load_robot_params()


def pose_in_base(joints, frame: str, positions: dict[str, float] | None = None
                 ) -> FrameTransform:
    """Compose the joints (at ``positions`` by joint name, else 0) from base_link down to
    ``frame``."""
    positions = positions or {}
    by_child = {j.child: j for j in joints}
    chain = []
    while frame != "base_link":
        joint = by_child[frame]
        chain.append(joint_transform(joint, positions.get(joint.name, 0.0)))
        frame = joint.parent
    translation, rotation = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0)
    for t in reversed(chain):
        offset = rotate_vector(rotation, t.translation_m)
        translation = tuple(a + b for a, b in zip(translation, offset, strict=True))
        rotation = quaternion_multiply(rotation, t.rotation_xyzw)
    return FrameTransform("base_link", chain[0].child_frame, translation, rotation)


def write_yaml(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def robot_doc() -> dict:
    return yaml.safe_load(default_robot_yaml().read_text())


def test_the_xacro_expands_to_a_urdf_named_hearth(urdf):
    assert urdf.lstrip().startswith("<?xml")
    assert '<robot name="hearth"' in urdf


def test_the_urdf_parses_into_the_expected_frames(urdf):
    joints = parse_urdf(urdf)
    children = {j.child for j in joints}
    for frame in (*OPTICAL_FRAMES, "imu_link", "screen_link", "mast_link",
                  "wheel_left_link", "wheel_right_link"):
        assert frame in children
    assert {j.name for j in joints if j.moves} == {
        "wheel_left_joint", "wheel_right_joint", "screen_pan_joint"}


def test_every_link_hangs_from_base_link_exactly_once(urdf):
    joints = parse_urdf(urdf)
    links = {link.name for link in parse_links(urdf)}
    children = [j.child for j in joints]
    assert len(children) == len(set(children)), "a link has two parents"
    assert "base_link" not in children, "base_link must be the root"
    assert links == set(children) | {"base_link"}
    parent_of = {j.child: j.parent for j in joints}
    for link in links:
        seen = set()
        while link != "base_link":
            assert link not in seen, f"cycle through {link}"
            seen.add(link)
            link = parent_of[link]


def test_every_link_with_mass_has_a_physical_inertia(urdf):
    massive = [link for link in parse_links(urdf) if link.mass_kg is not None]
    assert len(massive) >= 7  # chassis, 2 wheels, 2 casters, mast, screen
    for link in massive:
        assert link.mass_kg > 0, link.name
        inertia = np.array(link.inertia_kgm2)
        assert np.allclose(inertia, inertia.T), link.name
        eig = np.linalg.eigvalsh(inertia)
        assert np.all(eig > 0), f"{link.name}: inertia not positive definite {eig}"
        # principal moments satisfy the triangle inequality, as any real body's do
        a, b, c = eig
        assert a + b >= c * (1 - 1e-9), link.name


def test_robot_yaml_and_urdf_agree(urdf, params):
    joints = parse_urdf(urdf)
    left, right = wheel_joints(joints)
    assert left.name == "wheel_left_joint" and right.name == "wheel_right_joint"
    assert left.xyz_m[2] == pytest.approx(params.wheels.radius_m)
    assert left.xyz_m[1] - right.xyz_m[1] == pytest.approx(params.wheels.separation_m)
    assert left.axis == right.axis == (0.0, 1.0, 0.0)

    pan = pan_joint(joints)
    assert pan.child == "screen_link"
    assert pan.lower == pytest.approx(-params.screen.pan_limit_rad)
    assert pan.upper == pytest.approx(params.screen.pan_limit_rad)
    assert pan.velocity == pytest.approx(params.screen.max_pan_speed_radps)

    left_cam = pose_in_base(joints, "stereo_left_optical").translation_m
    right_cam = pose_in_base(joints, "stereo_right_optical").translation_m
    assert math.dist(left_cam, right_cam) == pytest.approx(params.stereo.baseline_m)
    assert left_cam[1] > right_cam[1]  # left camera on the left

    imu = pose_in_base(joints, "imu_link")
    assert imu.translation_m == pytest.approx(params.imu.xyz_m)


def test_optical_frames_look_forward_with_x_right_and_y_down(urdf, params):
    joints = parse_urdf(urdf)
    for frame in ("stereo_left_optical", "stereo_right_optical"):
        q = pose_in_base(joints, frame).rotation_xyzw
        assert rotate_vector(q, (0, 0, 1)) == pytest.approx((1, 0, 0), abs=1e-9)  # z forward
        assert rotate_vector(q, (1, 0, 0)) == pytest.approx((0, -1, 0), abs=1e-9)  # x right
        assert rotate_vector(q, (0, 1, 0)) == pytest.approx((0, 0, -1), abs=1e-9)  # y down
    # The ToF looks forward and down by its pitch.
    q = pose_in_base(joints, "tof_optical").rotation_xyzw
    pitch = params.tof.pitch_down_rad
    assert rotate_vector(q, (0, 0, 1)) == pytest.approx(
        (math.cos(pitch), 0, -math.sin(pitch)), abs=1e-9)


def test_the_screen_camera_sits_on_the_screen_and_pans_with_it(urdf, params):
    joints = parse_urdf(urdf)
    by_child = {j.child: j for j in joints}
    body, optical = by_child["screen_camera_link"], by_child["screen_camera_optical"]
    assert body.type == optical.type == "fixed"
    assert (body.parent, optical.parent) == ("screen_link", "screen_camera_link")
    # robot.yaml's mounting, in the screen's frame: out of its face, near its top edge
    sc = params.screen_camera
    assert body.xyz_m == pytest.approx(
        (params.screen.depth_m / 2 + sc.forward_of_face_m, 0.0, sc.height_on_screen_m))
    assert body.rpy_rad == (0.0, 0.0, 0.0)  # body axes: x out of the screen
    assert optical.xyz_m == (0.0, 0.0, 0.0)
    # the optical frame looks out of the screen, x right, y down; and turns with the pan
    pan = pan_joint(joints)
    screen_top = pose_in_base(joints, "screen_link").translation_m[2] + params.screen.height_m
    for angle in (0.0, 1.0, -pan.upper):
        tf = pose_in_base(joints, "screen_camera_optical", {pan.name: angle})
        q = tf.rotation_xyzw
        c, s = math.cos(angle), math.sin(angle)
        assert rotate_vector(q, (0, 0, 1)) == pytest.approx((c, s, 0), abs=1e-9)  # z forward
        assert rotate_vector(q, (1, 0, 0)) == pytest.approx((s, -c, 0), abs=1e-9)  # x right
        assert rotate_vector(q, (0, 1, 0)) == pytest.approx((0, 0, -1), abs=1e-9)  # y down
        mast = pose_in_base(joints, "mast_link").translation_m
        reach = params.screen.depth_m / 2 + sc.forward_of_face_m
        assert tf.translation_m[:2] == pytest.approx((mast[0] + reach * c, reach * s))
        assert screen_top - 0.05 < tf.translation_m[2] <= screen_top  # near the top edge


def test_fixed_transforms_cover_every_fixed_joint(urdf):
    joints = parse_urdf(urdf)
    static = fixed_transforms(joints)
    assert {t.child_frame for t in static} == {j.child for j in joints if j.type == "fixed"}
    for t in static:
        assert math.isclose(sum(c * c for c in t.rotation_xyzw), 1.0)


def test_moving_joints_turn_about_their_axis(urdf):
    joints = parse_urdf(urdf)
    pan = joint_transform(pan_joint(joints), math.pi / 2)
    assert rotate_vector(pan.rotation_xyzw, (1, 0, 0)) == pytest.approx((0, 1, 0), abs=1e-12)
    left, _ = wheel_joints(joints)
    wheel = joint_transform(left, 1.0)
    assert wheel.translation_m == left.xyz_m
    assert rotate_vector(wheel.rotation_xyzw, (0, 1, 0)) == pytest.approx((0, 1, 0), abs=1e-12)


def test_the_urdf_follows_robot_yaml(tmp_path):
    doc = robot_doc()
    doc["wheels"]["radius_m"] = 0.05
    doc["wheels"]["separation_m"] = 0.3
    doc["screen_camera"]["height_on_screen_m"] = 0.1
    joints = parse_urdf(expand_xacro(robot_yaml=write_yaml(tmp_path, doc)))
    left, right = wheel_joints(joints)
    assert left.xyz_m[2] == pytest.approx(0.05)
    assert left.xyz_m[1] - right.xyz_m[1] == pytest.approx(0.3)
    (camera,) = [j for j in joints if j.child == "screen_camera_link"]
    assert camera.xyz_m[2] == pytest.approx(0.1)


def test_robot_params_are_read_with_units(params):
    assert params.wheels.radius_m == pytest.approx(0.035)
    assert params.wheels.encoder_ticks_per_rev == 1024
    assert params.imu.accel_full_scale_mps2 == pytest.approx(4 * 9.80665)
    assert params.imu.gyro_full_scale_radps == pytest.approx(math.radians(500))
    assert params.screen.pan_limit_rad == pytest.approx(math.radians(120), abs=1e-3)
    sc = params.screen_camera
    assert (sc.width_px, sc.height_px, sc.hfov_rad, sc.rate_hz) == (640, 480, 1.2, 15.0)
    assert 0.0 < sc.height_on_screen_m <= params.screen.height_m


@pytest.mark.parametrize(
    ("section", "key", "value", "words"),
    [
        ("wheels", "radius_m", -0.035, "'wheels.radius_m' must be > 0"),
        ("wheels", "radius_m", "big", "'wheels.radius_m' must be a number"),
        ("wheels", "encoder_ticks_per_rev", 10.5, "'wheels.encoder_ticks_per_rev' must be an "
                                                  "integer"),
        ("limits", "max_linear_speed_mps", 0.0, "'limits.max_linear_speed_mps' must be > 0"),
        ("screen", "pan_limit_rad", 4.0, "'screen.pan_limit_rad' must be <="),
        ("imu", "xyz_m", [0.0, 0.0], "'imu.xyz_m' must be a list of 3 numbers"),
        ("stereo", "shutter", "blurry", "'stereo.shutter' = 'blurry' is not one of"),
        ("wheels", "separation_m", 0.5, "'wheels.separation_m' = 0.5 puts the wheels outside"),
        ("tof", "min_range_m", 5.0, "'tof.min_range_m' = 5 must be below"),
        ("screen_camera", "width_px", 640.5, "'screen_camera.width_px' must be an integer"),
        ("screen_camera", "hfov_rad", 3.5, "'screen_camera.hfov_rad' must be <="),
        ("screen_camera", "rate_hz", 0.0, "'screen_camera.rate_hz' must be > 0"),
        ("screen_camera", "forward_of_face_m", -0.01,
         "'screen_camera.forward_of_face_m' must be >= 0"),
        ("screen_camera", "height_on_screen_m", 0.2,
         "'screen_camera.height_on_screen_m' = 0.2 is above the top of the screen"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path, section, key, value, words):
    doc = robot_doc()
    doc[section][key] = value
    with pytest.raises(ConfigError, match=r"robot\.yaml") as err:
        load_robot_params(write_yaml(tmp_path, doc))
    assert words in str(err.value)


def test_a_missing_key_is_named(tmp_path):
    doc = robot_doc()
    del doc["wheels"]["separation_m"]
    with pytest.raises(ConfigError, match=r"missing key 'wheels\.separation_m'"):
        load_robot_params(write_yaml(tmp_path, doc))
    doc = robot_doc()
    del doc["imu"]
    with pytest.raises(ConfigError, match="missing key 'imu'"):
        load_robot_params(write_yaml(tmp_path, doc))
    doc = robot_doc()
    del doc["screen_camera"]["hfov_rad"]
    with pytest.raises(ConfigError, match=r"missing key 'screen_camera\.hfov_rad'"):
        load_robot_params(write_yaml(tmp_path, doc))


def test_an_unknown_key_is_named(tmp_path):
    doc = robot_doc()
    doc["wheels"]["radius_mm"] = 35
    with pytest.raises(ConfigError, match=r"unknown key 'wheels\.radius_mm'"):
        load_robot_params(write_yaml(tmp_path, doc))


def test_a_file_that_is_not_yaml_says_so(tmp_path):
    path = tmp_path / "robot.yaml"
    path.write_text("wheels: [radius_m: 0.035\n")
    with pytest.raises(ConfigError, match="cannot read robot description"):
        load_robot_params(path)
    with pytest.raises(ConfigError, match="cannot read robot description"):
        load_robot_params(tmp_path / "absent.yaml")


def test_expand_xacro_validates_robot_yaml_first(tmp_path):
    doc = robot_doc()
    doc["wheels"]["radius_m"] = -1.0
    with pytest.raises(ConfigError, match=r"'wheels\.radius_m' must be > 0"):
        expand_xacro(robot_yaml=write_yaml(tmp_path, doc))


def test_malformed_urdf_is_a_clear_error():
    with pytest.raises(ValueError, match="not well-formed"):
        parse_urdf("<robot><joint></robot>")
    with pytest.raises(ValueError, match="needs <parent"):
        parse_urdf('<robot name="r"><joint name="j" type="fixed"/></robot>')
