"""Floor plans as map_server maps: the exported maps match their home files, the robot can start
and reach every room, and a home extruded from an occupancy map gives its map back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from hearth_sim.home import export_maps
from hearth_sim.home.loader import HomeError, load_home, resolve_home
from hearth_sim.home.model import Door, Furniture, Home, Pose2, Rug, Threshold, Wall
from hearth_sim.home.occupancy import (
    FREE,
    OCCUPIED,
    UNKNOWN,
    OccupancyRaster,
    home_from_occupancy_map,
    occupied_rectangles,
    rasterize,
    read_map_server,
    write_map_server,
)

WORKSPACE = Path(__file__).resolve().parents[3]
MAPS = WORKSPACE / "maps"
DESIGNED = sorted(p.parent for p in MAPS.glob("*/home.yaml"))
SMALL_HOUSE = WORKSPACE.parent / "shared" / "data" / "home-maps-aws-small-house" / "map.yaml"
ROBOT_RADIUS_M = 0.175


def inflate(raster: OccupancyRaster, radius_m: float) -> np.ndarray:
    """Occupied cells grown by a disc of ``radius_m`` (what the robot's centre cannot reach)."""
    r = radius_m / raster.resolution_m
    n = int(np.ceil(r))
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1]
    return ndimage.binary_dilation(raster.data != FREE, structure=xx**2 + yy**2 <= r * r)


def room_cells(raster: OccupancyRaster, room) -> tuple[slice, slice]:
    r0, c0 = raster.cell_of(*room.min_m)
    r1, c1 = raster.cell_of(*room.max_m)
    return slice(r0, r1 + 1), slice(c0, c1 + 1)


@pytest.mark.parametrize("home_dir", DESIGNED, ids=lambda p: p.name)
def test_exported_map_matches_its_home_file(home_dir):
    assert export_maps.stale_files(home_dir) == [], "run python -m hearth_sim.home.export_maps"
    meta, home = read_map_server(home_dir / "map.yaml"), load_home(home_dir / "home.yaml")
    raster = rasterize(home)
    assert np.array_equal(meta.data, raster.data)
    assert meta.origin_xy_m == pytest.approx(raster.origin_xy_m)
    assert meta.resolution_m == pytest.approx(home.map_resolution_m)


def test_check_mode_reports_a_stale_map(tmp_path, capsys):
    home_dir = tmp_path / "apartment"
    home_dir.mkdir()
    (home_dir / "home.yaml").write_bytes((MAPS / "apartment" / "home.yaml").read_bytes())
    assert export_maps.main(["--maps", str(tmp_path), "--check"]) == 1  # no map yet
    assert export_maps.main(["--maps", str(tmp_path)]) == 0
    assert export_maps.main(["--maps", str(tmp_path), "--check"]) == 0
    assert (home_dir / "map.pgm").read_bytes() == (MAPS / "apartment" / "map.pgm").read_bytes()
    text = (home_dir / "home.yaml").read_text().replace("center_m: [2.0, 2.85]",
                                                        "center_m: [2.2, 2.85]")
    (home_dir / "home.yaml").write_text(text)
    assert export_maps.main(["--maps", str(tmp_path), "--check"]) == 1
    assert "map.pgm: differs from" in capsys.readouterr().err
    assert not list(home_dir.glob(".*.tmp"))  # atomic writes leave no temporary files


@pytest.mark.parametrize("home_dir", DESIGNED, ids=lambda p: p.name)
def test_robot_starts_free_and_reaches_every_room(home_dir):
    home = load_home(home_dir / "home.yaml")
    raster = rasterize(home)
    start = home.robot_start
    assert raster.is_free(start.x_m, start.y_m)
    blocked = inflate(raster, ROBOT_RADIUS_M)
    labels, _ = ndimage.label(~blocked)
    sr, sc = raster.cell_of(start.x_m, start.y_m)
    assert not blocked[sr, sc]
    reachable = labels == labels[sr, sc]
    for room in home.rooms:
        cx, cy = (room.min_m[0] + room.max_m[0]) / 2, (room.min_m[1] + room.max_m[1]) / 2
        assert raster.is_free(cx, cy), f"{room.name}: centre is not free"
        assert reachable[room_cells(raster, room)].any(), f"{room.name} is not reachable"
    # the outside is not: the closed doors and the walls keep the robot in
    assert not reachable[0, :].any() and not reachable[:, 0].any()


