"""`./hearth demo`: the whole stack on the embedded simulator, on a tour of the apartment.

The scenario is data (``config/scenarios/demo.yaml``, the scenario suite's schema): the home,
the start, four goals through the rooms, three people walking, the rugs and the sill on the
route, the lights dimming half-way. The stack is started from the same launch description
``ros2 launch`` uses (``launch/hearth.launch.xml home:=... sim_params:=...``: with
``ros2 launch`` where ROS 2 is installed, with hearth's XML launch runner otherwise); the
simulator gets the scenario's people, seed, start and disturbances through ``sim_params``.

The goals go one after another through ``navigate_to_pose`` (nav2_msgs/NavigateToPose). The
console shows one progress line (simulated time, goal k/N, distance left, achieved real-time
factor), then a table per goal: reached, time, minimum distance to people, jerk, ATE,
planner cycle p95. Everything goes to ``runs/<timestamp>/``:

- ``metrics.json``: the scenario, the per-goal and whole-tour metrics, the run's figures;
- ``report.html``: the table and the plots, one self-contained file;
- ``bag/``: a rosbag2 in MCAP of every topic (images at ``--image-rate-hz``), for Foxglove
  or ``ros2 bag play`` with rviz2 (``config/hearth.rviz``);
- ``launch.log`` (the nodes' output) and ``sim_params.yaml`` (what the simulator was given).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from hearth_eval.run_metrics import (
    Episode,
    GoalMetrics,
    GoalRun,
    crossings,
    episode_metrics,
    goal_metrics,
    rectangle,
)
from hearth_eval.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    write_sim_params,
)

# Topics that must flow for the run to count as working (the acceptance of issue 2).
REQUIRED_TOPICS = ("/odom", "/tf", "/cmd_vel")
SETTLE_S = 2.0  # sim seconds to let the stack come up before the first goal


def _workspace() -> Path:
    return Path(os.environ.get("HEARTH_WS", Path.cwd()))


def _launch_command(launch_file: Path, launch_args: list[str]) -> list[str]:
    if os.environ.get("HEARTH_MODE") == "ros" and shutil.which("ros2"):
        return ["ros2", "launch", str(launch_file), *launch_args]
    return [sys.executable, "-m", "hearth_tools.launch_runner", str(launch_file), *launch_args]


def sim_base_params(ws: Path) -> Path:
    """hearth_sim's installed ``config/sim.yaml`` (the sources' when not installed)."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        candidate = Path(prefix) / "share" / "hearth_sim" / "config" / "sim.yaml"
        if prefix and candidate.is_file():
            return candidate
    return ws / "src" / "hearth_sim" / "config" / "sim.yaml"


# ----------------------------------------------------------------------------- the tour


