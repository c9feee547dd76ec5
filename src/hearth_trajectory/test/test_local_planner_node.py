"""The local planner over real rclpy and DDS: /plan + /odom + TF map->odom -> commands."""

import itertools
import math

import pytest
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry, Path
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import Float64
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.config import ConfigError
from hearth_common.frames import FramePublisher, make_transform
from hearth_common.msg_conversions import stamp_to_ns
from hearth_common.testing import ros_context, spin_until
from hearth_msgs.msg import ObstacleTrackArray
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
        self.odom_x = 0.0
        self.out = {k: [] for k in ("cmd", "local_plan", "pan", "candidates", "tracks", "cycle")}
        for topic, kind, key in [
            ("/cmd_vel_nav", Twist, "cmd"),
            ("/local_plan", Path, "local_plan"),
            ("/screen/pan_cmd", Float64, "pan"),
            ("/local_planner/candidates", MarkerArray, "candidates"),
            ("/obstacles/tracks", ObstacleTrackArray, "tracks"),
            ("/local_planner/cycle_time_ms", Float64, "cycle"),
        ]:
            self.node.create_subscription(kind, topic, self.out[key].append, 10)
        self.node.create_timer(0.02, self._tick)

    def _tick(self) -> None:
        now = self.node.get_clock().now()
        self.frames.send(
            make_transform("map", "odom", now, *self.map_odom[:2], 0.0, self.map_odom[2])
        )
        if self.send_odom:
            msg = Odometry()
            msg.header.stamp = now.to_msg()
            msg.header.frame_id, msg.child_frame_id = "odom", "base_link"
            msg.pose.pose.position.x = self.odom_x
            msg.pose.pose.orientation.w = 1.0
            self.odom_pub.publish(msg)

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

            assert spin_until(nodes, moving, timeout_s=10.0), node.status
            cmd = probe.out["cmd"][-1]
            assert cmd.linear.x <= 1.0 and abs(cmd.angular.z) < 1e-6
            assert spin_until(nodes, lambda: len(probe.out["local_plan"]) > 0, timeout_s=5.0)
            plan = probe.out["local_plan"][-1]
            assert plan.header.frame_id == "odom"
            assert len(plan.poses) == 30  # horizon 3.0 s / dt 0.1 s
            stamps = [stamp_to_ns(p.header.stamp) for p in plan.poses]
            t0 = stamp_to_ns(plan.header.stamp)
            assert [s - t0 for s in stamps] == pytest.approx(
                [100_000_000 * (k + 1) for k in range(30)], abs=2
            )
            xs = [p.pose.position.x for p in plan.poses]
            assert all(b > a for a, b in itertools.pairwise(xs))  # driving forward
            assert spin_until(
                nodes,
                lambda: (
                    probe.out["candidates"]
                    and probe.out["tracks"]
                    and probe.out["cycle"]
                    and probe.out["pan"]
                ),
                timeout_s=5.0,
            )
            (marker,) = probe.out["candidates"][-1].markers
            assert marker.type == Marker.LINE_STRIP and marker.color.g == 1.0
            assert len(marker.points) == 31
            assert probe.out["tracks"][-1].tracks == []
            assert probe.out["cycle"][-1].data > 0.0
            assert probe.out["pan"][-1].data == pytest.approx(0.0, abs=1e-6)

            # An empty /plan stops the robot.
            probe.publish_plan([])
            assert spin_until(
                nodes,
                lambda: probe.out["cmd"][-1].linear.x == 0.0 and node._plan is None,
                timeout_s=5.0,
            )
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
            assert abs(probe.out["cmd"][-1].angular.z) < 1e-3
            assert node.status == "following"
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
                lambda: node.counts["plans_rejected"] >= 1 and probe.out["cmd"][-1].linear.x == 0.0,
                timeout_s=5.0,
            )
        finally:
            node.destroy_node()
            probe.node.destroy_node()


def test_bad_parameter_stops_the_node_with_the_key_named():
    with ros_context() as ctx, pytest.raises(ConfigError, match="'dt_s'"):
        LocalPlannerNode(context=ctx, parameter_overrides=[Parameter("dt_s", value=0.07)])
