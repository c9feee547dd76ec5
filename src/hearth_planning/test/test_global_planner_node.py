"""The global planner over real rclpy and DDS: its actions, /plan, /map, /goal_pose,
/local_planner/blocked and the navigability memory file.

The action tests need nav2_msgs (the CI underlay or a ROS 2 install) and skip without it.
They spin one executor for the whole test (``hearth_common.testing.Spinner``, not
``spin_until``, which makes a new executor per call): a navigate_to_pose goal is a task of the
executor that accepted it and must keep running across waits.
"""

import json
import math

import numpy as np
import pytest
import yaml
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import OccupancyGrid, Path
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import Bool

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
    """4 m x 2 m at 0.05 m, origin (0, 0): a wall at x = 2 m with a gap at y 1.4..1.9 m, a
    closed box at x 3.0..3.75 m, y 1.15..1.9 m (its inside is free but unreachable), and a
    patch of unknown space in the top-left corner (x 0..0.3 m, y 1.7..2 m).

    The gap's middle cells are 0.25 m from the wall's cells on either side: a robot passes
    when its radius plus the inflation margin is less than that."""
    pixels = np.full((40, 80), 254, dtype=np.uint8)  # image row 0 is the top (y = 2 m)
    pixels[:, 39:41] = 0
    pixels[2:12, 39:41] = 254  # the gap, near the top
    pixels[2:17, 60:75] = 0
    pixels[3:16, 61:74] = 254
    pixels[0:6, 0:6] = 128  # unknown
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

    def __init__(self, ctx, map_yaml, spinner_type=Spinner, memory_dir="", **overrides):
        params = [Parameter("map_yaml", value=map_yaml), Parameter("memory_dir", value=memory_dir)]
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
            assert h.until(lambda: h.node._costmap is not None)
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
    assert harness.node.cost_params.inscribed_radius_m == harness.node.inflation_radius_m


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


# -- bad input (acceptance 3, over DDS) ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "goal", "code", "words"),
    [
        (_pose(0.5, 0.5), _pose(1.85, 0.5), "GOAL_OCCUPIED", "closer than the robot's inscribed"),
        (_pose(0.5, 0.5), _pose(0.1, 1.9), "GOAL_OCCUPIED", "in unknown space"),
        (_pose(2.0, 0.5), _pose(1.0, 0.5), "START_OCCUPIED", "in an obstacle cell"),
        (_pose(-3.0, 0.5), _pose(1.0, 0.5), "START_OUTSIDE_MAP", "outside the map"),
        (_pose(0.5, math.inf), _pose(1.0, 0.5), "UNKNOWN", "non-finite"),
    ],
)
def test_compute_path_to_pose_returns_the_documented_error(harness, start, goal, code, words):
    h = harness
    client = h.client(ComputePathToPose, "compute_path_to_pose")
    request = ComputePathToPose.Goal(goal=goal, start=start, use_start=True)
    result = h.wait(_send(h, client, request).get_result_async())
    assert result.status == GoalStatus.STATUS_ABORTED
    assert result.result.error_code == getattr(ComputePathToPose.Result, code)
    assert words in result.result.error_msg
    assert h.node.callback_errors == 0


def test_a_start_inside_the_inflation_escapes_it_first(harness):
    h = harness
    client = h.client(ComputePathToPose, "compute_path_to_pose")
    start = _pose(1.85, 0.5)  # 0.125 m from the wall's cells: inside the robot's radius
    request = ComputePathToPose.Goal(goal=_pose(0.5, 0.5), start=start, use_start=True)
    result = h.wait(_send(h, client, request).get_result_async())
    assert result.result.error_code == ComputePathToPose.Result.NONE
    xs = [p.pose.position.x for p in result.result.path.poses]
    assert xs[0] == pytest.approx(1.85) and xs[1] < 1.85  # straight away from the wall


