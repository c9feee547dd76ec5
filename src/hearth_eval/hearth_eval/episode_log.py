"""The messages of a run that the metrics read, gathered into arrays (ROS-free).

``EpisodeLog.add(topic, msg, t_recv_s)`` takes a decoded message of one of ``TOPICS`` (an
rclpy message while recording, a rosbags one when reading a bag back: both have the same
fields) and the simulated time it was received at; ``episode(goals)`` gives the
:class:`~hearth_eval.run_metrics.Episode`. ``episode_from_bag`` rebuilds the same from a
recorded bag, so a run's metrics and report can be made again without running it.

What is kept: the ground truth (/ground_truth/odom, /ground_truth/people,
/ground_truth/contacts), the estimate (/odom; map->odom from /tf), the local planner's
/local_planner/cycle_time_ms, /cmd_vel, /safety/state, /plan, and a snapshot of the candidate
fan (/local_planner/candidates with the latest /obstacles/tracks) every ``fan_period_s``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hearth_common.geometry import quaternion_to_yaw
from hearth_eval.run_metrics import Contact, Episode, FanSnapshot, GoalRun, merge_contacts

NS = 1_000_000_000
SAFETY_LEVELS = {"nominal": 0, "slowing": 1, "stopped": 2, "stale": 3}

# topic -> its message type: what EpisodeLog reads
TOPICS = {
    "/ground_truth/odom": "nav_msgs/msg/Odometry",
    "/odom": "nav_msgs/msg/Odometry",
    "/tf": "tf2_msgs/msg/TFMessage",
    "/ground_truth/people": "hearth_msgs/msg/PersonStateArray",
    "/ground_truth/contacts": "hearth_msgs/msg/RobotContactArray",
    "/local_planner/cycle_time_ms": "std_msgs/msg/Float64",
    "/cmd_vel": "geometry_msgs/msg/Twist",
    "/safety/state": "diagnostic_msgs/msg/DiagnosticArray",
    "/plan": "nav_msgs/msg/Path",
    "/local_planner/candidates": "visualization_msgs/msg/MarkerArray",
    "/obstacles/tracks": "hearth_msgs/msg/ObstacleTrackArray",
}


def _s(stamp) -> float:
    return (stamp.sec * NS + stamp.nanosec) / NS


def _yaw(q) -> float:
    return quaternion_to_yaw(q.x, q.y, q.z, q.w)


class EpisodeLog:
    """See the module docstring. ``add`` must be called from one thread at a time."""

    def __init__(self, robot_radius_m: float, fan_period_s: float = 0.5):
        self.robot_radius_m = float(robot_radius_m)
        self.fan_period_s = float(fan_period_s)
        self.truth: list[tuple[float, ...]] = []  # t_s, x, y, yaw, v, w
        self.odom: list[tuple[float, ...]] = []  # t_s, x, y, yaw
        self.map_odom: list[tuple[float, ...]] = []
        self.people: list[tuple[float, list[tuple[int, float, float, float]]]] = []
        self.contacts: dict[tuple[str, int], Contact] = {}
        self.cycle: list[tuple[float, float]] = []
        self.cmd: list[tuple[float, float, float]] = []
        self.safety: list[tuple[float, int, str]] = []
        self.plans: list[tuple[float, np.ndarray]] = []
        self.fans: list[FanSnapshot] = []
        self._tracks: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 2)), np.zeros(0))
        self._next_fan_s = -math.inf
        self._handlers = {
            "/ground_truth/odom": self._truth, "/odom": self._odom, "/tf": self._tf,
            "/ground_truth/people": self._people, "/ground_truth/contacts": self._contacts,
            "/local_planner/cycle_time_ms": self._cycle, "/cmd_vel": self._cmd,
            "/safety/state": self._safety, "/plan": self._plan,
            "/local_planner/candidates": self._fan, "/obstacles/tracks": self._tracks_msg,
        }

    def add(self, topic: str, msg, t_recv_s: float) -> None:
        """One message of ``topic`` received at simulated time ``t_recv_s``."""
        handler = self._handlers.get(topic)
        if handler is not None:
            handler(msg, t_recv_s)

    # ------------------------------------------------------------------ per topic

    def _truth(self, msg, _t: float) -> None:
        p, tw = msg.pose.pose, msg.twist.twist
        self.truth.append((_s(msg.header.stamp), p.position.x, p.position.y,
                           _yaw(p.orientation), tw.linear.x, tw.angular.z))

    def _odom(self, msg, _t: float) -> None:
        p = msg.pose.pose
        self.odom.append((_s(msg.header.stamp), p.position.x, p.position.y,
                          _yaw(p.orientation)))

    def _tf(self, msg, _t: float) -> None:
        for tf in msg.transforms:
            if (tf.header.frame_id.lstrip("/") == "map"
                    and tf.child_frame_id.lstrip("/") == "odom"):
                tr = tf.transform
                self.map_odom.append((_s(tf.header.stamp), tr.translation.x,
                                      tr.translation.y, _yaw(tr.rotation)))

    def _people(self, msg, _t: float) -> None:
        self.people.append((_s(msg.header.stamp),
                            [(int(p.id), p.position.x, p.position.y, p.radius)
                             for p in msg.people]))

    def _contacts(self, msg, _t: float) -> None:
        for c in msg.contacts:
            start_ns = c.start.sec * NS + c.start.nanosec
            end = None if c.ongoing else _s(c.end)
            self.contacts[(c.other, start_ns)] = Contact(
                start_ns / NS, end, c.other, c.other_kind, float(c.max_normal_force))

    def _cycle(self, msg, t: float) -> None:
        self.cycle.append((t, float(msg.data)))

    def _cmd(self, msg, t: float) -> None:
        self.cmd.append((t, msg.linear.x, msg.angular.z))

    def _safety(self, msg, _t: float) -> None:
        if msg.status:
            text = msg.status[0].message
            mode = text.split(":", 1)[0].strip()
            self.safety.append((_s(msg.header.stamp), SAFETY_LEVELS.get(mode, -1), text))

    def _plan(self, msg, t: float) -> None:
        xy = np.array([(ps.pose.position.x, ps.pose.position.y) for ps in msg.poses],
                      dtype=float).reshape(-1, 2)
        self.plans.append((t, xy))

    def _tracks_msg(self, msg, _t: float) -> None:
        self._tracks = (
            np.array([(t.position.x, t.position.y) for t in msg.tracks], float).reshape(-1, 2),
            np.array([t.radius for t in msg.tracks], float))

    def _fan(self, msg, t: float) -> None:
        if t < self._next_fan_s:
            return
        strips, colors, chosen, frame = [], [], None, ""
        for m in msg.markers:
            if len(m.points) == 0:
                continue
            frame = frame or m.header.frame_id
            xy = np.array([(p.x, p.y) for p in m.points], dtype=np.float32)
            if m.ns == "chosen":
                chosen = xy
            else:
                strips.append(xy)
                colors.append((m.color.r, m.color.g, m.color.b, m.color.a))
        if not strips:
            return
        self._next_fan_s = t + self.fan_period_s
        # The cycle's own time (the markers' stamp), not when the recorder got them: under
        # load that is tenths of a second later, and the robot drawn there is ahead of its fan.
        stamp = _s(msg.markers[0].header.stamp)
        self.fans.append(FanSnapshot(stamp if stamp > 0.0 else t, frame, strips,
                                     np.array(colors, dtype=np.float32), chosen,
                                     *self._tracks))

    # ------------------------------------------------------------------ the episode

    def episode(self, goals: Sequence[GoalRun]) -> Episode:
        """The gathered arrays as an :class:`Episode` (each series sorted by time)."""
        def table(rows: list[tuple[float, ...]], width: int) -> np.ndarray:
            a = np.array(rows, dtype=float).reshape(-1, width)
            return a[np.argsort(a[:, 0], kind="stable")] if len(a) else a

        truth = table(self.truth, 6)
        odom = table(self.odom, 4)
        map_odom = table(self.map_odom, 4)
        cycle = table(self.cycle, 2)
        cmd = table(self.cmd, 3)
        ids = sorted({pid for _, people in self.people for pid, *_ in people})
        col = {pid: k for k, pid in enumerate(ids)}
        people = sorted(self.people, key=lambda r: r[0])
        xy = np.full((len(people), len(ids), 2), np.nan)
        radius = np.full((len(people), len(ids)), np.nan)
        for i, (_, persons) in enumerate(people):
            for pid, x, y, r in persons:
                if math.isfinite(x) and math.isfinite(y):
                    xy[i, col[pid]] = (x, y)
                    radius[i, col[pid]] = r
        safety = sorted(self.safety, key=lambda r: r[0])
        return Episode(
            robot_radius_m=self.robot_radius_m,
            truth_t_s=truth[:, 0], truth_pose=truth[:, 1:4], truth_v_mps=truth[:, 4],
            truth_w_radps=truth[:, 5],
            odom_t_s=odom[:, 0], odom_pose=odom[:, 1:4],
            map_odom_t_s=map_odom[:, 0], map_odom_pose=map_odom[:, 1:4],
            people_t_s=np.array([t for t, _ in people], dtype=float), people_xy=xy,
            people_radius_m=radius,
            cycle_t_s=cycle[:, 0], cycle_ms=cycle[:, 1],
            cmd_t_s=cmd[:, 0], cmd_v_mps=cmd[:, 1], cmd_w_radps=cmd[:, 2],
            safety_t_s=np.array([s[0] for s in safety], dtype=float),
            safety_level=np.array([s[1] for s in safety], dtype=int),
            contacts=merge_contacts(list(self.contacts.values())),
            goals=list(goals), plans=list(self.plans), fans=list(self.fans),
        )


def episode_from_bag(bag_dir: str | Path, goals: Sequence[GoalRun], robot_radius_m: float,
                     fan_period_s: float = 0.5) -> Episode:
    """The :class:`Episode` of a recorded run, read back from its bag (rosbags), with the
    goals as the run's metrics.json has them."""
    from rosbags.highlevel import AnyReader

    from hearth_eval.bag_writer import jazzy_typestore

    log = EpisodeLog(robot_radius_m, fan_period_s)
    with AnyReader([Path(bag_dir)], default_typestore=jazzy_typestore()) as reader:
        conns = [c for c in reader.connections if c.topic in TOPICS]
        for conn, t_ns, raw in reader.messages(conns):
            log.add(conn.topic, reader.deserialize(raw, conn.msgtype), t_ns / NS)
    return log.episode(goals)