class Tour:
    """Sends the scenario's goals one after another and keeps what became of each. Driven
    from the main thread by ``step()``; the action client's callbacks (executor thread) only
    set fields."""

    def __init__(self, scenario: Scenario, client, recorder, goals_limit: int | None = None):
        self.scenario = scenario
        self.client = client
        self.recorder = recorder
        self.targets = list(scenario.goals[:goals_limit] if goals_limit else scenario.goals)
        self.goals: list[GoalRun] = []
        self.events: list[str] = []  # lines for the console
        self.started = False

    @property
    def current(self) -> GoalRun | None:
        return self.goals[-1] if self.goals and self.goals[-1].t_end_s is None else None

    @property
    def done(self) -> bool:
        return len(self.goals) == len(self.targets) and self.current is None

    def step(self) -> None:
        now = self.recorder.sim_time_s
        if not self.started:
            if self.client.server_ready() and now >= SETTLE_S:
                self.started = True
            else:
                return
        goal = self.current
        if goal is not None:
            outcome = self.client.outcome()
            if outcome is not None:
                goal.status, goal.message = outcome
                goal.t_end_s = now
                self._report(goal)
            elif now - goal.t_start_s > self.scenario.goal_timeout_s:
                self.client.cancel()
                goal.status, goal.t_end_s = "timeout", now
                goal.message = f"not reached within {self.scenario.goal_timeout_s:g} s"
                self._report(goal)
            return
        if len(self.goals) < len(self.targets):
            target = self.targets[len(self.goals)]
            self.client.send(target.x_m, target.y_m, target.yaw_rad)
            self.goals.append(GoalRun(target.name, target.x_m, target.y_m, now))
            self.events.append(f"goal {len(self.goals)}/{len(self.targets)} {target.name} "
                               f"({target.x_m:.2f}, {target.y_m:.2f}) sent at t = {now:.1f} s")

    def finish(self, reason: str) -> None:
        """Ends a goal still running when the run stops."""
        goal = self.current
        if goal is not None:
            self.client.cancel()
            goal.t_end_s = self.recorder.sim_time_s
            goal.status, goal.message = "not finished", reason

    def _report(self, goal: GoalRun) -> None:
        k = len(self.goals)
        text = f"goal {k}/{len(self.targets)} {goal.name}: {goal.status} after " \
               f"{goal.t_end_s - goal.t_start_s:.1f} s"
        self.events.append(text + (f" ({goal.message})" if goal.message else ""))

    def progress(self, width: int = 20) -> str:
        n = len(self.targets)
        k = len(self.goals)
        frac_leg = 0.0
        remaining = self.client.distance_remaining_m
        if self.current is not None and remaining is not None and self.client.initial_m:
            frac_leg = min(1.0, max(0.0, 1.0 - remaining / self.client.initial_m))
        done = (k - (1 if self.current is not None else 0) + frac_leg) / max(n, 1)
        filled = round(done * width)
        bar = "#" * filled + "." * (width - filled)
        if not self.started:
            where = "starting the stack"
        elif self.current is not None:
            left = f", {remaining:4.1f} m left" if remaining is not None else ""
            where = f"goal {k}/{n} {self.current.name}{left}"
        else:
            where = f"{sum(g.reached for g in self.goals)}/{n} goals reached"
        rtf = self.recorder.real_time_factor()
        return (f"[{bar}] sim {self.recorder.sim_time_s:6.1f} s | {where} | "
                f"real-time factor {rtf:4.2f}")


def _make_client(node_cls):
    """The NavigateToPose client node (rclpy imported here, so that --help needs no ROS)."""
    from action_msgs.msg import GoalStatus
    from nav2_msgs.action import NavigateToPose  # the underlay's, or the ROS install's
    from rclpy.action import ActionClient

    from hearth_common.msg_conversions import yaw_to_quaternion_msg

    statuses = {GoalStatus.STATUS_SUCCEEDED: "reached", GoalStatus.STATUS_ABORTED: "aborted",
                GoalStatus.STATUS_CANCELED: "canceled"}

    class TourClient(node_cls):
        """Drives one NavigateToPose goal at a time."""

        def __init__(self, **node_kwargs):
            super().__init__("hearth_demo", **node_kwargs)
            self.client = ActionClient(self, NavigateToPose, "navigate_to_pose")
            self._lock = threading.Lock()
            self._seq = 0  # which goal the callbacks are about: a late result of a
            self._handle = None  # cancelled goal must not end the next one
            self._outcome: tuple[str, str] | None = None
            self.distance_remaining_m: float | None = None
            self.initial_m: float | None = None

        def server_ready(self) -> bool:
            return self.client.server_is_ready()

        def send(self, x_m: float, y_m: float, yaw_rad: float) -> None:
            goal = NavigateToPose.Goal()
            goal.pose.header.frame_id = "map"
            goal.pose.pose.position.x = x_m
            goal.pose.pose.position.y = y_m
            goal.pose.pose.orientation = yaw_to_quaternion_msg(yaw_rad)
            with self._lock:
                self._seq += 1
                seq = self._seq
                self._handle, self._outcome = None, None
                self.distance_remaining_m = self.initial_m = None
            future = self.client.send_goal_async(
                goal, feedback_callback=lambda fb: self._on_feedback(seq, fb))
            future.add_done_callback(lambda f: self._on_goal_response(seq, f))

        def outcome(self) -> tuple[str, str] | None:
            with self._lock:
                return self._outcome

        def cancel(self) -> None:
            with self._lock:
                handle = self._handle
            if handle is not None:
                handle.cancel_goal_async()

        def _on_feedback(self, seq: int, fb) -> None:
            if seq != self._seq:
                return
            d = float(fb.feedback.distance_remaining)
            if math.isfinite(d) and d > 0.0:
                self.distance_remaining_m = d
                self.initial_m = max(self.initial_m or 0.0, d)

        def _on_goal_response(self, seq: int, future) -> None:
            handle = future.result()
            with self._lock:
                if seq != self._seq:
                    return
                if not handle.accepted:
                    self._outcome = ("rejected", "the global planner refused the goal")
                    return
                self._handle = handle
            handle.get_result_async().add_done_callback(lambda f: self._on_result(seq, f))

        def _on_result(self, seq: int, future) -> None:
            res = future.result()
            with self._lock:
                if seq != self._seq:
                    return
                self._outcome = (statuses.get(res.status, f"status {res.status}"),
                                 getattr(res.result, "error_msg", "") or "")

    return TourClient


