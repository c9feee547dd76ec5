"""Navigability memory: a door seen closed costs more, one seen open again costs less, a door
the map shows open is never forbidden, and the memory survives restarts (or a corrupt file)."""

import json
import math

import numpy as np
import pytest
from planning_maps import door_or_corridor_home

from hearth_planning.costmap import Costmap, CostParams
from hearth_planning.grid_astar import GridPlanner
from hearth_planning.map_io import OccupancyMap
from hearth_planning.navigability import (
    MemoryFileError,
    MemoryParams,
    NavigabilityMemory,
)
from hearth_planning.regions import Region, detect_regions

ROBOT_M = 0.185
HOUR = 3600.0
T0 = 1_760_000_000.0  # a Monday morning, Unix seconds
START, GOAL = (2.5, 3.5), (7.5, 3.5)  # one in each room of door_or_corridor_home()


def _home():
    costmap = Costmap(door_or_corridor_home(), CostParams(ROBOT_M))
    memory = NavigabilityMemory(MemoryParams())  # the node's defaults
    (door,) = memory.merge_detected(detect_regions(costmap, max_width_m=1.1))
    return costmap, memory, door


def _plan(costmap, memory, t):
    penalty = memory.penalty_layer(costmap, memory.penalties_m(t))
    return GridPlanner(costmap, penalty).plan(START, GOAL)


def _through_door(result):
    """True when the path goes through the door (x = 5 m, y < 2 m) rather than round by the
    corridor (y > 5 m)."""
    return float(np.max(result.points[:, 1])) < 4.5


def test_a_door_seen_closed_five_times_in_a_day_is_avoided_until_seen_open_again():
    costmap, memory, door = _home()
    assert _through_door(_plan(costmap, memory, T0))  # never observed: the short way

    for k in range(5):  # closed five times over the day
        assert memory.observe(door.id, False, T0 + k * 6 * HOUR, "map")
    day1 = T0 + 24 * HOUR
    assert memory.p_passable(door.id, day1) < 0.35
    around = _plan(costmap, memory, day1)
    assert not _through_door(around)  # the longer, open route
    assert around.length_m > _plan(costmap, NavigabilityMemory(), day1).length_m + 3.0

    for k in range(5):  # then seen open five times over the next day
        memory.observe(door.id, True, day1 + 6 * HOUR + k * 4.5 * HOUR, "traversed")
    day2 = T0 + 48 * HOUR
    assert memory.p_passable(door.id, day2) > 0.6
    assert _through_door(_plan(costmap, memory, day2))  # back through the door


def test_a_door_the_map_shows_open_is_never_forbidden():
    grid = door_or_corridor_home().data.copy()
    grid[99:102, :] = 100  # the corridor's wall without its openings: the door is the only way
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(ROBOT_M))
    memory = NavigabilityMemory()
    (door,) = memory.merge_detected(detect_regions(costmap, max_width_m=1.1))
    for k in range(100):
        memory.observe(door.id, False, T0 + k * HOUR, "blocked")
    assert memory.penalty_m(door.id, T0 + 100 * HOUR) <= MemoryParams().closed_penalty_m
    assert _through_door(_plan(costmap, memory, T0 + 100 * HOUR))


def test_the_estimate_decays_back_to_the_prior():
    memory = NavigabilityMemory(MemoryParams(half_life_h=24.0, prior_passable=0.9))
    memory.add_configured(Region("door", "configured", (0.0, 0.0), 0.0, 0.3, 0.5))
    assert memory.p_passable("door", T0) == pytest.approx(0.9)
    memory.observe("door", False, T0, "map")
    just_after = memory.p_passable("door", T0)
    a_month_later = memory.p_passable("door", T0 + 30 * 24 * HOUR)
    assert just_after == pytest.approx(1.8 / 3.0)  # prior 1.8 : 0.2, plus one closed
    assert just_after < a_month_later < 0.9 and a_month_later == pytest.approx(0.9, abs=1e-3)
    assert memory.penalty_m("door", T0) == pytest.approx(10.0 * (1 - just_after))


def test_a_repeated_state_is_recorded_only_after_the_interval_a_change_at_once():
    memory = NavigabilityMemory(MemoryParams(observation_interval_s=300.0))
    memory.add_configured(Region("door", "configured", (0.0, 0.0), 0.0, 0.3, 0.5))
    assert memory.observe("door", True, T0, "map")
    assert not memory.observe("door", True, T0 + 60.0, "map")  # /map republished: same state
    assert memory.observe("door", False, T0 + 61.0, "map")  # it closed: recorded at once
    assert memory.observe("door", False, T0 + 400.0, "map")
    assert len(memory.entries["door"].observations) == 3
    with pytest.raises(ValueError, match="source"):
        memory.observe("door", True, T0, "guess")


