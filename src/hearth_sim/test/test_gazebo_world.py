"""The Gazebo Harmonic world of a home (hearth_sim.gazebo.sdf_world), checked statically:
well-formed SDF with one world, the systems the robot's sensors need, the lights, and one
model per wall piece, closed door, piece of furniture, rug and threshold where the home
description puts them, under a ceiling. Each shipped home (maps/*/home.yaml) is checked,
and a home built here.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hearth_sim.gazebo.sdf_world import home_to_sdf, main, model_name
from hearth_sim.home import geometry
from hearth_sim.home.model import (
    Door,
    Furniture,
    Home,
    Light,
    Pose2,
    Rug,
    Threshold,
    Wall,
    Window,
)

MAPS = Path(__file__).resolve().parents[3] / "maps"
SHIPPED = sorted(MAPS.glob("*/home.yaml"))


def built_home() -> Home:
    """Two rooms (4 x 3 m) with a doorway, a closed door, a window and one of every kind of
    element; one light off."""
    walls = (
        Wall("south", (0.0, 0.0), (8.0, 0.0), thickness_m=0.2),
        Wall("east", (8.0, 0.0), (8.0, 3.0), thickness_m=0.2),
        Wall("north", (8.0, 3.0), (0.0, 3.0), thickness_m=0.2, texture="brick:1"),
        Wall("west", (0.0, 3.0), (0.0, 0.0), thickness_m=0.2),
        Wall("middle", (4.0, 0.0), (4.0, 3.0)),
    )
    return Home(
        name="two rooms",  # a space: not a valid SDF name as it is
        walls=walls,
        doors=(Door("between", (4.0, 1.5), width_m=0.9),
               Door("front", (0.0, 1.5), width_m=0.9, closed=True)),
        windows=(Window("view", (6.0, 3.0), width_m=1.2),),
        furniture=(Furniture("sofa", "box", (2.0, 2.4), (1.8, 0.8, 0.8), yaw_rad=0.3),
                   Furniture("table", "cylinder", (6.0, 1.5), (0.9, 0.9, 0.75)),
                   Furniture("shelf", "box", (7.7, 1.5), (0.3, 1.0, 0.4), elevation_m=1.2)),
        rugs=(Rug("rug", (2.0, 1.2), (2.0, 1.4), yaw_rad=0.1, friction=0.45, slip=0.05),),
        thresholds=(Threshold("sill", (4.0, 1.5), 0.12, 0.9, 0.02),),
        lights=(Light("lamp_w", (2.0, 1.5, 2.4), intensity=0.8),
                Light("lamp_e", (6.0, 1.5, 2.4), on=False)),
        robot_start=Pose2(2.0, 1.0, 0.0),
    )


def _homes() -> list:
    homes = [pytest.param("built", id="built")]
    homes += [pytest.param(path, id=path.parent.name) for path in SHIPPED]
    return homes


@pytest.fixture(params=_homes(), scope="module")
def home(request) -> Home:
    if request.param == "built":
        return built_home()
    from hearth_sim.home.loader import load_home

    return load_home(request.param)


@pytest.fixture(scope="module")
def sdf(home) -> str:
    return home_to_sdf(home)


@pytest.fixture(scope="module")
def world(sdf) -> ET.Element:
    root = ET.fromstring(sdf)  # raises on XML that is not well formed
    assert root.tag == "sdf"
    (world,) = root.findall("world")
    return world


def _models(world: ET.Element) -> dict[str, ET.Element]:
    return {m.get("name"): m for m in world.findall("model")}


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split()]


def _pose(model: ET.Element) -> list[float]:
    return _floats(model.findtext("pose"))


def _geometry(model: ET.Element, part: str) -> ET.Element:
    (geom,) = model.findall(f"link/{part}/geometry")
    return geom


# --------------------------------------------------------------------------- structure


def test_the_world_is_well_formed_sdf_with_one_named_world(sdf, world):
    root = ET.fromstring(sdf)
    assert root.get("version") in ("1.9", "1.10")
    assert len(root) == 1
    assert re.fullmatch(r"[A-Za-z0-9_]+", world.get("name"))
    names = [el.get("name") for el in world if el.tag in ("model", "light")]
    assert len(names) == len(set(names)), "model and light names are unique"


def test_no_number_is_nan_or_infinite(sdf):
    assert not re.search(r"\b(nan|inf|infinity)\b", sdf, flags=re.IGNORECASE)
    for text in re.findall(r">([^<>]+)<", sdf):
        for token in text.split():
            try:
                value = float(token)
            except ValueError:
                continue
            assert math.isfinite(value)


def test_physics_steps_1_ms_and_the_world_has_the_systems_sensors_need(world):
    (physics,) = world.findall("physics")
    assert float(physics.findtext("max_step_size")) == 0.001
    assert _floats(world.findtext("gravity"))[2] < -9.8
    systems = {p.get("filename"): p for p in world.findall("plugin")}
    assert {name: p.get("name") for name, p in systems.items()} == {
        "gz-sim-physics-system": "gz::sim::systems::Physics",
        "gz-sim-user-commands-system": "gz::sim::systems::UserCommands",
        "gz-sim-scene-broadcaster-system": "gz::sim::systems::SceneBroadcaster",
        "gz-sim-sensors-system": "gz::sim::systems::Sensors",
        "gz-sim-imu-system": "gz::sim::systems::Imu",
    }
    assert systems["gz-sim-sensors-system"].findtext("render_engine") == "ogre2"
    assert world.find("scene/ambient") is not None


def test_the_sun_and_every_ceiling_light(world, home):
    lights = {el.get("name"): el for el in world.findall("light")}
    assert lights.pop("sun").get("type") == "directional"
    assert set(lights) == {model_name("light", light.name) for light in home.lights}
    for light in home.lights:
        el = lights[model_name("light", light.name)]
        assert el.get("type") == "point"
        assert _floats(el.findtext("pose"))[:3] == pytest.approx(light.position_m)
        diffuse = _floats(el.findtext("diffuse"))[:3]
        if light.on and light.intensity > 0.0:
            assert max(diffuse) > 0.0
        else:
            assert diffuse == [0.0, 0.0, 0.0]
        assert float(el.findtext("attenuation/range")) > 0.0


def test_a_ground_plane_under_the_whole_home(world, home):
    ground = _models(world)["ground_plane"]
    assert ground.findtext("static") == "true"
    plane = _geometry(ground, "collision").find("plane")
    assert _floats(plane.findtext("normal")) == [0.0, 0.0, 1.0]
    xmin, ymin, xmax, ymax = geometry.bounds(home)
    sx, sy = _floats(_geometry(ground, "visual").findtext("plane/size"))
    cx, cy = _pose(ground)[:2]
    assert cx - sx / 2 <= xmin and cx + sx / 2 >= xmax
    assert cy - sy / 2 <= ymin and cy + sy / 2 >= ymax


def test_a_ceiling_on_the_tallest_wall_over_the_whole_home(world, home):
    ceiling = _models(world)["ceiling"]
    sx, sy, sz = _floats(_geometry(ceiling, "collision").findtext("box/size"))
    x, y, z = _pose(ceiling)[:3]
    xmin, ymin, xmax, ymax = geometry.bounds(home)
    assert (x - sx / 2, y - sy / 2, x + sx / 2, y + sy / 2) == pytest.approx(
        (xmin, ymin, xmax, ymax))
    assert z - sz / 2 == pytest.approx(max(b.top_m for b in geometry.wall_pieces(home)))
    assert "ceiling" not in _models(ET.fromstring(home_to_sdf(home, ceiling=False))[0])


# --------------------------------------------------------------------------- the home's parts


def _assert_box_model(models, kind: str, box: geometry.Box) -> None:
    model = models[model_name(kind, box.name)]
    assert model.findtext("static") == "true"
    pose = _pose(model)
    assert pose[:3] == pytest.approx(box.center_m)
    assert pose[3:5] == [0.0, 0.0] and pose[5] == pytest.approx(box.yaw_rad)
    for part in ("collision", "visual"):
        assert _floats(_geometry(model, part).findtext("box/size")) == pytest.approx(box.size_m)


def test_one_static_model_per_wall_piece(world, home):
    models = _models(world)
    pieces = geometry.wall_pieces(home)
    assert pieces
    for piece in pieces:
        _assert_box_model(models, "wall", piece)
    walls = [name for name in models if name.startswith("wall_")]
    assert len(walls) == len(pieces)


def test_closed_doors_have_panels_and_open_doorways_stay_open(world, home):
    models = _models(world)
    panels = geometry.door_panels(home)
    assert {p.name for p in panels} == {d.name for d in home.doors if d.closed}
    for panel in panels:
        _assert_box_model(models, "door", panel)
    assert len([n for n in models if n.startswith("door_")]) == len(panels)


def test_furniture_stands_where_the_home_puts_it(world, home):
    models = _models(world)
    for f in home.furniture:
        model = models[model_name("furniture", f.name)]
        assert model.findtext("static") == "true"
        pose = _pose(model)
        assert pose[:3] == pytest.approx(
            [f.center_m[0], f.center_m[1], f.elevation_m + f.size_m[2] / 2.0])
        assert pose[5] == pytest.approx(f.yaw_rad)
        geom = _geometry(model, "collision")
        if f.shape == "box":
            assert _floats(geom.findtext("box/size")) == pytest.approx(f.size_m)
        else:
            assert float(geom.findtext("cylinder/radius")) == pytest.approx(f.size_m[0] / 2)
            assert float(geom.findtext("cylinder/length")) == pytest.approx(f.size_m[2])
        assert model.find("link/visual/material/diffuse") is not None


def test_rugs_are_thin_boxes_with_their_friction(world, home):
    models = _models(world)
    for r in home.rugs:
        model = models[model_name("rug", r.name)]
        assert _pose(model)[2] == pytest.approx(r.thickness_m / 2.0)
        assert _floats(_geometry(model, "collision").findtext("box/size")) == pytest.approx(
            [r.size_m[0], r.size_m[1], r.thickness_m])
        friction = model.find("link/collision/surface/friction/ode")
        assert float(friction.findtext("mu")) == pytest.approx(r.friction)
        assert float(friction.findtext("mu2")) == pytest.approx(r.friction)


def test_thresholds_are_bumps_on_the_floor(world, home):
    models = _models(world)
    for t in home.thresholds:
        model = models[model_name("threshold", t.name)]
        pose = _pose(model)
        assert pose[2] == pytest.approx(t.height_m / 2.0) and pose[5] == pytest.approx(t.yaw_rad)
        assert _floats(_geometry(model, "collision").findtext("box/size")) == pytest.approx(
            [t.length_m, t.width_m, t.height_m])


def test_nothing_else_is_in_the_world(world, home):
    expected = {"ground_plane", "ceiling"}
    expected |= {model_name("wall", b.name) for b in geometry.wall_pieces(home)}
    expected |= {model_name("door", b.name) for b in geometry.door_panels(home)}
    expected |= {model_name("furniture", f.name) for f in home.furniture}
    expected |= {model_name("rug", r.name) for r in home.rugs}
    expected |= {model_name("threshold", t.name) for t in home.thresholds}
    assert set(_models(world)) == expected


def test_the_world_is_deterministic(home, sdf):
    assert home_to_sdf(home) == sdf


# --------------------------------------------------------------------------- details


def test_model_names_are_safe_sdf_names():
    assert model_name("wall", "hall_s#living.lintel") == "wall_hall_s_living_lintel"
    assert model_name("light", "lamp 1") == "light_lamp_1"


def test_a_non_finite_number_is_refused():
    home = built_home()
    bad = Home(name="bad", walls=home.walls,
               lights=(Light("lamp", (1.0, float("nan"), 2.4)),))
    with pytest.raises(ValueError, match="finite"):
        home_to_sdf(bad)


# --------------------------------------------------------------------------- command line


@pytest.mark.skipif(not SHIPPED, reason="no maps/*/home.yaml shipped yet")
def test_the_command_line_writes_the_world_atomically(tmp_path, capsys):
    from hearth_sim.home.loader import load_home

    path = SHIPPED[0]
    out = tmp_path / "gz" / "world.sdf"
    assert main([str(path), "-o", str(out)]) == 0
    assert out.read_text() == home_to_sdf(load_home(path))
    assert [p.name for p in out.parent.iterdir()] == ["world.sdf"]  # no temporary left over
    assert "x:=" in capsys.readouterr().err  # tells the robot's start pose
    assert main([str(path), "-o", str(out), "--no-ceiling"]) == 0
    assert out.read_text() == home_to_sdf(load_home(path), ceiling=False)


def test_the_command_line_names_a_bad_home_file(tmp_path, capsys):
    bad = tmp_path / "home.yaml"
    bad.write_text("name: x\nwalls:\n  - {name: w, start_m: [0, 0], end_m: [0, 0]}\n")
    assert main([str(bad), "-o", str(tmp_path / "w.sdf")]) == 1
    assert str(bad) in capsys.readouterr().err
    assert not (tmp_path / "w.sdf").exists()
