"""Results and manifests are written whole or not at all."""

import json

import numpy as np
import pytest

from hearth_eval.atomic_json import write_json_atomic


def test_it_writes_indented_json_and_creates_the_folder(tmp_path):
    path = tmp_path / "run" / "results.json"
    write_json_atomic(path, {"b": 1, "a": [1.5]})
    assert json.loads(path.read_text()) == {"a": [1.5], "b": 1}
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_what_json_cannot_hold_fails_clearly_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"ok": True})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left


def test_a_converter_handles_numpy_values(tmp_path):
    path = tmp_path / "results.json"
    write_json_atomic(path, {"x": np.float32(0.25)}, default=float)
    assert json.loads(path.read_text()) == {"x": 0.25}
