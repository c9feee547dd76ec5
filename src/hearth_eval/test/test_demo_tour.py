"""The demo's tour over real DDS: goals go one by one through a real NavigateToPose action
server; a goal past its time is cancelled, and its late result never ends the next goal."""

from __future__ import annotations

import threading
import time

import pytest
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from hearth_common.msg_conversions import ns_to_stamp
from hearth_common.testing import ros_context
from hearth_eval.demo import Tour, _make_client
from hearth_eval.episode_recorder import EpisodeRecorder
from hearth_eval.scenario import scenario_from_dict

nav2_msgs = pytest.importorskip("nav2_msgs.action", reason="nav2_msgs is not built")
NavigateToPose = nav2_msgs.NavigateToPose

SCENARIO = scenario_from_dict({
    "home": "apartment", "start": [0.0, 0.0, 0.0], "goal_timeout_s": 3.0,
    "goals": [{"name": "unreachable", "pose": [1.0, 0.0, 0.0]},
              {"name": "easy", "pose": [2.0, 0.0, 0.0]}]})


class Navigator(Node):
    """A NavigateToPose server: the goal at x = 1 runs until cancelled and answers 0.1 s
    later, when the next goal is already on its way; any other goal succeeds after 1 s."""

    def __init__(self, **kwargs):
        super().__init__("navigator", **kwargs)
        self.goals: list[float] = []
        self.cancelled: list[float] = []
        ActionServer(self, NavigateToPose, "navigate_to_pose", self._execute,
                     goal_callback=lambda _g: GoalResponse.ACCEPT,
                     cancel_callback=lambda _g: CancelResponse.ACCEPT)

    def _execute(self, goal_handle):
        x = goal_handle.request.pose.pose.position.x
        self.goals.append(x)
        if x == 1.0:
            while not goal_handle.is_cancel_requested:
                time.sleep(0.02)
            time.sleep(0.1)  # the result comes after the next goal was sent
            self.cancelled.append(x)
            goal_handle.canceled()
        else:
            time.sleep(1.0)
            goal_handle.succeed()
        return NavigateToPose.Result()


def test_a_timed_out_goal_is_cancelled_and_the_next_one_is_reached():
    with ros_context() as ctx:
        navigator = Navigator(context=ctx)
        clock_node = Node("clock", context=ctx)
        clock_pub = clock_node.create_publisher(Clock, "/clock", 10)
        recorder = EpisodeRecorder(None, robot_radius_m=0.175, discovery_period_s=0.1,
                                   context=ctx)
        client = _make_client(Node)(context=ctx)
        server_exec = MultiThreadedExecutor(num_threads=3, context=ctx)
        server_exec.add_node(navigator)
        demo_exec = SingleThreadedExecutor(context=ctx)
        demo_exec.add_node(recorder)
        demo_exec.add_node(client)
        threads = [threading.Thread(target=e.spin, daemon=True)
                   for e in (server_exec, demo_exec)]
        for t in threads:
            t.start()
        tour = Tour(SCENARIO, client, recorder)
        sim_ns, deadline = 0, time.monotonic() + 30.0
        try:
            while not tour.done and time.monotonic() < deadline:
                sim_ns += 50_000_000  # 0.05 s of sim time per 0.02 s of wall time
                clock_pub.publish(Clock(clock=ns_to_stamp(sim_ns)))
                tour.step()
                time.sleep(0.02)
        finally:
            server_exec.shutdown()
            demo_exec.shutdown()
            for t in threads:
                t.join(timeout=5.0)
        assert tour.done, tour.events
        assert [g.status for g in tour.goals] == ["timeout", "reached"], tour.events
        assert navigator.goals == [1.0, 2.0] and navigator.cancelled == [1.0]
        first, second = tour.goals
        assert first.t_end_s - first.t_start_s == pytest.approx(3.0, abs=0.2)
        assert second.t_start_s >= first.t_end_s
        assert "goal 2/2 easy: reached" in " | ".join(tour.events)
        for node in (client, recorder, clock_node, navigator):
            node.destroy_node()
