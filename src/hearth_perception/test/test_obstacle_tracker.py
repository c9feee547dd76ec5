"""The tracker: a CV Kalman filter per track, Hungarian association with a Mahalanobis gate,
tentative births confirmed after M hits, deaths after T s unseen, ids never reused."""

import numpy as np
import pytest

from hearth_perception.obstacle_tracker import ObstacleTracker, SensorView, TrackerParams

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


def test_late_frames_still_confirm_tracks_when_pruned_at_receipt_time():
    """Frames that reach the tracker 0.3 s after their stamps (message age), pruned at the
    receiving clock between frames as the node does: the newborn track is not killed for
    frames that have not arrived yet, and the person becomes one confirmed track."""
    tr = ObstacleTracker(TrackerParams(tentative_max_missing_s=0.3, confirm_hits=3))
    latency = 0.3
    for k in range(1, 16):
        t = k / RATE_HZ
        tr.update(t, [[1.0 + 0.5 * t, 0.0]])
        tr.prune(t + latency + 0.5 / RATE_HZ)  # the node's tick, between frames
    assert [x.id for x in tr.tracks()] == [1] and tr.births == 1


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


def test_a_steady_walker_is_reported_with_a_small_velocity_uncertainty_and_a_turn_is_followed():
    """The IMM: walking straight, the steady model carries the track (a velocity standard
    deviation well below that of a single filter tuned for maneuvers, q = 0.2, the tracker
    before the IMM); an abrupt 90° turn is followed about as fast as by that filter."""
    def walk(params):
        tr = ObstacleTracker(params)
        rng = np.random.default_rng(2)
        sig, err_turn = [], []
        for k in range(1, 61):
            t = k / RATE_HZ
            p, v = ((0.8 * t, 0.0), (0.8, 0.0)) if t < 2.0 else ((1.6, 0.8 * (t - 2.0)),
                                                                 (0.0, 0.8))
            tr.update(t, np.array([p]) + rng.normal(0.0, 0.03, (1, 2)), [0.22])
            a = tr.arrays()
            if len(a) and 1.5 < t < 2.0:
                sig.append(np.sqrt(a.covariances[0, 2, 2]))
            if len(a) and 2.0 < t < 2.7:
                err_turn.append(np.hypot(*(a.velocities[0] - v)))
        return np.median(sig), np.median(err_turn)

    imm_sigma, imm_turn = walk(TrackerParams())
    single_sigma, single_turn = walk(TrackerParams(steady_accel_psd_m2ps3=0.0,
                                                   accel_psd_m2ps3=0.2))
    assert imm_sigma < 0.7 * single_sigma
    assert imm_turn < 1.3 * single_turn


def test_a_person_out_of_the_view_coasts_instead_of_dying_after_max_missing_s():
    """Frames that could not see the track (it is behind the sensor) do not count as
    misses: it coasts on its velocity up to max_coast_s, then dies; a track in view and
    undetected still dies after max_missing_s."""
    params = TrackerParams(max_missing_s=1.0, max_coast_s=3.0)
    behind = SensorView((0.0, 0.0), np.pi, 0.78, 0.1, 4.0)  # looking the other way
    ahead = SensorView((0.0, 0.0), 0.0, 0.78, 0.1, 4.0)
    for view, alive_until, dead_after in ((behind, 2.8, 3.1), (ahead, 0.9, 1.1)):
        tr = ObstacleTracker(params)
        t = run(tr, [((1.0, 0.0), (0.5, 0.0))], 1.0)
        for k in range(1, round(3.5 * RATE_HZ)):
            tr.update(t + k / RATE_HZ, np.zeros((0, 2)), None, view)
            if k / RATE_HZ <= alive_until:
                assert len(tr.tracks()) == 1
            if k / RATE_HZ >= dead_after:
                assert len(tr) == 0
    tr = ObstacleTracker(params)
    t = run(tr, [((1.0, 0.0), (0.5, 0.0))], 1.0)
    for k in range(1, round(2.0 * RATE_HZ)):
        tr.update(t + k / RATE_HZ, np.zeros((0, 2)), None, behind)
    (track,) = tr.tracks()  # coasting after 2 s: on at its velocity, less certain
    assert track.position[0] == pytest.approx(1.0 + 0.5 * (t + 2.0), abs=0.15)
    assert np.sqrt(track.covariance[0, 0]) > 0.1