def test_a_region_detected_again_is_not_added_twice_and_configured_ones_keep_their_history():
    costmap, memory, door = _home()
    assert memory.merge_detected(detect_regions(costmap, max_width_m=1.1)) == []
    memory.observe(door.id, False, T0, "map")
    moved = Region(door.id, "configured", door.centre_xy_m, door.yaw_rad, 0.4, 0.6)
    memory.add_configured(moved)
    assert memory.entries[door.id].source == "configured"
    assert len(memory.entries[door.id].observations) == 1


# -- the file --------------------------------------------------------------------------------


def test_the_memory_round_trips_through_its_file(tmp_path):
    _costmap, memory, door = _home()
    memory.home = "flat"
    memory.observe(door.id, False, T0, "map")
    memory.observe(door.id, True, T0 + HOUR, "traversed")
    path = tmp_path / "homes" / "flat.json"
    memory.save(path, saved_unix_s=T0 + 2 * HOUR)
    assert [p.name for p in path.parent.iterdir()] == ["flat.json"]  # no temp file left
    doc = json.loads(path.read_text())
    assert doc["format"] == "hearth_navigability_memory" and doc["version"] == 1
    back = NavigabilityMemory.load(path)
    assert back.home == "flat"
    assert back.regions == memory.regions
    assert back.p_passable(door.id, T0 + 5 * HOUR) == memory.p_passable(door.id, T0 + 5 * HOUR)
    memory.observe(door.id, False, T0 + 3 * HOUR, "blocked")
    memory.save(path, saved_unix_s=T0 + 3 * HOUR)  # replaces the file whole
    assert len(NavigabilityMemory.load(path).entries[door.id].observations) == 3


def _valid_doc():
    return {
        "format": "hearth_navigability_memory",
        "version": 1,
        "home": "flat",
        "saved_unix_s": T0,
        "regions": [
            {
                "id": "door",
                "kind": "doorway",
                "source": "detected",
                "centre_xy_m": [1.0, 2.0],
                "yaw_rad": 0.0,
                "half_length_m": 0.3,
                "half_width_m": 0.5,
                "observations": [{"t_unix_s": T0, "passable": False, "source": "map"}],
            }
        ],
    }


def _broken(change):
    doc = _valid_doc()
    change(doc)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "is not valid JSON (line 1"),
        ("[]", "expected a JSON object"),
        (_broken(lambda d: d.update(format="other")), "'format'"),
        (_broken(lambda d: d.update(version=7)), "'version' 7 is not supported"),
        (_broken(lambda d: d.update(regions={})), "'regions' must be a list"),
        (_broken(lambda d: d["regions"][0].pop("half_width_m")), "missing key 'half_width_m'"),
        (_broken(lambda d: d["regions"][0].update(half_width_m=-1)), "positive"),
        (_broken(lambda d: d["regions"][0].update(centre_xy_m=[1])), "'centre_xy_m'"),
        (_broken(lambda d: d["regions"][0].update(kind="window")), "bad 'kind'"),
        (_broken(lambda d: d["regions"].append(d["regions"][0])), "unique"),
        (
            _broken(lambda d: d["regions"][0]["observations"][0].update(passable="yes")),
            "observations[0]",
        ),
        (_broken(lambda d: d["regions"][0]["observations"][0].update(t_unix_s=math.nan)),
         "observations[0]"),
    ],
)
def test_a_corrupt_memory_file_gives_a_clear_error(tmp_path, text, words):
    path = tmp_path / "flat.json"
    path.write_text(text)
    with pytest.raises(MemoryFileError) as err:
        NavigabilityMemory.load(path)
    assert words in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_the_valid_document_of_the_corrupt_file_tests_loads(tmp_path):
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(_valid_doc()))
    assert NavigabilityMemory.load(path).p_passable("door", T0) < 0.95


def test_bad_memory_parameters_are_rejected():
    with pytest.raises(ValueError, match="prior_passable"):
        MemoryParams(prior_passable=1.0)
    with pytest.raises(ValueError, match="half_life_h"):
        MemoryParams(half_life_h=0.0)
