"""The lighting schedule of a session: the sun's path, switches, darkness (no rendering)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
pytest.importorskip("mujoco")

from hearth_sim.world.lighting import (
    Darkness,
    LightingSchedule,
    LightSwitch,
    sun_direction,
    switches,
)


def test_sun_direction_points_from_the_sun():
    # a sun in the south (azimuth -pi/2), 30 deg up, shines north and down
    d = sun_direction(-math.pi / 2, math.radians(30))
    np.testing.assert_allclose(d, [0.0, math.cos(math.radians(30)), -0.5], atol=1e-12)
    assert np.linalg.norm(d) == pytest.approx(1.0)


def test_sun_moves_from_morning_to_evening():
    s = LightingSchedule(duration_s=100.0)
    az0, el0, i0 = s.sun_at(0.0)
    az_mid, el_mid, i_mid = s.sun_at(50.0)
    az1, el1, i1 = s.sun_at(100.0)
    assert az0 == pytest.approx(s.sun_azimuth_start_rad)
    assert az1 == pytest.approx(s.sun_azimuth_end_rad)
    assert az_mid == pytest.approx(-math.pi / 2)  # due south at mid session
    assert el_mid == pytest.approx(s.sun_peak_elevation_rad)
    assert el0 == pytest.approx(s.sun_min_elevation_rad) == pytest.approx(el1)
    assert i_mid > i0 and i0 == pytest.approx(i1)
    assert s.sun_at(500.0) == s.sun_at(100.0)  # stays where it ended


def test_switches_and_darkness():
    s = LightingSchedule(
        duration_s=100.0,
        initial_lights=(("light/kitchen", True), ("light/hall", False)),
        switches=switches([(10.0, "kitchen", False), (20.0, "hall", True),
                           (30.0, "kitchen", True)]),
        darkness=(Darkness(40.0, 50.0, ir_on=True),))
    assert s.lights_at(0.0) == {"light/kitchen": True, "light/hall": False}
    assert s.lights_at(15.0) == {"light/kitchen": False, "light/hall": False}
    assert s.lights_at(25.0) == {"light/kitchen": False, "light/hall": True}
    assert s.lights_at(35.0) == {"light/kitchen": True, "light/hall": True}
    assert not s.state_at(39.9).dark
    st = s.state_at(45.0)
    assert st.dark and st.ir_on
    assert not s.state_at(50.0).dark  # the interval is half open
    assert s.state_at(45.0) == s.state_at(45.0)  # depends on t only
    assert isinstance(s.switches[0], LightSwitch)
    with pytest.raises(ValueError):
        LightingSchedule(darkness=(Darkness(5.0, 5.0),))
    with pytest.raises(ValueError):
        LightingSchedule(duration_s=0.0)
