"""Scenario files: the demo's loads, and every bad input is refused with one clear line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from hearth_eval.scenario import (
    ScenarioError,
    load_scenario,
    scenario_from_dict,
    write_sim_params,
)

WS = Path(__file__).resolve().parents[3]
SIM_YAML = WS / "src" / "hearth_sim" / "config" / "sim.yaml"

MINIMAL = {"home": "apartment", "start": [3.2, 4.0, 0.0],
           "goals": [{"name": "kitchen", "pose": [8.5, 1.2, -90.0]}]}


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_the_demo_is_a_tour_of_four_goals_among_three_people_with_the_lights_dimming():
    s = load_scenario("demo")
    assert s.home == "apartment" and len(s.goals) == 4
    assert s.people.model == "social_force" and s.people.count == 3
    assert {"bathroom_sill", "living_rug"} <= set(s.crosses)  # a bump and a rug
    assert s.lighting.dim_at_s is not None and 0.0 < s.lighting.dim_at_s < s.duration_s
    assert s.lighting.lights_off and "all" not in s.lighting.lights_off  # expanded


def test_sim_parameters_carry_people_seed_start_dimming_and_latency():
    data = {**MINIMAL, "seed": 3, "people": {"count": 2}, "latency": {"tof": 0.05},
            "disturbances": {"schedule": ["20 power low"]},
            "lighting": {"dim_at_s": 10, "lights_off": ["kitchen_light"]}}
    p = scenario_from_dict(data).sim_parameters()
    assert p["seed"] == 3 and p["people"] == 2 and p["people_replay_file"] == ""
    assert p["tof_latency_s"] == 0.05 and p["stereo_latency_s"] == 0.0
    assert p["disturbance_schedule"] == "20 power low; 10 light kitchen_light off"
    x, y, yaw = (float(v) for v in p["start_pose"].split())
    assert (x, y, yaw) == (3.2, 4.0, 0.0)


def test_the_simulator_accepts_what_the_scenario_writes(tmp_path):
    """The merged params file passes hearth_sim's own config validation and schedule parser."""
    from hearth_common.config import load_config, read_params_file
    from hearth_sim.config import SimConfig
    from hearth_sim.disturbances import parse_schedule

    out = write_sim_params(load_scenario("demo"), SIM_YAML, tmp_path / "sim.yaml")
    cfg = load_config(SimConfig, read_params_file(out, "sim"))
    assert cfg.people == 3 and cfg.seed == load_scenario("demo").seed
    events = parse_schedule(cfg.schedule_entries())
    assert {e.kind for e in events} == {"light"}
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically


@pytest.mark.parametrize(("data", "message"), [
    ({**MINIMAL, "goals": []}, "'goals': must be a non-empty list"),
    ({k: v for k, v in MINIMAL.items() if k != "start"}, "'start': missing"),
    ({**MINIMAL, "start": [1.0, 2.0]}, "must be [x_m, y_m, yaw_deg]"),
    ({**MINIMAL, "start": [float("nan"), 4.0, 0.0]}, "'start': must be finite"),
    ({**MINIMAL, "seed": -1}, "'seed': must be an integer >= 0"),
    ({**MINIMAL, "people": {"model": "zombies"}}, "'people.model': must be one of"),
    ({**MINIMAL, "people": {"count": 99}}, "'people.count': must be an integer in [0, 50]"),
    ({**MINIMAL, "people": {"model": "replay"}}, "'people.replay_file': is needed"),
    ({**MINIMAL, "latency": {"lidar": 0.1}}, "'latency': unknown key(s) lidar"),
    ({**MINIMAL, "latency": {"tof": 9.0}}, "'latency.tof': must be <= 5 s"),
    ({**MINIMAL, "disturbances": {"schedule": ["soon lift"]}}, "schedule[0] time"),
    ({**MINIMAL, "disturbances": {"schedule": ["1 dark 2; 3 dark 1"]}}, "must be one event"),
    ({**MINIMAL, "duraton_s": 10}, "unknown key(s) duraton_s"),
    ({**MINIMAL, "goals": [{"name": "x"}]}, "'goals[0]': has no 'pose"),
])
def test_malformed_scenarios_are_refused_naming_the_key(data, message):
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, "s.yaml")
    assert str(err.value).startswith("s.yaml: ")
    assert message in str(err.value)


@pytest.mark.parametrize(("change", "message"), [
    ({"goals": [{"pose": [40.0, 1.0, 0.0]}]}, "goals[0] (goal 1)': (40.00, 1.00) m is outside "
                                              "the map"),
    ({"goals": [{"pose": [2.0, 2.85, 0.0]}]}, "is not on free floor"),  # in the sofa
    ({"goals": [{"pose": [5.4, 1.0, 0.0]}]}, "leaves no room for the robot"),  # by a wall
    ({"start": [5.5, 3.4, 0.0]}, "'start': (5.50, 3.40) m is not on free floor"),  # a wall
    ({"disturbances": {"crosses": ["moat"]}}, "has no threshold or rug 'moat'"),
    ({"lighting": {"dim_at_s": 5, "lights_off": ["disco"]}}, "has no light 'disco'"),
    ({"home": "castle"}, "'home': 'castle'"),
])
def test_scenarios_are_checked_against_their_home_and_its_map(tmp_path, change, message):
    with pytest.raises(ScenarioError, match=r"scenario\.yaml") as err:
        load_scenario(write(tmp_path, {**MINIMAL, **change}))
    assert message in str(err.value)


def test_an_unreadable_or_corrupt_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(write(tmp_path, "home: [unclosed"))
    with pytest.raises(ScenarioError, match="a mapping of keys"):
        load_scenario(write(tmp_path, "- 1\n- 2\n"))


def test_goal_yaw_is_given_in_degrees_and_stored_in_radians():
    s = scenario_from_dict(MINIMAL)
    assert s.goals[0].yaw_rad == pytest.approx(-math.pi / 2)
    assert s.to_dict()["goals"][0]["name"] == "kitchen"
