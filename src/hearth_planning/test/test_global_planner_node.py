"""The global planner over real rclpy and DDS: its actions, /plan, /map and /goal_pose.

The action tests need nav2_msgs (the CI underlay or a ROS 2 install) and skip without it.
They spin one executor for the whole test (``hearth_common.testing.Spinner``, not
``spin_until``, which makes a new executor per call): a navigate_to_pose goal is a task of the
executor that accepted it and must keep running across waits.
"""

import math

import numpy as np
import pytest
import yaml
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import OccupancyGrid, Path
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from hearth_common.config import ConfigError
from hearth_common.frames import FramePublisher, make_transform
from hearth_common.msg_conversions import yaw_to_quaternion_msg
from hearth_common.qos import LATCHED
from hearth_common.testing import Spinner, ros_context
from hearth_description.robot_model import default_robot_yaml, load_robot_params
from hearth_planning.map_io import write_pgm

nav2_msgs = pytest.importorskip(
    "nav2_msgs.action",
    reason="nav2_msgs is not importable: source install_underlay (the CI underlay) or ROS 2",
)
from action_msgs.msg import GoalStatus  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402

from hearth_planning.global_planner_node import GlobalPlannerNode  # noqa: E402

ComputePathToPose = nav2_msgs.ComputePathToPose
NavigateToPose = nav2_msgs.NavigateToPose


def _write_map(tmp_path):
    """4 m x 2 m at 0.05 m, origin (0, 0): a wall at x = 2 m with a gap at y 1.4..1.9 m, and
    a closed box at x 3.0..3.75 m, y 1.15..1.9 m (its inside is free but unreachable).

    The gap's middle cells are 0.25 m from the wall's cells on either side: a robot passes
    when its radius plus the inflation margin is less than that."""
    pixels = np.full((40, 80), 254, dtype=np.uint8)  # image row 0 is the top (y = 2 m)
    pixels[:, 39:41] = 0
    pixels[2:12, 39:41] = 254  # the gap, near the top
    pixels[2:17, 60:75] = 0
    pixels[3:16, 61:74] = 254
    write_pgm(tmp_path / "test.pgm", pixels)
    (tmp_path / "test.yaml").write_text(
        "image: test.pgm\nresolution: 0.05\norigin: [0.0, 0.0, 0.0]\nnegate: 0\n"
        "occupied_thresh: 0.65\nfree_thresh: 0.25\n"
    )
    return str(tmp_path / "test.yaml")


def _pose(x, y, yaw=0.0, frame="map"):
    ps = PoseStamped()
    ps.header.frame_id = frame
    ps.pose.position.x, ps.pose.position.y = x, y
    ps.pose.orientation = yaw_to_quaternion_msg(yaw)
    return ps


class MultiThreadedSpinner(Spinner):
    """A Spinner over a MultiThreadedExecutor: the node must work under one as well."""

    def __init__(self, nodes):  # Spinner's, with the other executor
        self.executor = MultiThreadedExecutor(context=nodes[0].context)
        self.nodes = list(nodes)
        for n in self.nodes:
            self.executor.add_node(n)

    def close(self):
        # rclpy's MultiThreadedExecutor.shutdown() does not wait for work already handed to
        # its thread pool: drain the pool first, so no callback runs while things are destroyed.
        self.executor._executor.shutdown(wait=True)
        super().close()


class Harness:
    """The node under test, a probe node (TF map->odom->base_link, recorders), one executor
    for the whole test (a Spinner)."""

    def __init__(self, ctx, map_yaml, spinner_type=Spinner, **overrides):
        params = [Parameter("map_yaml", value=map_yaml)]
        params += [Parameter(k, value=v) for k, v in overrides.items()]
        self.node = GlobalPlannerNode(context=ctx, parameter_overrides=params)
        self.probe = Node("probe", context=ctx)
        self.robot = (0.5, 0.5, 0.0)
        self.publish_tf = True
        self.frames = FramePublisher(self.probe)
        self.plans: list[Path] = []
        self.probe.create_subscription(Path, "/plan", self.plans.append, 10)
        self.probe.create_timer(0.02, self._tick)
        self.spinner = spinner_type([self.node, self.probe])
        self.until = self.spinner.until
        self.clients: list[ActionClient] = []

    def client(self, action_type, name):
        self.clients.append(ActionClient(self.probe, action_type, name))
        return self.clients[-1]

    def _tick(self):
        if self.publish_tf:
            now = self.probe.get_clock().now()
            self.frames.send(
                [
                    make_transform("map", "odom", now),
                    make_transform(
                        "odom", "base_link", now, self.robot[0], self.robot[1], 0.0, self.robot[2]
                    ),
                ]
            )

    def wait(self, future, timeout_s=10.0):
        assert self.until(future.done, timeout_s), "timed out"
        return future.result()

    def close(self):
        self.spinner.close()
        for client in self.clients:
            client.destroy()
        self.node.destroy_node()
        self.probe.destroy_node()