# ----------------------------------------------------------------------------- output


def format_table(metrics: list[GoalMetrics], tour: GoalMetrics) -> str:
    """The per-goal table printed at the end (and its whole-tour row)."""
    head = ("goal", "reached", "time s", "min dist people m", "jerk lin m/s³",
            "jerk ang rad/s³", "ATE m", "cycle p95 wall ms")

    def num(v: float, digits: int) -> str:
        return "-" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"

    rows = []
    for i, m in enumerate([*metrics, tour]):
        name = f"{i + 1}. {m.name}" if i < len(metrics) else "whole tour"
        reached = ("yes" if m.reached else m.status) if i < len(metrics) else m.status
        rows.append((name, reached, num(m.time_s, 1), num(m.min_clearance_people_m, 2),
                     num(m.jerk_linear_rms_mps3, 2), num(m.jerk_angular_rms_radps3, 2),
                     num(m.ate_rms_m, 3), num(m.planner_cycle_p95_ms, 0)))
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head))]

    def line(r) -> str:
        return "  ".join(r[0].ljust(widths[0]) if c == 0 else r[c].rjust(widths[c])
                         for c in range(len(r)))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(head), sep, *map(line, rows[:-1]), sep, line(rows[-1])])


def _warning_summary(log_path: Path, limit: int = 8) -> list[str]:
    """Distinct warnings of the nodes (numbers masked to group repeats), with counts."""
    seen: dict[str, list] = {}
    for ln in log_path.read_text(errors="replace").splitlines():
        if "WARN" not in ln and "ERROR" not in ln:
            continue
        m = re.match(r"\[([\w-]+)\].*?\]: (.*)", ln)
        node, text = (m.group(1), m.group(2)) if m else ("", ln)
        key = node + re.sub(r"[-+]?\d[\d.]*", "#", text)
        entry = seen.setdefault(key, [0, f"[{node}] {text}"])
        entry[0] += 1
    out = []
    for count, text in list(seen.values())[:limit]:
        short = text if len(text) <= 150 else text[:147] + "..."
        out.append(f"  {short}" + (f"  (x{count})" if count > 1 else ""))
    if len(seen) > limit:
        out.append(f"  ... and {len(seen) - limit} more kinds (see the launch log)")
    return out


def _surface_touches(contacts) -> str:
    """The chassis's touches of the floor, a rug or a threshold (the sill's bump, a rug's
    edge), one entry per surface: how often and when."""
    by: dict[str, list[float]] = {}
    for c in contacts:
        if c.with_surface:
            by.setdefault(c.other, []).append(c.t_start_s)
    return ", ".join(
        f"{name} {len(ts)}x (t = {min(ts):.0f}" + (f"-{max(ts):.0f} s)" if len(ts) > 1 else " s)")
        for name, ts in by.items())


