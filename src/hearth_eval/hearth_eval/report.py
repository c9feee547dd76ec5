"""The run report: one self-contained HTML page with its plots (ROS-free: matplotlib).

``write_report`` renders the figures of an :class:`~hearth_eval.run_metrics.Episode` to PNG
(matplotlib's Agg backend, no display needed), embeds them as base64 ``data:`` URIs, and
writes ``report.html`` atomically. The page has the per-goal table and, each with a caption
that says how to read it:

1. the tour on the home's map: the true path against the stack's estimate, the people's
   paths, the goals, the rugs and the sill, where the lights dimmed, any contact;
2. a snapshot of the local planner's candidate fan, at the moment the robot came closest to
   a person (or mid-tour when nobody came near);
3. speed, yaw rate and jerk over time (true and commanded), with the safety controller's
   slowing and stopping;
4. the clearance to the nearest person over time;
5. the position error of the estimate over time (ATE), beside fusion alone.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hearth_eval.run_metrics import (
    PERSONAL_SPACE_M,
    Episode,
    FanSnapshot,
    GoalMetrics,
    clearance_series,
    compose,
    held_at,
    interpolate_pose,
    time_series,
)

GOAL_COLORS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
# People in one colour, apart from the candidates' green..red, the robot's blue and the
# goals' colours (the paths on the tour: grey, never mistaken for the robot's).
PERSON_COLOR = "#984ea3"
PEOPLE_PATH_COLOR = "#a0a0a0"
TRUTH_COLOR, EST_COLOR, FUSION_COLOR, CMD_COLOR = "#222222", "#1f77b4", "#9a9a9a", "#ff7f0e"


@dataclass(frozen=True)
class MapImage:
    """An occupancy grid to draw under the plots: int8 cells (row 0 at ``origin`` y; -1
    unknown, 0 free, 100 occupied), its resolution and origin (world frame)."""

    data: np.ndarray
    resolution_m: float
    origin_xy_m: tuple[float, float]

    @property
    def extent(self) -> tuple[float, float, float, float]:
        h, w = self.data.shape
        x0, y0 = self.origin_xy_m
        return (x0, x0 + w * self.resolution_m, y0, y0 + h * self.resolution_m)

    def grey(self) -> np.ndarray:
        """Free white, occupied dark, unknown light grey, for ``imshow(origin='lower')``."""
        img = np.full(self.data.shape, 0.85)
        img[self.data == 0] = 1.0
        img[self.data >= 65] = 0.25
        return img


@dataclass(frozen=True)
class Area:
    """A rug or a threshold: its name, kind ('rug' or 'threshold') and outline (K, 2)."""

    name: str
    kind: str
    polygon: np.ndarray


@dataclass(frozen=True)
class ReportContext:
    """What the report says about the run beyond the episode's arrays."""

    title: str
    scenario: dict[str, Any]
    map_image: MapImage | None = None
    areas: Sequence[Area] = ()
    dim_at_s: float | None = None
    crossings: dict[str, float | None] | None = None
    run_info: dict[str, str] | None = None  # label -> text (wall time, bag, ...)
    # The depth camera's view, drawn on the candidate fan: (x forward of base_link m,
    # horizontal field of view rad, range m); None: not drawn.
    depth_view: tuple[float, float, float] | None = None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _draw_map(ax, ctx: ReportContext) -> None:
    if ctx.map_image is not None:
        ax.imshow(ctx.map_image.grey(), cmap="gray", vmin=0.0, vmax=1.0, origin="lower",
                  extent=ctx.map_image.extent, interpolation="nearest", zorder=0)
    from matplotlib.patches import Polygon

    for area in ctx.areas:
        rug = area.kind == "rug"
        ax.add_patch(Polygon(area.polygon, closed=True, zorder=1,
                             facecolor="#d9b38c" if rug else "#ffb000",
                             edgecolor="#a0764a" if rug else "#b36b00",
                             alpha=0.45 if rug else 0.9, lw=0.8))


