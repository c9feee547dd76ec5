"""config/hearth.rviz shows what the issue asks, and every topic it names exists in the stack.

A static check: the rviz2 config is YAML; each display's topic (``Topic``/``Description
Topic`` ``Value``) must be in the interface contract (docs/interfaces.md's topic table) and
be published by a node of src/ (a ``create_publisher(Type, "/topic", ...)`` in its sources)
with the message type the display draws; each tool's topic (2D Pose Estimate, 2D Goal Pose)
must be in the contract and subscribed by a node.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

WS = Path(__file__).resolve().parents[1]
RVIZ = WS / "config" / "hearth.rviz"
INTERFACES = WS / "docs" / "interfaces.md"

# rviz2 display class -> the message type it draws
DISPLAY_TYPES = {
    "rviz_default_plugins/Map": "OccupancyGrid",
    "rviz_default_plugins/Path": "Path",
    "rviz_default_plugins/MarkerArray": "MarkerArray",
    "rviz_default_plugins/PointCloud2": "PointCloud2",
    "rviz_default_plugins/RobotModel": "String",
    "rviz_default_plugins/Image": "Image",
}
# TF is published through hearth_common.frames.FramePublisher, not create_publisher
FRAME_TOPICS = {"/tf": "TFMessage", "/tf_static": "TFMessage"}


def _topic_value(entry: dict) -> str | None:
    for key in ("Topic", "Description Topic"):
        value = entry.get(key)
        if isinstance(value, dict) and value.get("Value"):
            return value["Value"]
    return None


def rviz_config() -> dict:
    return yaml.safe_load(RVIZ.read_text())


def displays() -> list[dict]:
    return rviz_config()["Visualization Manager"]["Displays"]


def contract_topics() -> set[str]:
    """Every topic in the first column of docs/interfaces.md's table: braces expanded, and
    ``.../x`` read as a sibling of the name before it (``/stereo/left/image_raw,
    .../camera_info``)."""
    topics: set[str] = set()
    for line in INTERFACES.read_text().splitlines():
        if not line.startswith("| "):
            continue
        previous: list[str] = []
        for token in re.findall(r"(?:\.\.\.)?/[\w/{},]+", line.split("|")[1]):
            token = token.rstrip(",")
            if token.startswith("..."):
                names = [p.rsplit("/", 1)[0] + token[3:] for p in previous]
            else:
                m = re.match(r"(.*)\{([^}]*)\}(.*)", token)
                names = ([m.group(1) + alt + m.group(3) for alt in m.group(2).split(",")]
                         if m else [token])
            topics.update(names)
            previous = names
    return topics


def _calls(kind: str) -> dict[str, set[str]]:
    """topic -> message types, from every ``create_<kind>(Type, "/topic"`` in src/."""
    found: dict[str, set[str]] = {}
    pattern = re.compile(rf"create_{kind}\(\s*(\w+)\s*,\s*\"(/[^\"]+)\"")
    for path in (WS / "src").glob("*/*/*.py"):
        for msg_type, topic in pattern.findall(path.read_text()):
            found.setdefault(topic, set()).add(msg_type)
    return found


def published() -> dict[str, set[str]]:
    found = _calls("publisher")
    for topic, msg_type in FRAME_TOPICS.items():
        found.setdefault(topic, set()).add(msg_type)
    return found


def test_the_view_is_in_the_map_frame_and_shows_what_the_issue_asks():
    cfg = rviz_config()
    assert cfg["Visualization Manager"]["Global Options"]["Fixed Frame"] == "map"
    by_topic = {_topic_value(d): d["Class"] for d in displays()}
    classes = {d["Class"] for d in displays()}
    assert by_topic["/map"] == "rviz_default_plugins/Map"
    assert "rviz_default_plugins/TF" in classes
    robot = next(d for d in displays() if d["Class"] == "rviz_default_plugins/RobotModel")
    assert robot["Description Source"] == "Topic"
    assert _topic_value(robot) == "/robot_description"
    for topic in ("/plan", "/local_plan"):
        assert by_topic[topic] == "rviz_default_plugins/Path"
    for topic in ("/local_planner/candidates", "/obstacles/predictions", "/slam/keyframes",
                  "/safety/markers"):
        assert by_topic[topic] == "rviz_default_plugins/MarkerArray"
    assert by_topic["/slam/landmarks"] == "rviz_default_plugins/PointCloud2"


def test_latched_topics_are_subscribed_latched():
    for d in displays():
        if _topic_value(d) in ("/map", "/robot_description"):
            topic = d.get("Topic") or d.get("Description Topic")
            assert topic["Durability Policy"] == "Transient Local", d["Name"]


@pytest.mark.parametrize("display", displays(), ids=lambda d: d["Name"])
def test_every_display_topic_is_in_the_contract_and_published_with_its_type(display):
    topic = _topic_value(display)
    if topic is None:
        assert display["Class"] in ("rviz_default_plugins/TF", "rviz_default_plugins/Grid")
        return
    assert topic in contract_topics(), f"{topic} is not in docs/interfaces.md"
    publishers = published()
    assert topic in publishers, f"no node in src/ publishes {topic}"
    assert DISPLAY_TYPES[display["Class"]] in publishers[topic], (
        f"{topic} is published as {publishers[topic]}, the display draws "
        f"{DISPLAY_TYPES[display['Class']]}")


def test_every_tool_topic_is_in_the_contract_and_subscribed_by_a_node():
    tools = rviz_config()["Visualization Manager"]["Tools"]
    topics = [_topic_value(t) for t in tools if _topic_value(t)]
    assert set(topics) == {"/initialpose", "/goal_pose"}
    subscribed = _calls("subscription")
    for topic in topics:
        assert topic in contract_topics()
        assert topic in subscribed, f"no node in src/ subscribes {topic}"


def test_the_checker_sees_the_contract_and_the_publishers():
    """Guards the two sources the tests above rely on."""
    assert {"/map", "/stereo/left/image_raw", "/stereo/right/camera_info",
            "/local_planner/candidates", "/safety/state"} <= contract_topics()
    assert "OccupancyGrid" in published()["/map"] and "/cmd_vel" in published()