@pytest.fixture
def harness(tmp_path):
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path))
        try:
            yield h
        finally:
            h.close()


def _send(h, client, goal):
    assert h.until(client.server_is_ready), "action server not discovered"
    handle = h.wait(client.send_goal_async(goal))
    assert handle.accepted
    return handle


def test_compute_path_to_pose_success_and_errors(harness):
    h = harness
    client = h.client(ComputePathToPose, "compute_path_to_pose")
    goal = ComputePathToPose.Goal(goal=_pose(3.5, 0.5), start=_pose(0.5, 0.5), use_start=True)
    result = h.wait(_send(h, client, goal).get_result_async())
    assert result.status == GoalStatus.STATUS_SUCCEEDED
    assert result.result.error_code == ComputePathToPose.Result.NONE
    path = result.result.path
    assert path.header.frame_id == "map"
    xy = np.array([(p.pose.position.x, p.pose.position.y) for p in path.poses])
    assert tuple(xy[0]) == pytest.approx((0.5, 0.5)) and tuple(xy[-1]) == pytest.approx((3.5, 0.5))
    crossing = xy[np.argmin(np.abs(xy[:, 0] - 2.0))]
    assert crossing[1] > 1.4  # through the gap in the wall
    assert not h.plans, "compute_path_to_pose must not publish /plan (it would move the robot)"

    for target, code, words in [
        (_pose(5.0, 0.5), ComputePathToPose.Result.GOAL_OUTSIDE_MAP, "outside the map"),
        (_pose(2.0, 0.5), ComputePathToPose.Result.GOAL_OCCUPIED, "obstacle"),
        (_pose(3.375, 1.525), ComputePathToPose.Result.NO_VALID_PATH, "no collision-free path"),
    ]:
        goal = ComputePathToPose.Goal(goal=target, start=_pose(0.5, 0.5), use_start=True)
        result = h.wait(_send(h, client, goal).get_result_async())
        assert result.status == GoalStatus.STATUS_ABORTED
        assert result.result.error_code == code
        assert words in result.result.error_msg

    # Without use_start the start is the robot's pose from TF (map -> odom -> base_link).
    h.robot = (-1.0, 0.5, 0.0)
    goal = ComputePathToPose.Goal(goal=_pose(1.0, 1.0))
    assert h.until(lambda: _robot_seen(h, -1.0))
    result = h.wait(_send(h, client, goal).get_result_async())
    assert result.result.error_code == ComputePathToPose.Result.START_OUTSIDE_MAP


def _robot_seen(h, x):
    try:
        return abs(h.node._robot_pose()[0] - x) < 1e-6
    except Exception:
        return False


@pytest.mark.parametrize("spinner_type", [Spinner, MultiThreadedSpinner])
def test_navigate_to_pose_plans_gives_feedback_and_succeeds_at_the_goal(tmp_path, spinner_type):
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path), spinner_type)
        try:
            client = h.client(NavigateToPose, "navigate_to_pose")
            feedback = []
            assert h.until(lambda: _robot_seen(h, 0.5))
            assert h.until(client.server_is_ready)
            handle = h.wait(
                client.send_goal_async(
                    NavigateToPose.Goal(pose=_pose(3.5, 0.5, 1.0)),
                    feedback_callback=lambda fb: feedback.append(fb.feedback),
                )
            )
            assert handle.accepted
            result_future = handle.get_result_async()
            assert h.until(lambda: len(h.plans) > 0 and len(feedback) > 1)
            plan = h.plans[-1]
            assert plan.header.frame_id == "map" and len(plan.poses) > 10
            fb = feedback[-1]
            assert fb.distance_remaining > 3.0  # round through the gap: longer than 3 m
            assert fb.current_pose.pose.position.x == pytest.approx(0.5)
            assert fb.number_of_recoveries == 0
            eta = fb.estimated_time_remaining.sec + fb.estimated_time_remaining.nanosec * 1e-9
            assert eta == pytest.approx(fb.distance_remaining / 0.5, rel=1e-3)
            assert not result_future.done()

            h.robot = (3.45, 0.55, 0.0)  # within goal_tolerance_m of the goal
            result = h.wait(result_future)
            assert result.status == GoalStatus.STATUS_SUCCEEDED
            assert result.result.error_code == NavigateToPose.Result.NONE
            assert h.until(lambda: not h.plans[-1].poses)  # the local planner is told to stop
        finally:
            h.close()