def _areas(scenario: Scenario):
    """The home's rugs and thresholds as report areas, and the ones the route must cross."""
    from hearth_eval.report import Area
    from hearth_sim.home.loader import resolve_home

    home = resolve_home(scenario.home)
    areas = [Area(r.name, "rug", rectangle(r.center_m, r.size_m, r.yaw_rad)) for r in home.rugs]
    areas += [Area(t.name, "threshold", rectangle(t.center_m, (t.length_m, t.width_m),
                                                  t.yaw_rad)) for t in home.thresholds]
    return areas


def _map_image(scenario: Scenario):
    from hearth_eval.report import MapImage
    from hearth_planning.map_io import load_map
    from hearth_sim.home.loader import maps_dir

    grid = load_map(maps_dir() / scenario.home / "map.yaml")
    return MapImage(grid.data, grid.resolution_m, (grid.origin_x_m, grid.origin_y_m))


def _depth_view() -> tuple[float, float, float]:
    """The ToF's view for the report: (x forward of base_link on the mast's front face m,
    horizontal field of view rad, range m), from robot.yaml."""
    from hearth_description.robot_model import load_robot_params

    p = load_robot_params()
    return (p.mast.x_m + p.mast.radius_m, p.tof.hfov_rad, p.tof.max_range_m)


def write_outputs(run_dir: Path, scenario: Scenario, ep: Episode, run: dict) -> tuple[
        list[GoalMetrics], GoalMetrics, dict]:
    """metrics.json and report.html of a finished run."""
    from hearth_eval.report import ReportContext, write_report

    metrics = goal_metrics(ep)
    tour = episode_metrics(ep)
    areas = _areas(scenario)
    crossed = crossings(ep, {a.name: a.polygon for a in areas if a.name in scenario.crosses})
    doc = {
        "scenario": scenario.to_dict(),
        "goals": [{**m.as_dict(), "x_m": g.x_m, "y_m": g.y_m, "t_start_s": g.t_start_s,
                   "t_end_s": g.t_end_s, "message": g.message}
                  for m, g in zip(metrics, ep.goals, strict=True)],
        "tour": tour.as_dict(),
        "crossed": crossed,
        "contacts": [c.__dict__ for c in ep.contacts],
        "run": run,
        "definitions": "see hearth_eval/run_metrics.py",
    }
    tmp = run_dir / f"metrics.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(doc, indent=2, default=float))
    os.replace(tmp, run_dir / "metrics.json")
    info = {
        "Simulated time": f"{run['sim_s']:.1f} s, in {run['wall_s']:.0f} s of wall time "
                          f"(achieved real-time factor {run['real_time_factor']:.2f})",
        "Contacts": (", ".join(f"{c.other} ({c.other_kind}) at t = {c.t_start_s:.1f} s"
                               for c in ep.contacts if not c.with_surface) or "none"),
    }
    scrapes = _surface_touches(ep.contacts)
    if scrapes:
        info["The chassis touched what it drives on (no collision)"] = scrapes
    if run.get("bag"):
        info["Bag"] = (f"<code>{run['bag']}</code> ({run['bag_mb']:.0f} MB, "
                       f"{run['bag_topics']} topics): open it in Foxglove, or "
                       "<code>ros2 bag play bag</code> (it replays /clock) with "
                       "<code>rviz2 -d config/hearth.rviz --ros-args -p use_sim_time:=true"
                       "</code>")
    info["Node output"] = "<code>launch.log</code> beside this report"
    ctx = ReportContext(
        title=f"hearth {scenario.name}: {run['started']}", scenario=scenario.to_dict(),
        map_image=_map_image(scenario), areas=areas, dim_at_s=scenario.lighting.dim_at_s,
        crossings=crossed, run_info=info, depth_view=_depth_view())
    write_report(run_dir / "report.html", ep, metrics, tour, ctx)
    return metrics, tour, crossed


