"""Home geometry: walls split around their openings, closed doors block, open doorways are gaps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hearth_sim.home import geometry as geo
from hearth_sim.home.loader import load_home
from hearth_sim.home.model import Door, Furniture, Home, Rug, Threshold, Wall, Window

WORKSPACE = Path(__file__).resolve().parents[3]
APARTMENT = WORKSPACE / "maps" / "apartment" / "home.yaml"


def box_room(**kw) -> Home:
    """A 4 x 3 m room; a door (open) in the south wall at x = 1, a window at x = 3, a closed
    door in the east wall."""
    walls = (Wall("s", (0.0, 0.0), (4.0, 0.0)), Wall("e", (4.0, 0.0), (4.0, 3.0)),
             Wall("n", (4.0, 3.0), (0.0, 3.0)), Wall("w", (0.0, 3.0), (0.0, 0.0)))
    doors = (Door("d", (1.0, 0.0), width_m=0.8), Door("c", (4.0, 1.5), closed=True))
    windows = (Window("win", (3.0, 0.0), width_m=1.0, sill_m=0.9, top_m=2.1),)
    return Home("t", walls=walls, doors=doors, windows=windows, **kw)


def pieces_named(home: Home) -> dict[str, geo.Box]:
    return {b.name: b for b in geo.wall_pieces(home)}


def test_wall_pieces_leave_door_and_window_openings():
    p = pieces_named(box_room())
    assert set(p) >= {"s#0", "s#d.lintel", "s#1", "s#win.sill", "s#win.top", "s#2",
                      "e#c.lintel"}
    lintel = p["s#d.lintel"]
    assert lintel.center_m[:2] == pytest.approx((1.0, 0.0))
    assert lintel.size_m == pytest.approx((0.8, 0.1, 0.5))  # 2.0 .. 2.5 m above the door
    assert lintel.bottom_m == pytest.approx(2.0) and not lintel.reaches_floor()
    sill, top = p["s#win.sill"], p["s#win.top"]
    assert (sill.bottom_m, sill.top_m) == pytest.approx((0.0, 0.9))
    assert (top.bottom_m, top.top_m) == pytest.approx((2.1, 2.5))
    assert sill.size_m[0] == pytest.approx(1.0) and sill.reaches_floor()
    # the full-height pieces stop at the openings' edges
    assert p["s#0"].center_m[0] + p["s#0"].size_m[0] / 2 == pytest.approx(0.6)
    assert p["s#1"].center_m[0] - p["s#1"].size_m[0] / 2 == pytest.approx(1.4)
    assert p["s#1"].center_m[0] + p["s#1"].size_m[0] / 2 == pytest.approx(2.5)
    assert all(b.texture == "plaster" for b in p.values())


def test_wall_pieces_tile_the_wall_area_less_the_openings():
    home = box_room()
    south = [b for b in geo.wall_pieces(home) if b.name.startswith("s#")]
    area = sum(b.size_m[0] * b.size_m[2] for b in south)
    wall_len = 4.0 + 0.1  # first wall at both corners: extended by half its thickness twice
    assert area == pytest.approx(wall_len * 2.5 - 0.8 * 2.0 - 1.0 * 1.2)


def test_corners_are_closed_once_and_t_junctions_stay_inside():
    home = Home("t", walls=(Wall("s", (0, 0), (4, 0)), Wall("e", (4, 0), (4, 3)),
                            Wall("n", (4, 3), (0, 3)), Wall("w", (0, 3), (0, 0)),
                            Wall("mid", (2, 0), (2, 3))))
    ext = {w.name: geo.wall_extent(home, w) for w in home.walls}
    assert ext["s"] == pytest.approx((-0.05, 4.05))  # first at both its corners
    assert ext["e"] == pytest.approx((0.05, 3.05))  # starts at the south wall's face
    assert ext["w"] == pytest.approx((0.05, 2.95))  # both corners closed by earlier walls
    assert ext["mid"] == pytest.approx((0.0, 3.0))  # T junctions: ends inside the others
    assert geo.bounds(home) == pytest.approx((-0.05, -0.05, 4.05, 3.05))
    # no two wall boxes overlap at a corner (faces there would flicker in a renderer)
    outer = [b.footprint() for b in geo.wall_pieces(home) if not b.name.startswith("mid")]
    for i in range(len(outer)):
        for j in range(i + 1, len(outer)):
            assert not geo.convex_polygons_overlap(outer[i], outer[j])


def test_walls_without_extended_ends_span_exactly_their_end_points():
    home = Home("t", walls=(Wall("a", (0, 0), (1, 0), extend_ends=False),
                            Wall("b", (1, 0), (1, 1), extend_ends=False)))
    assert geo.wall_extent(home, home.walls[0]) == (0.0, 1.0)
    assert geo.wall_extent(home, home.walls[1]) == (0.0, 1.0)


def test_closed_door_has_a_panel_open_door_none():
    panels = geo.door_panels(box_room())
    assert [p.name for p in panels] == ["c"]
    panel = panels[0]
    assert panel.center_m == pytest.approx((4.0, 1.5, 1.0))
    assert panel.size_m == pytest.approx((0.8, geo.DOOR_PANEL_THICKNESS_M, 2.0))
    assert panel.yaw_rad == pytest.approx(math.pi / 2)
    assert panel.texture == "door"


def test_ray_through_open_doorway_is_clear_closed_door_blocks():
    home = box_room()
    segs = geo.obstacle_segments(home)
    assert segs.shape[1] == 4 and len(segs) > 0
    assert not geo.segment_hits(segs, (1.0, -1.0), (1.0, 1.0))  # open door d
    assert geo.segment_hits(segs, (3.0, -1.0), (3.0, 1.0))  # window: the sill reaches the floor
    assert geo.segment_hits(segs, (2.0, -1.0), (2.0, 1.0))  # plain wall
    assert geo.segment_hits(segs, (3.0, 1.5), (5.0, 1.5))  # closed door c
    opened = Home("t", walls=home.walls,
                  doors=(home.doors[0], Door("c", (4.0, 1.5), closed=False)))
    assert not geo.segment_hits(geo.obstacle_segments(opened), (3.0, 1.5), (5.0, 1.5))


def test_apartment_doorways_open_and_closed_at_floor_level():
    home = load_home(APARTMENT)
    segs = geo.obstacle_segments(home)
    doors = {d.name: d for d in home.doors}
    for door in home.doors:
        wall = geo.wall_of(home, door.center_m)
        yaw = geo.wall_yaw(wall)
        nx, ny = -math.sin(yaw), math.cos(yaw)  # across the wall
        cx, cy = door.center_m
        reach = wall.thickness_m / 2 + 0.05
        p = (cx - reach * nx, cy - reach * ny)
        q = (cx + reach * nx, cy + reach * ny)
        assert geo.segment_hits(segs, p, q) == door.closed, door.name
    assert doors["front"].closed


def test_furniture_and_floor_footprints():
    box = Furniture("b", "box", (1.0, 2.0), (2.0, 1.0, 0.5), yaw_rad=math.pi / 2)
    fp = geo.furniture_footprint(box)
    assert fp.shape == (4, 2)
    assert fp.min(axis=0) == pytest.approx((0.5, 1.0))
    assert fp.max(axis=0) == pytest.approx((1.5, 3.0))
    cyl = Furniture("c", "cylinder", (0.0, 0.0), (0.6, 0.6, 1.0))
    poly = geo.furniture_footprint(cyl)
    assert poly.shape == (geo.CYLINDER_SIDES, 2)
    # the polygon covers the circle: its edges are at least the radius from the centre
    assert geo.point_polygon_distance((0.0, 0.0), poly) == pytest.approx(0.3)
    assert np.hypot(*poly.T).max() < 0.31
    rug = Rug("r", (0.0, 0.0), (2.0, 1.0))
    assert geo.rug_footprint(rug).max(axis=0) == pytest.approx((1.0, 0.5))
    bump = Threshold("t", (0.0, 0.0), length_m=0.1, width_m=0.8, height_m=0.02,
                     yaw_rad=math.pi / 2)
    assert geo.threshold_footprint(bump).max(axis=0) == pytest.approx((0.4, 0.05))


def test_only_floor_level_pieces_are_obstacles_and_rugs_never():
    shelf = Furniture("shelf", "box", (2.0, 1.5), (0.5, 0.3, 0.3), elevation_m=1.4)
    table = Furniture("table", "box", (1.0, 1.5), (0.8, 0.8, 0.75))
    home = box_room(furniture=(shelf, table), rugs=(Rug("r", (3.0, 1.5), (1.0, 1.0)),),
                    thresholds=(Threshold("t", (1.0, 0.0), 0.12, 0.8, 0.02, math.pi / 2),))
    names = [name for name, _ in geo.floor_footprints(home)]
    assert "table" in names and "shelf" not in names and "r" not in names
    segs = geo.obstacle_segments(home)
    assert geo.segment_hits(segs, (0.5, 1.5), (1.5, 1.5))  # through the table
    assert not geo.segment_hits(segs, (1.8, 1.5), (3.8, 1.5))  # under the shelf, over the rug
    assert not geo.segment_hits(segs, (1.0, -1.0), (1.0, 1.0))  # over the threshold


def test_wall_of_finds_the_wall_through_a_point():
    home = box_room()
    assert geo.wall_of(home, (1.0, 0.0)).name == "s"
    assert geo.wall_of(home, (1.0, 0.04)).name == "s"  # within half the thickness
    assert geo.wall_of(home, (1.0, 0.2)) is None
    assert geo.wall_of(home, (5.0, 0.0)) is None  # beyond the wall's end