def test_navigate_to_pose_cancel_publishes_an_empty_plan(harness):
    h = harness
    client = h.client(NavigateToPose, "navigate_to_pose")
    assert h.until(lambda: _robot_seen(h, 0.5))
    handle = _send(h, client, NavigateToPose.Goal(pose=_pose(3.5, 0.5)))
    result_future = handle.get_result_async()
    assert h.until(lambda: h.plans and h.plans[-1].poses)
    h.wait(handle.cancel_goal_async())
    result = h.wait(result_future)
    assert result.status == GoalStatus.STATUS_CANCELED
    assert h.until(lambda: not h.plans[-1].poses)


@pytest.mark.parametrize(
    ("goal", "code", "words"),
    [
        (_pose(2.0, 0.5), ComputePathToPose.Result.GOAL_OCCUPIED, "obstacle"),
        (_pose(9.0, 0.5), ComputePathToPose.Result.GOAL_OUTSIDE_MAP, "outside the map"),
        (_pose(3.375, 1.525), ComputePathToPose.Result.NO_VALID_PATH, "no collision-free path"),
        (_pose(0.5, 0.5, frame="nowhere"), NavigateToPose.Result.TF_ERROR, "cannot be transformed"),
        (_pose(math.nan, 0.5), NavigateToPose.Result.UNKNOWN, "non-finite"),
    ],
)
def test_navigate_to_pose_aborts_with_the_error_code(tmp_path, goal, code, words):
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path))
        try:
            client = h.client(NavigateToPose, "navigate_to_pose")
            assert h.until(lambda: _robot_seen(h, 0.5))
            result = h.wait(_send(h, client, NavigateToPose.Goal(pose=goal)).get_result_async())
            assert result.status == GoalStatus.STATUS_ABORTED
            assert result.result.error_code == code
            assert words in result.result.error_msg
        finally:
            h.close()


def test_navigate_to_pose_aborts_when_the_robot_pose_is_unavailable(tmp_path):
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path), tf_timeout_s=0.5)
        h.publish_tf = False
        try:
            client = h.client(NavigateToPose, "navigate_to_pose")
            result = h.wait(
                _send(h, client, NavigateToPose.Goal(pose=_pose(3.5, 0.5))).get_result_async()
            )
            assert result.status == GoalStatus.STATUS_ABORTED
            assert result.result.error_code == NavigateToPose.Result.TF_ERROR
            assert "map -> base_link" in result.result.error_msg
        finally:
            h.close()


def test_a_new_goal_preempts_the_active_one(harness):
    h = harness
    client = h.client(NavigateToPose, "navigate_to_pose")
    assert h.until(lambda: _robot_seen(h, 0.5))
    first = _send(h, client, NavigateToPose.Goal(pose=_pose(3.5, 0.5)))
    first_result = first.get_result_async()
    assert h.until(lambda: h.plans and h.plans[-1].poses)
    second = _send(h, client, NavigateToPose.Goal(pose=_pose(1.5, 1.5)))
    result = h.wait(first_result)
    assert result.status == GoalStatus.STATUS_ABORTED
    assert "preempted" in result.result.error_msg
    assert h.until(lambda: h.plans[-1].poses and h.plans[-1].poses[-1].pose.position.y == 1.5)
    h.wait(second.cancel_goal_async())
    assert h.wait(second.get_result_async()).status == GoalStatus.STATUS_CANCELED


def test_goal_pose_topic_starts_a_navigation_and_map_is_republished(harness):
    h = harness
    maps: list[OccupancyGrid] = []
    h.probe.create_subscription(OccupancyGrid, "/map", maps.append, LATCHED)  # late joiner
    assert h.until(lambda: bool(maps))
    assert (maps[0].info.width, maps[0].info.height) == (80, 40)
    assert maps[0].info.resolution == pytest.approx(0.05)
    assert maps[0].data[20 * 80 + 39] == 100 and maps[0].data[0] == 0

    assert h.until(lambda: _robot_seen(h, 0.5))
    pub = h.probe.create_publisher(PoseStamped, "/goal_pose", 10)

    assert h.until(lambda: pub.get_subscription_count() > 0)
    pub.publish(_pose(1.0, 1.0))
    assert h.until(lambda: bool(h.plans) and len(h.plans[-1].poses) > 0)
    end = h.plans[-1].poses[-1].pose.position
    assert (end.x, end.y) == pytest.approx((1.0, 1.0))
    h.robot = (1.0, 1.0, 0.0)  # arrive: the navigation succeeds and /plan is emptied
    assert h.until(lambda: not h.plans[-1].poses and h.node._nav is None)


