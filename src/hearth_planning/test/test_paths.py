"""Measures on a path: its length, what remains of it, and its resampling for /plan."""

import numpy as np
import pytest

from hearth_planning.paths import path_length, remaining_length, resample


def test_remaining_length_along_the_path():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 2.0]])
    assert remaining_length(pts, (0.0, 0.0)) == pytest.approx(3.0)
    assert remaining_length(pts, (0.5, 0.1)) == pytest.approx(2.5)
    assert remaining_length(pts, (1.2, 1.5)) == pytest.approx(0.5)
    assert remaining_length(pts, (5.0, 5.0)) == pytest.approx(0.0)
    assert remaining_length(pts[:1], (3.0, 4.0)) == pytest.approx(5.0)


def test_resampling_keeps_the_corners_and_the_shape():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.25]])
    dense = resample(pts, 0.1)
    assert len(dense) == 1 + 10 + 3
    assert path_length(dense) == pytest.approx(path_length(pts))
    for corner in pts:  # every original point is kept
        assert np.min(np.hypot(*(dense - corner).T)) < 1e-12
    assert np.max(np.hypot(*np.diff(dense, axis=0).T)) <= 0.1 + 1e-12
    assert len(resample(pts[:1], 0.1)) == 1
