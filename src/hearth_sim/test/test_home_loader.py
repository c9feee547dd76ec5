"""Home files: every shipped home loads; a corrupt or inconsistent file fails with an error that
names the file, the element and the field; change files apply as asked."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml

from hearth_sim.home import geometry as geo
from hearth_sim.home.loader import (
    HomeError,
    apply_changes,
    changes_from_dict,
    home_from_dict,
    load_changes,
    load_home,
    resolve_home,
)
from hearth_sim.home.model import Home

WORKSPACE = Path(__file__).resolve().parents[3]
MAPS = WORKSPACE / "maps"
SHIPPED = sorted(MAPS.glob("*/home.yaml"))
SRC = "maps/test/home.yaml"


def test_the_designed_homes_are_shipped():
    assert {p.parent.name for p in SHIPPED} >= {"apartment", "house"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_home_loads_and_validates(path):
    home = load_home(path)
    assert isinstance(home, Home)
    assert home.name == path.parent.name
    assert home.walls and home.doors and home.windows and home.furniture
    assert home.rugs and home.thresholds and home.lights and home.rooms
    assert any(d.closed for d in home.doors) and any(not d.closed for d in home.doors)
    assert any(f.movable for f in home.furniture)
    assert any(r.slip > 0 for r in home.rugs)
    assert load_home(path) == home  # deterministic


def test_apartment_as_the_issue_asks():
    home = load_home(MAPS / "apartment" / "home.yaml")
    rooms = {r.name for r in home.rooms}
    assert {"living_room", "kitchen", "bedroom", "bathroom", "hallway"} <= rooms
    xmin, ymin, xmax, ymax = geo.bounds(home)
    assert 9 <= xmax - xmin <= 11 and 7 <= ymax - ymin <= 9
    assert len(home.windows) >= 2
    assert any(0.01 <= t.height_m <= 0.03 for t in home.thresholds)
    # the threshold lies in a doorway
    bump = home.thresholds[0]
    assert any(math.dist(bump.center_m, d.center_m) < 0.05 for d in home.doors)
    start = home.robot_start
    hall = next(r for r in home.rooms if r.name == "hallway")
    assert hall.min_m[0] <= start.x_m <= hall.max_m[0]
    assert hall.min_m[1] <= start.y_m <= hall.max_m[1]
    lights = {light.name for light in home.lights}
    assert len(lights) >= len(home.rooms)


def test_house_as_the_issue_asks():
    home = load_home(MAPS / "house" / "home.yaml")
    xmin, ymin, xmax, ymax = geo.bounds(home)
    assert 14 <= xmax - xmin <= 16 and 11 <= ymax - ymin <= 13
    names = [r.name for r in home.rooms]
    halls = [n for n in names if "hall" in n]
    assert len(halls) == 2 and len(names) - len(halls) >= 7


def test_small_house_is_not_copied_into_the_repo():
    folder = MAPS / "small_house"
    assert (folder / "README.md").is_file()
    assert not (folder / "map.pgm").exists() and not (folder / "home.yaml").exists()


# ---------------------------------------------------------------------------- bad files


def minimal() -> dict:
    """A valid home: a 4 x 3 m room with two doors, a window, a sofa, a rug, a bump, a light."""
    return {
        "name": "test",
        "robot_start": {"x_m": 2.0, "y_m": 1.5, "yaw_deg": 0},
        "walls": [
            {"name": "south", "start_m": [0, 0], "end_m": [4, 0]},
            {"name": "east", "start_m": [4, 0], "end_m": [4, 3]},
            {"name": "north", "start_m": [4, 3], "end_m": [0, 3]},
            {"name": "hall_w", "start_m": [0, 3], "end_m": [0, 0]},
        ],
        "doors": [
            {"name": "front", "center_m": [1.0, 0.0], "closed": True},
            {"name": "bath", "center_m": [4.0, 2.0], "width_m": 0.8},
        ],
        "windows": [{"name": "win", "center_m": [3.0, 0.0], "width_m": 1.0}],
        "furniture": [{"name": "sofa", "shape": "box", "center_m": [1.0, 2.5],
                       "size_m": [1.6, 0.8, 0.8], "movable": True}],
        "rugs": [{"name": "rug", "center_m": [2.0, 1.5], "size_m": [1.0, 1.0], "slip": 0.08}],
        "thresholds": [{"name": "bump", "center_m": [4.0, 2.0], "length_m": 0.12,
                        "width_m": 0.8, "height_m": 0.02}],
        "lights": [{"name": "lamp", "position_m": [2.0, 1.5, 2.4]}],
        "rooms": [{"name": "room", "min_m": [0.05, 0.05], "max_m": [3.95, 2.95]}],
    }


def test_minimal_home_is_valid():
    home = home_from_dict(minimal(), SRC)
    assert len(home.walls) == 4 and home.doors[0].closed
    assert home.robot_start.yaw_rad == 0.0


def bad(mutate) -> str:
    data = copy.deepcopy(minimal())
    mutate(data)
    with pytest.raises(HomeError) as info:
        home_from_dict(data, SRC)
    return str(info.value)


def setitem(path, value):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def test_error_wall_of_zero_length():
    msg = bad(setitem(["walls", 3, "end_m"], [0, 3]))
    assert msg == f"{SRC}: walls[3] 'hall_w': zero length"


def test_error_door_not_in_any_wall():
    msg = bad(setitem(["doors", 1, "center_m"], [3.1, 2.0]))
    assert msg == f"{SRC}: doors[1] 'bath': centre (3.10, 2.00) is not in any wall"


def test_error_opening_too_wide_for_its_wall():
    def mutate(data):
        data["walls"].append({"name": "hall_n", "start_m": [2.0, 3.0], "end_m": [2.0, 2.1]})
        data["doors"][1] = {"name": "bath", "center_m": [2.0, 2.5], "width_m": 1.2}
    msg = bad(mutate)
    assert f"{SRC}: doors[1] 'bath': 1.2 m wide opening does not fit in wall 'hall_n'" in msg
    assert "(0.9 m)" in msg


def test_error_opening_past_the_end_of_its_wall():
    msg = bad(setitem(["doors", 1, "center_m"], [4.0, 2.8]))
    assert msg.startswith(f"{SRC}: doors[1] 'bath': 0.8 m wide opening does not fit in wall "
                          "'east' (3 m)")


def test_error_negative_size():
    msg = bad(setitem(["furniture", 0, "size_m"], [1.6, -0.8, 0.8]))
    assert msg == f"{SRC}: furniture[0] 'sofa': size_m[1]: must be > 0, got -0.8"
    msg = bad(setitem(["walls", 0, "thickness_m"], -0.1))
    assert msg == f"{SRC}: walls[0] 'south': thickness_m: must be > 0, got -0.1"


def test_error_unknown_key():
    msg = bad(setitem(["walls", 1, "thicknes_m"], 0.2))
    assert msg.startswith(f"{SRC}: walls[1] 'east': unknown key 'thicknes_m'")
    msg = bad(setitem(["furnitures"], []))
    assert msg.startswith(f"{SRC}: unknown key 'furnitures'")


def test_error_missing_required_field():
    def mutate(data):
        del data["furniture"][0]["shape"]
    assert bad(mutate) == f"{SRC}: furniture[0] 'sofa': missing required field 'shape'"

    def no_walls(data):
        del data["walls"]
    assert bad(no_walls) == f"{SRC}: missing required field 'walls'"


def test_error_nan_and_wrong_types():
    msg = bad(setitem(["lights", 0, "position_m"], [2.0, float("nan"), 2.4]))
    assert msg == f"{SRC}: lights[0] 'lamp': position_m[1]: not a finite number (nan)"
    msg = bad(setitem(["doors", 0, "closed"], "yes please"))
    assert msg.startswith(f"{SRC}: doors[0] 'front': closed: expected true or false")
    msg = bad(setitem(["walls", 0, "start_m"], [0, 0, 0]))
    assert msg.startswith(f"{SRC}: walls[0] 'south': start_m: expected a list of 2 numbers")


def test_error_duplicate_names():
    def mutate(data):
        data["furniture"].append(dict(data["furniture"][0], center_m=[3.0, 2.5]))
    assert bad(mutate) == (f"{SRC}: furniture[1] 'sofa': duplicate name "
                           "(already used by furniture[0])")

    def across_kinds(data):
        data["rugs"][0]["name"] = "sofa"
    assert "rugs[0] 'sofa': duplicate name" in bad(across_kinds)


def test_error_door_overlapping_another_opening():
    msg = bad(setitem(["windows", 0, "center_m"], [1.5, 0.0]))
    assert msg == f"{SRC}: windows[0] 'win': overlaps opening 'front' in wall 'south'"


def test_error_door_blocked_by_a_crossing_wall():
    def mutate(data):
        data["walls"].append({"name": "partition", "start_m": [1.0, 0.0], "end_m": [1.0, 3.0]})
    assert bad(mutate) == f"{SRC}: doors[0] 'front': opening is blocked by wall 'partition'"


def test_error_rug_slip_outside_unit_interval():
    msg = bad(setitem(["rugs", 0, "slip"], 1.0))
    assert msg == f"{SRC}: rugs[0] 'rug': slip: must be in [0, 1), got 1"
    msg = bad(setitem(["rugs", 0, "slip"], -0.1))
    assert msg == f"{SRC}: rugs[0] 'rug': slip: must be in [0, 1), got -0.1"


def test_error_light_outside_the_walls():
    msg = bad(setitem(["lights", 0, "position_m"], [9.0, 1.5, 2.4]))
    assert msg.startswith(f"{SRC}: lights[0] 'lamp': position_m (9.00, 1.50, 2.40) is outside "
                          "the walls' bounding box")


def test_error_robot_start_inside_an_obstacle():
    msg = bad(setitem(["robot_start"], {"x_m": 1.0, "y_m": 2.5}))
    assert msg.startswith(f"{SRC}: robot_start (1.00, 2.50) is inside obstacle 'sofa'")
    msg = bad(setitem(["robot_start"], {"x_m": 0.1, "y_m": 1.5}))  # too near the west wall
    assert "robot_start (0.10, 1.50) is inside obstacle 'hall_w#0'" in msg


def test_error_other_inconsistencies():
    assert "shape: must be one of box, cylinder" in bad(
        setitem(["furniture", 0, "shape"], "sphere"))
    assert "top_m: must be above sill_m" in bad(setitem(["windows", 0, "top_m"], 0.5))
    assert "height_m: 3 m is above wall 'south'" in bad(setitem(["doors", 0, "height_m"], 3.0))
    assert "yaw_rad or yaw_deg, not both" in bad(setitem(["robot_start", "yaw_rad"], 0.0))
    assert "name: use letters" in bad(setitem(["walls", 0, "name"], "south wall"))


def test_error_unknown_texture():
    pytest.importorskip("cv2")  # hearth_sim.world.textures knows the names
    msg = bad(setitem(["furniture", 0, "texture"], "velvet"))
    assert msg.startswith(f"{SRC}: furniture[0] 'sofa': texture: unknown texture 'velvet'")
    assert "floor_texture: unknown texture" in bad(setitem(["floor_texture"], "lava"))


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "home.yaml"
    data = minimal()
    data["walls"][3]["end_m"] = [0, 3]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(HomeError, match=r"home\.yaml: walls\[3\] 'hall_w': zero length$"):
        load_home(path)
    path.write_text("walls: [\n")
    with pytest.raises(HomeError, match=r"home\.yaml: not valid YAML"):
        load_home(path)
    with pytest.raises(HomeError, match=r"nothing\.yaml: cannot read"):
        load_home(tmp_path / "nothing.yaml")
    # yaml.safe_load: no Python objects from a home file
    path.write_text("!!python/object/apply:os.system ['true']\n")
    with pytest.raises(HomeError, match="not valid YAML"):
        load_home(path)


def test_bare_on_key_of_a_light_is_taken_as_meant(tmp_path):
    text = yaml.safe_dump(minimal()).replace("- name: lamp", "- name: lamp\n  on: false", 1)
    path = tmp_path / "home.yaml"
    path.write_text(text)
    assert load_home(path).lights[0].on is False


# ---------------------------------------------------------------------------- changes


def test_day2_changes_apply():
    home = load_home(MAPS / "apartment" / "home.yaml")
    changes = load_changes(MAPS / "apartment" / "changes" / "day2.yaml")
    after = apply_changes(home, changes)
    before = {f.name: f for f in home.furniture}
    now = {f.name: f for f in after.furniture}
    for move in changes.moved:
        assert now[move.name].center_m == move.center_m
        assert now[move.name].yaw_rad == pytest.approx(move.yaw_rad)
        assert now[move.name].size_m == before[move.name].size_m
        assert before[move.name].center_m != move.center_m
    assert {f.name for f in changes.added} == set(now) - set(before)
    added_kinds = " ".join(f.name for f in changes.added)
    assert "box" in added_kinds and "bag" in added_kinds
    was = {d.name: d.closed for d in home.doors}
    for name in changes.doors_closed:
        assert not was[name]
        assert next(d for d in after.doors if d.name == name).closed
    # everything else stays
    assert after.walls == home.walls and after.rugs == home.rugs
    unmoved = set(before) - {m.name for m in changes.moved}
    assert all(now[n] == before[n] for n in unmoved)


def changed(**kw) -> tuple[Home, object]:
    home = home_from_dict(minimal(), SRC)
    return home, changes_from_dict({"name": "c", **kw}, "changes/c.yaml")


def test_changes_close_open_move_and_add():
    home, ch = changed(moved=[{"name": "sofa", "center_m": [3.0, 2.5], "yaw_deg": 90}],
                       added=[{"name": "box", "shape": "box", "center_m": [3.3, 1.0],
                               "size_m": [0.4, 0.4, 0.4], "movable": True}],
                       doors_closed=["bath"], doors_opened=["front"])
    after = apply_changes(home, ch)
    sofa = next(f for f in after.furniture if f.name == "sofa")
    assert sofa.center_m == (3.0, 2.5) and sofa.yaw_rad == pytest.approx(math.pi / 2)
    assert [f.name for f in after.furniture] == ["sofa", "box"]
    assert {d.name: d.closed for d in after.doors} == {"front": False, "bath": True}
    assert home.doors[0].closed  # the original is untouched (frozen)


def test_changes_refuse_illegal_changes():
    def refused(match, **kw):
        home, ch = changed(**kw)
        with pytest.raises(HomeError, match=match):
            apply_changes(home, ch, source="changes/c.yaml")

    data = minimal()
    data["furniture"][0]["movable"] = False
    fixed = home_from_dict(data, SRC)
    ch = changes_from_dict({"name": "c", "moved": [{"name": "sofa", "center_m": [3, 2]}]})
    with pytest.raises(HomeError, match=r"moved\[0\] 'sofa': is not movable"):
        apply_changes(fixed, ch)
    refused(r"changes/c\.yaml: moved\[0\] 'piano': no furniture of that name",
            moved=[{"name": "piano", "center_m": [1, 1]}])
    refused(r"changes/c\.yaml: doors_closed\[0\] 'cellar': no door of that name",
            doors_closed=["cellar"])
    refused(r"doors_opened\[0\] 'garage': no door of that name", doors_opened=["garage"])
    refused(r"'bath' is both closed and opened", doors_closed=["bath"], doors_opened=["bath"])
    refused(r"changes/c\.yaml: added\[0\] 'rug': name already used in home 'test'",
            added=[{"name": "rug", "shape": "box", "center_m": [3.3, 1.0],
                    "size_m": [0.4, 0.4, 0.4]}])
    refused(r"robot_start \(2\.00, 1\.50\) is inside obstacle 'bag'",
            added=[{"name": "bag", "shape": "cylinder", "center_m": [2.1, 1.5],
                    "size_m": [0.3, 0.3, 0.5]}])


def test_change_file_errors_name_the_field(tmp_path):
    path = tmp_path / "day9.yaml"
    path.write_text("name: day9\nmoved:\n  - {name: sofa, centre_m: [1, 2]}\n")
    with pytest.raises(HomeError, match=r"day9\.yaml: moved\[0\] 'sofa': unknown key 'centre_m'"):
        load_changes(path)
    path.write_text("name: day9\ndoors_close: [bath]\n")
    with pytest.raises(HomeError, match=r"day9\.yaml: unknown key 'doors_close'"):
        load_changes(path)


def test_resolve_home_by_name_and_path():
    assert resolve_home("apartment") == load_home(MAPS / "apartment" / "home.yaml")
    assert resolve_home(MAPS / "house" / "home.yaml").name == "house"
    with pytest.raises(HomeError, match="cannot read"):
        resolve_home("no_such_home")
