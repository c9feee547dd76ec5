"""Replaying ETH/UCY pedestrian recordings: the tracks come back within 1 cm, placed by the
rigid transform, at the annotated times and linearly between them; bad files fail naming the
line."""

import math
from pathlib import Path

import numpy as np
import pytest

from hearth_sim.people.crowd import Crowd, check_crowd_state
from hearth_sim.people.replay import ReplayCrowd, ReplayFormatError, read_eth_ucy

DATA = Path(__file__).parents[3] / ".." / "shared" / "data"
HOTEL = DATA / "eth-ucy-pedestrians" / "test" / "hotel" / "biwi_hotel.txt"
CM = 0.01

# frame, id, x, y; tabs and spaces mixed, a blank line, rows out of order
SYNTHETIC = """\
0\t1.0\t0.0\t0.0
10\t1.0\t0.4\t0.0
20  1.0  0.8  0.4

10\t2.0\t3.0\t1.0
30\t2.0\t3.0\t2.0
20\t2.0\t3.0\t1.5
40\t3.0\t-1.0\t-1.0
50\t3.0\t-1.0\t-0.6
"""


def place(xy, origin, yaw):
    c, s = math.cos(yaw), math.sin(yaw)
    xy = np.asarray(xy, dtype=float)
    return np.column_stack([origin[0] + c * xy[..., 0] - s * xy[..., 1],
                            origin[1] + s * xy[..., 0] + c * xy[..., 1]])


def where(crowd, person_id):
    """The row of ``person_id`` now (it must be present)."""
    rows = np.nonzero(crowd.ids == person_id)[0]
    assert len(rows) == 1, (person_id, crowd.ids)
    return rows[0]


