"""The local planner over real rclpy and DDS: /plan + /odom + TF map->odom -> commands."""

import itertools
import math
import pathlib

import pytest
import yaml
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import Bool, Float64, String
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.config import ConfigError
from hearth_common.frames import FramePublisher, make_transform
from hearth_common.msg_conversions import stamp_to_ns, yaw_to_quaternion_msg
from hearth_common.testing import ros_context, spin_until
from hearth_description.robot_model import default_robot_yaml
from hearth_msgs.msg import ObstacleTrack, ObstacleTrackArray
from hearth_trajectory.local_planner_node import LocalPlannerNode


class Probe:
    """Publishes /odom (robot at the odom origin), TF map->odom and /plan; records outputs."""

    def __init__(self, ctx, map_odom=(0.0, 0.0, 0.0)) -> None:
        self.node = Node("probe", context=ctx)
        self.frames = FramePublisher(self.node)
        self.map_odom = map_odom
        self.odom_pub = self.node.create_publisher(Odometry, "/odom", 10)
        self.plan_pub = self.node.create_publisher(Path, "/plan", 10)
        self.send_odom = True
        # A perfect robot: it drives the last /cmd_vel_nav (or stays put: drive=False).
        self.drive = True
        self.pose = [0.0, 0.0, 0.0]
        self.twist = (0.0, 0.0)
        self.tracks_pub = self.node.create_publisher(ObstacleTrackArray, "/obstacles/tracks", 10)
        self.out = {k: [] for k in ("cmd", "local_plan", "pan", "candidates", "predictions",
                                    "blocked", "status", "cycle")}
        for topic, kind, key in [
            ("/cmd_vel_nav", Twist, "cmd"),
            ("/local_plan", Path, "local_plan"),
            ("/screen/pan_cmd", Float64, "pan"),
            ("/local_planner/candidates", MarkerArray, "candidates"),
            ("/local_planner/predictions", MarkerArray, "predictions"),
            ("/local_planner/blocked", Bool, "blocked"),
            ("/local_planner/status", String, "status"),
            ("/local_planner/cycle_time_ms", Float64, "cycle"),
        ]:
            self.node.create_subscription(kind, topic, self.out[key].append, 10)
        self.node.create_timer(0.02, self._tick)

    def _tick(self) -> None:
        now = self.node.get_clock().now()
        if self.drive and self.out["cmd"]:
            c = self.out["cmd"][-1]
            self.twist = (c.linear.x, c.angular.z)
            x, y, yaw = self.pose
            self.pose = [x + 0.02 * c.linear.x * math.cos(yaw),
                         y + 0.02 * c.linear.x * math.sin(yaw), yaw + 0.02 * c.angular.z]
        elif not self.drive:
            self.twist = (0.0, 0.0)
        self.frames.send(
            make_transform("map", "odom", now, *self.map_odom[:2], 0.0, self.map_odom[2])
        )
        if self.send_odom:
            msg = Odometry()
            msg.header.stamp = now.to_msg()
            msg.header.frame_id, msg.child_frame_id = "odom", "base_link"
            msg.pose.pose.position.x, msg.pose.pose.position.y = self.pose[:2]
            msg.pose.pose.orientation = yaw_to_quaternion_msg(self.pose[2])
            msg.twist.twist.linear.x, msg.twist.twist.angular.z = self.twist
            self.odom_pub.publish(msg)

    def publish_person(self, x, y, vx, vy):
        """One tracked person (odom frame) on /obstacles/tracks."""
        msg = ObstacleTrackArray()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.header.frame_id = "odom"
        t = ObstacleTrack()
        t.id, t.radius, t.hits, t.age = 1, 0.25, 10, 1.0
        t.position.x, t.position.y = x, y
        t.velocity.x, t.velocity.y = vx, vy
        t.covariance = [0.01 if i in (0, 5, 10, 15) else 0.0 for i in range(16)]
        msg.tracks = [t]
        self.tracks_pub.publish(msg)

    def publish_plan(self, points, frame="map"):
        msg = Path()
        msg.header.frame_id = frame
        msg.header.stamp = self.node.get_clock().now().to_msg()
        for x, y in points:
            ps = PoseStamped()
            ps.header = msg.header
            ps.pose.position.x, ps.pose.position.y = x, y
            ps.pose.orientation.w = 1.0
            msg.poses.append(ps)
        self.plan_pub.publish(msg)


