"""The ros_gz_bridge configuration (config/gz_bridge.yaml) against docs/interfaces.md and the
Gazebo robot (hearth_description's urdf/hearth.gazebo.xacro), checked statically.

- Every bridged ROS topic is in docs/interfaces.md's topic table (parsed from the markdown),
  with the type the table gives, and flows the way the table says: what the robot or the
  simulator produces goes Gazebo -> ROS, what the robot is sent goes ROS -> Gazebo.
- Each Gazebo type is the one ros_gz_bridge pairs with the ROS type (``ROS_TO_GZ_TYPE``).
- Each Gazebo topic is one that the Gazebo robot publishes (or Gazebo itself: /clock), or
  one that a system of the robot subscribes to, with the message type it uses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from hearth_description.robot_model import expand_xacro

PACKAGE_DIR = Path(__file__).resolve().parents[1]
WS = PACKAGE_DIR.parents[1]
BRIDGE_YAML = PACKAGE_DIR / "config" / "gz_bridge.yaml"
INTERFACES_MD = WS / "docs" / "interfaces.md"
DESCRIPTION_DIR = WS / "src" / "hearth_description"

KEYS = {"ros_topic_name", "gz_topic_name", "ros_type_name", "gz_type_name", "direction"}

# ros_gz_bridge's pairs of message types (its README's table), for the types hearth uses.
ROS_TO_GZ_TYPE = {
    "rosgraph_msgs/msg/Clock": "gz.msgs.Clock",
    "sensor_msgs/msg/Image": "gz.msgs.Image",
    "sensor_msgs/msg/CameraInfo": "gz.msgs.CameraInfo",
    "sensor_msgs/msg/Imu": "gz.msgs.IMU",
    "sensor_msgs/msg/JointState": "gz.msgs.Model",
    "geometry_msgs/msg/Twist": "gz.msgs.Twist",
    "std_msgs/msg/Float64": "gz.msgs.Double",
    "nav_msgs/msg/Odometry": "gz.msgs.Odometry",
}

# What docs/interfaces.md has the robot or the simulator produce that Gazebo does not.
NOT_FROM_GAZEBO = {
    "/power_mode": "no power model in Gazebo",
    "/ground_truth/people": "no people in the Gazebo world",
    "/ground_truth/contacts": "hearth's contact report is the MuJoCo simulator's",
    "/initialpose": "under Gazebo, set it from rviz (2D Pose Estimate)",
}

# The topics the brief of the Gazebo set-up asks for, and their directions.
REQUIRED = {
    "/clock": "GZ_TO_ROS",
    "/stereo/left/image_raw": "GZ_TO_ROS",
    "/stereo/left/camera_info": "GZ_TO_ROS",
    "/stereo/right/image_raw": "GZ_TO_ROS",
    "/stereo/right/camera_info": "GZ_TO_ROS",
    "/tof/depth/image_raw": "GZ_TO_ROS",
    "/tof/camera_info": "GZ_TO_ROS",
    "/imu/data": "GZ_TO_ROS",
    "/wheel/joint_states": "GZ_TO_ROS",
    "/screen/joint_states": "GZ_TO_ROS",
    "/cmd_vel": "ROS_TO_GZ",
    "/screen/pan_cmd": "ROS_TO_GZ",
    "/ground_truth/odom": "GZ_TO_ROS",
    "/screen/camera/image_raw": "GZ_TO_ROS",
    "/screen/camera/camera_info": "GZ_TO_ROS",
}


# --------------------------------------------------------------------------- interfaces.md


def split_outside_brackets(text: str, sep: str = ",") -> list[str]:
    """``"a (b, c), /{d,e}"`` -> ``["a (b, c)", "/{d,e}"]``."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"(": 1, ")": -1, "{": 1, "}": -1}.get(c, 0)
        if c == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def expand_braces(item: str) -> list[str]:
    """``"/stereo/{left,right}/image_raw"`` -> the two topics."""
    match = re.search(r"\{([^}]*)\}", item)
    if not match:
        return [item]
    return [t for alt in match.group(1).split(",")
            for t in expand_braces(item[:match.start()] + alt.strip() + item[match.end():])]