def test_plans_on_a_map_received_on_the_map_topic(tmp_path):
    with ros_context() as ctx:
        h = Harness(ctx, "")
        try:
            client = h.client(ComputePathToPose, "compute_path_to_pose")
            goal = ComputePathToPose.Goal(
                goal=_pose(1.0, 1.0), start=_pose(0.3, 0.3), use_start=True
            )
            result = h.wait(_send(h, client, goal).get_result_async())
            assert result.result.error_code == ComputePathToPose.Result.UNKNOWN
            assert "no map" in result.result.error_msg

            grid = OccupancyGrid()
            grid.header.frame_id = "map"
            grid.info.resolution, grid.info.width, grid.info.height = 0.1, 20, 20
            grid.info.origin.orientation.w = 1.0
            grid.data = [0] * 400
            pub = h.probe.create_publisher(OccupancyGrid, "/map", LATCHED)
            pub.publish(grid)
            assert h.until(lambda: h.node._planner is not None)
            result = h.wait(_send(h, client, goal).get_result_async())
            assert result.result.error_code == ComputePathToPose.Result.NONE

            bad = OccupancyGrid()
            bad.header.frame_id = "map"
            bad.info.resolution, bad.info.width, bad.info.height = 0.1, 20, 20
            bad.data = [0] * 10  # wrong size: rejected, the old map kept
            pub.publish(bad)
            assert h.until(lambda: h.node.rejected_maps == 1)
        finally:
            h.close()


def test_bad_map_file_stops_the_node_with_one_clear_line(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "image: none.pgm\nresolution: 0\norigin: [0, 0, 0]\n"
        "occupied_thresh: 0.65\nfree_thresh: 0.2\n"
    )
    with ros_context() as ctx, pytest.raises(ConfigError, match=r"'map_yaml'.*'resolution'"):
        GlobalPlannerNode(
            context=ctx,
            parameter_overrides=[Parameter("map_yaml", value=str(tmp_path / "bad.yaml"))],
        )


def _robot_yaml(tmp_path, **base) -> str:
    """A copy of hearth_description's robot.yaml with some ``base`` keys changed."""
    doc = yaml.safe_load(default_robot_yaml().read_text())
    doc["base"].update(base)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_obstacles_are_inflated_by_the_robots_radius_plus_the_margin(harness):
    robot = load_robot_params()
    assert harness.node.inflation_radius_m == pytest.approx(robot.base.radius_m + 0.01)
    assert harness.node._planner.inflation_radius_m == harness.node.inflation_radius_m


@pytest.mark.parametrize(
    ("base_radius_m", "margin_m", "passes"),
    [
        (None, None, True),  # hearth_description's robot (0.175 m) + 0.01 m: fits the gap
        (0.3, None, False),  # a wider robot
        (None, 0.1, False),  # hearth_description's robot, a wider margin
    ],
)
def test_the_doorway_closes_when_the_inflated_robot_is_too_wide(
    tmp_path, base_radius_m, margin_m, passes
):
    overrides = {}
    if base_radius_m is not None:
        overrides["robot_params_file"] = _robot_yaml(tmp_path, radius_m=base_radius_m)
    if margin_m is not None:
        overrides["inflation_margin_m"] = margin_m
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path), **overrides)
        try:
            assert (h.node.inflation_radius_m < 0.25) == passes  # the gap's widest clearance
            client = h.client(ComputePathToPose, "compute_path_to_pose")
            goal = ComputePathToPose.Goal(
                goal=_pose(3.5, 0.5), start=_pose(0.5, 0.5), use_start=True
            )  # on the far side of the wall: through the gap or not at all
            result = h.wait(_send(h, client, goal).get_result_async())
            if passes:
                assert result.status == GoalStatus.STATUS_SUCCEEDED
                assert result.result.error_code == ComputePathToPose.Result.NONE
            else:
                assert result.status == GoalStatus.STATUS_ABORTED
                assert result.result.error_code == ComputePathToPose.Result.NO_VALID_PATH
                assert "no collision-free path" in result.result.error_msg
        finally:
            h.close()


def test_a_bad_robot_params_file_stops_the_node_with_one_line(tmp_path):
    bad = _robot_yaml(tmp_path, radius_m=0.1)  # the wheels would stick out
    with ros_context() as ctx, pytest.raises(ConfigError, match=r"'wheels\.separation_m'") as exc:
        GlobalPlannerNode(
            context=ctx, parameter_overrides=[Parameter("robot_params_file", value=bad)]
        )
    assert "\n" not in str(exc.value)


def test_a_negative_inflation_margin_stops_the_node():
    with ros_context() as ctx, pytest.raises(ConfigError, match="'inflation_margin_m'"):
        GlobalPlannerNode(
            context=ctx, parameter_overrides=[Parameter("inflation_margin_m", value=-0.01)]
        )
