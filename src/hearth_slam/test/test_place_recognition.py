"""Bag of binary words: Hamming k-majority clustering, the vocabulary file, tf-idf vectors,
the normalised L1 score and the inverted-index database."""

import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hearth_slam.place_recognition import (
    BowDatabase,
    Vocabulary,
    VocabularyError,
    default_vocabulary_path,
    hamming,
    kmajority,
    score,
)

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
EUROC = DATA / "euroc-v1_01-micro-stereo-imu-gt" / "mav0"
TUM = DATA / "tum-rgbd-fr3-long-office-sparse-gt" / "rgb"


def flip_bits(desc, n, rng):
    out = desc.copy()
    for row in out:
        bits = rng.choice(256, n, replace=False)
        row[bits // 8] ^= (1 << (bits % 8)).astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def shipped():
    return Vocabulary.load(default_vocabulary_path())


CLUSTERS = np.random.default_rng(0).integers(0, 256, (4, 32), dtype=np.uint8)


@pytest.fixture(scope="module")
def small_vocabulary():
    """Trained here on 4 clusters of descriptors, 40 images."""
    rng = np.random.default_rng(0)
    desc = np.concatenate([flip_bits(np.repeat(c[None], 500, 0), 20, rng) for c in CLUSTERS])
    images = np.arange(len(desc)) % 40
    return Vocabulary.train(desc, images, k=4, levels=2, seed=1, header={"test": True})


def test_hamming_counts_differing_bits():
    a = np.zeros((1, 32), np.uint8)
    b = a.copy()
    b[0, 0], b[0, 31] = 0b1011, 0xFF
    assert hamming(a, b).tolist() == [11]
    assert hamming(b, b).tolist() == [0]


def test_kmajority_recovers_clusters_of_noisy_descriptors():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    desc = np.concatenate([flip_bits(np.repeat(c[None], 200, 0), 25, rng) for c in truth])
    centres, labels = kmajority(desc, 3, rng)
    # each true centre has a cluster centre within a few bits (the majority denoises)
    d = hamming(truth[:, None, :], centres[None])
    assert d.min(axis=1).max() <= 4
    for c in range(3):  # and the members of one true cluster share one label
        assert len(np.unique(labels[c * 200:(c + 1) * 200])) == 1


def test_descriptors_of_different_clusters_never_share_a_word(small_vocabulary):
    rng = np.random.default_rng(3)
    words = [set(small_vocabulary.words_of(flip_bits(np.repeat(c[None], 50, 0), 20,
                                                     rng)).tolist()) for c in CLUSTERS]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not words[i] & words[j]
    assert small_vocabulary.n_words <= 16  # k = 4, two levels


def test_the_vocabulary_round_trips_through_its_file(small_vocabulary, tmp_path):
    path = tmp_path / "voc.npz"
    small_vocabulary.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.vocabulary_id == small_vocabulary.compute_id()
    assert loaded.header["test"] is True and loaded.header["version"] == 1
    assert np.array_equal(loaded.centres, small_vocabulary.centres)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("damage", ["truncated", "garbage", "edited", "version", "missing"])
def test_a_bad_vocabulary_file_raises_vocabulary_error(small_vocabulary, tmp_path, damage):
    path = tmp_path / "voc.npz"
    small_vocabulary.save(path)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"not a zip at all" * 10)
    else:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(arrays["header_json"].tobytes())
        if damage == "edited":
            arrays["idf"] = arrays["idf"] * 2.0
        elif damage == "version":
            header["version"] = 99
        else:
            del arrays["children"]
        arrays["header_json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
        np.savez(path, **arrays)
    with pytest.raises(VocabularyError):
        Vocabulary.load(path)
    with pytest.raises(VocabularyError, match="no such"):
        Vocabulary.load(tmp_path / "absent.npz")


def test_the_shipped_vocabulary_is_small_with_its_provenance(shipped):
    path = default_vocabulary_path()
    assert path.stat().st_size < 5 * 1024 * 1024
    assert shipped.header["k"] == shipped.k == 10
    assert shipped.header["levels"] == 4
    training = shipped.header["training"]
    assert training["images"] > 300 and "apartment" in training["homes"]
    assert shipped.n_words > 5000
    assert np.all(shipped.idf >= 0.0)
    # the JSON beside it is the same header, for people to read
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["vocabulary_id"] == shipped.vocabulary_id


def test_bow_vectors_are_unit_l1_and_score_like_dbow2(shipped):
    rng = np.random.default_rng(4)
    desc = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    a = shipped.bow(desc)
    assert a.weights.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(a.words) > 0)
    assert score(a, a) == pytest.approx(1.0, abs=1e-5)
    other = shipped.bow(rng.integers(0, 256, (300, 32), dtype=np.uint8))
    half = shipped.bow(np.concatenate([desc[:150], rng.integers(0, 256, (150, 32),
                                                                 dtype=np.uint8)]))
    assert score(a, other) < score(a, half) < 1.0
    # the L1 definition: 1 - |a - b|_1 / 2
    dense = np.zeros((2, shipped.n_words))
    dense[0, a.words], dense[1, half.words] = a.weights, half.weights
    assert score(a, half) == pytest.approx(1 - 0.5 * np.abs(dense[0] - dense[1]).sum(),
                                           abs=1e-5)
    empty = shipped.bow(np.zeros((0, 32), np.uint8))
    assert len(empty) == 0 and score(a, empty) == 0.0


def test_the_database_ranks_the_same_place_first_and_leaves_out_recent_ones(shipped):
    rng = np.random.default_rng(5)
    places = [rng.integers(0, 256, (250, 32), dtype=np.uint8) for _ in range(30)]
    db = BowDatabase()
    for k, d in enumerate(places):
        db.add(k, shipped.bow(d))
    query = shipped.bow(flip_bits(places[7], 6, rng))
    ranked = db.query(query, max_results=5)
    assert ranked[0][0] == 7
    assert ranked[0][1] == pytest.approx(score(query, db.get(7)))
    assert all(s1 >= s2 for (_, s1), (_, s2) in itertools.pairwise(ranked))
    assert 7 not in [k for k, _ in db.query(query, max_kf_id=6)]
    db.remove(7)
    assert 7 not in db and 7 not in [k for k, _ in db.query(query)]
    assert len(db) == 29


def grey(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


@pytest.mark.skipif(not (EUROC.is_dir() and TUM.is_dir()), reason="shared data absent")
def test_real_images_recognise_their_own_place(shipped):
    """EuRoC's left and right images see one place; TUM's office is another."""
    orb = cv2.ORB_create(1000)
    left = sorted((EUROC / "cam0" / "data").glob("*.png"))[50]
    right = sorted((EUROC / "cam1" / "data").glob("*.png"))[50]
    office = sorted(TUM.glob("*.png"))[:5]
    bows = {}
    for name, path in [("left", left), ("right", right)] + [
            (f"office{n}", p) for n, p in enumerate(office)]:
        _, d = orb.detectAndCompute(grey(path), None)
        bows[name] = shipped.bow(d)
    same = score(bows["left"], bows["right"])
    others = [score(bows["left"], bows[f"office{n}"]) for n in range(5)]
    assert same > 2.0 * max(others)