def test_a_bad_goal_is_moved_to_the_nearest_free_pose_when_the_parameter_allows(tmp_path):
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path), goal_substitute_radius_m=0.5)
        try:
            client = h.client(ComputePathToPose, "compute_path_to_pose")
            request = ComputePathToPose.Goal(
                goal=_pose(2.0, 0.5), start=_pose(0.5, 0.5), use_start=True
            )  # in the wall
            result = h.wait(_send(h, client, request).get_result_async())
            assert result.status == GoalStatus.STATUS_SUCCEEDED
            assert "nearest free pose" in result.result.error_msg
            end = result.result.path.poses[-1].pose.position
            assert 1.7 < end.x < 1.82 and end.y == pytest.approx(0.5, abs=0.05)  # this side

            nav = h.client(NavigateToPose, "navigate_to_pose")
            assert h.until(lambda: _robot_seen(h, 0.5))
            handle = _send(h, nav, NavigateToPose.Goal(pose=_pose(2.0, 0.5)))
            h.robot = (end.x, end.y, 0.0)
            result = h.wait(handle.get_result_async())
            assert result.status == GoalStatus.STATUS_SUCCEEDED
            assert "nearest free pose" in result.result.error_msg
        finally:
            h.close()


@pytest.mark.parametrize("resolution", [0.0, math.nan])
def test_a_map_with_a_zero_or_nan_resolution_is_rejected_and_the_node_goes_on(resolution):
    with ros_context() as ctx:
        h = Harness(ctx, "")
        try:
            pub = h.probe.create_publisher(OccupancyGrid, "/map", LATCHED)
            pub.publish(_grid(0.1, np.zeros((20, 20), np.int8)))
            assert h.until(lambda: h.node._costmap is not None)
            pub.publish(_grid(resolution, np.zeros((20, 20), np.int8)))
            assert h.until(lambda: h.node.rejected_maps == 1)
            assert h.node._costmap.resolution_m == pytest.approx(0.1)  # the old map kept
            assert h.node.callback_errors == 0
        finally:
            h.close()


def _grid(resolution, data):
    grid = OccupancyGrid()
    grid.header.frame_id = "map"
    grid.info.resolution = resolution
    grid.info.height, grid.info.width = data.shape
    grid.info.origin.orientation.w = 1.0
    grid.data = data.ravel().tolist()
    return grid


# -- replanning --------------------------------------------------------------------------------


def test_the_blocked_signal_replans_counts_a_recovery_and_is_remembered(tmp_path):
    memory_dir = tmp_path / "memory"
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path), memory_dir=str(memory_dir), home_name="flat")
        try:
            gap = h.node.memory.region_at(2.0, 1.65)
            assert gap is not None  # the gap in the wall was detected as a region
            client = h.client(NavigateToPose, "navigate_to_pose")
            feedback = []
            h.robot = (1.5, 1.2, 0.0)  # 0.6 m from the gap, on the way to it
            assert h.until(lambda: _robot_seen(h, 1.5))
            assert h.until(client.server_is_ready)
            handle = h.wait(
                client.send_goal_async(
                    NavigateToPose.Goal(pose=_pose(3.5, 0.5)),
                    feedback_callback=lambda fb: feedback.append(fb.feedback),
                )
            )
            assert h.until(lambda: h.plans and feedback)
            assert feedback[-1].number_of_recoveries == 0
            plans_before = len(h.plans)
            blocked = h.probe.create_publisher(Bool, "/local_planner/blocked", 10)
            assert h.until(lambda: blocked.get_subscription_count() > 0)
            blocked.publish(Bool(data=True))  # rising edge: one replan
            assert h.until(lambda: feedback[-1].number_of_recoveries == 1)
            assert h.until(lambda: len(h.plans) > plans_before and h.plans[-1].poses)
            for _ in range(3):
                blocked.publish(Bool(data=True))  # still blocked: no new replan
            assert h.until(lambda: h.node.blocked_reports == 1 and len(feedback) > 3, 2.0)
            assert feedback[-1].number_of_recoveries == 1

            obs = h.node.memory.entries[gap.id].observations
            assert [(o.passable, o.source) for o in obs] == [(False, "blocked")]
            doc = json.loads((memory_dir / "flat.json").read_text())  # saved at once
            (saved,) = [r for r in doc["regions"] if r["id"] == gap.id]
            assert saved["observations"][0]["source"] == "blocked"

            h.wait(handle.cancel_goal_async())
            assert h.wait(handle.get_result_async()).status == GoalStatus.STATUS_CANCELED
        finally:
            h.close()


def _room_map(door_open: bool, box_at: tuple[int, int] | None = None) -> np.ndarray:
    """4 m x 3.5 m at 0.05 m: a wall at x = 2 m with a 0.9 m door (y 0.55..1.45 m), open or
    closed, and an optional 0.3 m box (cells) at (row, col)."""
    data = np.zeros((70, 80), np.int8)
    data[0, :] = data[-1, :] = data[:, 0] = data[:, -1] = 100
    data[:, 39:41] = 100
    if door_open:
        data[11:29, 39:41] = 0
    if box_at is not None:
        r, c = box_at
        data[r : r + 6, c : c + 6] = 100
    return data


