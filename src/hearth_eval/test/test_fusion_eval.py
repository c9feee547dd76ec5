"""The fusion evaluation (issue 4, Acceptance): a quick drive on the simulator records and
round-trips; the metrics give known answers on fabricated data; the EuRoC reader parses the
real file (skipped when the shared data is absent)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from hearth_eval.fusion_metrics import (
    NS,
    Trajectory,
    bridged_drift,
    drift_between,
    flag_intervals,
    intervals_from_mask,
    match_detections,
)
from hearth_eval.fusion_record import Recording, load_scenario, workspace_root

# ------------------------------------------------------------------ metrics on known data


def _line(n=101, length=10.0):
    t = np.arange(n, dtype=np.int64) * NS // 10
    x = np.linspace(0.0, length, n)
    return Trajectory(t, np.column_stack([x, np.zeros(n), np.zeros(n)]))


def test_an_estimate_with_a_known_offset_and_heading_error_gives_that_error():
    truth = _line()
    t = truth.t_ns
    # the estimate over-counts distance by 2 %: 0.2 m over 10 m, heading off by 1 deg at the end
    est = Trajectory(t, np.column_stack([truth.xyyaw[:, 0] * 1.02, np.zeros(len(t)),
                                         np.linspace(0.0, math.radians(1.0), len(t))]))
    d = drift_between(est, truth, int(t[0]), int(t[-1]), 10.0)
    assert d.position_error_m == pytest.approx(0.2 * 1.0, abs=0.02)  # ~0.2 m (tiny curvature)
    assert d.heading_error_deg == pytest.approx(1.0, abs=1e-9)
    # a constant offset of the whole estimate is no drift (motion is compared, not frames)
    shifted = Trajectory(t, truth.xyyaw + np.array([5.0, -3.0, 0.0]))
    assert drift_between(shifted, truth, int(t[0]), int(t[-1]), 10.0).position_error_m < 1e-12


def test_the_lift_is_bridged_by_the_true_transform():
    # truth: 5 m east, carried 3 m north (lift), 5 m east again
    t = np.arange(0, 30, dtype=np.int64) * NS
    tx = np.concatenate([np.linspace(0, 5, 10), np.full(5, 5.0), np.linspace(5, 10, 15)])
    ty = np.concatenate([np.zeros(10), np.linspace(0, 3, 5), np.full(15, 3.0)])
    truth = Trajectory(t, np.column_stack([tx, ty, np.zeros(30)]))
    # the estimate: perfect while driving, frozen while held: it never saw the 3 m carry
    ex = np.concatenate([np.linspace(0, 5, 10), np.full(5, 5.0), np.linspace(5, 10, 15)])
    est = Trajectory(t, np.column_stack([ex, np.zeros(30), np.zeros(30)]))
    d = bridged_drift(est, truth, 0, int(t[-1]), 10.0, (int(t[9]), int(t[14])))
    assert d.position_error_m == pytest.approx(0.0, abs=1e-9)
    # a 2 deg heading error made before the lift (at its end: the positions are still
    # right) is carried on: the 3 m carry, bridged in the robot's frame, swings by 2 deg
    est2 = Trajectory(t, np.column_stack([ex, np.zeros(30),
                                          np.r_[np.zeros(9), np.full(21, math.radians(2))]]))
    d2 = bridged_drift(est2, truth, 0, int(t[-1]), 10.0, (int(t[9]), int(t[14])))
    assert d2.heading_error_deg == pytest.approx(2.0)
    assert d2.position_error_m == pytest.approx(3.0 * 2 * math.sin(math.radians(1)), rel=1e-6)


def test_flags_against_intervals_give_the_known_recall_false_alarms_and_latency():
    s = NS
    truth = [(10 * s, 12 * s), (20 * s, 21 * s), (40 * s, 41 * s), (50 * s, 52 * s)]
    flags = [(10 * s + 100_000_000, 13 * s),  # event 1, 0.1 s late
             (20 * s + 500_000_000, 20 * s + 600_000_000),  # event 2, 0.5 s late
             (30 * s, 31 * s),  # nothing there: a false alarm
             (50 * s - 100_000_000, 51 * s)]  # event 4, 0.1 s early (within the slack)
    det = match_detections(truth, flags, 600 * s)
    assert (det.events, det.detected, det.recall) == (4, 3, 0.75)
    assert det.false_alarms == 1 and det.false_alarms_per_10min == pytest.approx(1.0)
    assert det.latency_s[0] == pytest.approx(0.1) and det.latency_s[1] == pytest.approx(0.5)
    assert det.latency_s[2] is None and det.latency_s[3] == pytest.approx(-0.1)
    d = det.to_dict()
    assert d["latency_median_s"] == pytest.approx(0.1) and d["latency_max_s"] == pytest.approx(0.5)


def test_intervals_from_masks_and_flag_observations():
    t = np.arange(10, dtype=np.int64) * 100
    mask = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 1], bool)
    assert intervals_from_mask(t, mask) == [(100, 200), (400, 400), (800, 900)]
    assert intervals_from_mask(t, mask, merge_gap_ns=200) == [(100, 400), (800, 900)]
    assert intervals_from_mask(t, mask, min_duration_ns=100) == [(100, 200), (800, 900)]
    since = [None, 50, 50, None, 350, None, None, None, 780, 780]
    assert flag_intervals(t, mask, since, end_ns=1000) == [(50, 300), (350, 500), (780, 1000)]
    assert flag_intervals(t, mask) == [(100, 300), (400, 500), (800, 900)]


# ------------------------------------------------------------------ the quick drive


@pytest.fixture(scope="module")
def quick_recording(tmp_path_factory):
    pytest.importorskip("mujoco")
    os.environ.setdefault("MUJOCO_GL", "egl")
    from hearth_eval.fusion_record import record_drive

    rec = record_drive(load_scenario(quick=True))
    folder = rec.save(tmp_path_factory.mktemp("fusion") / "run")
    return rec, folder


def test_the_quick_drive_records_every_stream_and_round_trips(quick_recording):
    rec, folder = quick_recording
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "recording.npz"]
    back = Recording.load(folder)
    assert back.arrays.keys() == rec.arrays.keys()
    for k, v in rec.arrays.items():
        assert np.array_equal(back[k], v), k
    assert back.manifest["recording_sha256"] == rec.manifest["recording_sha256"]
    sim_s = rec.manifest["simulated_s"]
    assert len(rec["imu_t_ns"]) == pytest.approx(200 * sim_s, abs=2)
    assert len(rec["wheel_t_ns"]) == pytest.approx(50 * sim_s, abs=2)
    assert len(rec["truth_t_ns"]) == pytest.approx(50 * sim_s, abs=2)
    assert np.all(np.diff(rec["imu_t_ns"]) > 0) and np.all(np.diff(rec["wheel_t_ns"]) > 0)
    seg = rec.manifest["segments"]
    assert seg["lift_ns"] < seg["put_down_ns"] < seg["settled_ns"] <= seg["drive_end_ns"]
    # the sill saturates the IMU, the robot was lifted, and put down where the scenario says
    assert rec["imu_accel_saturated"].any() and rec["truth_lifted"].any()
    put = load_scenario(quick=True).lift.put_down
    k = int(np.searchsorted(rec["truth_t_ns"], seg["settled_ns"])) - 1
    assert rec["truth_pos_m"][k, :2] == pytest.approx(put[:2], abs=0.05)
    # the front end ran on the rendered stereo pairs at 10 Hz, and tracked nearly all of them
    assert len(rec["vo_t_ns"]) == pytest.approx(10 * sim_s, abs=2)
    assert rec["vo_tracked"].mean() > 0.8
    assert np.all(rec["vo_arrival_ns"] > rec["vo_t_ns"])  # after its compute time
    json.dumps(rec.manifest)  # plain JSON


def test_the_evaluation_runs_on_the_quick_recording(quick_recording):
    from hearth_eval.fusion_eval import evaluate

    rec, _ = quick_recording
    res = evaluate(rec, workspace_root(), euroc=False)
    wheel = res["variants"]["wheel_only"]
    assert wheel["drive"]["distance_m"] > 3.0
    assert res["events"]["lift"] == 1 and res["events"]["saturation"] >= 1
    json.dumps(res)
    if "ekf" in res["variants"]:
        ekf = res["variants"]["ekf"]
        assert ekf["detection"]["lift"]["recall"] == 1.0
        assert ekf["moved_while_lifted"]["position_m"] < 0.1  # the pose froze


# ------------------------------------------------------------------ EuRoC


def test_the_euroc_reader_parses_the_real_imu_stream_and_bias_columns():
    from hearth_eval.fusion_euroc import BIAS_FILE, euroc_dir, read_bias_csv, read_imu_csv

    folder = euroc_dir(workspace_root())
    if not (folder / "mav0" / "imu0" / "data.csv").is_file():
        pytest.skip(f"{folder} absent")
    imu = read_imu_csv(folder / "mav0" / "imu0" / "data.csv")
    assert len(imu.t_ns) == 29120 and imu.t_ns[0] == 1403715273262142976
    assert np.all(np.diff(imu.t_ns) > 0)
    assert np.median(np.diff(imu.t_ns)) == pytest.approx(5e6, rel=0.01)  # 200 Hz
    at_rest = imu.accel_mps2[:900].mean(axis=0)
    assert np.linalg.norm(at_rest) == pytest.approx(9.81, abs=0.15)
    assert at_rest[0] > 8.5  # the sensor's x is (roughly) up
    t, bw = read_bias_csv(folder / BIAS_FILE)
    assert bw.shape == (len(t), 3) and np.abs(bw).max() < 0.2
