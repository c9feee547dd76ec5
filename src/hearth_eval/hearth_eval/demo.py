"""`./hearth demo`: run the stack on the embedded simulator, send a goal, report what flowed.

The stack is started from the same launch description `ros2 launch` uses
(`launch/hearth.launch.xml`): with `ros2 launch` where ROS 2 is installed, with hearth's XML
launch runner otherwise. Node output goes to `runs/<timestamp>/launch.log`; the console shows
progress (sim time, goal, distance remaining, real-time factor), then the topic table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock

from hearth_common.msg_conversions import stamp_to_ns, yaw_to_quaternion_msg
from hearth_eval.topic_monitor_node import TopicMonitorNode

# Topics that must flow for the demo to count as working (the acceptance of issue 2).
REQUIRED_TOPICS = ("/odom", "/tf", "/cmd_vel")


def _workspace() -> Path:
    return Path(os.environ.get("HEARTH_WS", Path.cwd()))


def _launch_command(launch_file: Path, launch_args: list[str]) -> list[str]:
    if os.environ.get("HEARTH_MODE") == "ros" and shutil.which("ros2"):
        return ["ros2", "launch", str(launch_file), *launch_args]
    return [sys.executable, "-m", "hearth_tools.launch_runner", str(launch_file), *launch_args]


class DemoClient(Node):
    """Follows sim time and drives one NavigateToPose goal."""

    def __init__(self, **node_kwargs):
        super().__init__("hearth_demo", **node_kwargs)
        self.sim_time_s = 0.0
        self.first_clock_wall_s: float | None = None
        self.first_clock_sim_s = 0.0
        self.feedback = None
        self.result_status: int | None = None
        self.result = None
        self.create_subscription(Clock, "/clock", self._on_clock, 10)
        from nav2_msgs.action import NavigateToPose  # the underlay's, or the ROS install's

        self._action_type = NavigateToPose
        self.client = ActionClient(self, NavigateToPose, "navigate_to_pose")

    def _on_clock(self, msg: Clock) -> None:
        self.sim_time_s = stamp_to_ns(msg.clock) * 1e-9
        if self.first_clock_wall_s is None:
            self.first_clock_wall_s = time.monotonic()
            self.first_clock_sim_s = self.sim_time_s

    def real_time_factor(self) -> float:
        if self.first_clock_wall_s is None:
            return 0.0
        wall = time.monotonic() - self.first_clock_wall_s
        return (self.sim_time_s - self.first_clock_sim_s) / wall if wall > 0.5 else 0.0

    def send_goal(self, x_m: float, y_m: float, yaw_rad: float) -> None:
        goal = self._action_type.Goal()
        goal.pose.header.frame_id = "map"
        goal.pose.pose.position.x = x_m
        goal.pose.pose.position.y = y_m
        goal.pose.pose.orientation = yaw_to_quaternion_msg(yaw_rad)
        future = self.client.send_goal_async(goal, feedback_callback=self._on_feedback)
        future.add_done_callback(self._on_goal_response)

    def _on_feedback(self, fb) -> None:
        self.feedback = fb.feedback

    def _on_goal_response(self, future) -> None:
        handle = future.result()
        if not handle.accepted:
            self.result_status = GoalStatus.STATUS_ABORTED
            return
        handle.get_result_async().add_done_callback(self._on_result)

    def _on_result(self, future) -> None:
        res = future.result()
        self.result_status = res.status
        self.result = res.result


def _progress(demo: DemoClient, goal_text: str) -> str:
    dist = f"{demo.feedback.distance_remaining:5.2f} m" if demo.feedback else "  -   "
    return (f"\rsim {demo.sim_time_s:6.1f} s | goal {goal_text} | remaining {dist} | "
            f"real-time factor {demo.real_time_factor():4.2f}")


def _status_name(status: int | None) -> str:
    names = {GoalStatus.STATUS_SUCCEEDED: "reached", GoalStatus.STATUS_ABORTED: "aborted",
             GoalStatus.STATUS_CANCELED: "canceled"}
    return "not finished" if status is None else names.get(status, f"status {status}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=40.0, help="sim seconds to run at most")
    ap.add_argument("--goal", default="8.5,4.0,0.0",
                    help="goal x,y,yaw (m, m, rad) in the map frame; default: the hallway east end")
    ap.add_argument("--launch", default="launch/hearth.launch.xml")
    ap.add_argument("--startup-timeout", type=float, default=90.0, help="wall seconds")
    args = ap.parse_args(argv)
    gx, gy, gyaw = (float(v) for v in args.goal.split(","))

    ws = _workspace()
    run_dir = ws / "runs" / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "launch.log"
    cmd = _launch_command(ws / args.launch, [])
    print(f"hearth demo: starting {args.launch} (node output: {log_path})", flush=True)
    with open(log_path, "w") as log:
        launch = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ws,
                                  start_new_session=True)
    rclpy.init()
    monitor = TopicMonitorNode(parameter_overrides=[
        Parameter("report_file", value=str(run_dir / "topics.json")),
    ])
    demo = DemoClient()
    executor = SingleThreadedExecutor()
    executor.add_node(monitor)
    executor.add_node(demo)
    goal_text = f"({gx:.1f}, {gy:.1f})"
    sent = False
    wall_start = time.monotonic()
    done_sim_s: float | None = None
    interactive = sys.stdout.isatty()
    next_line_sim_s = 0.0
    try:
        while launch.poll() is None:
            executor.spin_once(timeout_sec=0.05)
            if not sent:
                if demo.client.server_is_ready() and demo.sim_time_s > 1.0:
                    demo.send_goal(gx, gy, gyaw)
                    sent = True
                elif time.monotonic() - wall_start > args.startup_timeout:
                    print("\nthe navigate_to_pose action server did not come up", flush=True)
                    break
            if interactive:
                print(_progress(demo, goal_text), end="", flush=True)
            elif demo.sim_time_s >= next_line_sim_s:  # a log, not a terminal: a line at a time
                print(_progress(demo, goal_text).lstrip("\r"), flush=True)
                next_line_sim_s = demo.sim_time_s + 2.0
            if demo.result_status is not None and done_sim_s is None:
                done_sim_s = demo.sim_time_s
            # Keep measuring a little after the goal ends so rates cover a steady state.
            if done_sim_s is not None and demo.sim_time_s > done_sim_s + 2.0:
                break
            if demo.sim_time_s >= args.duration:
                break
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        print(flush=True)
        crashed = launch.poll() is not None
        if not crashed:
            os.killpg(launch.pid, signal.SIGINT)
            try:
                launch.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(launch.pid, signal.SIGKILL)
                launch.wait()
        executor.remove_node(demo)
        executor.remove_node(monitor)
        monitor.destroy_node()  # prints the table and writes topics.json
        demo.destroy_node()
        rclpy.try_shutdown()

    rates = json.loads((run_dir / "topics.json").read_text())
    print(f"\ngoal {goal_text}: {_status_name(demo.result_status)}"
          + (f" ({demo.result.error_msg})" if demo.result is not None and
             getattr(demo.result, "error_msg", "") else ""))
    rtf = demo.real_time_factor()
    print(f"sim time {demo.sim_time_s:.1f} s, real-time factor {rtf:.2f}")
    if 0.0 < rtf < 0.95:
        print(f"(rates above are per wall-clock second: per simulated second they are "
              f"{1.0 / rtf:.2f} times higher)")
    warnings = [ln.rstrip() for ln in log_path.read_text().splitlines() if "WARN" in ln]
    if warnings:
        print("\nWhat the nodes say they do not do yet, or warned about:")
        for ln in dict.fromkeys(warnings):
            print("  " + ln)
    missing = [t for t in REQUIRED_TOPICS if rates.get(t, {}).get("rate_hz", 0.0) <= 0.0]
    if crashed:
        print(f"\nthe launch ended early (exit {launch.returncode}); see {log_path}")
    if missing or crashed:
        print(f"demo FAILED: no traffic on {', '.join(missing)}" if missing else "demo FAILED")
        return 1
    print(f"\ndemo OK: {', '.join(REQUIRED_TOPICS)} flowed. Run folder: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
