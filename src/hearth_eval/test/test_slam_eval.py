"""The V-SLAM evaluation's measures: SE(3) alignment, ATE, RPE per metre, the odometry
interpolation and the follower that drives the simulator, on known answers."""

import math

import numpy as np
import pytest

from hearth_eval import eval as eval_cli
from hearth_eval.slam_eval import ate, new_ground_end, rpe, umeyama_se3
from hearth_eval.slam_record import PurePursuit, Recording, load_scenario, odometry_at


def _pose(x, y, yaw):
    T = np.eye(4)
    T[:2, :2] = [[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]]
    T[:2, 3] = x, y
    return T


def _square_lap(n=80, side_m=4.0):
    s = np.linspace(0.0, 4 * side_m, n, endpoint=False)
    out = []
    for d in s:
        k, r = divmod(d, side_m)
        x, y = [(r, 0.0), (side_m, r), (side_m - r, side_m), (0.0, side_m - r)][int(k)]
        out.append(_pose(x, y, k * math.pi / 2))
    return np.array(out)


def test_the_command_is_registered():
    assert "slam" in eval_cli.COMMANDS and "slam_frontend" in eval_cli.COMMANDS


def test_umeyama_recovers_a_rigid_motion_and_ate_is_zero_after_it():
    truth = _square_lap()
    moved = np.array([_pose(1.5, -2.0, 0.7) @ T for T in truth])
    R, t = umeyama_se3(moved[:, :3, 3], truth[:, :3, 3])
    assert moved[:, :3, 3] @ R.T + t == pytest.approx(truth[:, :3, 3], abs=1e-9)
    result = ate(moved, truth)
    assert result["rmse_m"] == pytest.approx(0.0, abs=1e-9)
    assert result["unaligned_rmse_m"] > 1.0  # the map frame was off


def test_rpe_per_metre_of_a_trajectory_two_percent_too_long():
    truth = _square_lap()
    scaled = truth.copy()
    scaled[:, :3, 3] *= 1.02
    r = rpe(scaled, truth, 1.0)
    # 2 % of the displacement; a stretch round a corner is shorter than its path
    assert 1.85 < r["translation_pct"] <= 2.0
    assert r["rotation_deg_per_m"] == pytest.approx(0.0, abs=1e-6)


def test_new_ground_ends_where_the_drive_starts_its_second_lap():
    lap = _square_lap(n=80)  # 16 m, one pose per 0.2 m, 1 s apart
    two = np.concatenate([lap, lap])
    t_s = np.arange(len(two), dtype=float)
    assert new_ground_end(t_s, two) == len(lap) - 1
    # the same square driven the other way round is new ground (a camera looks ahead)
    back = np.array([_pose(T[0, 3], T[1, 3], math.atan2(T[1, 0], T[0, 0]) + math.pi)
                     for T in lap[::-1]])
    assert new_ground_end(t_s, np.concatenate([lap, back])) == len(two) - 1


def test_the_dark_replaces_its_pairs_with_the_illuminator_on_or_off():
    lit = np.full((6, 2, 3), 100, np.uint8)
    rec = Recording({"stereo_left": lit, "stereo_right": lit.copy(),
                     "dark_index": np.array([2, 3, 4]), "dark_left": np.full((3, 2, 3), 30,
                                                                             np.uint8),
                     "dark_right": np.full((3, 2, 3), 30, np.uint8),
                     "black_index": np.array([3, 4]), "black_left": np.zeros((2, 2, 3),
                                                                             np.uint8),
                     "black_right": np.zeros((2, 2, 3), np.uint8)})
    ir = rec.with_darkness()
    assert [int(im.max()) for im in ir["stereo_left"]] == [100, 100, 30, 30, 30, 100]
    black = rec.with_darkness(illuminator=False)
    assert [int(im.max()) for im in black["stereo_right"]] == [100, 100, 30, 0, 0, 100]
    assert rec["stereo_left"].max() == 100  # the lit recording is left as it was
    with pytest.raises(ValueError, match="illuminator off"):
        Recording({k: v for k, v in rec.arrays.items() if not k.startswith("black")}
                  ).with_darkness(illuminator=False)


def test_odometry_is_interpolated_at_the_image_stamps_across_the_yaw_wrap():
    t = np.array([0, 100, 200], dtype=np.int64)
    xyyaw = np.array([[0.0, 0.0, math.pi - 0.1], [1.0, 0.0, -math.pi + 0.1], [2.0, 0.0, 0.0]])
    T = odometry_at(np.array([50]), t, xyyaw)[0]
    assert T[0, 3] == pytest.approx(0.5)
    assert math.atan2(T[1, 0], T[0, 0]) == pytest.approx(math.pi, abs=1e-9) or \
        math.atan2(T[1, 0], T[0, 0]) == pytest.approx(-math.pi, abs=1e-9)


def test_the_follower_turns_towards_the_path_then_drives_it_to_the_end():
    follower = PurePursuit(np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0]]), 0.5, 1.0, 0.35)
    x, y, yaw, dt = 0.0, 0.0, math.pi / 2, 0.02
    v, w, done = follower.command(x, y, yaw)
    assert v == 0.0 and w < 0.0  # facing north, the path goes east: turn right first
    for _ in range(3000):
        v, w, done = follower.command(x, y, yaw)
        if done:
            break
        x, y, yaw = x + v * math.cos(yaw) * dt, y + v * math.sin(yaw) * dt, yaw + w * dt
    assert done and math.hypot(x - 2.0, y - 2.0) < 0.1


def test_the_scenario_file_reads_and_its_quick_variant_is_shorter():
    full, quick = load_scenario(), load_scenario(quick=True)
    assert full.home == "apartment" and len(full.tour.waypoints) > len(quick.tour.waypoints)
    assert full.darkness.dark_s == 20.0 and full.session2.changes == "day2"