@pytest.fixture
def synthetic(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(SYNTHETIC)
    return path


def test_synthetic_tracks_at_and_between_the_annotated_times(synthetic):
    origin, yaw, offset = (2.0, 3.0), math.pi / 2, 5.0
    crowd = ReplayCrowd.from_file(synthetic, origin_xy_m=origin, yaw_rad=yaw,
                                  time_offset_s=offset)
    assert isinstance(crowd, Crowd)
    # person 1 at frame 10 (t = 5.4 s): file (0.4, 0) turned a quarter left, moved to origin
    crowd.sample(offset + 0.4)
    np.testing.assert_allclose(crowd.positions_m[where(crowd, 1)], [2.0, 3.4], atol=1e-12)
    # halfway between frames 10 and 20: file (0.6, 0.2)
    crowd.sample(offset + 0.6)
    np.testing.assert_allclose(crowd.positions_m[where(crowd, 1)], [1.8, 3.6], atol=1e-12)
    # velocity of that segment: file (1, 1) m/s, turned
    np.testing.assert_allclose(crowd.velocities_mps[where(crowd, 1)], [-1.0, 1.0], atol=1e-9)
    # person 2's rows were out of order in the file: sorted by frame. Frame 25: file (3, 1.75)
    crowd.sample(offset + 1.0)
    np.testing.assert_allclose(crowd.positions_m[where(crowd, 2)], [0.25, 6.0], atol=1e-12)
    check_crowd_state(crowd)


def test_people_are_present_from_their_first_to_their_last_frame(synthetic):
    crowd = ReplayCrowd.from_file(synthetic)
    span = {1: (0.0, 0.8), 2: (0.4, 1.2), 3: (1.6, 2.0)}
    for t in np.arange(-0.4, 2.5, 0.05):
        crowd.sample(t)
        check_crowd_state(crowd)
        expected = {pid for pid, (a, b) in span.items() if a - 1e-9 <= t <= b + 1e-9}
        assert set(crowd.ids[crowd.present].tolist()) == expected, t
    # absent rows: no id, NaN
    crowd.sample(-1.0)
    assert not np.any(crowd.present)
    assert np.all(crowd.ids == -1) and np.all(np.isnan(crowd.positions_m))
    # the first and last frames themselves count
    crowd.sample(0.8)
    np.testing.assert_allclose(crowd.positions_m[where(crowd, 1)], [0.8, 0.4], atol=1e-12)


def test_rows_are_reused_once_a_person_has_left(synthetic):
    crowd = ReplayCrowd.from_file(synthetic)
    # three people, never more than two at once
    assert len(crowd) == 2
    np.testing.assert_array_equal(crowd.person_ids, [1, 2, 3])
    crowd.sample(0.6)
    row_of_1 = where(crowd, 1)
    crowd.sample(1.8)
    assert where(crowd, 3) == row_of_1


def test_step_moves_to_the_end_of_the_step_and_ignores_the_robot(synthetic):
    crowd = ReplayCrowd.from_file(synthetic, time_offset_s=1.0)
    assert crowd.time_s == 0.0 and not np.any(crowd.present)
    crowd.step(1.0, 0.2, np.array([0.2, 0.0]), np.array([1.0, 0.0]))
    assert crowd.time_s == pytest.approx(1.2)
    np.testing.assert_allclose(crowd.positions_m[where(crowd, 1)], [0.2, 0.0], atol=1e-12)


def test_choosing_people(synthetic):
    only = ReplayCrowd.from_file(synthetic, ids=[3, 1])
    np.testing.assert_array_equal(only.person_ids, [1, 3])
    first_two = ReplayCrowd.from_file(synthetic, max_people=2)
    np.testing.assert_array_equal(first_two.person_ids, [1, 2])
    with pytest.raises(ValueError, match=r"no pedestrian with id \[7\]"):
        ReplayCrowd.from_file(synthetic, ids=[1, 7])
    # the time base is the file's first frame whatever is kept
    late = ReplayCrowd.from_file(synthetic, ids=[3])
    assert late.time_span_s == pytest.approx((1.6, 2.0))


@pytest.mark.parametrize(("line", "message"), [
    ("10\t1.0\t0.4", r":3: expected 4 fields 'frame id x y', got 3"),
    ("10\t1.0\t0.4\t0.0\t7", r":3: expected 4 fields 'frame id x y', got 5"),
    ("10\t1.0\tabc\t0.0", r":3: field 'x' is not a number: 'abc'"),
    ("10\t1.0\t0.4\tnan", r":3: field 'y' must be finite, got 'nan'"),
    ("10\tinf\t0.4\t0.0", r":3: field 'id' must be finite"),
    ("10\t1.5\t0.4\t0.0", r":3: field 'id' must be a whole number"),
    ("10.5\t1.0\t0.4\t0.0", r":3: field 'frame' must be a whole number"),
    ("0\t1.0\t0.4\t0.0", r":3: pedestrian 1 appears twice in frame 0 \(first on line 1\)"),
])
def test_a_malformed_line_is_named(tmp_path, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(f"0\t1.0\t0.0\t0.0\n\n{line}\n20\t1.0\t0.8\t0.4\n")
    with pytest.raises(ReplayFormatError, match=message) as err:
        ReplayCrowd.from_file(path)
    assert str(path) in str(err.value)


def test_an_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n# nothing\n")
    with pytest.raises(ReplayFormatError, match="no annotations"):
        read_eth_ucy(path)


# ---------------------------------------------------------------- the real recording


@pytest.fixture(scope="module")
def hotel():
    if not HOTEL.is_file():
        pytest.skip(f"{HOTEL} is absent (../shared/data is not here)")
    rows = np.loadtxt(HOTEL)  # an independent reader: frame, id, x, y
    return rows


ORIGIN, YAW, OFFSET = (3.0, -1.5), 0.7, 12.0


def test_the_hotel_recording_is_reproduced_at_every_annotation(hotel):
    crowd = ReplayCrowd.from_file(HOTEL, origin_xy_m=ORIGIN, yaw_rad=YAW, time_offset_s=OFFSET)
    assert len(crowd.person_ids) == len(np.unique(hotel[:, 1]))
    expected = place(hotel[:, 2:4], ORIGIN, YAW)
    frame0 = hotel[:, 0].min()
    worst = 0.0
    for frame in np.unique(hotel[:, 0]):
        crowd.sample(OFFSET + (frame - frame0) * 0.04)
        rows = np.nonzero(hotel[:, 0] == frame)[0]
        for r in rows:
            got = crowd.positions_m[where(crowd, int(hotel[r, 1]))]
            worst = max(worst, float(np.linalg.norm(got - expected[r])))
    assert worst < CM
    print(f"FIGURE ETH/UCY hotel replay: worst error at the annotations {worst * 100:.4f} cm "
          f"over {len(hotel)} annotations")


def test_the_hotel_recording_is_interpolated_linearly_between_annotations(hotel):
    crowd = ReplayCrowd.from_file(HOTEL, origin_xy_m=ORIGIN, yaw_rad=YAW, time_offset_s=OFFSET)
    frame0 = hotel[:, 0].min()
    checks: dict[float, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    for pid in np.unique(hotel[:, 1]):
        rows = hotel[hotel[:, 1] == pid]
        rows = rows[np.argsort(rows[:, 0])]
        xy = place(rows[:, 2:4], ORIGIN, YAW)
        t = OFFSET + (rows[:, 0] - frame0) * 0.04
        for k in range(len(rows) - 1):
            for frac in (0.25, 0.5):
                tq = t[k] + frac * (t[k + 1] - t[k])
                v = (xy[k + 1] - xy[k]) / (t[k + 1] - t[k])
                checks.setdefault(round(tq, 6), []).append(
                    (int(pid), xy[k] + frac * (xy[k + 1] - xy[k]), v))
    worst_p = worst_v = 0.0
    for tq, items in checks.items():
        crowd.sample(tq)
        for pid, p, v in items:
            row = where(crowd, pid)
            worst_p = max(worst_p, float(np.linalg.norm(crowd.positions_m[row] - p)))
            worst_v = max(worst_v, float(np.linalg.norm(crowd.velocities_mps[row] - v)))
    assert worst_p < CM
    assert worst_v < 1e-3
    assert len(checks) > 1000


def test_the_hotel_recording_fits_a_handful_of_rows(hotel):
    crowd = ReplayCrowd.from_file(HOTEL)
    assert len(crowd) < 30  # 389 people, never many at once
    start, end = crowd.time_span_s
    assert start == 0.0 and end == pytest.approx((hotel[:, 0].max() - hotel[:, 0].min()) * 0.04)
    for t in np.arange(start, end, 7.3):
        crowd.step(t, 0.05, np.zeros(2), np.zeros(2))
        check_crowd_state(crowd)