def remake_report(run_dir: Path) -> int:
    """metrics.json and report.html of a past run again, from its bag and its metrics.json
    (after a change to the metrics or the plots)."""
    from hearth_description.robot_model import load_robot_params
    from hearth_eval.episode_log import episode_from_bag
    from hearth_eval.scenario import scenario_from_dict

    try:
        doc = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError) as exc:
        print(f"hearth demo: {run_dir}/metrics.json: {exc}", file=sys.stderr)
        return 2
    if not (run_dir / "bag" / "metadata.yaml").is_file():
        print(f"hearth demo: {run_dir} has no bag to read the run from", file=sys.stderr)
        return 2
    sc = doc["scenario"]
    scenario = scenario_from_dict({  # the scenario as the run had it (metrics.json)
        "name": sc["name"], "home": sc["home"], "seed": sc["seed"],
        "description": sc.get("description", ""),
        "duration_s": sc["duration_s"], "goal_timeout_s": sc["goal_timeout_s"],
        "start": [sc["start"]["x_m"], sc["start"]["y_m"], math.degrees(sc["start"]["yaw_rad"])],
        "goals": [{"name": g["name"], "pose": [g["x_m"], g["y_m"], math.degrees(g["yaw_rad"])]}
                  for g in sc["goals"]],
        "people": {k: v for k, v in sc["people"].items() if v not in ("", None)},
        "disturbances": {"crosses": sc["crosses"], "schedule": sc["schedule"]},
        "latency": sc["latency_s"], "lighting": sc["lighting"]}, str(run_dir / "metrics.json"))
    goals = [GoalRun(g["name"], g["x_m"], g["y_m"], g["t_start_s"], g["t_end_s"],
                     g["status"], g.get("message", "")) for g in doc["goals"]]
    ep = episode_from_bag(run_dir / "bag", goals, load_robot_params().base.radius_m)
    metrics, tour, _ = write_outputs(run_dir, scenario, ep, doc["run"])
    print(format_table(metrics, tour))
    print(f"rewrote {run_dir / 'metrics.json'} and {run_dir / 'report.html'}")
    return 0