def test_a_map_change_on_the_path_replans_and_map_updates_are_remembered(tmp_path):
    memory_dir = tmp_path / "memory"
    with ros_context() as ctx:
        h = Harness(ctx, "", memory_dir=str(memory_dir), home_name="flat")
        try:
            pub = h.probe.create_publisher(OccupancyGrid, "/map", LATCHED)
            pub.publish(_grid(0.05, _room_map(door_open=True)))
            assert h.until(lambda: h.node._costmap is not None)
            door = h.node.memory.region_at(2.0, 1.0)
            assert door is not None and door.kind == "doorway"
            assert [o.passable for o in h.node.memory.entries[door.id].observations] == [True]

            client = h.client(NavigateToPose, "navigate_to_pose")
            feedback = []
            assert h.until(lambda: _robot_seen(h, 0.5))
            assert h.until(client.server_is_ready)
            handle = h.wait(
                client.send_goal_async(
                    NavigateToPose.Goal(pose=_pose(3.5, 0.5)),
                    feedback_callback=lambda fb: feedback.append(fb.feedback),
                )
            )
            assert h.until(lambda: h.plans and feedback)
            # A box appears far from the path: no replan.
            pub.publish(_grid(0.05, _room_map(door_open=True, box_at=(62, 2))))
            assert h.until(lambda: h.node._costmap.lethal[62, 2], 5.0)
            assert h.until(lambda: len(feedback) > 3)
            assert feedback[-1].number_of_recoveries == 0
            # The door closes: the path is cut, the node replans, finds no way, and aborts.
            pub.publish(_grid(0.05, _room_map(door_open=False)))
            result = h.wait(handle.get_result_async())
            assert result.status == GoalStatus.STATUS_ABORTED
            assert result.result.error_code == ComputePathToPose.Result.NO_VALID_PATH
            assert h.until(lambda: not h.plans[-1].poses)  # stop
            obs = h.node.memory.entries[door.id].observations
            assert [(o.passable, o.source) for o in obs] == [(True, "map"), (False, "map")]
        finally:
            h.close()

    # A restart reloads the memory, the closed sighting included.
    with ros_context() as ctx:
        h = Harness(ctx, "", memory_dir=str(memory_dir), home_name="flat")
        try:
            obs = h.node.memory.entries[door.id].observations
            assert [o.passable for o in obs] == [True, False]
        finally:
            h.close()


def test_a_corrupt_memory_file_gives_a_clear_error_and_a_fresh_memory(tmp_path):
    memory_dir = tmp_path / "memory"
    memory_dir.mkdir()
    (memory_dir / "flat.json").write_text('{"format": "hearth_navigability_memory", "vers')
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path), memory_dir=str(memory_dir), home_name="flat")
        try:
            assert "is not valid JSON" in h.node.memory_error
            assert all(not e.observations for e in h.node.memory.entries.values())
            kept = list(memory_dir.glob("flat.json.corrupt-*"))  # nothing lost
            assert len(kept) == 1 and "vers" in kept[0].read_text()
            client = h.client(ComputePathToPose, "compute_path_to_pose")
            request = ComputePathToPose.Goal(
                goal=_pose(3.5, 0.5), start=_pose(0.5, 0.5), use_start=True
            )
            result = h.wait(_send(h, client, request).get_result_async())
            assert result.result.error_code == ComputePathToPose.Result.NONE
        finally:
            h.close()


def test_configured_regions_join_the_memory_and_bad_ones_stop_the_node(tmp_path):
    with ros_context() as ctx:
        h = Harness(ctx, _write_map(tmp_path), extra_regions=["hall 1.0 1.0 90 0.6 0.8"])
        try:
            region = h.node.memory.entries["hall"].region
            assert region.centre_xy_m == (1.0, 1.0) and region.half_width_m == 0.4
        finally:
            h.close()
    with ros_context() as ctx, pytest.raises(ConfigError, match=r"extra_regions\[0\]"):
        GlobalPlannerNode(
            context=ctx,
            parameter_overrides=[Parameter("extra_regions", value=["hall 1.0 1.0"])],
        )