def test_a_closed_door_cuts_a_room_off():
    home = load_home(MAPS / "apartment" / "home.yaml")
    doors = tuple(Door(**{**d.__dict__, "closed": True}) if d.name == "study" else d
                  for d in home.doors)
    raster = rasterize(Home(**{**home.__dict__, "doors": doors}))
    blocked = inflate(raster, ROBOT_RADIUS_M)
    labels, _ = ndimage.label(~blocked)
    sr, sc = raster.cell_of(home.robot_start.x_m, home.robot_start.y_m)
    study = next(r for r in home.rooms if r.name == "study")
    assert not (labels[room_cells(raster, study)] == labels[sr, sc]).any()


def test_rasterize_marks_floor_obstacles_only():
    walls = (Wall("s", (0, 0), (4, 0)), Wall("e", (4, 0), (4, 3)),
             Wall("n", (4, 3), (0, 3)), Wall("w", (0, 3), (0, 0)))
    home = Home("t", walls=walls,
                doors=(Door("open", (1.0, 0.0)), Door("shut", (4.0, 1.5), closed=True)),
                furniture=(Furniture("table", "box", (1.0, 2.0), (0.6, 0.6, 0.75)),
                           Furniture("shelf", "box", (3.0, 2.0), (0.6, 0.3, 0.3),
                                     elevation_m=1.5)),
                rugs=(Rug("rug", (2.5, 1.0), (1.0, 1.0)),),
                thresholds=(Threshold("bump", (1.0, 0.0), 0.12, 0.8, 0.02),),
                robot_start=Pose2(2.0, 1.5))
    r = rasterize(home, resolution_m=0.05, margin_m=0.5)
    assert r.data.dtype == np.int8 and set(np.unique(r.data)) <= {FREE, OCCUPIED}
    assert r.origin_xy_m == pytest.approx((-0.55, -0.55))
    assert not r.is_free(2.0, 0.0) and not r.is_free(1.0, 2.0)  # wall, table
    assert r.is_free(1.0, 0.0) and r.is_free(1.0, -0.04)  # the open doorway and its bump
    assert not r.is_free(4.0, 1.5)  # the 4 cm leaf of the closed door still fills its cell
    assert r.is_free(3.0, 2.0) and r.is_free(2.5, 1.0)  # hung shelf, rug
    # row 0 is the lowest y, as in nav_msgs/OccupancyGrid
    row, col = r.cell_of(2.0, 0.0)
    assert r.data[row, col] == OCCUPIED and r.data[row + 4, col] == FREE
    # a 0.1 m wall on the 0.05 m grid is exactly 2 cells thick
    assert (r.data[:, col] == OCCUPIED).sum() == 4  # south and north walls


def test_write_and_read_map_server_round_trip(tmp_path):
    data = np.zeros((4, 6), dtype=np.int8)
    data[0, :] = OCCUPIED
    data[3, 5] = UNKNOWN
    raster = OccupancyRaster(data, (-1.0, 2.5), 0.1)
    paths = write_map_server(raster, tmp_path / "out", name="floor")
    assert [p.name for p in paths] == ["floor.pgm", "floor.yaml"]
    pgm = (tmp_path / "out" / "floor.pgm").read_bytes()
    assert pgm.startswith(b"P5\n")
    pixels = np.frombuffer(pgm[-24:], np.uint8).reshape(4, 6)
    assert (pixels[-1] == 0).all() and pixels[0, 5] == 205 and pixels[1, 1] == 254
    back = read_map_server(tmp_path / "out" / "floor.yaml")
    assert np.array_equal(back.data, data)
    assert back.origin_xy_m == pytest.approx((-1.0, 2.5)) and back.resolution_m == 0.1