STRAIGHT = [(0.1 * i, 0.0) for i in range(41)]


def test_straight_plan_gives_forward_command_and_a_stamped_local_plan():
    with ros_context() as ctx:
        node = LocalPlannerNode(context=ctx)
        probe = Probe(ctx)
        nodes = [node, probe.node]
        try:
            assert spin_until(nodes, lambda: node._odom is not None, timeout_s=10.0)

            def moving():
                probe.publish_plan(STRAIGHT)
                return bool(probe.out["cmd"]) and probe.out["cmd"][-1].linear.x > 0.0

            assert spin_until(nodes, moving, timeout_s=30.0), node.status  # numba JIT: seconds
            cmd = probe.out["cmd"][-1]
            assert cmd.linear.x <= 1.0 and abs(cmd.angular.z) < 0.2
            # The cycle's messages are taken in one by one: its command may come in before
            # its plan, and the plan before it may be a stop's, empty (no /odom yet).
            assert spin_until(nodes, lambda: bool(probe.out["local_plan"])
                              and bool(probe.out["local_plan"][-1].poses), timeout_s=5.0)
            plan = probe.out["local_plan"][-1]
            assert plan.header.frame_id == "odom"
            assert len(plan.poses) == 30  # horizon 3.0 s / dt 0.1 s
            stamps = [stamp_to_ns(p.header.stamp) for p in plan.poses]
            t0 = stamp_to_ns(plan.header.stamp)  # when the plan takes effect
            assert [s - t0 for s in stamps] == pytest.approx(
                [100_000_000 * (k + 1) for k in range(30)], abs=2
            )
            xs = [p.pose.position.x for p in plan.poses]
            assert xs[-1] > xs[0] + 0.5  # driving forward along the path

            def planning_cycle_in() -> bool:  # every output of a planning cycle, not a stop's
                out = probe.out
                return (all(out[k] for k in ("candidates", "cycle", "pan", "blocked", "status",
                                             "predictions"))
                        and out["status"][-1].data.startswith("active")
                        and any(m.ns == "candidates" for m in out["candidates"][-1].markers))

            assert spin_until(nodes, planning_cycle_in, timeout_s=5.0), node.status
            markers = probe.out["candidates"][-1].markers
            strips = [m for m in markers if m.ns == "candidates"
                      and m.type == Marker.LINE_STRIP]
            # About a tenth of the candidates, green (best) to red (worst). (The budget of
            # that cycle: on a loaded machine the planner sheds candidates between cycles.)
            assert 10 <= len(strips) <= 0.12 * node.cfg.candidates
            assert max(m.color.g for m in strips) == 1.0 and max(m.color.r for m in strips) == 1.0
            assert all(len(m.points) == 31 for m in strips)
            assert probe.out["cycle"][-1].data > 0.0
            assert probe.out["blocked"][-1].data is False
            assert probe.out["status"][-1].data.startswith("active")
            assert probe.out["pan"][-1].data == pytest.approx(0.0, abs=0.1)

            # An empty /plan stops the robot.
            probe.publish_plan([])
            assert spin_until(
                nodes,
                lambda: node._plan is None and probe.out["cmd"][-1].linear.x < cmd.linear.x,
                timeout_s=5.0,
            )
        finally:
            node.destroy_node()
            probe.node.destroy_node()


def test_a_tracked_person_is_forecast_and_shown():
    with ros_context() as ctx:
        node = LocalPlannerNode(context=ctx)
        probe = Probe(ctx)
        nodes = [node, probe.node]
        try:

            def forecast_shown():
                probe.publish_plan(STRAIGHT)
                probe.publish_person(2.0, 1.0, 0.0, -0.5)
                return any(m.ns == "predictions" and m.type == Marker.LINE_STRIP
                           for a in probe.out["predictions"][-1:] for m in a.markers)

            assert spin_until(nodes, forecast_shown, timeout_s=10.0), node.status
            path = next(m for m in probe.out["predictions"][-1].markers
                        if m.type == Marker.LINE_STRIP)
            assert len(path.points) == 31 and path.points[-1].y < path.points[0].y  # walking -y
        finally:
            node.destroy_node()
            probe.node.destroy_node()


