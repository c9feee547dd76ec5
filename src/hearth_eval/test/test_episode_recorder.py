"""The run recorder over real DDS: what it writes opens with rosbags, and its arrays hold the
ground truth and the estimate.

A probe publishes a short simulated run (a /clock, the ground truth, /odom and map->odom on
/tf, people, a latched /map published before the clock starts, best-effort images at 10 Hz);
the recorder (the demo's) subscribes as it discovers the topics and writes the MCAP bag
through ``bag_writer.BagWriter``; the test then opens the bag with rosbags' reader.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_msgs.msg import TransformStamped
from nav_msgs.msg import OccupancyGrid, Odometry
from rclpy.node import Node
from rosbags.highlevel import AnyReader
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image
from std_msgs.msg import Float64
from tf2_msgs.msg import TFMessage

from hearth_common.msg_conversions import ns_to_stamp, yaw_to_quaternion_msg
from hearth_common.qos import LATCHED, SENSOR
from hearth_common.testing import Spinner, ros_context
from hearth_eval.bag_writer import BagWriter, image_stamp_ns, jazzy_typestore
from hearth_eval.episode_log import episode_from_bag
from hearth_eval.episode_recorder import EpisodeRecorder
from hearth_eval.run_metrics import GoalRun, goal_metrics
from hearth_msgs.msg import PersonState, PersonStateArray

NS = 1_000_000_000
TOPICS = {"/clock", "/ground_truth/odom", "/odom", "/tf", "/ground_truth/people",
          "/stereo/left/image_raw", "/map", "/local_planner/cycle_time_ms"}


class ScriptedRun(Node):
    """A simulated run's topics: the robot drives east at 0.5 m/s from (1, 2); its
    odometry has drifted 0.1 m north, which V-SLAM's map->odom undoes from t = 0.5 s."""

    def __init__(self, **kwargs):
        super().__init__("scripted_run", **kwargs)
        self.clock = self.create_publisher(Clock, "/clock", 10)
        self.truth = self.create_publisher(Odometry, "/ground_truth/odom", 10)
        self.odom = self.create_publisher(Odometry, "/odom", 10)
        self.tf = self.create_publisher(TFMessage, "/tf", 100)
        self.people = self.create_publisher(PersonStateArray, "/ground_truth/people", 10)
        self.image = self.create_publisher(Image, "/stereo/left/image_raw", SENSOR)
        self.map = self.create_publisher(OccupancyGrid, "/map", LATCHED)
        self.cycle = self.create_publisher(Float64, "/local_planner/cycle_time_ms", 10)

    def publish_map(self) -> None:
        grid = OccupancyGrid()
        grid.header.frame_id = "map"
        grid.info.resolution, grid.info.width, grid.info.height = 0.05, 4, 3
        grid.data = [0] * 12
        self.map.publish(grid)

    def publish_step(self, k: int) -> None:
        t_ns = k * NS // 20  # 20 Hz
        t_s = t_ns / NS
        self.clock.publish(Clock(clock=ns_to_stamp(t_ns)))
        for pub, frame, y in ((self.truth, "world", 2.0), (self.odom, "odom", 0.1)):
            msg = Odometry()
            msg.header.stamp, msg.header.frame_id = ns_to_stamp(t_ns), frame
            msg.pose.pose.position.x = (1.0 if frame == "world" else 0.0) + 0.5 * t_s
            msg.pose.pose.position.y = y
            msg.pose.pose.orientation = yaw_to_quaternion_msg(0.0)
            msg.twist.twist.linear.x = 0.5
            pub.publish(msg)
        tf = TransformStamped()
        tf.header.stamp, tf.header.frame_id, tf.child_frame_id = ns_to_stamp(t_ns), "map", "odom"
        tf.transform.translation.x = 1.0
        tf.transform.translation.y = 2.0 if t_s < 0.5 else 1.9
        tf.transform.rotation = yaw_to_quaternion_msg(0.0)
        self.tf.publish(TFMessage(transforms=[tf]))
        people = PersonStateArray()
        people.header.stamp, people.header.frame_id = ns_to_stamp(t_ns), "world"
        person = PersonState(id=7, radius=0.25)
        person.position.x, person.position.y = 1.0 + 0.5 * t_s, 3.0  # 1 m beside the robot
        people.people = [person]
        self.people.publish(people)
        if k % 2 == 0:  # images at 10 Hz
            img = Image(height=4, width=6, encoding="mono8", step=6, data=bytes(range(24)))
            img.header.stamp, img.header.frame_id = ns_to_stamp(t_ns), "stereo_left_optical"
            self.image.publish(img)
        self.cycle.publish(Float64(data=20.0 + k % 3))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Records 2 s of the fake run; yields (bag directory, recorder)."""
    bag_dir = tmp_path_factory.mktemp("run") / "bag"
    with ros_context() as ctx:
        run = ScriptedRun(context=ctx)
        recorder = EpisodeRecorder(bag_dir, robot_radius_m=0.2, image_rate_hz=2.0,
                                   discovery_period_s=0.1, context=ctx)
        with Spinner([run, recorder]) as spin:
            run.publish_map()  # latched, before any /clock
            assert spin.until(lambda: "/map" in recorder._subscribed, timeout_s=10.0)
            k = 0
            # publish until every topic is discovered, then 2 s of simulated time more
            while not recorder._subscribed >= TOPICS:
                run.publish_step(0)
                assert spin.until(lambda: False, timeout_s=0.05) is False
                k += 1
                assert k < 200, f"not discovered: {TOPICS - recorder._subscribed}"
            for k in range(1, 41):
                run.publish_step(k)
                spin.until(lambda: False, timeout_s=0.02)
            spin.until(lambda: recorder.sim_time_s >= 2.0 and len(recorder.log.truth) >= 38,
                       timeout_s=5.0)
            spin.until(lambda: False, timeout_s=0.3)  # let the last messages in
        recorder.close_bag()
        episode = recorder.episode([GoalRun("east", 2.0, 2.0, 0.0, 2.0, "reached")])
        recorder.destroy_node()
        run.destroy_node()
    yield bag_dir, recorder, episode


def test_the_bag_opens_with_rosbags_and_holds_every_topic_with_its_type(recorded):
    bag_dir, _, _ = recorded
    assert (bag_dir / "metadata.yaml").is_file() and (bag_dir / "bag.mcap").is_file()
    with AnyReader([bag_dir], default_typestore=jazzy_typestore()) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
        assert set(types) >= TOPICS
        assert types["/ground_truth/people"] == "hearth_msgs/msg/PersonStateArray"
        assert types["/stereo/left/image_raw"] == "sensor_msgs/msg/Image"
        people = [reader.deserialize(raw, c.msgtype) for c, _, raw in
                  reader.messages([c for c in reader.connections
                                   if c.topic == "/ground_truth/people"])]
        assert len(people) >= 38
        assert people[-1].people[0].id == 7 and people[-1].people[0].radius == 0.25
        truth = [(t, reader.deserialize(raw, c.msgtype)) for c, t, raw in
                 reader.messages([c for c in reader.connections
                                  if c.topic == "/ground_truth/odom"])]
        # each message is stamped with the simulated time it was received at
        for t_ns, msg in truth:
            sent_ns = msg.header.stamp.sec * NS + msg.header.stamp.nanosec
            assert sent_ns <= t_ns <= sent_ns + NS // 2
        assert truth[-1][1].pose.pose.position.x == pytest.approx(2.0)


def test_a_latched_topic_keeps_its_qos_and_is_stamped_with_the_first_clock(recorded):
    bag_dir, recorder, _ = recorded
    with AnyReader([bag_dir], default_typestore=jazzy_typestore()) as reader:
        conn = next(c for c in reader.connections if c.topic == "/map")
        assert conn.ext.offered_qos_profiles[0].durability.name == "TRANSIENT_LOCAL"
        (_, t_ns, raw), = list(reader.messages([conn]))
        # received before /clock started: stamped with the first clock the recorder saw
        assert t_ns == recorder.first_clock_ns
        grid = reader.deserialize(raw, conn.msgtype)
        assert (grid.info.width, grid.info.height) == (4, 3)


def test_images_are_decimated_by_their_stamp(recorded):
    bag_dir, recorder, _ = recorded
    with AnyReader([bag_dir], default_typestore=jazzy_typestore()) as reader:
        conn = next(c for c in reader.connections if c.topic == "/stereo/left/image_raw")
        stamps = []
        for c, _, raw in reader.messages([conn]):
            img = reader.deserialize(raw, c.msgtype)
            stamps.append(img.header.stamp.sec + img.header.stamp.nanosec * 1e-9)
            assert bytes(img.data) == bytes(range(24))
    # 10 Hz images kept at 2 Hz: one per half second of their stamps
    slots = [math.floor(s * 2.0) for s in stamps]
    assert len(slots) == len(set(slots)) and 3 <= len(slots) <= 6
    assert recorder.bag.decimated["/stereo/left/image_raw"] >= 10


def test_the_recorder_arrays_give_the_estimate_and_the_metrics(recorded):
    _, _, ep = recorded
    assert len(ep.truth_t_s) >= 38 and np.all(np.diff(ep.truth_t_s) > 0)
    assert ep.people_xy.shape[1:] == (1, 2)
    m = goal_metrics(ep)[0]
    # odom (x, 0.1) placed by map->odom (1, 2.0) before 0.5 s, (1, 1.9) after: 0.1 m, then 0
    assert 0.0 < m.ate_rms_m < 0.1 and m.ate_max_m == pytest.approx(0.1, abs=1e-6)
    assert m.min_clearance_people_m == pytest.approx(1.0 - 0.25 - 0.2)
    assert m.planner_cycle_p95_ms == pytest.approx(22.0)


def test_the_bag_read_back_gives_the_same_episode(recorded):
    """What the metrics see live is what a bag gives later (the report can be made again)."""
    bag_dir, _, live = recorded
    again = episode_from_bag(bag_dir, live.goals, live.robot_radius_m)
    for key in ("truth_t_s", "truth_pose", "odom_pose", "map_odom_pose", "people_xy"):
        np.testing.assert_allclose(getattr(again, key), getattr(live, key), err_msg=key)
    assert goal_metrics(again) == goal_metrics(live)


def test_the_writer_refuses_unknown_types_and_reads_stamps_without_decoding(tmp_path):
    from rclpy.serialization import serialize_message

    with BagWriter(tmp_path / "b", image_rate_hz=0.0) as bag:
        assert not bag.add_topic("/x", "nobody_msgs/msg/Nothing")
        assert not bag.add_topic("/img", "sensor_msgs/msg/Image")  # images left out
        assert bag.add_topic("/odom", "nav_msgs/msg/Odometry")
        assert not bag.write("/x", 1, b"")
        assert bag.skipped_types == {"/x": "nobody_msgs/msg/Nothing",
                                     "/img": "sensor_msgs/msg/Image (images left out)"}
    img = Image()
    img.header.stamp = ns_to_stamp(12 * NS + 345)
    assert image_stamp_ns(serialize_message(img)) == 12 * NS + 345
    with pytest.raises(ValueError):
        image_stamp_ns(b"\x00\x01")
    with pytest.raises(ValueError, match="image_rate_hz"):
        BagWriter(tmp_path / "c", image_rate_hz=-1.0)
