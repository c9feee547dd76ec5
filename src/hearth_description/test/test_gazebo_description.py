"""The Gazebo Harmonic robot: hearth.urdf.xacro with gazebo:=true (hearth.gazebo.xacro).

Static checks (Gazebo does not run here): the xacro expands, the URDF is the same sound robot
as without Gazebo, and its sensors and systems carry robot.yaml's numbers under the names and
in the form gz-sim 8 expects.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

from hearth_description.robot_model import (
    expand_xacro,
    load_robot_params,
    pan_joint,
    parse_links,
    parse_urdf,
    wheel_joints,
)

# The package's source files (an installed share directory may hold older ones).
PACKAGE_DIR = Path(__file__).resolve().parents[1]
XACRO = PACKAGE_DIR / "urdf" / "hearth.urdf.xacro"
GAZEBO_XACRO = PACKAGE_DIR / "urdf" / "hearth_gazebo.urdf.xacro"
ROBOT_YAML = PACKAGE_DIR / "config" / "robot.yaml"
IMU_RATE_HZ = 200.0  # docs/interfaces.md: /imu/data at 200 Hz (robot.yaml has no IMU rate)
JOINT_STATE_RATE_HZ = 50.0  # docs/interfaces.md: /wheel/joint_states, /screen/joint_states
GROUND_TRUTH_RATE_HZ = 50.0  # docs/interfaces.md: /ground_truth/odom

# The gz-sim systems the robot uses: plugin library -> system class.
EXPECTED_SYSTEMS = {
    "gz-sim-diff-drive-system": "gz::sim::systems::DiffDrive",
    "gz-sim-joint-state-publisher-system": "gz::sim::systems::JointStatePublisher",
    "gz-sim-joint-position-controller-system": "gz::sim::systems::JointPositionController",
    "gz-sim-odometry-publisher-system": "gz::sim::systems::OdometryPublisher",
}


def _xacro_with_mappings(mappings: dict[str, str]) -> str:
    import xacro

    return xacro.process_file(str(XACRO), mappings=mappings).toprettyxml(indent="  ")


@pytest.fixture(scope="module")
def urdf() -> str:
    return expand_xacro(GAZEBO_XACRO, ROBOT_YAML)


@pytest.fixture(scope="module")
def root(urdf) -> ET.Element:
    return ET.fromstring(urdf)


@pytest.fixture(scope="module")
def params():
    return load_robot_params(ROBOT_YAML)


def _canonical(el: ET.Element) -> tuple:
    """An element tree as nested tuples, comments and whitespace left out."""
    children = tuple(_canonical(c) for c in el if isinstance(c.tag, str))
    return (el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(), children)


def _sensors(root: ET.Element) -> dict[str, tuple[str, ET.Element]]:
    """{sensor name: (the link its <gazebo reference> names, the <sensor> element)}."""
    found = {}
    for gz in root.findall("gazebo"):
        for sensor in gz.findall("sensor"):
            assert sensor.get("name") not in found, "sensor names are unique in the model"
            found[sensor.get("name")] = (gz.get("reference"), sensor)
    return found


def _plugins(root: ET.Element, filename: str | None = None) -> list[ET.Element]:
    plugins = [p for gz in root.findall("gazebo") if gz.get("reference") is None
               for p in gz.findall("plugin")]
    return [p for p in plugins if filename is None or p.get("filename") == filename]


def _float(el: ET.Element, path: str) -> float:
    text = el.findtext(path)
    assert text is not None, f"<{el.tag} name={el.get('name')!r}> has no <{path}>"
    return float(text)


def _parent_link(joints, child: str) -> str:
    (joint,) = [j for j in joints if j.child == child]
    return joint.parent


# --------------------------------------------------------------------------- the URDF


def test_the_xacro_expands_with_gazebo_both_ways(urdf):
    assert '<robot name="hearth"' in urdf
    via_arg = ET.fromstring(_xacro_with_mappings({"gazebo": "true"}))
    assert _canonical(via_arg) == _canonical(ET.fromstring(urdf))


def test_the_plain_urdf_has_no_gazebo_tags_and_the_robot_is_unchanged(root):
    plain = ET.fromstring(expand_xacro(XACRO, ROBOT_YAML))
    assert plain.findall("gazebo") == []
    assert root.findall("gazebo"), "gazebo:=true adds the Gazebo parts"
    for tag in ("link", "joint", "material"):
        assert [_canonical(e) for e in root.findall(tag)] == [
            _canonical(e) for e in plain.findall(tag)], f"the robot's <{tag}>s are unchanged"


def test_every_link_is_connected_to_base_link_once(urdf):
    joints = parse_urdf(urdf)
    links = [link.name for link in parse_links(urdf)]
    children = [j.child for j in joints]
    assert len(children) == len(set(children)), "each link has at most one parent joint"
    assert set(children) | {"base_link"} == set(links)
    assert {j.parent for j in joints} <= set(links)
    reached, frontier = {"base_link"}, ["base_link"]
    while frontier:
        parent = frontier.pop()
        for j in joints:
            if j.parent == parent and j.child not in reached:
                reached.add(j.child)
                frontier.append(j.child)
    assert reached == set(links)


def test_masses_and_inertias_are_positive_and_physical(urdf):
    massive = [link for link in parse_links(urdf) if link.mass_kg is not None]
    assert {link.name for link in massive} >= {
        "chassis_link", "wheel_left_link", "wheel_right_link", "mast_link", "screen_link"}
    for link in massive:
        assert link.mass_kg > 0.0, link.name
        inertia = np.array(link.inertia_kgm2)
        assert np.allclose(inertia, inertia.T), link.name
        principal = np.linalg.eigvalsh(inertia)
        assert (principal > 0.0).all(), f"{link.name}: {principal}"
        a, b, c = sorted(principal)
        assert c <= a + b + 1e-12, f"{link.name}: violates the triangle inequality"


# --------------------------------------------------------------------------- the sensors


def test_the_sensors_sit_on_the_parents_of_their_optical_frames(root, urdf):
    joints = parse_urdf(urdf)
    sensors = _sensors(root)
    assert {name: (link, s.get("type")) for name, (link, s) in sensors.items()} == {
        "imu": ("imu_link", "imu"),
        "stereo_left": (_parent_link(joints, "stereo_left_optical"), "camera"),
        "stereo_right": (_parent_link(joints, "stereo_right_optical"), "camera"),
        "tof": (_parent_link(joints, "tof_optical"), "depth_camera"),
        "screen_camera": (_parent_link(joints, "screen_camera_optical"), "camera"),
    }
    assert _parent_link(joints, "screen_camera_link") == "screen_link"  # it pans
    frames = {j.child for j in joints} | {"base_link"}
    for name, (_, sensor) in sensors.items():
        assert sensor.findtext("always_on") == "true", name
        assert sensor.findtext("gz_frame_id") in frames, name
        optical = sensor.findtext("camera/optical_frame_id")
        assert optical is None or optical == sensor.findtext("gz_frame_id"), name


def test_the_stereo_pair_has_robot_yaml_resolution_fov_rate_and_baseline(root, params):
    sensors = _sensors(root)
    st = params.stereo
    for side, y_sign in (("left", 1.0), ("right", -1.0)):
        _, cam = sensors[f"stereo_{side}"]
        assert _float(cam, "update_rate") == st.rate_hz
        assert int(cam.findtext("camera/image/width")) == st.width_px
        assert int(cam.findtext("camera/image/height")) == st.height_px
        assert _float(cam, "camera/horizontal_fov") == st.hfov_rad
        assert st.encoding == "mono8" and cam.findtext("camera/image/format") == "L8"
        assert cam.findtext("topic") == f"/stereo/{side}/image_raw"
        assert cam.findtext("camera/camera_info_topic") == f"/stereo/{side}/camera_info"
        assert cam.findtext("gz_frame_id") == f"stereo_{side}_optical"
        pose = [float(v) for v in cam.findtext("pose").split()]
        assert pose == pytest.approx([0.0, y_sign * st.baseline_m / 2.0, 0.0, 0.0, 0.0, 0.0])


def test_the_tof_camera_has_robot_yaml_resolution_fov_rate_and_range(root, params):
    _, tof = _sensors(root)["tof"]
    t = params.tof
    assert _float(tof, "update_rate") == t.rate_hz
    assert int(tof.findtext("camera/image/width")) == t.width_px
    assert int(tof.findtext("camera/image/height")) == t.height_px
    assert _float(tof, "camera/horizontal_fov") == t.hfov_rad
    assert tof.findtext("camera/image/format") == "R_FLOAT32"  # 32FC1, metres
    for clip in ("camera/clip", "camera/depth_camera/clip"):
        assert _float(tof, f"{clip}/near") == t.min_range_m
        assert _float(tof, f"{clip}/far") == t.max_range_m
    assert tof.findtext("topic") == "/tof/depth/image_raw"
    assert tof.findtext("gz_frame_id") == "tof_optical"


def test_the_imu_publishes_at_200_hz_in_imu_link(root):
    link, imu = _sensors(root)["imu"]
    assert link == "imu_link"
    assert _float(imu, "update_rate") == IMU_RATE_HZ
    assert imu.findtext("topic") == "/imu/data"
    assert imu.findtext("gz_frame_id") == "imu_link"


def test_the_screen_camera_has_robot_yaml_resolution_fov_and_rate(root, params):
    link, cam = _sensors(root)["screen_camera"]
    sc = params.screen_camera
    assert link == "screen_camera_link"  # at robot.yaml's mounting: the URDF places it
    assert cam.findtext("pose") is None
    assert _float(cam, "update_rate") == sc.rate_hz
    assert int(cam.findtext("camera/image/width")) == sc.width_px
    assert int(cam.findtext("camera/image/height")) == sc.height_px
    assert _float(cam, "camera/horizontal_fov") == sc.hfov_rad
    assert cam.findtext("camera/image/format") == "R8G8B8"  # rgb8
    assert cam.findtext("topic") == "/screen/camera/image_raw"
    assert cam.findtext("camera/camera_info_topic") == "/screen/camera/camera_info"
    assert cam.findtext("gz_frame_id") == "screen_camera_optical"
    assert cam.findtext("camera/optical_frame_id") == "screen_camera_optical"


def test_the_screen_camera_follows_robot_yaml(tmp_path):
    """The Gazebo sensor's numbers are robot.yaml's, not the xacro's own."""
    doc = yaml.safe_load(ROBOT_YAML.read_text())
    doc["screen_camera"].update(width_px=320, height_px=200, hfov_rad=1.0, rate_hz=5.0)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(doc))
    _, cam = _sensors(ET.fromstring(expand_xacro(GAZEBO_XACRO, path)))["screen_camera"]
    assert _float(cam, "update_rate") == 5.0
    assert _float(cam, "camera/horizontal_fov") == 1.0
    assert (int(cam.findtext("camera/image/width")),
            int(cam.findtext("camera/image/height"))) == (320, 200)


