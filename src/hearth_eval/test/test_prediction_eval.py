"""``./hearth eval prediction``: windows cut by the standard protocol, the metrics on fabricated
walks with known answers, a clean skip without data, a clear error for a corrupt file, and a
quick run on a slice of the real ETH/UCY scenes (skipped when the shared data is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hearth_eval import eval as eval_cli
from hearth_eval.prediction_eval import (
    OBS_STEPS,
    PRED_STEPS,
    main,
    training_files,
    windows_of,
)

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "eth-ucy-pedestrians"


def _write_scene(folder: Path, name: str, walkers: list[tuple], frames: int = 30,
                 gap_at: int | None = None) -> Path:
    """A scene file: each walker (id, p0, v) annotated every 10 frames (0.4 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for k in range(frames):
        if k == gap_at:
            continue
        for pid, p0, v in walkers:
            x, y = np.asarray(p0) + np.asarray(v) * 0.4 * k
            lines.append(f"{10 * k}\t{pid}\t{x:.4f}\t{y:.4f}")
    path = folder / f"{name}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_windows_are_runs_of_twenty_consecutive_annotations_of_one_person(tmp_path):
    from hearth_sim.people.replay import read_eth_ucy

    f = _write_scene(tmp_path, "s", [(1, (0, 0), (1, 0)), (2, (0, 5), (0, -1))], frames=25,
                     gap_at=None)
    w = windows_of(read_eth_ucy(f))
    assert w.shape == (2 * 6, OBS_STEPS + PRED_STEPS, 2)  # 25 annotations: 6 starts each
    g = _write_scene(tmp_path, "g", [(1, (0, 0), (1, 0))], frames=30, gap_at=12)
    assert len(windows_of(read_eth_ucy(g))) == 0  # a missed annotation breaks every window


def test_straight_walks_are_predicted_exactly_and_the_report_has_every_figure(tmp_path, capsys):
    walkers = [(i, (0.0, i), (1.0 + 0.1 * i, 0.2)) for i in range(5)]
    _write_scene(tmp_path / "test" / "line", "line", walkers)
    rc = main(["--data", str(tmp_path / "test"), "--no-fit"])
    out = capsys.readouterr().out
    assert rc == 0
    res = _last_json(out)
    scene = res["scenes"]["line"]
    assert scene["windows"] == 5 * 11
    for model in ("cv", "cv_kf", "cv_intent"):
        assert scene[model]["ade_m"] < 0.01 and scene[model]["fde_m"] < 0.02
    assert res["mean"]["cv"]["ade_m"] == pytest.approx(scene["cv"]["ade_m"])
    assert "ADE m" in out and "in 2σ" in out


def test_training_files_never_include_an_evaluated_file(tmp_path):
    test = _write_scene(tmp_path / "test" / "a", "a", [(1, (0, 0), (1, 0))])
    copy = tmp_path / "all_data" / "renamed.txt"
    copy.parent.mkdir()
    copy.write_bytes(test.read_bytes())  # same bytes, another name
    other = _write_scene(tmp_path / "all_data", "other", [(1, (0, 0), (0, 1))])
    keep, left_out = training_files(tmp_path / "test", None, [test])
    assert keep == [other] and left_out == [copy]


def test_absent_data_skips_cleanly(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nothing")]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and _last_json(out)["skipped"] is True


def test_a_corrupt_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "test" / "bad"
    bad.mkdir(parents=True)
    (bad / "bad.txt").write_text("10\t1\t0.0\t0.0\n20\t1\tnan\t0.0\n")
    assert main(["--data", str(tmp_path / "test")]) == 2
    err = capsys.readouterr().err
    assert "bad.txt:2" in err and "finite" in err


def test_the_command_is_registered():
    assert "prediction" in eval_cli.COMMANDS


@pytest.mark.skipif(not (DATA / "test").is_dir(), reason="shared ETH/UCY data absent")
def test_a_slice_of_the_real_scenes(capsys):
    assert main(["--data", str(DATA / "test"), "--max-windows", "60"]) == 0
    res = _last_json(capsys.readouterr().out)
    assert set(res["scenes"]) >= {"eth", "hotel", "zara1"}
    assert "crowds_zara03.txt" in res["fit"]["source"]
    assert "biwi_eth.txt" not in res["fit"]["source"]
    for scene in res["scenes"].values():
        assert scene["windows"] == 60
        for model in ("cv", "cv_kf", "cv_intent"):
            m = scene[model]
            assert 0.1 < m["ade_m"] < 2.0 and m["ade_m"] < m["fde_m"]
            assert 0.0 < m["inside_1sigma"] < m["inside_2sigma"] <= 1.0
