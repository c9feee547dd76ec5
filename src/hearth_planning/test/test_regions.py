"""Doorways and narrow passages, found on the map's distance field and skeleton, and read off
a map as passable or not."""

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from planning_maps import blank, box, two_rooms_with_door

from hearth_planning.costmap import Costmap, CostParams
from hearth_planning.map_io import OccupancyMap, load_map
from hearth_planning.regions import (
    DOORWAY,
    NARROW_PASSAGE,
    Region,
    detect_regions,
    region_ahead,
    region_passable,
)

ROBOT_M = 0.185
HOUSE = Path(__file__).resolve().parents[3] / "maps" / "house"


def test_the_doorway_between_two_rooms_is_the_only_region():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    (door,) = detect_regions(costmap, max_width_m=1.1)  # room corners are not regions
    assert door.kind == DOORWAY
    assert door.centre_xy_m == pytest.approx((3.0, 2.0), abs=0.06)
    assert 2 * door.half_width_m == pytest.approx(1.0, abs=0.12)  # jamb to jamb
    assert abs(math.cos(door.yaw_rad)) == pytest.approx(1.0, abs=1e-6)  # through: along x
    assert region_passable(costmap, door)


def test_a_gap_between_furniture_and_a_wall_is_a_narrow_passage():
    grid = blank(8.0, 4.0)
    box(grid, 2.0, 0.8, 6.0, 4.0)  # a long cabinet, 0.75 m clear of the bottom wall
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(ROBOT_M))
    regions = detect_regions(costmap, max_width_m=1.1)
    assert [r.kind for r in regions] == [NARROW_PASSAGE]
    assert regions[0].centre_xy_m[1] == pytest.approx(0.4, abs=0.1)


def test_the_region_ahead_is_the_first_the_path_crosses_within_range():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    (door,) = detect_regions(costmap, max_width_m=1.1)
    path = np.column_stack([np.linspace(1.0, 5.0, 41), np.full(41, 2.0)])  # through the door
    assert region_ahead([door], path, 2.2, 2.0, range_m=1.5) is door
    assert region_ahead([door], path, 1.0, 2.0, range_m=1.0) is None  # too far ahead
    assert region_ahead([door], path, 4.5, 2.0, range_m=1.5) is None  # already through


def test_a_wide_hallway_is_not_a_region():
    grid = blank(8.0, 1.6)
    costmap = Costmap(OccupancyMap(grid, 0.05), CostParams(ROBOT_M))
    assert detect_regions(costmap, max_width_m=1.1) == []


def test_a_region_is_impassable_once_the_map_shows_the_door_closed():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    (door,) = detect_regions(costmap, max_width_m=1.1)
    closed = Costmap(two_rooms_with_door(door_y_m=(2.0, 2.0)), CostParams(ROBOT_M))
    assert region_passable(closed, door) is False
    half_open = two_rooms_with_door(door_y_m=(1.5, 1.8))  # 0.3 m: too narrow for the robot
    assert region_passable(Costmap(half_open, CostParams(ROBOT_M)), door) is False
    assert detect_regions(closed, max_width_m=1.1) == []  # a closed door is not detected


def test_a_region_off_the_map_is_not_observed():
    costmap = Costmap(two_rooms_with_door(), CostParams(ROBOT_M))
    off = Region("far", "configured", (50.0, 50.0), 0.0, 0.5, 0.5)
    assert region_passable(costmap, off) is None


def test_every_open_door_of_the_house_map_is_found():
    if not (HOUSE / "map.yaml").exists():
        pytest.skip(f"{HOUSE} is absent")
    home = yaml.safe_load((HOUSE / "home.yaml").read_text())
    costmap = Costmap(load_map(HOUSE / "map.yaml"), CostParams(ROBOT_M))
    regions = detect_regions(costmap, max_width_m=1.1)
    centres = np.array([r.centre_xy_m for r in regions])
    for door in home["doors"]:
        d = np.hypot(*(centres - np.array(door["center_m"])).T)
        i = int(np.argmin(d))
        if door.get("closed"):  # (the map's free margin outside the walls has regions)
            indoors = (centres[:, 0] > 0) & (centres[:, 0] < 15) & (centres[:, 1] > 0) & (
                centres[:, 1] < 12
            )
            assert np.all(d[indoors] > 0.5), f"closed door {door['name']} taken for a region"
        elif door["width_m"] < 1.1:
            assert d[i] < 0.1, f"door {door['name']}: nearest region {d[i]:.2f} m away"
            assert regions[i].kind == DOORWAY
            assert 2 * regions[i].half_width_m == pytest.approx(door["width_m"], abs=0.15)
            assert region_passable(costmap, regions[i])


def test_region_geometry():
    r = Region("r", "configured", (1.0, 2.0), math.pi / 2, 0.5, 0.25)  # through it: along +y
    assert r.contains(1.2, 2.4) and not r.contains(1.3, 2.0)
    assert r.distance_m(1.0, 3.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive"):
        Region("r", "configured", (0.0, 0.0), 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        Region("r", "configured", (math.nan, 0.0), 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="kind"):
        Region("r", "window", (0.0, 0.0), 0.0, 1.0, 1.0)