# --------------------------------------------------------------------------- the systems


def test_plugins_are_gz_sim_systems_in_harmonic_form(root):
    plugins = [p for gz in root.findall("gazebo") for p in gz.findall("plugin")]
    assert plugins
    for p in plugins:
        assert re.fullmatch(r"gz-sim-[a-z]+(-[a-z]+)*-system", p.get("filename")), p.attrib
        assert re.fullmatch(r"gz::sim::systems::[A-Z][A-Za-z]+", p.get("name")), p.attrib
        assert EXPECTED_SYSTEMS.get(p.get("filename")) == p.get("name"), p.attrib
    assert {p.get("filename") for p in plugins} == set(EXPECTED_SYSTEMS)
    # model systems at model level; no plugin hides under a link reference
    assert all(gz.find("plugin") is None for gz in root.findall("gazebo") if gz.get("reference"))


def test_diff_drive_has_the_wheels_and_limits_of_robot_yaml(root, urdf, params):
    (dd,) = _plugins(root, "gz-sim-diff-drive-system")
    left, right = wheel_joints(parse_urdf(urdf))
    assert dd.findtext("left_joint") == left.name
    assert dd.findtext("right_joint") == right.name
    assert _float(dd, "wheel_separation") == params.wheels.separation_m
    assert _float(dd, "wheel_separation") == pytest.approx(left.xyz_m[1] - right.xyz_m[1])
    assert _float(dd, "wheel_radius") == params.wheels.radius_m
    assert dd.findtext("topic") == "/cmd_vel"
    lim = params.limits
    for quantity, value in (("velocity", (lim.max_linear_speed_mps, lim.max_angular_speed_radps)),
                            ("acceleration", (lim.max_linear_accel_mps2,
                                              lim.max_angular_accel_radps2)),
                            ("jerk", (lim.max_linear_jerk_mps3, lim.max_angular_jerk_radps3))):
        for axis, limit in zip(("linear", "angular"), value, strict=True):
            assert _float(dd, f"max_{axis}_{quantity}") == limit
            assert _float(dd, f"min_{axis}_{quantity}") == -limit