def _legend(ax, **kwargs) -> None:
    """A legend beside the axes, when there is something to list."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, **kwargs)


def _goal_index(ep: Episode, t_s: np.ndarray) -> np.ndarray:
    """For each time, the index of the goal being driven to (-1 before the first)."""
    starts = np.array([g.t_start_s for g in ep.goals])
    return np.searchsorted(starts, t_s, side="right") - 1


# ----------------------------------------------------------------------------- figures


def tour_figure(ep: Episode, ctx: ReportContext) -> bytes:
    """The tour on the map: truth, estimate, people, goals, rugs and sill, dimming, contacts."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9.0, 7.6))
    _draw_map(ax, ctx)
    for k in range(ep.people_xy.shape[1] if ep.people_xy.ndim == 3 else 0):
        xy = ep.people_xy[:, k]
        ax.plot(xy[:, 0], xy[:, 1], color=PEOPLE_PATH_COLOR, lw=0.7, alpha=0.5, zorder=2,
                label="people (true paths; dot: where at the end)" if k == 0 else None)
        last = np.flatnonzero(np.isfinite(xy[:, 0]))
        if len(last):
            ax.plot(*xy[last[-1]], "o", ms=5, color=PEOPLE_PATH_COLOR, alpha=0.8, zorder=2)
    if len(ep.odom_t_s):
        from hearth_eval.run_metrics import estimate_map_base

        _, est = estimate_map_base(ep)
        ax.plot(est[:, 0], est[:, 1], "--", color=EST_COLOR, lw=1.4, zorder=4,
                label="estimate (fusion + V-SLAM, map->base_link)")
    if len(ep.truth_t_s):
        # the true path in the colour of the goal being driven to (black outside the goals)
        k = _goal_index(ep, ep.truth_t_s)
        for i in range(-1, len(ep.goals)):
            xy = np.where((k == i)[:, None], ep.truth_pose[:, :2], np.nan)
            if i >= 0 and ep.goals[i].t_end_s is not None:
                xy[ep.truth_t_s > ep.goals[i].t_end_s] = np.nan
            color = GOAL_COLORS[i % len(GOAL_COLORS)] if i >= 0 else TRUTH_COLOR
            ax.plot(xy[:, 0], xy[:, 1], color=color, lw=1.8, zorder=3,
                    label=("true path, coloured by the goal it was driving to"
                           if i == 0 else None))
        x0, y0, yaw0 = ep.truth_pose[0]
        ax.plot(x0, y0, marker=(3, 0, math.degrees(yaw0) - 90), ms=12, color=TRUTH_COLOR,
                zorder=6, ls="none", label="start")
        if ctx.dim_at_s is not None and ep.truth_t_s[0] <= ctx.dim_at_s <= ep.truth_t_s[-1]:
            k = int(np.searchsorted(ep.truth_t_s, ctx.dim_at_s))
            ax.plot(*ep.truth_pose[k, :2], marker="*", ms=15, color="#ffd400",
                    markeredgecolor="k", zorder=7, ls="none",
                    label=f"lights dimmed (t = {ctx.dim_at_s:.0f} s)")
    for i, g in enumerate(ep.goals):
        color = GOAL_COLORS[i % len(GOAL_COLORS)]
        ax.plot(g.x_m, g.y_m, "o", ms=17, color=color, markeredgecolor="k", zorder=8,
                alpha=0.9 if g.reached else 0.35)
        ax.text(g.x_m, g.y_m, str(i + 1), ha="center", va="center", color="white",
                fontsize=10, fontweight="bold", zorder=9)
        ax.annotate(g.name + ("" if g.reached else f" ({g.status})"), (g.x_m, g.y_m),
                    xytext=(12, -14), textcoords="offset points", fontsize=8, zorder=9,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": color,
                          "alpha": 0.85})
    for j, c in enumerate([c for c in ep.contacts if not c.with_surface]):
        if len(ep.truth_t_s):
            k = min(int(np.searchsorted(ep.truth_t_s, c.t_start_s)), len(ep.truth_t_s) - 1)
            ax.plot(*ep.truth_pose[k, :2], "x", ms=12, mew=2.5, color="red", zorder=9,
                    label="contact" if j == 0 else None)
    for area in ctx.areas:
        cx, cy = area.polygon.mean(axis=0)
        ax.annotate(area.name.replace("_", " "), (cx, cy), fontsize=7, color="#7a4a00",
                    ha="center", va="center", zorder=2,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.6})
    ax.set_aspect("equal")
    if ctx.map_image is not None:
        x0, x1, y0, y1 = ctx.map_image.extent
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_xlabel("x (m, map = world frame)")
    ax.set_ylabel("y (m)")
    ax.set_title("The tour: the true path and the stack's estimate; goals numbered in order")
    _legend(ax, framealpha=0.9)
    return _png(fig)


