"""Procedural textures: deterministic, structured enough for ORB, cached atomically."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from hearth_sim.world import textures as tx  # noqa: E402


def test_every_texture_is_deterministic_and_not_flat():
    for name in tx.TEXTURE_NAMES:
        a = tx.texture_rgb(name)
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
        assert a.std() > 5.0, name
        np.testing.assert_array_equal(a, tx.texture_rgb(name))
    assert tx.texture_png("rug:2") == tx.texture_png("rug:2")


def test_variants_differ_and_names_are_checked():
    assert not np.array_equal(tx.texture_rgb("plaster:0"), tx.texture_rgb("plaster:1"))
    np.testing.assert_array_equal(tx.texture_rgb("plaster"), tx.texture_rgb("plaster:0"))
    assert tx.is_texture_name("brick") and tx.is_texture_name("door:1")
    assert not tx.is_texture_name("marble") and not tx.is_texture_name("door:x")
    with pytest.raises(ValueError, match=r"unknown texture 'marble'.*plaster"):
        tx.parse_texture_name("marble")
    # a variant chosen from an element's name is stable and within range
    v = tx.variant_for("plaster", "kitchen_wall")
    assert v == tx.variant_for("plaster", "kitchen_wall")
    assert tx.parse_texture_name(v)[1] < 8
    assert tx.variant_for("plaster:3", "anything") == "plaster:3"


def test_wall_texture_has_orb_features():
    gray = cv2.cvtColor(tx.texture_rgb("plaster:2"), cv2.COLOR_RGB2GRAY)
    assert len(cv2.ORB_create(nfeatures=1000).detect(gray, None)) > 150
    assert tx.tile_size_m("plaster") == (2.5, 2.5)
    assert tx.tile_size_m("rug:1") is None  # a rug's pattern covers the whole rug


def test_assets_are_cached_on_disk_and_reused(tmp_path):
    first = tx.TextureAssets(tmp_path)
    fname = first.file("brick:1")
    path = tmp_path / fname
    assert path.read_bytes() == first.assets()[fname] == tx.texture_png("brick:1")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    # a second build reads the cache instead of generating again
    other = tx.texture_png("brick:2")
    path.write_bytes(other)
    again = tx.TextureAssets(tmp_path)
    fname_again = again.file("brick:1")
    assert again.assets()[fname_again] == other
    # rows of an anchored wall texture: a separate asset, only those rows
    crop = tx.TextureAssets(False)
    name = crop.file("plaster:0", rows=(0.5, 1.0))
    img = cv2.imdecode(np.frombuffer(crop.assets()[name], np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[0] == 256 and name != crop.file("plaster:0")
    assert crop.file("plaster:0", rows=(0.0, 1.0)) == crop.file("plaster:0")
