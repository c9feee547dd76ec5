"""How fast the global planner plans on a whole home, against a well-known library.

A 25 x 25 m home at 0.05 m (500 x 500 = 250,000 cells) is built procedurally (seeded): outer
walls, a cross-shaped hallway 1.5 m wide, rooms split off each quarter with 0.1 m walls, a door
0.8..1 m wide in every wall, and furniture. The costmap (hearth_planning.costmap: inflation by
the robot's radius + margin, cost decaying away from obstacles) and its landmark heuristic
(hearth_planning.heuristic: exact costs from 8 far-apart cells) are built once, as the node
does per map, and timed separately, as is the doorway detection of the navigability memory.

Then ``--pairs`` random start/goal pairs (free cells of the largest connected area, at least
2 m apart). For each, in turn:

* ours: ``GridPlanner(costmap, landmarks=...).plan(start, goal)``: the checks, compiled A*
  from scratch (a fresh planner: no search reused from the pair before), the path and its
  shortcutting;
* ours without landmarks (the octile heuristic alone), to show what the cached heuristic buys;
* the peer: scikit-image's ``MCP_Geometric`` (Cython Dijkstra over the same cost multipliers,
  same move costs, stopping at the goal) ``find_costs`` + ``traceback``, on an object built
  once for the map like our costmap;
* a replan: the same planner asked again from 1 m along its path (the search tree resumed,
  what the node does when the robot has moved).

Figures are milliseconds per plan (median, p95), the peer's the same way, and their ratio
(peer / ours, > 1: ours is faster). ``cost_vs_peer`` compares the optimal costs found: ours
forbids cutting an obstacle's corner on a diagonal, MCP does not, so ours is >= 1.
Goal: median <= 30 ms, and faster than the peer.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

GOAL_MEDIAN_MS = 30.0


def procedural_home(seed: int = 0, size_m: float = 25.0, resolution_m: float = 0.05):
    """A square home of rooms, walls, doors and furniture (hearth_planning OccupancyMap)."""
    from hearth_planning.map_io import OccupancyMap

    rng = np.random.default_rng(seed)
    n = round(size_m / resolution_m)
    occ = np.zeros((n, n), np.int8)

    def cells(m: float) -> int:
        return round(m / resolution_m)

    outer, inner = cells(0.2), cells(0.1)
    occ[:outer, :] = occ[-outer:, :] = occ[:, :outer] = occ[:, -outer:] = 100
    doorways: list[tuple[int, int, int, int]] = []  # kept clear of furniture

    def door_in(length: int, lo: int) -> tuple[int, int] | None:
        w = cells(rng.uniform(0.8, 1.0))
        if length < w + cells(0.6):
            return None
        d = int(rng.integers(lo + cells(0.3), lo + length - w - cells(0.3)))
        return d, d + w

    def hwall(r: int, c0: int, c1: int, doors: int = 1) -> None:
        occ[r : r + inner, c0:c1] = 100
        for _ in range(doors):
            span = door_in(c1 - c0, c0)
            if span:
                occ[r : r + inner, span[0] : span[1]] = 0
                doorways.append((r - cells(0.8), r + inner + cells(0.8), *span))

    def vwall(c: int, r0: int, r1: int, doors: int = 1) -> None:
        occ[r0:r1, c : c + inner] = 100
        for _ in range(doors):
            span = door_in(r1 - r0, r0)
            if span:
                occ[span[0] : span[1], c : c + inner] = 0
                doorways.append((*span, c - cells(0.8), c + inner + cells(0.8)))

    mid, half = n // 2, cells(1.5) // 2
    h0, h1 = mid - half, mid + half  # the hallway cross
    hwall(h0 - inner, outer, h0, 2)
    hwall(h0 - inner, h1, n - outer, 2)
    hwall(h1, outer, h0, 2)
    hwall(h1, h1, n - outer, 2)
    vwall(h0 - inner, outer, h0 - inner)
    vwall(h0 - inner, h1 + inner, n - outer)
    vwall(h1, outer, h0 - inner)
    vwall(h1, h1 + inner, n - outer)
    rooms: list[tuple[int, int, int, int]] = []

    def split(r0: int, r1: int, c0: int, c1: int, depth: int) -> None:
        if depth == 0 or max(r1 - r0, c1 - c0) < cells(6.0):
            rooms.append((r0, r1, c0, c1))
            return
        if r1 - r0 > c1 - c0:
            r = int(rng.integers(r0 + cells(2.5), r1 - cells(2.5)))
            hwall(r, c0, c1)
            split(r0, r, c0, c1, depth - 1)
            split(r + inner, r1, c0, c1, depth - 1)
        else:
            c = int(rng.integers(c0 + cells(2.5), c1 - cells(2.5)))
            vwall(c, r0, r1)
            split(r0, r1, c0, c, depth - 1)
            split(r0, r1, c + inner, c1, depth - 1)

    low, high = (outer, h0 - inner), (h1 + inner, n - outer)  # row or column spans
    for rows in (low, high):
        for cols in (low, high):
            split(*rows, *cols, 2)
    for r0, r1, c0, c1 in rooms:  # furniture, off the doorways
        for _ in range(int(rng.integers(1, 4))):
            bh, bw = cells(rng.uniform(0.4, 1.6)), cells(rng.uniform(0.4, 1.6))
            if r1 - r0 <= bh + 2 or c1 - c0 <= bw + 2:
                continue
            br, bc = int(rng.integers(r0, r1 - bh)), int(rng.integers(c0, c1 - bw))
            if any(br < k1 and br + bh > k0 and bc < l1 and bc + bw > l0
                   for k0, k1, l0, l1 in doorways):  # fmt: skip
                continue
            occ[br : br + bh, bc : bc + bw] = 100
    return OccupancyMap(occ, resolution_m)


def _pairs(costmap, count: int, rng, min_apart_m: float = 2.0) -> list:
    labels = costmap.component
    biggest = int(np.argmax(np.bincount(labels.ravel())[1:])) + 1
    free = np.argwhere(labels == biggest)
    out = []
    while len(out) < count:
        a, b = free[rng.integers(len(free))], free[rng.integers(len(free))]
        if math.dist(a, b) * costmap.resolution_m >= min_apart_m:
            out.append((tuple(int(v) for v in a), tuple(int(v) for v in b)))
    return out


def run(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="hearth bench global", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=100, help="start/goal pairs (default 100)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the home and the pairs")
    ap.add_argument("--map", default="",
                    help="plan on this map_server YAML instead of the procedural home")
    args = ap.parse_args(argv)

    from skimage.graph import MCP_Geometric

    from hearth_description.robot_model import load_robot_params
    from hearth_eval.bench.stats import summarize_ms
    from hearth_planning.config import GlobalPlannerConfig, cost_params, inflation_radius_m
    from hearth_planning.costmap import Costmap
    from hearth_planning.grid_astar import GridPlanner, warm_up
    from hearth_planning.heuristic import build_landmarks
    from hearth_planning.map_io import load_map
    from hearth_planning.regions import detect_regions

    cfg = GlobalPlannerConfig()  # the node's defaults
    params = cost_params(cfg, inflation_radius_m(cfg, load_robot_params().base))
    occ = load_map(args.map) if args.map else procedural_home(args.seed)
    warm_up()  # numba: compile or load the kernels before timing
    t0 = time.perf_counter()
    costmap = Costmap(occ, params)
    costmap_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    landmarks = build_landmarks(costmap, cfg.heuristic_landmarks)
    landmarks_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    regions = detect_regions(costmap, cfg.region_max_width_m)
    regions_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    mcp = MCP_Geometric(np.where(np.isfinite(costmap.multiplier), costmap.multiplier, -1.0),
                        fully_connected=True)
    mcp_build_s = time.perf_counter() - t0
    pairs = _pairs(costmap, args.pairs, np.random.default_rng(args.seed + 1))
    res = costmap.resolution_m

    ours, octile, peer, replans, expanded, expanded_octile, cost_ratio = ([] for _ in range(7))
    for start, goal in pairs:
        start_xy, goal_xy = costmap.cell_to_world(*start), costmap.cell_to_world(*goal)
        planner = GridPlanner(costmap, landmarks=landmarks)
        t0 = time.perf_counter()
        plan = planner.plan(start_xy, goal_xy)
        ours.append(time.perf_counter() - t0)
        expanded.append(plan.expanded)

        t0 = time.perf_counter()
        plain = GridPlanner(costmap).plan(start_xy, goal_xy)
        octile.append(time.perf_counter() - t0)
        expanded_octile.append(plain.expanded)
        assert abs(plain.grid_cost_m - plan.grid_cost_m) <= 1e-6 * plan.grid_cost_m

        t0 = time.perf_counter()
        cumulative, _ = mcp.find_costs([start], [goal], find_all_ends=False)
        mcp.traceback(goal)
        peer.append(time.perf_counter() - t0)
        cost_ratio.append(plan.grid_cost_m / (float(cumulative[goal]) * res))

        pts = plan.points
        along = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(pts, axis=0).T))))
        i = int(np.searchsorted(along, 1.0))
        if i < len(pts):  # 1 m along the path (on a corner or a segment)
            t = (1.0 - along[i - 1]) / max(along[i] - along[i - 1], 1e-9)
            moved = tuple(pts[i - 1] + t * (pts[i] - pts[i - 1]))
            t0 = time.perf_counter()
            planner.plan(moved, goal_xy)
            replans.append(time.perf_counter() - t0)

    ours_ms, peer_ms, octile_ms = summarize_ms(ours), summarize_ms(peer), summarize_ms(octile)
    ratio = peer_ms["median_ms"] / ours_ms["median_ms"]
    replan_ms = summarize_ms(replans)
    h, w = costmap.shape
    name = args.map or f"procedural home, seed {args.seed}"
    print(f"map: {name}, "
          f"{w} x {h} cells at {res:g} m ({w * h:,} cells), {len(regions)} regions")
    print(f"once per map (not in the figures): costmap {costmap_s * 1e3:.1f} ms, landmarks "
          f"{landmarks_s * 1e3:.1f} ms, region detection {regions_s * 1e3:.1f} ms, "
          f"MCP object {mcp_build_s * 1e3:.1f} ms")
    print(f"ours  (hearth A* + shortcut): median {ours_ms['median_ms']:.2f} ms, "
          f"p95 {ours_ms['p95_ms']:.2f} ms over {len(pairs)} pairs "
          f"(cells expanded: median {int(np.median(expanded))})")
    print(f"ours, octile heuristic only:  median {octile_ms['median_ms']:.2f} ms, "
          f"p95 {octile_ms['p95_ms']:.2f} ms (cells expanded: median "
          f"{int(np.median(expanded_octile))})")
    print(f"peer  (skimage MCP_Geometric): median {peer_ms['median_ms']:.2f} ms, "
          f"p95 {peer_ms['p95_ms']:.2f} ms")
    print(f"ratio peer/ours (median): {ratio:.2f}x; optimal cost ours/peer: "
          f"{min(cost_ratio):.4f}..{max(cost_ratio):.4f}")
    print(f"replan from 1 m along (search tree resumed): median {replan_ms.get('median_ms')} ms, "
          f"p95 {replan_ms.get('p95_ms')} ms")
    print(f"goal: median <= {GOAL_MEDIAN_MS:g} ms and faster than the peer")
    return {
        "what": "ms per global plan (hearth_planning GridPlanner.plan: checks, A*, shortcut) "
                "on a 25x25 m home at 0.05 m, vs scikit-image MCP_Geometric on the same "
                "costmap; random start/goal pairs, one core",
        "map": args.map or f"procedural_home(seed={args.seed})",
        "cells": int(w * h),
        "pairs": len(pairs),
        "ours": ours_ms,
        "peer_skimage_mcp": peer_ms,
        "ratio_peer_over_ours": round(ratio, 3),
        "ours_octile_only": octile_ms,
        "expanded_median_octile_only": int(np.median(expanded_octile)),
        "landmarks_build_ms": round(landmarks_s * 1e3, 2),
        "replan_resumed": replan_ms,
        "expanded_median": int(np.median(expanded)),
        "cost_ours_over_peer": {"min": round(min(cost_ratio), 5),
                                "max": round(max(cost_ratio), 5)},
        "costmap_build_ms": round(costmap_s * 1e3, 2),
        "region_detection_ms": round(regions_s * 1e3, 2),
        "regions": len(regions),
        "goal_median_ms": GOAL_MEDIAN_MS,
        "goal_met": ours_ms["median_ms"] <= GOAL_MEDIAN_MS and ratio > 1.0,
    }