def test_plan_is_moved_into_odom_by_tf_map_to_odom():
    # map->odom puts the odom origin at map (0, 0) rotated by +90 deg: a plan along map +y is
    # straight ahead of a robot at the odom origin facing odom +x.
    with ros_context() as ctx:
        node = LocalPlannerNode(context=ctx)
        probe = Probe(ctx, map_odom=(0.0, 0.0, math.pi / 2))
        nodes = [node, probe.node]
        try:

            def moving():
                probe.publish_plan([(0.0, 0.1 * i) for i in range(30)])
                return bool(probe.out["cmd"]) and probe.out["cmd"][-1].linear.x > 0.0

            assert spin_until(nodes, moving, timeout_s=10.0), node.status
            assert abs(probe.out["cmd"][-1].angular.z) < 0.2
            assert node.status.startswith("following the path")
        finally:
            node.destroy_node()
            probe.node.destroy_node()


def test_stale_odom_and_nan_plans_give_zero_commands():
    with ros_context() as ctx:
        node = LocalPlannerNode(context=ctx)
        probe = Probe(ctx)
        nodes = [node, probe.node]
        try:

            def moving():
                probe.publish_plan(STRAIGHT)
                return bool(probe.out["cmd"]) and probe.out["cmd"][-1].linear.x > 0.0

            assert spin_until(nodes, moving, timeout_s=10.0)
            probe.send_odom = False
            assert spin_until(
                nodes,
                lambda: probe.out["cmd"][-1].linear.x == 0.0 and "stale" in node.status,
                timeout_s=5.0,
            ), node.status
            probe.send_odom = True
            assert spin_until(nodes, moving, timeout_s=10.0)
            probe.publish_plan([(0.0, 0.0), (math.nan, 1.0)])
            assert spin_until(
                nodes,
                lambda: node.counts["plans_rejected"] >= 1 and node._plan is None
                and "no path" in node.status,
                timeout_s=5.0,
            )
        finally:
            node.destroy_node()
            probe.node.destroy_node()


def test_bad_parameter_stops_the_node_with_the_key_named():
    with ros_context() as ctx, pytest.raises(ConfigError, match="'dt_s'"):
        LocalPlannerNode(context=ctx, parameter_overrides=[Parameter("dt_s", value=0.07)])


def _robot_yaml(tmp_path, section, **changes) -> str:
    """A copy of hearth_description's robot.yaml with some keys of ``section`` changed."""
    doc = yaml.safe_load(default_robot_yaml().read_text())
    doc[section].update(changes)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.mark.parametrize(
    ("robot_top_speed_mps", "speed_fraction", "expected_mps"),
    [(0.3, 1.0, 0.3), (None, 0.5, 0.5)],  # None: hearth_description's robot.yaml (1.0 m/s)
)
def test_top_speed_is_the_robots_times_speed_fraction(
    tmp_path, robot_top_speed_mps, speed_fraction, expected_mps
):
    params = [Parameter("speed_fraction", value=speed_fraction)]
    if robot_top_speed_mps is not None:
        robot_yaml = _robot_yaml(tmp_path, "limits", max_linear_speed_mps=robot_top_speed_mps)
        params.append(Parameter("robot_params_file", value=robot_yaml))
    with ros_context() as ctx:
        node = LocalPlannerNode(context=ctx, parameter_overrides=params)
        probe = Probe(ctx)
        nodes = [node, probe.node]
        try:

            def at_top_speed():
                probe.publish_plan(STRAIGHT)  # 4 m ahead: far enough to reach top speed
                return bool(probe.out["cmd"]) and probe.out["cmd"][-1].linear.x == pytest.approx(
                    expected_mps
                )

            assert spin_until(nodes, at_top_speed, timeout_s=15.0), (
                node.status, probe.out["cmd"][-1].linear.x if probe.out["cmd"] else None
            )  # fmt: skip
            assert max(c.linear.x for c in probe.out["cmd"]) <= expected_mps + 1e-9
        finally:
            node.destroy_node()
            probe.node.destroy_node()


