"""The safety evaluation (issue 7, acceptance 2) in small: a person steps out of a doorway
0.7 m ahead of the driving robot on the MuJoCo simulator, 3 seeded trials of the 20 that
``./hearth eval safety`` runs; no contact, and the robot drives on once the person has gone."""

from __future__ import annotations

import json

import pytest

from hearth_eval import safety_eval


@pytest.fixture(scope="module")
def can_render():
    import mujoco

    from hearth_sim.sensors import cameras  # noqa: F401 (picks the headless GL backend)

    try:
        model = mujoco.MjModel.from_xml_string("<mujoco><worldbody/></mujoco>")
        mujoco.Renderer(model, 8, 8).close()
    except Exception as exc:  # no EGL / OSMesa on this machine
        pytest.skip(f"MuJoCo cannot render offscreen here: {exc}")


def test_a_person_stepping_out_0_7_m_ahead_is_never_touched(can_render, capsys):
    assert safety_eval.main(["--quick"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["trials"] == 3
    assert figures["person_contacts"] == 0 and figures["other_contacts"] == 0
    assert figures["min_distance_m"] > 0.05
    # The pop-up really was 0.7 m ahead (within what the people's 100 Hz steps allow).
    assert 0.65 <= figures["appeared_gap_m"]["min"] <= figures["appeared_gap_m"]["max"] <= 0.75
    assert figures["resumed_trials"] == 3  # never frozen once the way is clear
    print(f"FIGURE safety eval (3 trials): minimum distance {figures['min_distance_m']:.3f} m")
