"""The floor transitions beside each home's map are the home's sills and rug edges."""

import numpy as np
import pytest

from hearth_eval.home_floor_transitions import HOMES, floor_transitions_of
from hearth_sim.home.loader import maps_dir, resolve_home
from hearth_trajectory.floor_transitions import FILE_NAME, load_floor_transitions


@pytest.mark.parametrize("name", HOMES)
def test_the_file_beside_the_map_marks_every_sill_and_rug_edge_of_the_home(name):
    home = resolve_home(name)
    on_file = load_floor_transitions(maps_dir() / name / FILE_NAME)
    made = floor_transitions_of(home)
    assert on_file.names == made.names
    np.testing.assert_allclose(on_file.segments_m, made.segments_m, atol=1e-4)
    np.testing.assert_allclose(on_file.half_widths_m, made.half_widths_m, atol=1e-4)
    assert len(made) == len(home.thresholds) + 4 * len(home.rugs)


def test_a_sill_is_a_strip_across_its_doorway_as_deep_as_the_sill():
    home = resolve_home("apartment")
    sill = next(t for t in home.thresholds if t.name == "bathroom_sill")  # yaw 90: way is y
    ft = floor_transitions_of(home)
    k = ft.names.index("bathroom_sill")
    (a, b), hw = ft.segments_m[k], ft.half_widths_m[k]
    assert hw == pytest.approx(0.5 * sill.length_m)
    assert np.linalg.norm(b - a) == pytest.approx(sill.width_m)
    np.testing.assert_allclose(0.5 * (a + b), sill.center_m, atol=1e-9)
    assert abs(a[1] - b[1]) < 1e-9  # across the way through, which runs along y