# ----------------------------------------------------------------------------- main


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _stop(launch: subprocess.Popen) -> None:
    if launch.poll() is None:
        os.killpg(launch.pid, signal.SIGINT)
        try:
            launch.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(launch.pid, signal.SIGKILL)
            launch.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="demo",
                    help="a scenario of config/scenarios/ by name, or a path (default: demo)")
    ap.add_argument("--goals", type=int, default=None,
                    help="drive to the first N goals only (a shorter run)")
    ap.add_argument("--duration", type=float, default=None,
                    help="sim seconds to run at most (default: the scenario's duration_s)")
    ap.add_argument("--image-rate-hz", type=float, default=1.0,
                    help="images per second (sim time) of each camera kept in the bag; "
                         "0: none (default 1)")
    ap.add_argument("--no-bag", action="store_true", help="write no bag")
    ap.add_argument("--keep-state", action="store_true",
                    help="let the nodes use and keep their state in ~/.hearth (V-SLAM maps, "
                         "door memory) instead of a fresh one in the run folder")
    ap.add_argument("--launch", default="launch/hearth.launch.xml")
    ap.add_argument("--startup-timeout", type=float, default=180.0,
                    help="wall seconds for the stack to come up")
    ap.add_argument("--report", metavar="RUN_DIR", type=Path,
                    help="run nothing: make metrics.json and report.html of a past run "
                         "(runs/<timestamp>) again from its bag")
    args = ap.parse_args(argv)
    if args.report is not None:
        return remake_report(args.report)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"hearth demo: {exc}", file=sys.stderr)
        return 2
    if args.goals is not None and args.goals < 1:
        print("hearth demo: --goals must be >= 1", file=sys.stderr)
        return 2
    duration_s = args.duration if args.duration is not None else scenario.duration_s

    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.signals import SignalHandlerOptions

    from hearth_description.robot_model import load_robot_params
    from hearth_eval.episode_recorder import EpisodeRecorder

    ws = _workspace()
    started = datetime.now()
    run_dir = ws / "runs" / started.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "launch.log"
    sim_params = write_sim_params(scenario, sim_base_params(ws), run_dir / "sim_params.yaml")
    cmd = _launch_command(ws / args.launch, [f"home:={scenario.home}",
                                             f"sim_params:={sim_params}"])
    n_goals = len(scenario.goals[:args.goals] if args.goals else scenario.goals)
    print(f"hearth demo: scenario '{scenario.name}' ({scenario.source}): {n_goals} goals in "
          f"the {scenario.home}, {scenario.people.count} people"
          + (f", lights dim at t = {scenario.lighting.dim_at_s:g} s"
             if scenario.lighting.dim_at_s is not None else ""), flush=True)
    print(f"hearth demo: starting {args.launch} (node output: {log_path})", flush=True)
    env = dict(os.environ)
    if not args.keep_state:
        # the nodes keep state under ~/.hearth (V-SLAM's maps, the planner's door memory):
        # a fresh home directory per run makes runs of a scenario repeatable
        state = run_dir / "state"
        state.mkdir(exist_ok=True)
        env["HOME"] = str(state)
        env.setdefault("ROS_HOME", str(Path.home() / ".ros"))
    print("hearth demo: stack state (V-SLAM map, door memory) "
          + ("in ~/.hearth (--keep-state)" if args.keep_state
             else f"fresh, in {run_dir / 'state'}/.hearth"), flush=True)
    with open(log_path, "w") as log:
        launch = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ws,
                                  start_new_session=True, env=env)
    # Ctrl-C and SIGTERM end the tour here (KeyboardInterrupt in the loop below), which
    # stops the launch and writes the report; rclpy's own handlers would only shut its
    # context down, and the loop would wait for the clock to stop.
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGTERM, _interrupt)
    recorder = EpisodeRecorder(None if args.no_bag else run_dir / "bag",
                               robot_radius_m=load_robot_params().base.radius_m,
                               image_rate_hz=args.image_rate_hz)
    client = _make_client(Node)()
    executor = SingleThreadedExecutor()
    executor.add_node(recorder)
    executor.add_node(client)

    def spin() -> None:
        with contextlib.suppress(ExternalShutdownException,
                                 rclpy.executors.ShutdownException):
            executor.spin()

    spinner = threading.Thread(target=spin, name="executor", daemon=True)
    spinner.start()
    tour = Tour(scenario, client, recorder, args.goals)
    wall_start = time.monotonic()
    interactive = sys.stdout.isatty()
    next_line_sim_s = 0.0
    stop_reason = ""
    last_sim, last_sim_wall = -1.0, time.monotonic()

    def say(text: str) -> None:
        print(("\r\033[K" if interactive else "") + text, flush=True)

    try:
        while True:
            if launch.poll() is not None:
                stop_reason = f"the launch ended early (exit {launch.returncode})"
                break
            tour.step()
            for line in tour.events:
                say(line)
            tour.events.clear()
            if tour.done:
                break
            now = recorder.sim_time_s
            if now != last_sim:
                last_sim, last_sim_wall = now, time.monotonic()
            elif time.monotonic() - last_sim_wall > 60.0 and tour.started:
                stop_reason = "the simulator's clock stopped for 60 s"
                break
            if not tour.started and time.monotonic() - wall_start > args.startup_timeout:
                stop_reason = (f"the stack did not come up within {args.startup_timeout:g} s "
                               "(navigate_to_pose and /clock)")
                break
            if now >= duration_s:
                stop_reason = f"the run reached its {duration_s:g} s"
                break
            if interactive:
                print("\r\033[K" + tour.progress(), end="", flush=True)
            elif now >= next_line_sim_s:  # a log, not a terminal: a line at a time
                print(tour.progress(), flush=True)
                next_line_sim_s = now + 5.0
            time.sleep(0.1)
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    finally:
        if interactive:
            print("\r\033[K" + tour.progress(), flush=True)
        tour.finish(stop_reason or "the run stopped")
        crashed = launch.poll() is not None
        wall_s = time.monotonic() - wall_start
        rtf = recorder.real_time_factor()
        _stop(launch)
        executor.shutdown()
        spinner.join(timeout=10.0)
        recorder.close_bag()
        executor.remove_node(recorder)
        executor.remove_node(client)
        client.destroy_node()
        recorder.destroy_node()
        rclpy.try_shutdown()

    if stop_reason:
        print(f"\nhearth demo: stopped: {stop_reason}")
    ep = recorder.episode(tour.goals)
    bag = recorder.bag
    counts = bag.counts if bag is not None else {}
    run = {
        "started": started.isoformat(timespec="seconds"), "wall_s": wall_s,
        "sim_s": recorder.sim_time_s, "real_time_factor": rtf, "launch": cmd,
        "stop_reason": stop_reason, "bag": "bag/bag.mcap" if bag is not None else None,
        "bag_mb": ((run_dir / "bag" / "bag.mcap").stat().st_size / 1e6
                   if bag is not None and (run_dir / "bag" / "bag.mcap").is_file() else 0.0),
        "bag_topics": len(counts), "bag_messages": counts,
        "bag_images_skipped": bag.decimated if bag is not None else {},
        "not_in_bag": bag.skipped_types if bag is not None else {},
        "rejected_messages": recorder.rejected,
    }
    if not tour.goals:
        print("hearth demo: no goal was sent; nothing to report. Node output: " + str(log_path))
        return 1
    metrics, tour_metrics, crossed = write_outputs(run_dir, scenario, ep, run)

    print("\n" + format_table(metrics, tour_metrics))
    if crossed:
        print("drove over: " + ", ".join(
            f"{n} (t = {t:.0f} s)" if t is not None else f"{n} (NOT crossed)"
            for n, t in crossed.items()))
    solid = [c for c in ep.contacts if not c.with_surface]
    print(f"contacts: {len(solid)}"
          + "".join(f"\n  {c.other} ({c.other_kind}) at t = {c.t_start_s:.1f} s"
                    for c in solid))
    scrapes = _surface_touches(ep.contacts)
    if scrapes:
        print(f"the chassis touched what it drives on (no collision): {scrapes}")
    print(f"sim time {recorder.sim_time_s:.1f} s in {wall_s:.0f} s wall "
          f"(real-time factor {rtf:.2f})")
    warnings = _warning_summary(log_path)
    if warnings:
        print("\nWhat the nodes warned about (start-up notes included):")
        print("\n".join(warnings))
    flowed = {t for t, n in counts.items() if n > 0} if bag is not None else {
        t for t, rows in (("/odom", ep.odom_t_s), ("/cmd_vel", ep.cmd_t_s),
                          ("/tf", ep.map_odom_t_s)) if len(rows)}
    missing = [t for t in REQUIRED_TOPICS if t not in flowed]
    print(f"\nrun folder: {run_dir}\n  report.html, metrics.json"
          + (f", bag/ ({run['bag_mb']:.0f} MB, {len(counts)} topics; images at "
             f"{args.image_rate_hz:g} Hz)" if bag is not None else "") + ", launch.log")
    reached = sum(g.reached for g in tour.goals)
    if crashed or missing:
        print("demo FAILED: " + (f"no traffic on {', '.join(missing)}" if missing else
                                 f"the launch ended early; see {log_path}"))
        return 1
    if reached < n_goals:
        print(f"demo: {reached}/{n_goals} goals reached")
        return 1
    print(f"demo OK: all {n_goals} goals reached")
    return 0


if __name__ == "__main__":
    sys.exit(main())