def test_pan_command_stays_within_the_robots_pan_travel_and_speed(tmp_path):
    robot_yaml = _robot_yaml(tmp_path, "screen", pan_limit_rad=1.0, max_pan_speed_radps=0.5)
    with ros_context() as ctx:
        node = LocalPlannerNode(
            context=ctx, parameter_overrides=[Parameter("robot_params_file", value=robot_yaml)]
        )
        probe = Probe(ctx)
        nodes = [node, probe.node]
        pans = probe.out["pan"]
        try:

            def panned_to_the_limit():
                # The path lies behind the robot, a little to its left: it turns in place to
                # the left, and the screen looks where it turns to, up to the pan limit.
                probe.publish_plan([(-0.1 * i, 0.03 * i) for i in range(20)])
                return bool(pans) and pans[-1].data == pytest.approx(1.0)

            probe.drive = False  # held in place: it keeps turning towards the path
            assert spin_until(nodes, panned_to_the_limit, timeout_s=15.0), (
                node.status, pans[-1].data if pans else None
            )  # fmt: skip
            values = [m.data for m in pans]
            assert all(abs(v) <= 1.0 for v in values)
            # At most 0.5 rad/s over the time between cycles (two periods at most: 0.2 s).
            assert max(abs(b - a) for a, b in itertools.pairwise(values)) <= 0.1 + 1e-9
            assert sum(1 for v in values if v < 1.0 - 1e-9) >= 10  # 1 rad at <= 0.1 a cycle
        finally:
            node.destroy_node()
            probe.node.destroy_node()


def test_a_bad_robot_params_file_stops_the_node_with_one_line(tmp_path):
    bad = _robot_yaml(tmp_path, "screen", max_pan_speed_radps=0.0)
    with (
        ros_context() as ctx,
        pytest.raises(ConfigError, match=r"'screen\.max_pan_speed_radps' must be > 0") as exc,
    ):
        LocalPlannerNode(
            context=ctx, parameter_overrides=[Parameter("robot_params_file", value=bad)]
        )
    assert "\n" not in str(exc.value)
    with ros_context() as ctx, pytest.raises(ConfigError, match="cannot read robot description"):
        LocalPlannerNode(
            context=ctx,
            parameter_overrides=[
                Parameter("robot_params_file", value=str(tmp_path / "missing.yaml"))
            ],
        )


def test_a_corrupt_floor_transitions_file_stops_the_node_and_a_missing_one_marks_none(tmp_path):
    bad = tmp_path / "floor_transitions.yaml"
    bad.write_text("transitions:\n  - {from_m: [0, 0], to_m: [1, nan]}\n")
    with (
        ros_context() as ctx,
        pytest.raises(ConfigError, match=r"'floor_transitions_file'.*transitions\[0\]") as exc,
    ):
        LocalPlannerNode(
            context=ctx, parameter_overrides=[Parameter("floor_transitions_file", value=str(bad))]
        )
    assert "\n" not in str(exc.value)
    with ros_context() as ctx:
        node = LocalPlannerNode(context=ctx, parameter_overrides=[
            Parameter("floor_transitions_file", value=str(tmp_path / "missing.yaml"))])
        try:
            assert node.floor is None
        finally:
            node.destroy_node()


def test_the_homes_floor_transitions_load_in_the_map_frame():
    maps = pathlib.Path(__file__).resolve().parents[3] / "maps"
    share = maps / "apartment" / "floor_transitions.yaml"
    with ros_context() as ctx:
        node = LocalPlannerNode(context=ctx, parameter_overrides=[
            Parameter("floor_transitions_file", value=str(share))])
        try:
            assert node.floor is not None and "bathroom_sill" in node.floor.names
        finally:
            node.destroy_node()