def test_read_map_server_honours_negate_and_thresholds(tmp_path):
    pixels = np.array([[0, 100, 255]], dtype=np.uint8)
    (tmp_path / "m.pgm").write_bytes(b"P5\n# c\n3 1\n255\n" + pixels.tobytes())
    (tmp_path / "m.yaml").write_text("image: m.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n"
                                     "negate: 0\noccupied_thresh: 0.65\nfree_thresh: 0.196\n")
    assert read_map_server(tmp_path / "m.yaml").data.tolist() == [[OCCUPIED, UNKNOWN, FREE]]
    (tmp_path / "m.yaml").write_text("image: m.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n"
                                     "negate: 1\noccupied_thresh: 0.65\nfree_thresh: 0.196\n")
    assert read_map_server(tmp_path / "m.yaml").data.tolist() == [[FREE, UNKNOWN, OCCUPIED]]
    (tmp_path / "m.yaml").write_text("image: gone.pgm\nresolution: 0.05\norigin: [0, 0, 0]\n")
    with pytest.raises(HomeError, match=r"gone\.pgm: cannot read"):
        read_map_server(tmp_path / "m.yaml")


def test_occupied_rectangles_cover_exactly():
    rng = np.random.default_rng(3)
    occ = rng.random((40, 50)) < 0.3
    occ[5, 5:30] = True
    occ[10:35, 40] = True
    cover = np.zeros_like(occ, dtype=int)
    rects = occupied_rectangles(occ)
    for r0, c0, r1, c1 in rects:
        cover[r0:r1, c0:c1] += 1
    assert np.array_equal(cover, occ.astype(int))  # disjoint and exact
    assert len(rects) < occ.sum()


def test_home_from_a_small_occupancy_map(tmp_path):
    data = np.zeros((40, 60), dtype=np.int8)
    data[[0, -1], :] = OCCUPIED
    data[:, [0, -1]] = OCCUPIED
    data[:, 30] = OCCUPIED
    data[18:24, 30] = FREE  # a doorway
    data[0:2, 0:2] = UNKNOWN
    write_map_server(OccupancyRaster(data, (-1.5, -1.0), 0.05), tmp_path)
    home = home_from_occupancy_map(tmp_path / "map.yaml", "tiny")
    assert home.name == "tiny" and home.rooms == () and home.doors == ()
    assert all(not w.extend_ends for w in home.walls)
    assert len(home.walls) <= 8
    raster = rasterize(home, resolution_m=0.05, margin_m=0.0)
    assert raster.is_free(home.robot_start.x_m, home.robot_start.y_m)
    occ = np.zeros(data.shape, dtype=bool)
    r0, c0 = (round((raster.origin_xy_m[1] + 1.0) / 0.05),
              round((raster.origin_xy_m[0] + 1.5) / 0.05))
    occ[r0:r0 + raster.data.shape[0], c0:c0 + raster.data.shape[1]] = raster.data == OCCUPIED
    assert np.array_equal(occ, data == OCCUPIED)


def test_small_house_from_the_shared_aws_map():
    if not SMALL_HOUSE.is_file():
        pytest.skip(f"{SMALL_HOUSE} is absent (shared data)")
    original = read_map_server(SMALL_HOUSE)
    home = home_from_occupancy_map(SMALL_HOUSE, "small_house")
    assert home.rooms == ()
    assert 0 < len(home.walls) < (original.data == OCCUPIED).sum() / 5  # merged, not per cell
    raster = rasterize(home, resolution_m=original.resolution_m)
    # place the raster into the original's grid
    res = original.resolution_m
    r0 = round((raster.origin_xy_m[1] - original.origin_xy_m[1]) / res)
    c0 = round((raster.origin_xy_m[0] - original.origin_xy_m[0]) / res)
    assert r0 >= 0 and c0 >= 0
    rebuilt = np.zeros(original.data.shape, dtype=bool)
    rows, cols = raster.data.shape
    rebuilt[r0:r0 + rows, c0:c0 + cols] = (raster.data == OCCUPIED)[
        :original.data.shape[0] - r0, :original.data.shape[1] - c0]
    wanted = original.data == OCCUPIED
    iou = (rebuilt & wanted).sum() / (rebuilt | wanted).sum()
    assert iou > 0.95
    # robot_start: free in the original and in the rebuilt raster, clear of walls
    start = home.robot_start
    assert original.is_free(start.x_m, start.y_m)
    assert raster.is_free(start.x_m, start.y_m)
    assert not inflate(original, ROBOT_RADIUS_M)[original.cell_of(start.x_m, start.y_m)]
    assert resolve_home("small_house") == home