def test_diff_drive_odometry_stays_off_the_ros_topics(root):
    (dd,) = _plugins(root, "gz-sim-diff-drive-system")
    for tag in ("odom_topic", "tf_topic"):
        topic = dd.findtext(tag)
        assert topic and topic.startswith("/hearth/gz/"), f"{tag} = {topic!r}: fusion makes /odom"


def test_joint_states_cover_the_moving_joints_at_50_hz(root, urdf):
    joints = parse_urdf(urdf)
    left, right = wheel_joints(joints)
    publishers = {p.findtext("topic"): [j.text for j in p.findall("joint_name")]
                  for p in _plugins(root, "gz-sim-joint-state-publisher-system")}
    assert publishers == {"/wheel/joint_states": [left.name, right.name],
                          "/screen/joint_states": [pan_joint(joints).name]}
    for p in _plugins(root, "gz-sim-joint-state-publisher-system"):
        assert _float(p, "update_rate") == JOINT_STATE_RATE_HZ


def test_the_pan_joint_follows_pan_cmd_within_its_speed_limit(root, urdf, params):
    (ctl,) = _plugins(root, "gz-sim-joint-position-controller-system")
    pan = pan_joint(parse_urdf(urdf))
    assert ctl.findtext("joint_name") == pan.name
    assert ctl.findtext("topic") == "/screen/pan_cmd"
    assert ctl.findtext("use_velocity_commands") == "true"
    assert _float(ctl, "cmd_max") == params.screen.max_pan_speed_radps == pan.velocity
    assert _float(ctl, "cmd_min") == -params.screen.max_pan_speed_radps
    assert pan.lower == -params.screen.pan_limit_rad and pan.upper == params.screen.pan_limit_rad


def test_ground_truth_is_the_true_pose_of_base_link_in_world(root):
    (gt,) = _plugins(root, "gz-sim-odometry-publisher-system")
    assert gt.findtext("odom_topic") == "/ground_truth/odom"
    assert gt.findtext("odom_frame") == "world"
    assert gt.findtext("robot_base_frame") == "base_link"
    assert int(gt.findtext("dimensions")) == 3  # z too: the lift test
    assert _float(gt, "odom_publish_frequency") == GROUND_TRUTH_RATE_HZ
    assert gt.findtext("tf_topic").startswith("/hearth/gz/")


def test_casters_roll_without_friction(root):
    refs = {gz.get("reference"): gz for gz in root.findall("gazebo") if gz.get("reference")}
    for caster in ("caster_front_link", "caster_rear_link"):
        assert float(refs[caster].findtext("mu1")) == 0.0
        assert float(refs[caster].findtext("mu2")) == 0.0


def test_no_number_in_the_gazebo_parts_is_nan_or_infinite(urdf):
    numbers = re.findall(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+|nan|inf)(?:e[-+]?\d+)?(?![\w.])",
                         urdf, flags=re.IGNORECASE)
    assert numbers
    assert all(math.isfinite(float(n)) for n in numbers)