def pick_fan_snapshot(ep: Episode, near_m: float = 1.5) -> FanSnapshot | None:
    """The candidate fan at the robot's closest approach to a person (within ``near_m``);
    otherwise the one nearest the middle of the tour."""
    if not ep.fans:
        return None
    times = np.array([f.t_s for f in ep.fans])
    ct, clear = clearance_series(ep)
    moving = [i for i, f in enumerate(ep.fans) if f.chosen is not None] or list(
        range(len(ep.fans)))
    if len(ct) and np.isfinite(clear).any() and np.nanmin(clear) < near_m:
        t_close = float(ct[int(np.argmin(clear))])
        # the fan just before the closest moment: what the planner weighed on the way in
        before = [i for i in moving if times[i] <= t_close] or moving
        return ep.fans[before[-1]]
    mid = 0.5 * (times[0] + times[-1])
    return ep.fans[min(moving, key=lambda i: abs(times[i] - mid))]


def fan_figure(ep: Episode, ctx: ReportContext, snap: FanSnapshot,
               half_width_m: float = 2.0) -> bytes:
    """The candidate fan around the robot at ``snap.t_s``, drawn in the map frame."""
    plt = _plt()
    from matplotlib.patches import Circle, Wedge

    # the fan is in the odom frame: map <- odom with the map->odom that stood then
    map_odom = held_at(np.array([snap.t_s]), ep.map_odom_t_s, ep.map_odom_pose,
                       before_first=np.zeros(3))[0] if snap.frame != "map" else np.zeros(3)

    def to_map(xy: np.ndarray) -> np.ndarray:
        if len(xy) == 0:
            return np.zeros((0, 2))
        pts = np.column_stack([xy, np.zeros(len(xy))])
        return compose(np.broadcast_to(map_odom, pts.shape), pts)[:, :2]

    truth = interpolate_pose(np.array([snap.t_s]), ep.truth_t_s, ep.truth_pose)[0]
    if not np.all(np.isfinite(truth)) and snap.chosen is not None and len(snap.chosen):
        truth = np.array([*to_map(snap.chosen[:1].astype(float))[0], 0.0])
    fig, ax = plt.subplots(figsize=(7.2, 6.4))
    _draw_map(ax, ctx)
    order = np.argsort(-snap.colors[:, 0] + snap.colors[:, 1]) if len(snap.colors) else []
    for i in order:  # worst first, so the best are drawn on top
        xy = to_map(snap.strips[i].astype(float))
        r, g, b, _ = snap.colors[i]
        ax.plot(xy[:, 0], xy[:, 1], color=(r, g, b), lw=0.7, alpha=0.6, zorder=3)
    if snap.chosen is not None and len(snap.chosen):
        xy = to_map(snap.chosen.astype(float))
        ax.plot(xy[:, 0], xy[:, 1], color="#0050ff", lw=2.6, zorder=5, label="chosen trajectory")
    ax.plot([], [], color="green", lw=1.5, label="candidates: green good ... red bad")
    # the global plan that stood then
    plans = [p for p in ep.plans if p[0] <= snap.t_s]
    if plans and len(plans[-1][1]):
        xy = plans[-1][1]
        ax.plot(xy[:, 0], xy[:, 1], ":", color="#555555", lw=1.5, zorder=2,
                label="global plan (/plan)")
    if np.all(np.isfinite(truth)) and ctx.depth_view is not None:
        # What the depth camera saw then: a person outside it is not tracked (yet), and the
        # plan may pass where they stand.
        ahead_m, hfov_rad, range_m = ctx.depth_view
        eye = truth[:2] + ahead_m * np.array([math.cos(truth[2]), math.sin(truth[2])])
        yaw_deg = math.degrees(truth[2])
        half_deg = 0.5 * math.degrees(hfov_rad)
        ax.add_patch(Wedge(eye, range_m, yaw_deg - half_deg, yaw_deg + half_deg,
                           fc="#9ecae1", ec="#6baed6", alpha=0.25, zorder=1))
        ax.plot([], [], "s", ms=10, color="#9ecae1", alpha=0.6,
                label=f"depth camera's view ({math.degrees(hfov_rad):.0f}°, {range_m:g} m)")
    if np.all(np.isfinite(truth)):
        ax.add_patch(Circle(truth[:2], ep.robot_radius_m, fc="#0050ff", ec="k", alpha=0.35,
                            zorder=6))
        ax.plot([truth[0], truth[0] + 0.3 * math.cos(truth[2])],
                [truth[1], truth[1] + 0.3 * math.sin(truth[2])], color="k", lw=1.5, zorder=7)
        ax.plot([], [], "o", ms=10, color="#0050ff", alpha=0.35, label="robot (true pose)")
    if len(ep.people_t_s):
        k = int(np.clip(np.searchsorted(ep.people_t_s, snap.t_s), 0, len(ep.people_t_s) - 1))
        for j in range(ep.people_xy.shape[1]):
            xy, r = ep.people_xy[k, j], ep.people_radius_m[k, j]
            if np.all(np.isfinite(xy)):
                ax.add_patch(Circle(xy, r, fc=PERSON_COLOR,
                                    ec="k", alpha=0.55, zorder=6))
        ax.plot([], [], "o", ms=10, color=PERSON_COLOR, alpha=0.55,
                label="people (true)")
    tracks = to_map(snap.tracks_xy)
    for j, (xy, r) in enumerate(zip(tracks, snap.tracks_radius_m, strict=True)):
        ax.add_patch(Circle(xy, max(float(r), 0.05), fill=False, ec="#d62728", ls="--",
                            lw=1.4, zorder=7))
        if j == 0:
            ax.plot([], [], "o", mfc="none", mec="#d62728", ls="none", ms=10,
                    label="tracked obstacles (robot's view)")
    centre = truth[:2] if np.all(np.isfinite(truth)) else (
        tracks.mean(axis=0) if len(tracks) else np.zeros(2))
    ax.set_xlim(centre[0] - half_width_m, centre[0] + half_width_m)
    ax.set_ylim(centre[1] - half_width_m, centre[1] + half_width_m)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m, map frame)")
    ax.set_ylabel("y (m)")
    gi = int(_goal_index(ep, np.array([snap.t_s]))[0])
    goal = f", driving to goal {gi + 1} ({ep.goals[gi].name})" if 0 <= gi < len(ep.goals) else ""
    ax.set_title(f"Local planner's candidates at t = {snap.t_s:.1f} s{goal}", fontsize=10)
    _legend(ax)
    return _png(fig)


