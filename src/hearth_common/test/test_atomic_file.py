"""Atomic writes: the new file whole, or the old one untouched."""

import os
import stat

import pytest

from hearth_common.atomic_file import atomic_write


def test_the_file_appears_whole_with_the_usual_permissions(tmp_path):
    path = tmp_path / "sub" / "map.json"
    with atomic_write(path) as f:
        f.write("{}\n")
        assert not path.exists()  # nothing under the name until the rename
    assert path.read_text() == "{}\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["map.json"]


def test_a_private_file_gets_the_permissions_asked_for(tmp_path):
    with atomic_write(tmp_path / "home.map.npz", "wb", permissions=0o600) as f:
        f.write(b"map")
    assert stat.S_IMODE((tmp_path / "home.map.npz").stat().st_mode) == 0o600


def test_a_failure_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "map.npz"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(path, "wb") as f:
        f.write(b"half")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.npz"]


def test_a_mode_that_does_not_write_a_whole_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode must be"), atomic_write(tmp_path / "x", "a"):
        pass
