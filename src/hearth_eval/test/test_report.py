"""The report is one self-contained HTML file with the table and the five plots."""

from __future__ import annotations

import base64
import re

import numpy as np

from hearth_eval.report import (
    Area,
    MapImage,
    ReportContext,
    pick_fan_snapshot,
    write_report,
)
from hearth_eval.run_metrics import (
    Contact,
    Episode,
    FanSnapshot,
    GoalRun,
    episode_metrics,
    goal_metrics,
    rectangle,
)


def synthetic_episode() -> Episode:
    """20 s east along y = 1 then 10 s north; a person standing by the route at (6, 1.8)."""
    t = np.arange(0.0, 30.0, 0.02)
    x = np.where(t < 20, 1.0 + 0.4 * t, 9.0)
    y = np.where(t < 20, 1.0, 1.0 + 0.3 * (t - 20))
    yaw = np.where(t < 20, 0.0, np.pi / 2)
    pose = np.column_stack([x, y, yaw])
    people_xy = np.tile(np.array([[[6.0, 1.8]]]), (len(t), 1, 1))
    strips = [np.column_stack([np.linspace(0, 1.5, 10), np.linspace(0, a, 10)]).astype(
        np.float32) for a in np.linspace(-0.8, 0.8, 9)]
    colors = np.array([[abs(a), 1 - abs(a), 0, 1] for a in np.linspace(-1, 1, 9)], np.float32)
    fans = [FanSnapshot(ts, "odom", [s + np.float32(0.4 * ts) * np.array([1, 0], np.float32)
                                     for s in strips], colors, strips[4] + np.float32(0.4 * ts)
                        * np.array([1, 0], np.float32), np.array([[5.0, 0.8]]),
                        np.array([0.3])) for ts in np.arange(0.0, 30.0, 0.5)]
    return Episode(
        robot_radius_m=0.175, truth_t_s=t, truth_pose=pose,
        truth_v_mps=np.where(t < 20, 0.4, 0.3), truth_w_radps=np.where(np.abs(t - 20) < 0.5,
                                                                       1.5, 0.0),
        odom_t_s=t, odom_pose=pose - np.array([1.0, 1.0, 0.0]) + 0.01 * np.sin(t)[:, None],
        map_odom_t_s=np.array([0.0]), map_odom_pose=np.array([[1.0, 1.0, 0.0]]),
        people_t_s=t, people_xy=people_xy, people_radius_m=np.full((len(t), 1), 0.25),
        cycle_t_s=t[::5], cycle_ms=np.full(len(t[::5]), 30.0),
        cmd_t_s=t[::3], cmd_v_mps=np.where(t[::3] < 20, 0.4, 0.3), cmd_w_radps=np.zeros(
            len(t[::3])),
        safety_t_s=t[::3], safety_level=(np.abs(t[::3] - 12.5) < 1.0).astype(int),
        contacts=[Contact(25.0, 25.2, "person_1", "person", 5.0)],
        goals=[GoalRun("east", 9.0, 1.0, 0.0, 20.0, "reached"),
               GoalRun("north", 9.0, 4.0, 20.0, 30.0, "timeout")],
        plans=[(0.0, np.array([[1.0, 1.0], [9.0, 1.0], [9.0, 4.0]]))], fans=fans)


def test_the_fan_snapshot_is_taken_on_the_way_to_the_closest_approach():
    ep = synthetic_episode()
    snap = pick_fan_snapshot(ep)
    assert snap is not None and 12.0 <= snap.t_s <= 12.5  # closest at x = 6 m, t = 12.5 s


def test_the_report_is_one_file_with_the_table_and_five_embedded_plots(tmp_path):
    ep = synthetic_episode()
    grid = np.zeros((100, 220), dtype=np.int8)
    grid[0, :] = grid[-1, :] = 100
    ctx = ReportContext(
        title="hearth test", scenario={"home": "flat", "seed": 1, "description": "a test"},
        map_image=MapImage(grid, 0.05, (-0.5, -0.5)),
        areas=[Area("rug", "rug", rectangle((4.0, 1.0), (1.0, 1.0))),
               Area("sill", "threshold", rectangle((9.0, 2.0), (0.12, 0.8), np.pi / 2))],
        dim_at_s=15.0, crossings={"rug": 7.5, "sill": None},
        run_info={"Bag": "<code>bag/bag.mcap</code>"}, depth_view=(0.065, 1.571, 4.0))
    path = write_report(tmp_path / "report.html", ep, goal_metrics(ep), episode_metrics(ep),
                        ctx)
    text = path.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 5
    for b64 in images:
        assert base64.b64decode(b64).startswith(b"\x89PNG")
    assert not re.search(r'(src|href)="(?!data:)', text)  # nothing outside the file
    for words in ("1. east", "2. north", "whole tour", "timeout", "rug (at t = 8 s)",
                  "depth camera&#x27;s field of view",
                  "sill (NOT crossed)", "1 people, 0 objects"):
        assert words in text, words
    assert not list(tmp_path.glob("*.tmp*"))


def test_a_run_with_nobody_about_and_no_estimate_still_renders(tmp_path):
    ep = synthetic_episode()
    ep.people_xy = np.zeros((0, 0, 2))
    ep.people_t_s = np.zeros(0)
    ep.people_radius_m = np.zeros((0, 0))
    ep.odom_t_s, ep.odom_pose = np.zeros(0), np.zeros((0, 3))
    ep.fans = []
    ctx = ReportContext(title="t", scenario={})
    text = write_report(tmp_path / "r.html", ep, goal_metrics(ep), episode_metrics(ep),
                        ctx).read_text()
    assert text.count("data:image/png;base64,") == 4  # no fan to show
