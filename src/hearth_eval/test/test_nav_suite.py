"""The navigation scenario suite (``./hearth eval nav``): its scenarios are data that load
and validate, a bad file is refused with one line naming the file and the key, the metrics
mean what their definitions say on synthetic runs, and the quick suite, run as CI runs it,
succeeds without a contact for hearth as designed (variant a)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from hearth_eval.nav_metrics import (
    LegBound,
    aggregate,
    bootstrap_mean,
    episode_metrics,
    paired_difference,
    wilson_interval,
)
from hearth_eval.nav_route import GlobalRoute, free_space_lower_bound, home_map, trapezoid_time_s
from hearth_eval.nav_scenario import (
    load_nav_scenario,
    load_suite,
    nav_dir,
    nav_scenario_from_dict,
)
from hearth_eval.planner_loop import GoalLeg, LoopResult
from hearth_eval.run_metrics import Contact, Episode, GoalRun
from hearth_eval.scenario import ScenarioError

SCENARIOS = sorted(p for p in nav_dir().glob("*.yaml") if p.name != "suites.yaml")
MINIMAL = {"home": "apartment", "start": [3.0, 4.0, 0.0],
           "goals": [{"name": "east", "pose": [8.6, 4.0, 0.0]}]}


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


# ----------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_file_loads_and_fits_its_home(path):
    nav = load_nav_scenario(path)
    assert nav.name == path.stem and nav.base.goals
    assert nav.people_count <= 5


def test_the_full_suite_has_30_episodes_in_two_homes_with_crowds_and_clutter():
    full = load_suite("full")
    navs = {e.scenario: load_nav_scenario(e.path, check_home=False) for e in full.episodes}
    assert len(full.episodes) >= 30
    assert {n.home for n in navs.values()} >= {"apartment", "house"}
    crowded = [e for e in full.episodes if navs[e.scenario].people_count >= 3]
    assert len(crowded) >= 15  # 3-5 people in corridors, doorways, rooms
    assert any(n.clutter and n.clutter_mapped for n in navs.values())
    assert any(n.clutter and not n.clutter_mapped for n in navs.values())
    assert any(n.base.latency_s for n in navs.values())
    assert any(n.base.lighting.dim_at_s is not None for n in navs.values())
    assert any(len(n.base.goals) > 1 for n in navs.values())
    assert {n.people_model for n in navs.values()} >= {"social_force", "scripted"}


def test_the_quick_suite_is_three_short_episodes():
    quick = load_suite("quick")
    assert len(quick.episodes) == 3
    for e in quick.episodes:
        assert load_nav_scenario(e.path, check_home=False).base.duration_s <= 20.0


def test_a_seed_draws_the_agents_start_and_speed_within_their_ranges():
    from hearth_eval.nav_scenario import draw_agents

    nav = load_nav_scenario("apartment_hall_crowd")
    a = draw_agents(nav.with_seed(1))
    assert a == draw_agents(nav.with_seed(1))  # deterministic
    assert a != draw_agents(nav.with_seed(2))
    for (_route, start, speed), agent in zip(a, nav.agents, strict=True):
        assert agent.start_s[0] <= start <= agent.start_s[1]
        assert agent.speed_mps[0] <= speed <= agent.speed_mps[1]


@pytest.mark.parametrize("change, message", [
    ({"people": {"agents": [{"route": [[9.0, 4.0]]}]}}, "'people.agents[0].route'"),
    ({"people": {"agents": [{"route": [[9.0, 4.0], [3.0, 4.0]], "speed_mps": 7}]}},
     "'people.agents[0].speed_mps': must lie in [0.1, 2.5]"),
    ({"people": {"agents": [{"route": [[9.0, 4.0], [3.0, 4.0]], "pace": 1}]}},
     "unknown key(s) pace"),
    ({"people": {"model": "scripted", "count": 2}}, "'people.count'"),
    ({"people": {"model": "crowd"}}, "'people.model': must be one of"),
    ({"people": {"model": "none", "agents": [{"route": [[9, 4], [3, 4]]}]}},
     "'people.agents': model none"),
    ({"clutter": {"pieces": [{"shape": "pyramid", "center_m": [5, 4], "size_m": [.3, .3, .3]}]}},
     "'clutter.pieces[0].shape'"),
    ({"clutter": {"pieces": [{"center_m": [5, 4], "size_m": [0.3, 0.3]}]}},
     "'clutter.pieces[0].size_m'"),
    ({"clutter": {"hidden": True}}, "'clutter': unknown key(s) hidden"),
    ({"disturbances": {"schedule": ["10 lift 1 1 0"]}}, "event 'lift' is not run"),
    ({"latency": {"tof": -0.1}}, "'latency.tof'"),
    ({"start": [1, 2]}, "'start'"),
])
def test_malformed_suite_scenarios_are_refused_naming_the_key(tmp_path, change, message):
    with pytest.raises(ScenarioError) as err:
        load_nav_scenario(write(tmp_path, {**MINIMAL, **change}), check_home=False)
    assert message in str(err.value) and "scenario.yaml" in str(err.value)


@pytest.mark.parametrize("change, message", [
    ({"people": {"agents": [{"route": [[9.0, 4.0], [6.5, 3.4]]}]}},
     "'people.agents[0].route[1]'"),  # in the hallway's wall
    ({"clutter": {"pieces": [{"center_m": [3.0, 4.0], "size_m": [0.4, 0.4, 0.4]}]}},
     "robot_start (3.00, 4.00) is inside obstacle 'clutter_0'"),  # the robot in the box
    ({"clutter": {"pieces": [{"name": "sofa", "center_m": [6, 4], "size_m": [.3, .3, .3]}]}},
     "is a piece of the home"),
    ({"goals": [{"pose": [6.5, 3.4, 0.0]}]}, "'goals[0]"),  # in the hallway's wall
    ({"home": "castle"}, "'home'"),
])
def test_scenarios_are_checked_against_the_home_its_map_and_the_clutter(tmp_path, change,
                                                                      message):
    with pytest.raises(ScenarioError) as err:
        load_nav_scenario(write(tmp_path, {**MINIMAL, **change}))
    assert message in str(err.value)


def test_a_missing_or_corrupt_file_is_one_clear_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_nav_scenario(tmp_path / "nowhere.yaml")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_nav_scenario(write(tmp_path, "home: [apartment"))
    with pytest.raises(ScenarioError, match="a mapping of keys"):
        nav_scenario_from_dict([1, 2], "x.yaml")


def test_suites_file_errors_name_the_suite_and_entry(tmp_path):
    suites = tmp_path / "suites.yaml"
    suites.write_text(yaml.safe_dump({"quick": [{"scenario": "no_such_scenario"}]}))
    with pytest.raises(ScenarioError, match=r"'quick\[0\].scenario': no scenario file"):
        load_suite("quick", suites)
    with pytest.raises(ScenarioError, match="no suite 'nightly'"):
        load_suite("nightly", suites)
    suites.write_text(yaml.safe_dump({"quick": [{"scenario": "quick_house_doorway",
                                                 "seeds": [1, -2]}]}))
    with pytest.raises(ScenarioError, match=r"'quick\[0\].seeds'"):
        load_suite("quick", suites)


# ----------------------------------------------------------------------------- people


def test_routed_social_force_people_wait_walk_their_route_then_walk_on():
    from hearth_eval.nav_people import PersonRoute, RoutedSocialForceCrowd
    from hearth_sim.home import geometry
    from hearth_sim.home.loader import resolve_home

    home = resolve_home("apartment")
    routes = [PersonRoute(((9.4, 4.0), (5.25, 4.0), (5.25, 6.4)), start_s=2.0, speed_mps=1.2)]
    crowd = RoutedSocialForceCrowd(geometry.obstacle_segments(home), home.rooms, routes, 1,
                                   seed=3, robot_radius_m=0.175, robot_start_xy_m=(2.0, 4.0))
    t, xy = 0.0, []
    for _ in range(int(20.0 / 0.04)):
        crowd.step(t, 0.04, np.array([2.0, 4.0]), np.zeros(2))
        t += 0.04
        xy.append(crowd.positions_m[0].copy())
    xy = np.asarray(xy)
    assert np.allclose(xy[: int(1.9 / 0.04)], (9.4, 4.0))  # waits for its start
    at_end = np.hypot(*(xy - (5.25, 6.4)).T) < 0.7  # (people stop about 0.6 m short)
    first = int(np.argmax(at_end))
    assert at_end.any() and xy[:first, 0].min() > 4.8  # turned at the bathroom door
    assert not at_end[-1]  # then walked on to another room


# ----------------------------------------------------------------------------- route


def test_the_global_path_runs_from_start_to_goal_and_the_bound_is_shorter():
    grid = home_map("apartment")
    path = GlobalRoute(grid, 0.175).plan((3.0, 4.0), (8.3, 6.0))
    assert np.allclose(path[0], (3.0, 4.0)) and np.allclose(path[-1], (8.3, 6.0))
    length = float(np.sum(np.hypot(*np.diff(path, axis=0).T)))
    lb = free_space_lower_bound(GlobalRoute(grid, 0.175, shortest=True), (3.0, 4.0),
                                (8.3, 6.0), 1.0, 1.0)
    assert 5.3 < lb.length_m <= length  # no shorter than the straight line, no longer
    assert lb.time_s == pytest.approx(trapezoid_time_s(lb.length_m, 1.0, 1.0))


def test_a_blocked_report_counts_against_the_doorway_ahead_as_the_node_counts_it():
    route = GlobalRoute(home_map("apartment"), 0.175, memory=True)
    path = route.plan((3.0, 4.0), (8.3, 6.0))  # along the hallway, into the study
    region = route.report_blocked(path, (7.6, 4.0), 10.0)
    assert region is not None and region.startswith("doorway@8.23,4.60")
    (obs,) = route.memory.entries[region].observations
    assert (obs.passable, obs.source) == (False, "blocked")
    # The study's door is the only way in: a penalty, not a wall.
    again = route.plan((7.6, 4.0), (8.3, 6.0))
    assert np.allclose(again[-1], (8.3, 6.0))
    assert GlobalRoute(home_map("apartment"), 0.175).report_blocked(path, (7.6, 4.0), 10.0) \
        is None  # no memory: nothing to count against


def test_trapezoid_time_is_cruise_plus_ramps_or_a_triangle():
    assert trapezoid_time_s(5.0, 1.0, 1.0) == pytest.approx(6.0)  # 1 s up, 4 s cruise, 1 s down
    assert trapezoid_time_s(0.25, 1.0, 1.0) == pytest.approx(1.0)  # never reaches 1 m/s
    assert trapezoid_time_s(0.0, 1.0, 1.0) == 0.0


# ----------------------------------------------------------------------------- metrics


def synthetic_run(v_mps: float = 0.5, duration_s: float = 10.0, person_at=None,
                  contacts=(), reached: bool = True) -> LoopResult:
    """A robot driving straight along +x at ``v_mps`` from (0, 0) for ``duration_s``."""
    t = np.arange(0.0, duration_s + 1e-9, 0.02)
    x = v_mps * t
    ep = Episode(robot_radius_m=0.2, truth_t_s=t,
                 truth_pose=np.column_stack([x, np.zeros_like(t), np.zeros_like(t)]),
                 truth_v_mps=np.full_like(t, v_mps), truth_w_radps=np.zeros_like(t),
                 cycle_t_s=t[::5], cycle_ms=np.linspace(1.0, 20.0, len(t[::5])),
                 contacts=list(contacts),
                 goals=[GoalRun("g", float(x[-1]), 0.0, 0.0,
                                float(t[-1]) if reached else None,
                                "reached" if reached else "timeout")])
    if person_at is not None:
        ep.people_t_s = t
        ep.people_xy = np.broadcast_to(np.asarray(person_at, float), (len(t), 1, 2)).copy()
        ep.people_radius_m = np.full((len(t), 1), 0.3)
    leg = GoalLeg("g", (float(x[-1]), 0.0), (0.0, 0.0), 0.0, np.zeros((2, 2)),
                  t_reached_s=float(t[-1]) if reached else None,
                  t_arrived_s=float(t[-1]) if reached else None, t_end_s=float(t[-1]),
                  status="reached" if reached else "timeout")
    return LoopResult(reached, float(t[-1]) if reached else math.inf, 0, 0, 0, 0, math.inf,
                      legs=[leg], episode=ep)


def test_episode_metrics_on_a_steady_straight_drive():
    m = episode_metrics(synthetic_run(0.5, 10.0), [LegBound(4.0, 5.0)])
    assert m["success"] and m["goals_reached"] == 1
    assert m["time_s"] == pytest.approx(10.0) and m["time_ratio"] == pytest.approx(2.0)
    assert m["path_length_m"] == pytest.approx(5.0) and m["path_ratio"] == pytest.approx(1.25)
    assert m["jerk_linear_rms_mps3"] == pytest.approx(0.0, abs=1e-9)
    assert m["jerk_angular_rms_radps3"] == pytest.approx(0.0, abs=1e-9)
    assert m["planner_cycle_p95_ms"] == pytest.approx(np.percentile(
        np.linspace(1.0, 20.0, 101), 95))
    assert m["min_clearance_people_m"] is None  # nobody about: no distance
    assert m["collisions_people"] == m["collisions_objects"] == 0
    assert m["ate_rms_m"] is None  # not measured in the suite (V-SLAM is not in the loop)


def test_distance_to_people_is_body_to_body_and_time_inside_half_a_metre_counts():
    # the robot (r 0.2) passes a person (r 0.3) standing 0.8 m beside its line at x = 2.5:
    # the gap is 0.3 m at the closest; |x - 2.5| < sqrt(1.0**2 - 0.8**2) = 0.6 m inside 0.5 m
    m = episode_metrics(synthetic_run(0.5, 10.0, person_at=(2.5, 0.8)), [LegBound(5.0, 6.0)])
    assert m["min_clearance_people_m"] == pytest.approx(0.3, abs=1e-3)
    assert m["time_within_0_5_m_s"] == pytest.approx(1.2 / 0.5, abs=0.05)


def test_collisions_split_people_and_objects_and_a_flickering_contact_counts_once():
    from hearth_eval.run_metrics import merge_contacts

    touches = merge_contacts([Contact(2.0, 2.1, "person_0", "person", 50.0),
                              Contact(2.15, 2.3, "person_0", "person", 60.0),  # flicker
                              Contact(5.0, 5.2, "furniture/sofa", "furniture", 30.0)])
    m = episode_metrics(synthetic_run(contacts=touches), [LegBound(5.0, 6.0)])
    assert m["collisions_people"] == 1 and m["collisions_objects"] == 1


def test_a_failed_episode_has_no_time_ratio():
    m = episode_metrics(synthetic_run(reached=False), [LegBound(5.0, 6.0)])
    assert not m["success"] and m["time_ratio"] is None and m["path_ratio"] is None


def test_aggregates_give_rates_with_wilson_intervals_and_bootstrapped_means():
    rows = [{"success": k < 9, "collisions_people": int(k == 0), "collisions_objects": 0,
             "time_ratio": 1.0 + 0.1 * k, "scenario": "s", "seed": k} for k in range(10)]
    agg = aggregate(rows)
    assert agg["success"].value == pytest.approx(90.0)
    lo, hi = wilson_interval(9, 10)
    assert agg["success"].lo == pytest.approx(100 * lo) and agg["success"].hi == pytest.approx(
        100 * hi)
    assert agg["collisions_people"].value == pytest.approx(1.0)  # a total
    est = agg["time_ratio"]
    assert est.value == pytest.approx(1.45) and est.lo < 1.45 < est.hi and est.n == 10
    assert agg["ate_rms_m"].value is None


def test_wilson_interval_and_bootstrap_behave_at_the_edges():
    lo, hi = wilson_interval(10, 10)
    assert hi == pytest.approx(1.0) and 0.6 < lo < 0.8  # all ten succeed: not certainty
    assert bootstrap_mean(np.array([2.0])).lo is None  # one value: no interval
    assert bootstrap_mean(np.array([None, 1.0, 3.0], dtype=object)).value == pytest.approx(2.0)


def test_paired_difference_compares_the_same_episodes():
    a = [{"scenario": "s", "seed": k, "time_ratio": 1.0} for k in range(5)]
    b = [{"scenario": "s", "seed": k, "time_ratio": 1.2} for k in range(4)]  # one missing
    d = paired_difference(a, b, "time_ratio")
    assert d.value == pytest.approx(-0.2) and d.n == 4


def test_replayed_people_walk_in_the_room_the_scenario_names(tmp_path):
    data = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "eth-ucy-pedestrians"
    recording = data / "all_data" / "biwi_hotel.txt"
    if not recording.is_file():
        pytest.skip("shared ETH/UCY data absent")
    from hearth_eval.nav_scenario import make_crowd

    nav = load_nav_scenario(write(tmp_path, {**MINIMAL, "people": {
        "model": "replay", "replay_file": str(recording), "replay_room": "living_room",
        "replay_max": 4}}))
    crowd = make_crowd(nav, 0.175)
    assert len(crowd) == 4 and nav.people_count == 4


def test_the_command_refuses_an_unknown_suite_or_variant(capsys):
    from hearth_eval import nav_suite

    assert nav_suite.main(["--suite", "nightly"]) == 2
    assert "no suite 'nightly'" in capsys.readouterr().err
    assert nav_suite.main(["--variants", "a,z"]) == 2
    assert "unknown variant(s) z" in capsys.readouterr().err


# ----------------------------------------------------------------------------- quick suite


def test_quick_suite_variant_a_reaches_every_goal_without_a_contact(tmp_path, capsys):
    """What CI runs: ``./hearth eval nav --suite quick`` for hearth as designed."""
    from hearth_eval import nav_suite

    rc = nav_suite.main(["--suite", "quick", "--variants", "a", "--out", str(tmp_path)])
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])  # JSON on the last line
    assert rc == 0 and summary["errors"] == 0
    assert any(line.startswith("a hearth") for line in out)  # the table's row
    results = json.loads((tmp_path / "results.json").read_text())
    runs = results["runs"]
    assert len(runs) == 3 and {r["variant"] for r in runs} == {"a"}
    for r in runs:
        where = f"{r['scenario']} seed {r['seed']}"
        assert r["success"], f"{where}: {r['status']}"
        assert r["collisions_people"] == 0 and r["collisions_objects"] == 0, (
            f"{where}: contact with {r['contacts']}")
        assert r["time_ratio"] >= 0.9  # the lower bound is one
        assert r["fusion_drift_percent"] is not None and r["ate_rms_m"] is None
        assert all(t is not None for t in r["crossed_at_s"].values())  # over the runner
    assert any(r["crossed_at_s"] for r in runs)
    # the table again from results.json, without running
    assert nav_suite.main(["--from-results", str(tmp_path / "results.json")]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == summary
    (tmp_path / "broken.json").write_text("{")
    assert nav_suite.main(["--from-results", str(tmp_path / "broken.json")]) == 2
    assert "not a results.json" in capsys.readouterr().err


def test_an_interrupted_suite_keeps_the_runs_done_and_compares_whole_episodes(
        tmp_path, capsys, monkeypatch):
    # Ctrl-C an hour into the full suite must not lose the hour: the runs done are written,
    # and the table compares the variants on the episodes they all finished. The episode
    # runner is replaced by a quick stand-in here; the quick suite's test runs real ones.
    from hearth_eval import nav_suite

    calls = []

    def run(task):
        nav, key, _ = task
        calls.append(key)
        if len(calls) == 4:
            raise KeyboardInterrupt  # during the fourth run
        return {"scenario": nav.name, "seed": nav.base.seed, "variant": key,
                "home": nav.home, "crowded": False, "success": True, "status": "reached",
                "collisions_people": 0, "collisions_objects": 0, "time_s": 10.0,
                "lower_bound_s": 5.0, "time_ratio": 1.5 if key == "a" else 2.0, "wall_s": 0.1}

    monkeypatch.setattr(nav_suite, "_run_task", run)
    rc = nav_suite.main(["--suite", "quick", "--variants", "a,b", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert rc == 0
    assert "interrupted: 3 of 6 runs done" in captured.err
    assert "INTERRUPTED: 3 of 6 runs done" in captured.out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["interrupted"] and results["runs_expected"] == 6
    assert len(results["runs"]) == 3
    # the second episode has (a) only: it is left out of the comparison
    assert results["aggregates"]["a"]["time_ratio"]["n"] == 1
    assert results["aggregates"]["b"]["time_ratio"]["value"] == 2.0


def test_planner_seeds_run_every_episode_once_per_seed_and_pair_them(tmp_path, capsys,
                                                                      monkeypatch):
    # --planner-seeds N: each episode with the planner's sampling seeds 0..N-1, each run its
    # own episode in the comparisons (a stand-in runner: what matters is the bookkeeping).
    from hearth_eval import nav_suite

    def run(task):
        nav, key, planner_seed = task
        ratio = {"a": 1.5, "b": 2.0}[key] + planner_seed  # seed 1 is slower for both
        return {"scenario": nav.name, "seed": nav.base.seed, "planner_seed": planner_seed,
                "variant": key, "home": nav.home, "crowded": True, "success": True,
                "status": "reached", "collisions_people": 0, "collisions_objects": 0,
                "time_s": 10.0, "lower_bound_s": 5.0, "time_ratio": ratio, "wall_s": 0.1}

    monkeypatch.setattr(nav_suite, "_run_task", run)
    assert nav_suite.main(["--suite", "quick", "--variants", "a,b", "--planner-seeds", "2",
                           "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "with 2 planner seeds" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["planner_seeds"] == 2 and len(results["runs"]) == 12
    assert sorted({r["planner_seed"] for r in results["runs"]}) == [0, 1]
    assert results["aggregates"]["a"]["time_ratio"]["n"] == 6
    assert results["aggregates"]["a"]["time_ratio"]["value"] == pytest.approx(2.0)
    # paired seed by seed: a is 0.5 faster in every pair
    from hearth_eval.nav_metrics import paired_difference

    rows = results["runs"]
    diff = paired_difference([r for r in rows if r["variant"] == "a"],
                             [r for r in rows if r["variant"] == "b"], "time_ratio")
    assert diff.value == pytest.approx(-0.5) and diff.n == 6
    with pytest.raises(SystemExit) as exited:
        nav_suite.main(["--planner-seeds", "0"])
    assert exited.value.code == 2
    assert "--planner-seeds must be >= 1" in capsys.readouterr().err