def parse_interfaces(text: str) -> dict[str, tuple[str, str, str]]:
    """``{topic: (type as pkg/Type, source, destination)}`` from the markdown topic table.

    A cell may list several topics (``"/a, /b"``; ``{x,y}`` alternatives; ``.../name`` for a
    sibling of the previous topic) and as many types, paired in order; a type without a
    package takes the previous message type's package (a bare name where there is none).
    When the cell gives fewer types than topics,
    a ``camera_info`` topic is a sensor_msgs/CameraInfo (the table's convention) and the
    others take the first type. Entries that are not topics (actions, "TF ...") are left out.
    """
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = next(i for i, line in enumerate(lines)
                  if [c.strip() for c in line.strip("|").split("|")][:2] == ["topic", "type"])
    topics: dict[str, tuple[str, str, str]] = {}
    for line in lines[header + 2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            break
        topic_cell, type_cell, flow = cells[:3]
        source, _, destination = flow.partition("->")
        types, package = [], ""
        for item in split_outside_brackets(type_cell):
            name = item.split()[0]
            if "/" in name:
                # a message type lends its package to the next bare name; an action does not
                package = name.split("/")[0] if name.count("/") == 1 else ""
            elif package:
                name = f"{package}/{name}"
            types.append(name)
        groups, previous = [], []
        for item in split_outside_brackets(topic_cell):
            item = item.split()[0]
            if item.startswith(".../"):
                group = [p.rsplit("/", 1)[0] + item[3:] for p in previous]
            elif item.startswith("/"):
                group = expand_braces(item)
            else:
                group = []  # an action or "TF ...": no topic, but it has its type
            groups.append(group)
            previous = group or previous
        for i, group in enumerate(groups):
            for topic in group:
                if len(types) == len(groups):
                    t = types[i]
                elif topic.endswith("/camera_info"):
                    t = "sensor_msgs/CameraInfo"
                else:
                    t = types[0]
                topics[topic] = (t, source.strip(), destination.strip())
    return topics


def short_type(ros_type: str) -> str:
    """``sensor_msgs/msg/Image`` -> ``sensor_msgs/Image`` (the table's spelling)."""
    package, kind, name = ros_type.split("/")
    assert kind == "msg", ros_type
    return f"{package}/{name}"


def expected_direction(source: str, destination: str) -> str | None:
    """Gazebo is the robot and the simulator: what they produce flows GZ -> ROS, what the
    robot is sent ROS -> GZ; None for topics between nodes of the stack."""
    if re.search(r"\b(robot|simulator)\b", source):
        return "GZ_TO_ROS"
    if re.search(r"\brobot\b", destination):
        return "ROS_TO_GZ"
    return None


@pytest.fixture(scope="module")
def interfaces() -> dict[str, tuple[str, str, str]]:
    if not INTERFACES_MD.is_file():
        pytest.skip(f"{INTERFACES_MD} is not there")
    return parse_interfaces(INTERFACES_MD.read_text())


@pytest.fixture(scope="module")
def bridges() -> list[dict]:
    doc = yaml.safe_load(BRIDGE_YAML.read_text())
    assert isinstance(doc, list) and doc, "a YAML list of bridges"
    return doc


def test_the_table_parser_reads_the_shorthands():
    table = """
| topic | type | from -> to | rate | QoS |
|---|---|---|---|---|
| /a/{l,r}/img, .../info | pkg/Image mono8, Info | robot -> x | 1 Hz | d |
| /d/img, /d/camera_info | pkg/Image 32FC1 (m) | robot -> x | 1 Hz | d |
| /j | pkg/JointState (a, b) | robot -> x | 1 Hz | d |
| act, /goal | pkg/action/Act, Pose | user -> planner | | |
"""
    assert parse_interfaces(table) == {
        "/a/l/img": ("pkg/Image", "robot", "x"), "/a/r/img": ("pkg/Image", "robot", "x"),
        "/a/l/info": ("pkg/Info", "robot", "x"), "/a/r/info": ("pkg/Info", "robot", "x"),
        "/d/img": ("pkg/Image", "robot", "x"),
        "/d/camera_info": ("sensor_msgs/CameraInfo", "robot", "x"),
        "/j": ("pkg/JointState", "robot", "x"),
        "/goal": ("Pose", "user", "planner"),
    }


def test_interfaces_md_has_the_topics_gazebo_serves(interfaces):
    assert set(REQUIRED) <= set(interfaces)
    assert interfaces["/stereo/right/camera_info"][0] == "sensor_msgs/CameraInfo"
    assert interfaces["/wheel/joint_states"][0] == "sensor_msgs/JointState"


# --------------------------------------------------------------------------- the bridge


def test_every_bridge_is_complete_and_unique(bridges):
    for b in bridges:
        assert set(b) == KEYS, b
        assert b["direction"] in ("GZ_TO_ROS", "ROS_TO_GZ"), b  # never both ways
        assert b["ros_topic_name"].startswith("/") and b["gz_topic_name"].startswith("/"), b
    ros_topics = [b["ros_topic_name"] for b in bridges]
    assert len(ros_topics) == len(set(ros_topics))


def test_the_required_topics_are_bridged_the_right_way(bridges):
    assert {b["ros_topic_name"]: b["direction"] for b in bridges} == REQUIRED


def test_every_bridged_topic_matches_interfaces_md(bridges, interfaces):
    for b in bridges:
        topic = b["ros_topic_name"]
        assert topic in interfaces, f"{topic} is not in docs/interfaces.md"
        ros_type, source, destination = interfaces[topic]
        assert short_type(b["ros_type_name"]) == ros_type, topic
        assert b["direction"] == expected_direction(source, destination), topic


def test_what_the_robot_and_simulator_produce_is_bridged_unless_gazebo_lacks_it(
        bridges, interfaces):
    produced = {t for t, (_, s, d) in interfaces.items()
                if expected_direction(s, d) is not None}
    bridged = {b["ros_topic_name"] for b in bridges}
    assert produced - bridged == set(NOT_FROM_GAZEBO)


def test_gz_types_pair_with_the_ros_types(bridges):
    for b in bridges:
        assert ROS_TO_GZ_TYPE.get(b["ros_type_name"]) == b["gz_type_name"], b


def test_ground_truth_is_documented_as_ground_truth():
    lines = BRIDGE_YAML.read_text().splitlines()
    i = lines.index("- ros_topic_name: /ground_truth/odom")
    comment = []
    while i > 0 and lines[i - 1].startswith("#"):
        i -= 1
        comment.insert(0, lines[i])
    text = " ".join(comment)
    assert "GROUND TRUTH" in text and "never an input of the stack" in text


# --------------------------------------------------------------------------- the Gazebo side


def gazebo_topics(urdf: str) -> tuple[dict[str, str], dict[str, str]]:
    """({gz topic: gz type} the robot publishes, {gz topic: gz type} its systems read)."""
    root = ET.fromstring(urdf)
    published: dict[str, str] = {}
    subscribed: dict[str, str] = {}
    for sensor in root.iter("sensor"):
        topic = sensor.findtext("topic")
        kind = sensor.get("type")
        if kind in ("camera", "depth_camera"):
            published[topic] = "gz.msgs.Image"
            # a camera's info goes to <camera_info_topic>, else next to its image
            info = sensor.findtext("camera/camera_info_topic") or (
                topic.rsplit("/", 1)[0] + "/camera_info")
            published[info] = "gz.msgs.CameraInfo"
        elif kind == "imu":
            published[topic] = "gz.msgs.IMU"
    for plugin in root.iter("plugin"):
        kind = plugin.get("name").rsplit("::", 1)[-1]
        if kind == "JointStatePublisher":
            published[plugin.findtext("topic")] = "gz.msgs.Model"
        elif kind == "OdometryPublisher":
            published[plugin.findtext("odom_topic")] = "gz.msgs.Odometry"
        elif kind == "DiffDrive":
            subscribed[plugin.findtext("topic")] = "gz.msgs.Twist"
            published[plugin.findtext("odom_topic")] = "gz.msgs.Odometry"
        elif kind == "JointPositionController":
            subscribed[plugin.findtext("topic")] = "gz.msgs.Double"
    return published, subscribed


@pytest.fixture(scope="module")
def gz_robot() -> tuple[dict[str, str], dict[str, str]]:
    urdf = expand_xacro(DESCRIPTION_DIR / "urdf" / "hearth_gazebo.urdf.xacro",
                        DESCRIPTION_DIR / "config" / "robot.yaml")
    return gazebo_topics(urdf)


def test_every_gz_topic_is_served_by_the_gazebo_robot_with_its_type(bridges, gz_robot):
    published, subscribed = gz_robot
    published = {**published, "/clock": "gz.msgs.Clock"}  # Gazebo's own clock
    for b in bridges:
        side = published if b["direction"] == "GZ_TO_ROS" else subscribed
        assert side.get(b["gz_topic_name"]) == b["gz_type_name"], b


def test_the_diff_drive_wheel_odometry_is_not_bridged(bridges, gz_robot):
    published, _ = gz_robot
    gz_topics = {b["gz_topic_name"] for b in bridges}
    wheel_odometry = [t for t in published if t.startswith("/hearth/gz/")]
    assert wheel_odometry and not set(wheel_odometry) & gz_topics
    assert "/odom" not in {b["ros_topic_name"] for b in bridges}  # fusion's
