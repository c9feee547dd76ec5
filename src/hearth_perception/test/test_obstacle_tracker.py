"""The tracker: a CV Kalman filter per track, Hungarian association with a Mahalanobis gate,
tentative births confirmed after M hits, deaths after T s unseen, ids never reused."""

import numpy as np
import pytest

from hearth_perception.obstacle_tracker import ObstacleTracker, TrackerParams

RATE_HZ = 15.0


def run(tracker, walkers, duration_s, t0=0.0, noise_m=0.03, seed=0, drop=None):
    """Feed detections of ``walkers`` [(p0, v)] with position noise at 15 Hz."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * RATE_HZ)
    for k in range(1, n + 1):
        t = t0 + k / RATE_HZ
        det = [np.asarray(p0) + np.asarray(v) * t for p0, v in walkers]
        det = np.array(det).reshape(-1, 2) + rng.normal(0.0, noise_m, (len(det), 2))
        if drop is not None:
            det = det[~drop(t, det)]
        tracker.update(t, det, np.full(len(det), 0.25))
    return t0 + n / RATE_HZ


def test_a_walking_person_becomes_one_track_with_their_velocity():
    tr = ObstacleTracker()
    run(tr, [((1.0, -1.0), (0.0, 0.8))], 2.0)
    (track,) = tr.tracks()
    np.testing.assert_allclose(track.velocity, (0.0, 0.8), atol=0.12)
    np.testing.assert_allclose(track.position, (1.0, -1.0 + 0.8 * 2.0), atol=0.1)
    assert track.id == 1 and track.hits == 30 and track.age == pytest.approx(29 / 15)
    assert track.radius == pytest.approx(0.25)
    assert np.all(np.linalg.eigvalsh(track.covariance) > 0.0)


def test_a_track_is_tentative_until_it_has_m_hits():
    tr = ObstacleTracker(TrackerParams(confirm_hits=3))
    tr.update(0.1, [[1.0, 1.0]])
    tr.update(0.2, [[1.0, 1.0]])
    assert len(tr.arrays()) == 0 and len(tr.arrays(confirmed_only=False)) == 1
    tr.update(0.3, [[1.0, 1.0]])
    assert list(tr.arrays().ids) == [1]


def test_crossing_people_keep_their_ids():
    tr = ObstacleTracker()
    walkers = [((0.0, 0.0), (1.0, 0.0)), ((3.0, 0.6), (-1.0, 0.0))]
    t = run(tr, walkers, 1.0)
    ids_before = {int(i): p[0] for i, p in zip(tr.arrays().ids, tr.arrays().positions, strict=True)}
    right = min(ids_before, key=ids_before.get)  # the one walking +x is on the left
    run(tr, walkers, 2.0, t0=t)  # they pass each other 0.6 m apart at t = 1.5 s
    a = tr.arrays()
    assert sorted(a.ids) == sorted(ids_before)
    k = list(a.ids).index(right)
    assert a.velocities[k, 0] > 0.5 and a.positions[k, 0] > 2.0


def test_a_person_unseen_for_max_missing_s_dies_and_a_newcomer_gets_a_new_id():
    tr = ObstacleTracker(TrackerParams(max_missing_s=1.0))
    t = run(tr, [((1.0, 0.0), (0.5, 0.0))], 1.0)
    assert len(tr.tracks()) == 1
    # frames keep coming but see nobody (the person left the view)
    t = run(tr, [], 0.9, t0=t)
    assert len(tr.tracks()) == 1  # coasting
    run(tr, [], 0.2, t0=t)
    assert len(tr) == 0 and tr.deaths == 1
    run(tr, [((1.0, 0.0), (0.0, 0.0))], 0.5, t0=t + 0.2)
    assert [tr_.id for tr_ in tr.tracks()] == [2]


def test_a_silent_sensor_lets_every_track_die_through_prune():
    tr = ObstacleTracker(TrackerParams(max_missing_s=1.0))
    t = run(tr, [((1.0, 0.0), (0.5, 0.0)), ((0.0, 2.0), (0.0, 0.0))], 1.0)
    assert tr.prune(t + 0.5) == 0
    assert tr.prune(t + 1.01) == 2 and len(tr) == 0


def test_one_off_clutter_never_becomes_a_track():
    tr = ObstacleTracker()
    rng = np.random.default_rng(4)

    def clutter(t, det):
        return np.zeros(len(det), dtype=bool)

    t = 0.0
    for _ in range(30):
        t += 1.0 / RATE_HZ
        speck = rng.uniform(-3, 3, (1, 2))  # somewhere new each frame
        tr.update(t, np.concatenate([[[1.0, 1.0]], speck]))
    assert [x.id for x in tr.tracks()] == [1]
    assert tr.births > 20 and len(tr) <= 1 + 5  # specks die within their tentative time


def test_a_jump_beyond_the_gate_starts_a_new_track_instead_of_teleporting():
    tr = ObstacleTracker()
    t = run(tr, [((1.0, 0.0), (0.0, 0.0))], 1.0)
    tr.update(t + 1 / 15, [[4.0, 0.0]])
    a = tr.arrays(confirmed_only=False)
    assert len(a) == 2 and np.allclose(a.positions[a.ids == 1], [1.0, 0.0], atol=0.1)


def test_time_going_back_or_nan_is_rejected_and_changes_nothing():
    tr = ObstacleTracker()
    t = run(tr, [((1.0, 0.0), (0.0, 0.0))], 0.5)
    before = tr.arrays(confirmed_only=False)
    with pytest.raises(ValueError, match="not after"):
        tr.update(t - 0.1, [[1.0, 0.0]])
    with pytest.raises(ValueError, match="non-finite"):
        tr.update(t + 0.1, [[np.nan, 0.0]])
    after = tr.arrays(confirmed_only=False)
    np.testing.assert_array_equal(before.positions, after.positions)
    assert tr.t_s == t


def test_inconsistent_parameters_are_rejected():
    with pytest.raises(ValueError):
        TrackerParams(confirm_hits=0)