def _goal_spans(ax, ep: Episode, t_end: float, label: bool = False) -> None:
    t0, t9 = _t_range(ep)
    for i, g in enumerate(ep.goals):
        t1 = g.t_end_s if g.t_end_s is not None else t_end
        ax.axvspan(g.t_start_s, t1, color=GOAL_COLORS[i % len(GOAL_COLORS)], alpha=0.08,
                   lw=0)
        if label and t1 - g.t_start_s > 0.06 * (t9 - t0):  # room for the name
            ax.text(0.5 * (g.t_start_s + t1), 1.02, f"{i + 1}. {g.name}", ha="center",
                    va="bottom", fontsize=8, transform=ax.get_xaxis_transform(),
                    color=GOAL_COLORS[i % len(GOAL_COLORS)])


def _dim_line(ax, ctx: ReportContext, label: bool = False) -> None:
    if ctx.dim_at_s is not None:
        ax.axvline(ctx.dim_at_s, color="#b8860b", ls="--", lw=1.2,
                   label="lights dimmed" if label else None)


JERK_WINDOW_S = 2.0


def rolling_rms(t_s: np.ndarray, values: np.ndarray, window_s: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """RMS of ``values`` over a centred window of ``window_s`` (uniformly sampled input)."""
    if len(t_s) < 3:
        return np.zeros(0), np.zeros(0)
    dt = float(np.median(np.diff(t_s)))
    n = max(1, round(window_s / dt))
    if n > len(values):
        return np.zeros(0), np.zeros(0)
    power = np.convolve(np.asarray(values, dtype=float) ** 2, np.ones(n) / n, mode="valid")
    return t_s[n // 2: n // 2 + len(power)], np.sqrt(power)


def _t_end(ep: Episode) -> float:
    ends = [g.t_end_s for g in ep.goals if g.t_end_s is not None]
    last = float(ep.truth_t_s[-1]) if len(ep.truth_t_s) else 0.0
    return max([last, *ends]) if ends or len(ep.truth_t_s) else 1.0


def _t_range(ep: Episode) -> tuple[float, float]:
    t0 = ep.goals[0].t_start_s if ep.goals else (
        float(ep.truth_t_s[0]) if len(ep.truth_t_s) else 0.0)
    return t0 - 1.0, _t_end(ep) + 1.0


def motion_figure(ep: Episode, ctx: ReportContext,
                  series: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Speed, yaw rate and jerk over time, true and commanded; safety slowing/stopping."""
    plt = _plt()
    fig, axes = plt.subplots(4, 1, figsize=(10.0, 9.0), sharex=True,
                             gridspec_kw={"height_ratios": [3, 2.2, 2, 2]})
    t_end = _t_end(ep)
    ax = axes[0]
    ax.plot(ep.truth_t_s, ep.truth_v_mps, color=TRUTH_COLOR, lw=1.2, label="true speed")
    if len(ep.cmd_t_s):
        ax.step(ep.cmd_t_s, ep.cmd_v_mps, where="post", color=CMD_COLOR, lw=0.9, alpha=0.9,
                label="commanded (/cmd_vel, after safety)")
    levels = ep.safety_level
    if len(levels):
        t0, t1 = _t_range(ep)
        shown = (ep.safety_t_s >= t0) & (ep.safety_t_s <= t1)
        for level, color, name in ((1, "#ffcc00", "safety: slowing"),
                                   (2, "#d62728", "safety: stopped"),
                                   (3, "#7f7f7f", "safety: stale input")):
            on = levels == level
            if (on & shown).any():
                ax.fill_between(ep.safety_t_s, 0, 1, where=on, step="post", color=color,
                                alpha=0.35, transform=ax.get_xaxis_transform(), lw=0,
                                label=name)
    ax.set_ylabel("forward speed\n(m/s)")
    _legend(ax)
    _goal_spans(ax, ep, t_end, label=True)
    _dim_line(ax, ctx)
    ax = axes[1]
    ax.plot(ep.truth_t_s, ep.truth_w_radps, color=TRUTH_COLOR, lw=1.0, label="true yaw rate")
    if len(ep.cmd_t_s):
        ax.step(ep.cmd_t_s, ep.cmd_w_radps, where="post", color=CMD_COLOR, lw=0.8,
                alpha=0.9, label="commanded")
    ax.set_ylabel("yaw rate\n(rad/s)")
    _legend(ax)
    _goal_spans(ax, ep, t_end)
    _dim_line(ax, ctx)
    for ax, key, unit, name in ((axes[2], "jerk_v", "m/s³", "linear jerk"),
                                (axes[3], "jerk_w", "rad/s³", "angular jerk")):
        t, j = series[key]
        tr, jr = rolling_rms(t, j, JERK_WINDOW_S)
        ax.plot(tr, jr, color="#6a3d9a", lw=1.2, label=f"RMS over {JERK_WINDOW_S:g} s")
        if len(j):
            t0, t1 = _t_range(ep)
            on_tour = (t >= t0 + 1.0) & (t <= t1 - 1.0)
            r = float(np.sqrt(np.mean(j[on_tour] ** 2))) if on_tour.any() else math.nan
            ax.axhline(r, color="#6a3d9a", ls=":", lw=1.0,
                       label=f"RMS over the tour {r:.2f} {unit}")
            top = max(np.percentile(jr, 99.5) * 1.3, 2.0 * r, 1e-3) if len(jr) else 1.0
            ax.set_ylim(0.0, top)  # a sill's jolt would flatten the rest: clip the view
        ax.set_ylabel(f"{name}\n({unit})")
        _legend(ax)
        _goal_spans(ax, ep, t_end)
        _dim_line(ax, ctx, label=key == "jerk_w")
    axes[-1].set_xlabel("simulated time (s)")
    axes[-1].set_xlim(*_t_range(ep))
    _legend(axes[-1])
    return _png(fig)


def clearance_figure(ep: Episode, ctx: ReportContext,
                     series: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Body-to-body distance from the robot to the nearest person over time."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10.0, 3.6))
    t, c = series["clearance"]
    finite = np.isfinite(c)
    top = 4.0
    if finite.any():
        ax.plot(t, np.where(finite, np.minimum(c, top), np.nan), color="#e41a1c", lw=1.2,
                label="to the nearest person (body to body)")
        k = int(np.nanargmin(np.where(finite, c, np.nan)))
        ax.plot(t[k], c[k], "v", color="k", ms=8, label=f"closest: {c[k]:.2f} m at "
                f"t = {t[k]:.1f} s")
    else:
        ax.text(0.5, 0.5, "nobody about", transform=ax.transAxes, ha="center")
    # What counts as a collision is the simulator's contact between the bodies, not the
    # discs' overlap: mark the contacts, or say there were none.
    hits = [c.t_start_s for c in ep.contacts if c.other_kind == "person"]
    ax.plot(hits, np.zeros(len(hits)), "x", color="k", ms=9, mew=2,
            label=f"contact with a person (simulator): {len(hits)}")
    ax.axhspan(-0.1, PERSONAL_SPACE_M, color="#e41a1c", alpha=0.08, lw=0,
               label=f"within {PERSONAL_SPACE_M:g} m (personal space)")
    ax.axhline(0.0, color="k", lw=0.8)
    _goal_spans(ax, ep, _t_end(ep), label=True)
    _dim_line(ax, ctx)
    ax.set_ylim(-0.1, top)
    ax.set_xlim(*_t_range(ep))
    ax.set_ylabel("clearance (m)\n(shown up to 4 m)")
    ax.set_xlabel("simulated time (s)")
    _legend(ax)
    return _png(fig)


def fusion_alone_error(ep: Episode) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, error_m) of fusion alone: /odom placed on the map by the first map->odom (the
    start pose), as if V-SLAM had never corrected it."""
    if len(ep.odom_t_s) < 2 or len(ep.truth_t_s) == 0:
        return np.zeros(0), np.zeros(0)
    first = ep.map_odom_pose[0] if len(ep.map_odom_t_s) else np.zeros(3)
    est = compose(np.broadcast_to(first, ep.odom_pose.shape), ep.odom_pose)
    at = interpolate_pose(ep.truth_t_s, ep.odom_t_s, est)
    err = np.hypot(at[:, 0] - ep.truth_pose[:, 0], at[:, 1] - ep.truth_pose[:, 1])
    ok = np.isfinite(err)
    return ep.truth_t_s[ok], err[ok]


def ate_figure(ep: Episode, ctx: ReportContext,
               series: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Position error of the estimate over time, beside fusion alone."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10.0, 3.6))
    t, e = series["error"]
    ft, fe = fusion_alone_error(ep)
    if len(ft):
        ax.plot(ft, fe * 100, color=FUSION_COLOR, lw=1.0,
                label="fusion alone (odom, never corrected)")
    if len(t):
        ax.plot(t, e * 100, color=EST_COLOR, lw=1.4, label="fusion + V-SLAM (map->base_link)")
        t0, t1 = _t_range(ep)
        on_tour = (t >= t0 + 1.0) & (t <= t1 - 1.0)  # as the table: the goals' span
        r = float(np.sqrt(np.mean(e[on_tour] ** 2))) if on_tour.any() else math.nan
        ax.axhline(r * 100, color=EST_COLOR, ls=":", lw=1.0,
                   label=f"ATE over the tour (RMS) {r * 100:.1f} cm")
    else:
        ax.text(0.5, 0.5, "no estimate recorded", transform=ax.transAxes, ha="center")
    _goal_spans(ax, ep, _t_end(ep), label=True)
    _dim_line(ax, ctx, label=True)
    ax.set_ylim(bottom=0.0)
    ax.set_xlim(*_t_range(ep))
    ax.set_ylabel("position error (cm)")
    ax.set_xlabel("simulated time (s)")
    _legend(ax)
    return _png(fig)


# ----------------------------------------------------------------------------- the page


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


TABLE_COLUMNS = (
    ("goal", "goal", None),
    ("reached", "reached", None),
    ("time_s", "time (s)", 1),
    ("path_length_m", "path (m)", 1),
    ("min_clearance_people_m", "min distance to people (m)", 2),
    ("jerk_linear_rms_mps3", "jerk RMS, linear (m/s³)", 2),
    ("jerk_angular_rms_radps3", "jerk RMS, angular (rad/s³)", 2),
    ("ate_rms_m", "ATE RMS (m)", 3),
    ("planner_cycle_p95_ms", "planner cycle p95 (wall ms)", 0),
    ("contacts", "contacts", None),
)


def table_rows(metrics: Sequence[GoalMetrics], tour: GoalMetrics | None) -> list[dict]:
    rows = []
    for i, m in enumerate([*metrics, *([tour] if tour else [])]):
        d = m.as_dict()
        d["goal"] = f"{i + 1}. {m.name}" if i < len(metrics) else "whole tour"
        d["reached"] = ("yes" if m.reached else m.status) if i < len(metrics) else m.status
        d["contacts"] = (f"{m.contacts_people} people, {m.contacts_objects} objects"
                         if m.contacts_people or m.contacts_objects else "none")
        rows.append(d)
    return rows


def render_html(ep: Episode, metrics: Sequence[GoalMetrics], tour: GoalMetrics | None,
                ctx: ReportContext) -> str:
    """The whole page, images inline."""
    series = time_series(ep)
    figures: list[tuple[str, str, bytes]] = []
    figures.append(("The tour", (
        "The home's occupancy map (walls and furniture dark) with the rugs (brown) and the "
        "bathroom sill (orange) the route crosses. Solid line: where the robot really went "
        "(the simulator's ground truth), in the colour of the goal it was driving to (the "
        "numbered discs; faded: not reached). Blue dashes: where the stack believed it was "
        "(fusion's odometry corrected by V-SLAM's map->odom); the two lie on top of each "
        "other where the estimate is good. Thin grey-violet lines: the people's paths; dots: "
        "where each one was at the end. The yellow star marks where the robot was when the "
        "lights dimmed; red crosses, any contact."), tour_figure(ep, ctx)))
    snap = pick_fan_snapshot(ep)
    if snap is not None:
        figures.append(("The local planner's candidate fan", (
            "One 10 Hz cycle of the local planner, seen from above, at the moment the robot "
            "came closest to a person (or mid-tour when nobody came near). Each thin line is "
            "a candidate trajectory over the next 3 s (a sample of them), coloured by its "
            "cost from green (good) to red (bad); the thick blue line is the one it chose. "
            "They start where the robot will be when the plan takes effect, a little ahead "
            "of the blue disc (the robot's true pose when the cycle began); they are drawn "
            "where the stack believed the robot was, so the localization error of that "
            "moment (the last plot) shifts them off the disc. "
            "Purple discs: the people where they really were; dashed red circles: the "
            "obstacles the robot tracked from its depth camera (what the planner avoids). "
            "Light blue wedge: the depth camera's field of view at that moment (walls hide "
            "what stands behind them). A person outside "
            "it is not tracked until they come into view (a track that leaves it coasts "
            "for a while), so a plan may pass where an unseen person stands: the next "
            "cycles see them as the robot turns, and replan."),
            fan_figure(ep, ctx, snap)))
    figures.append(("Speed, turning and jerk", (
        "Top: the robot's true forward speed (black) and the command that reached the "
        "motors (orange), with the times the safety controller slowed (yellow) or stopped "
        "(red) the robot. Below: the yaw rate, then jerk (how abruptly speed and turning "
        "change; lower is smoother): the second derivative of 0.1 s averages of the true "
        "speed and yaw rate, shown as its RMS over 2 s windows. Shaded bands: the goals, in "
        "order. Dashed line: the lights dimmed. The jerk axes are clipped, so a jolt such as "
        "the sill may run off the plot."), motion_figure(ep, ctx, series)))
    figures.append(("Distance to people", (
        "The gap between the robot's disc and the nearest person's disc (0: touching; below "
        "0 the discs overlap, a person's body in the simulator being slimmer than the disc "
        "round it). Collisions are the simulator's contacts between the bodies, marked x. "
        "The pink band is the 0.5 m personal space."), clearance_figure(ep, ctx, series)))
    figures.append(("Localization error (ATE)", (
        "How far the stack's estimate of the robot's position was from the truth, over "
        "time. Grey: the fused odometry alone, which drifts (wheel slip on the rugs, the "
        "sill's jolt); blue: with V-SLAM's corrections, what the planners use."),
        ate_figure(ep, ctx, series)))

    rows = table_rows(metrics, tour)
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in TABLE_COLUMNS)
    body = ""
    for r in rows:
        cls = ' class="total"' if r["goal"] == "whole tour" else ""
        body += f"<tr{cls}>" + "".join(
            f"<td>{_fmt(r.get(k), d if d is not None else 2)}</td>"
            for k, _, d in TABLE_COLUMNS) + "</tr>\n"
    info = ""
    if ctx.crossings:
        crossed = ", ".join(
            n.replace("_", " ") + (f" (at t = {t:.0f} s)" if t is not None
                                   else " (NOT crossed)")
            for n, t in ctx.crossings.items())
        info += f"<li>Drove over: {crossed}</li>"
    for label, text in (ctx.run_info or {}).items():
        info += f"<li>{html.escape(label)}: {text}</li>"
    sections = "".join(
        f'<h2>{html.escape(title)}</h2><p class="cap">{html.escape(caption)}</p>'
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}">\n'
        for title, caption, png in figures)
    sc = ctx.scenario
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(ctx.title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto;
       padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f0f0f0; }} td:first-child {{ text-align: left; }}
tr.total td {{ font-weight: bold; background: #fafafa; }}
img {{ max-width: 100%; border: 1px solid #ddd; }} p.cap {{ max-width: 60em; }}
code {{ background: #f4f4f4; padding: 0 3px; }}
</style></head><body>
<h1>{html.escape(ctx.title)}</h1>
<p>{html.escape(str(sc.get("description", "")))} &mdash; home <b>{html.escape(
        str(sc.get("home", "")))}</b>, seed {html.escape(str(sc.get("seed", "")))}.</p>
<table><tr>{head}</tr>
{body}</table>
<p class="cap">Per goal: from sending it to its result, in simulated time. Distance to people
is body to body (0: touching). Jerk: RMS of the second derivative of the true forward speed
and yaw rate (0.1 s averages). ATE: RMS distance between the stack's map->base_link estimate
and the true pose (no alignment: the map frame starts at the true start pose). Planner cycle:
95th percentile of <code>/local_planner/cycle_time_ms</code> (wall-clock time of one 10 Hz
cycle on this machine).</p>
<ul>{info}</ul>
{sections}
</body></html>
"""


def write_report(path: str | os.PathLike, ep: Episode, metrics: Sequence[GoalMetrics],
                 tour: GoalMetrics | None, ctx: ReportContext) -> Path:
    """Renders the page and writes it atomically to ``path``."""
    path = Path(path)
    text = render_html(ep, metrics, tour, ctx)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