def test_the_view_wants_the_whole_body_inside_it():
    view = SensorView((0.0, 0.0), 0.0, np.pi / 4, 0.1, 4.0)
    seen = view.sees(np.array([[2.0, 0.0], [2.0, 1.9], [2.0, 1.5], [5.0, 0.0], [-1.0, 0.0]]),
                     np.full(5, 0.25))
    assert seen.tolist() == [True, False, True, False, False]


def test_a_track_that_coasted_unseen_does_not_take_someone_else_metres_away():
    """After coasting unseen for 2 s its gate is wide in Mahalanobis terms; the log-det term
    of the association keeps a person who walks into view 1.6 m from its forecast a new
    track, while a detection near the forecast still continues it."""
    behind = SensorView((10.0, 10.0), 0.0, 0.78, 0.1, 4.0)
    for offset, continues in (((1.6, 0.3), False), ((0.2, 0.1), True)):
        tr = ObstacleTracker()
        t = run(tr, [((3.0, 1.6), (-0.84, 0.0))], 3.0)
        for k in range(1, 31):
            tr.update(t + k / RATE_HZ, np.zeros((0, 2)), None, behind)
        t += 30 / RATE_HZ
        (track,) = tr.tracks()
        tr.update(t + 1 / RATE_HZ, [track.position + np.array(offset)], [0.22])
        assert (tr.arrays(confirmed_only=False).hits.max() > 1 and 1 in
                tr.arrays(confirmed_only=False).ids[tr.arrays(confirmed_only=False).hits
                                                     == track.hits + 1]) == continues


def test_a_walker_cut_by_the_image_side_stays_tracked_at_their_pace():
    """A person leaving the view's side: the cut body keeps their track updated, and its
    narrower width does not shrink the track's radius."""
    tr = ObstacleTracker()
    t = run(tr, [((2.0, 0.0), (0.0, 0.8))], 1.0)
    for k in range(1, 6):
        tk = t + k / RATE_HZ
        tr.update(tk, [[2.0, 0.8 * tk]], [0.12], cut=[True])
    (track,) = tr.tracks()
    assert track.hits == 15 + 5 and track.radius == pytest.approx(0.25)
    np.testing.assert_allclose(track.velocity, (0.0, 0.8), atol=0.12)


def test_a_cut_body_neither_drags_a_standing_track_nor_starts_one():
    """An unmapped box at the image's edge: its cut centroid slides as the robot turns. It
    must not walk the box's track away, nor start a track of its own."""
    tr = ObstacleTracker()
    t = run(tr, [((2.0, 0.0), (0.0, 0.0))], 1.0)
    before = tr.tracks()[0]
    for k in range(1, 6):
        tr.update(t + 0.1 * k, [[2.0, 0.06 * k]], [0.25], cut=[True])
    (track,) = tr.tracks(confirmed_only=False)
    np.testing.assert_allclose(track.position, before.position, atol=0.02)
    assert track.hits == before.hits
    side = ObstacleTracker()
    for k in range(1, 6):
        side.update(k / RATE_HZ, [[1.0, 1.0 + 0.05 * k]], [0.25], cut=[True])
    assert len(side) == 0


def test_cut_flags_must_match_the_detections():
    tr = ObstacleTracker()
    with pytest.raises(ValueError, match="cut flags"):
        tr.update(0.1, [[1.0, 0.0], [2.0, 0.0]], [0.25, 0.25], cut=[True])
    assert tr.t_s is None and len(tr) == 0
    with pytest.raises(ValueError):
        TrackerParams(cut_min_speed_mps=-0.1)
