"""Place recognition over keyframes: a bag of binary words (ROS-free, numpy only).

Vocabulary
    A tree of ``k``-way clusters, ``L`` levels deep, of 256-bit ORB descriptors (32 bytes,
    Hamming distance), trained offline by hierarchical k-majority: k-means where distances
    are Hamming and a centre is the bitwise majority of its members (Galvez-Lopez and
    Tardos's DBoW2 scheme). Its leaves are the words. A descriptor's word is found by
    descending the tree, taking at each level the child whose centre is nearest. Each word
    carries an inverse document frequency ``idf = log(N_images / n_images_with_word)`` from
    the training images, so words seen everywhere (floor texture, plain edges) weigh
    little.

Bag-of-words vector
    The words of one image with ``tf * idf`` weights (``tf``: the word's share of the
    image's descriptors), normalised to unit L1 norm; held sparse as (word ids, weights).

Score
    DBoW2's normalised L1 score ``s(a, b) = 1 - |a - b|_1 / 2`` in [0, 1]; for non-negative
    unit-L1 vectors it is the sum over shared words of ``min(a_w, b_w)``, so it is computed
    from an inverted index (word -> the keyframes holding it) touching only shared words.

File format (``Vocabulary.save`` / ``load``): one ``.npz`` loaded with
``allow_pickle=False``; arrays ``centres`` (nodes, 32) uint8, ``children`` (nodes, k)
int32 (-1: none), ``word_of_node`` (nodes,) int32 (-1: inner node), ``idf`` (words,)
float32, and ``header_json`` (uint8, UTF-8 JSON: format, version, k, L, descriptor,
provenance, ``vocabulary_id``). ``vocabulary_id`` is a hash of the four arrays: saved maps
name the vocabulary their words come from by it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hearth_common.atomic_file import atomic_write

VOCABULARY_FORMAT = "hearth_orb_vocabulary"
VOCABULARY_VERSION = 1
DESCRIPTOR_BYTES = 32
POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class VocabularyError(ValueError):
    """A vocabulary file that is missing, corrupt, or of another format or version."""


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of uint8 descriptor arrays that broadcast
    (``(..., 32)``), summed over the last axis."""
    return POPCOUNT[np.bitwise_xor(a, b)].sum(axis=-1, dtype=np.int32)


def _check_descriptors(desc: np.ndarray) -> np.ndarray:
    desc = np.asarray(desc)
    if desc.ndim != 2 or desc.shape[1] != DESCRIPTOR_BYTES or desc.dtype != np.uint8:
        raise ValueError(f"descriptors must be (N, {DESCRIPTOR_BYTES}) uint8, got "
                         f"{desc.shape} {desc.dtype}")
    return desc


# ------------------------------------------------------------------------------ training


def _nearest(desc: np.ndarray, centres: np.ndarray, chunk: int = 20000) -> np.ndarray:
    out = np.empty(len(desc), dtype=np.int64)
    for s in range(0, len(desc), chunk):
        out[s:s + chunk] = hamming(desc[s:s + chunk, None, :], centres[None]).argmin(axis=1)
    return out


def _seed_centres(desc: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with Hamming distances."""
    centres = [desc[rng.integers(len(desc))]]
    d2 = hamming(desc, centres[0]).astype(float) ** 2
    for _ in range(1, k):
        total = d2.sum()
        i = rng.integers(len(desc)) if total <= 0 else rng.choice(len(desc), p=d2 / total)
        centres.append(desc[i])
        d2 = np.minimum(d2, hamming(desc, desc[i]).astype(float) ** 2)
    return np.array(centres, dtype=np.uint8)


def kmajority(desc: np.ndarray, k: int, rng: np.random.Generator,
              max_iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Cluster binary descriptors (N, 32) into ``k``: (centres (k, 32), labels (N,))."""
    bits = np.unpackbits(desc, axis=1).astype(np.float32)  # (N, 256)
    centres = _seed_centres(desc, k, rng)
    labels = _nearest(desc, centres)
    for _ in range(max_iterations):
        onehot = np.zeros((k, len(desc)), dtype=np.float32)
        onehot[labels, np.arange(len(desc))] = 1.0
        counts = onehot.sum(axis=1)
        ones = onehot @ bits  # (k, 256): how many members have each bit set
        majority = np.packbits((ones * 2.0 > counts[:, None]).astype(np.uint8), axis=1)
        empty = counts == 0
        majority[empty] = centres[empty]
        new_labels = _nearest(desc, majority)
        centres = majority
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centres, labels


def train_tree(desc: np.ndarray, k: int, levels: int, rng: np.random.Generator,
               max_iterations: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vocabulary tree (centres, children, word_of_node) of descriptors (N, 32):
    breadth first, node 0 the root; a node with fewer than ``k`` descriptors, or at depth
    ``levels``, is a leaf (a word)."""
    desc = _check_descriptors(desc)
    centres = [np.zeros(DESCRIPTOR_BYTES, dtype=np.uint8)]
    children: list[list[int]] = [[]]
    queue = [(0, np.arange(len(desc)), 0)]
    while queue:
        node, members, depth = queue.pop(0)
        if depth >= levels or len(members) < k:
            continue
        c, labels = kmajority(desc[members], k, rng, max_iterations)
        for j in range(k):
            sub = members[labels == j]
            if len(sub) == 0:
                continue
            children[node].append(len(centres))
            centres.append(c[j])
            children.append([])
            queue.append((len(centres) - 1, sub, depth + 1))
    n = len(centres)
    child = np.full((n, k), -1, dtype=np.int32)
    for i, ch in enumerate(children):
        child[i, :len(ch)] = ch
    leaves = np.array([len(ch) == 0 for ch in children])
    word = np.full(n, -1, dtype=np.int32)
    word[leaves] = np.arange(leaves.sum(), dtype=np.int32)
    return np.array(centres, dtype=np.uint8), child, word


# ------------------------------------------------------------------------------ vocabulary


@dataclass(frozen=True)
class BowVector:
    """A sparse bag-of-words vector: sorted word ids and unit-L1 tf-idf weights."""

    words: np.ndarray  # (W,) int32, ascending
    weights: np.ndarray  # (W,) float32, sum 1 (or empty)

    def __len__(self) -> int:
        return len(self.words)


@dataclass
class Vocabulary:
    centres: np.ndarray
    children: np.ndarray
    word_of_node: np.ndarray
    idf: np.ndarray
    header: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.centres)
        if (self.centres.shape != (n, DESCRIPTOR_BYTES) or self.centres.dtype != np.uint8
                or self.children.ndim != 2 or len(self.children) != n
                or self.word_of_node.shape != (n,)):
            raise VocabularyError("vocabulary arrays have inconsistent shapes")
        n_words = int((self.word_of_node >= 0).sum())
        if self.idf.shape != (n_words,) or not np.isfinite(self.idf).all():
            raise VocabularyError("vocabulary idf does not match its words")
        if self.children.max(initial=-1) >= n or self.children.min(initial=-1) < -1:
            raise VocabularyError("vocabulary children point outside the tree")
        self.header = dict(self.header)
        self.header.setdefault("vocabulary_id", self.compute_id())

    @property
    def k(self) -> int:
        return self.children.shape[1]

    @property
    def n_words(self) -> int:
        return len(self.idf)

    @property
    def vocabulary_id(self) -> str:
        return str(self.header["vocabulary_id"])

    def compute_id(self) -> str:
        h = hashlib.sha256()
        for a in (self.centres, self.children, self.word_of_node, self.idf):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    # ------------------------------------------------------------------ words

    def words_of(self, descriptors: np.ndarray) -> np.ndarray:
        """The word id (N,) of each descriptor (N, 32), descending the tree."""
        desc = _check_descriptors(descriptors)
        node = np.zeros(len(desc), dtype=np.int64)
        while True:
            inner = self.word_of_node[node] < 0
            if not inner.any():
                break
            idx = np.nonzero(inner)[0]
            ch = self.children[node[idx]]  # (n, k)
            d = hamming(desc[idx, None, :], self.centres[np.maximum(ch, 0)])
            d = np.where(ch >= 0, d, np.iinfo(np.int32).max)
            node[idx] = ch[np.arange(len(idx)), d.argmin(axis=1)]
        return self.word_of_node[node]

    def bow(self, descriptors: np.ndarray) -> BowVector:
        """The unit-L1 tf-idf bag-of-words vector of one image's descriptors."""
        words = self.words_of(descriptors)
        if len(words) == 0:
            return BowVector(np.zeros(0, np.int32), np.zeros(0, np.float32))
        ids, counts = np.unique(words, return_counts=True)
        w = counts / len(words) * self.idf[ids]
        total = w.sum()
        if total <= 0:
            return BowVector(np.zeros(0, np.int32), np.zeros(0, np.float32))
        return BowVector(ids.astype(np.int32), (w / total).astype(np.float32))

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary atomically (temporary file, then ``os.replace``)."""
        path = Path(path)
        header = dict(self.header, format=VOCABULARY_FORMAT, version=VOCABULARY_VERSION,
                      k=self.k, n_words=self.n_words, n_nodes=len(self.centres),
                      vocabulary_id=self.compute_id())
        with atomic_write(path, "wb") as f:  # shipped with the package: readable by all
            np.savez_compressed(
                f, centres=self.centres, children=self.children,
                word_of_node=self.word_of_node, idf=self.idf.astype(np.float32),
                header_json=np.frombuffer(json.dumps(header, indent=1).encode(),
                                          dtype=np.uint8))
        self.header = header

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Read a vocabulary file; ``VocabularyError`` says what is wrong with a bad one."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {key: z[key] for key in ("centres", "children", "word_of_node",
                                                  "idf", "header_json")}
            header = json.loads(arrays.pop("header_json").tobytes().decode())
        except FileNotFoundError:
            raise VocabularyError(f"{path}: no such vocabulary file") from None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise VocabularyError(f"{path}: not a readable vocabulary file ({exc})") from None
        if header.get("format") != VOCABULARY_FORMAT:
            raise VocabularyError(f"{path}: format {header.get('format')!r}, expected "
                                  f"{VOCABULARY_FORMAT!r}")
        if header.get("version") != VOCABULARY_VERSION:
            raise VocabularyError(f"{path}: version {header.get('version')!r}, this code "
                                  f"reads version {VOCABULARY_VERSION}")
        voc = cls(arrays["centres"], arrays["children"].astype(np.int32),
                  arrays["word_of_node"].astype(np.int32), arrays["idf"].astype(np.float32),
                  header)
        if voc.compute_id() != header.get("vocabulary_id"):
            raise VocabularyError(f"{path}: its arrays do not match its vocabulary_id "
                                  "(corrupt or edited)")
        return voc

    @classmethod
    def train(cls, descriptors: np.ndarray, image_of_descriptor: np.ndarray, k: int,
              levels: int, seed: int = 0, max_iterations: int = 10,
              max_tree_descriptors: int | None = None,
              header: dict | None = None) -> Vocabulary:
        """Train the tree on descriptors (N, 32) (a random ``max_tree_descriptors`` of them
        when given) and the idf on all of them, by the images they come from
        (``image_of_descriptor`` (N,): an image index per descriptor)."""
        desc = _check_descriptors(descriptors)
        images = np.asarray(image_of_descriptor).reshape(-1)
        if images.shape != (len(desc),):
            raise ValueError("image_of_descriptor must give one image per descriptor")
        rng = np.random.default_rng(seed)
        sample = (rng.choice(len(desc), max_tree_descriptors, replace=False)
                  if max_tree_descriptors is not None and len(desc) > max_tree_descriptors
                  else np.arange(len(desc)))
        centres, children, word = train_tree(desc[sample], k, levels, rng, max_iterations)
        n_words = int((word >= 0).sum())
        tree = cls(centres, children, word, np.zeros(n_words, np.float32))
        pairs = np.unique(np.column_stack([tree.words_of(desc), images]), axis=0)
        n_with = np.bincount(pairs[:, 0], minlength=n_words)
        idf = np.log(len(np.unique(images)) / np.maximum(n_with, 1)).astype(np.float32)
        header = {key: v for key, v in (header or {}).items() if key != "vocabulary_id"}
        return cls(centres, children, word, idf, dict(header, levels=levels))


def default_vocabulary_path() -> Path:
    """The vocabulary shipped with hearth_slam: the installed share folder, or the source
    tree's ``vocabulary/``."""
    name = "orb_vocabulary.npz"
    try:
        from ament_index_python.packages import get_package_share_directory

        share = Path(get_package_share_directory("hearth_slam")) / "vocabulary" / name
        if share.is_file():
            return share
    except Exception:  # no ament index (plain pytest): the source tree
        pass
    return Path(__file__).resolve().parents[1] / "vocabulary" / name


# ------------------------------------------------------------------------------ database


def score(a: BowVector, b: BowVector) -> float:
    """Normalised L1 score in [0, 1] between two bag-of-words vectors."""
    common, ia, ib = np.intersect1d(a.words, b.words, assume_unique=True,
                                    return_indices=True)
    if len(common) == 0:
        return 0.0
    return float(np.minimum(a.weights[ia], b.weights[ib]).sum())


class BowDatabase:
    """Keyframes' bag-of-words vectors behind an inverted index (word -> keyframes)."""

    def __init__(self) -> None:
        self._bows: dict[int, BowVector] = {}
        self._postings: dict[int, dict[int, float]] = {}

    def __len__(self) -> int:
        return len(self._bows)

    def __contains__(self, kf_id: int) -> bool:
        return kf_id in self._bows

    def ids(self) -> list[int]:
        return sorted(self._bows)

    def get(self, kf_id: int) -> BowVector:
        return self._bows[kf_id]

    def add(self, kf_id: int, bow: BowVector) -> None:
        if kf_id in self._bows:
            self.remove(kf_id)
        self._bows[kf_id] = bow
        for w, x in zip(bow.words.tolist(), bow.weights.tolist(), strict=True):
            self._postings.setdefault(w, {})[kf_id] = x

    def remove(self, kf_id: int) -> None:
        """Forget a keyframe (culled); unknown ids are ignored."""
        bow = self._bows.pop(kf_id, None)
        if bow is None:
            return
        for w in bow.words.tolist():
            posting = self._postings.get(w)
            if posting is not None:
                posting.pop(kf_id, None)
                if not posting:
                    del self._postings[w]

    def query(self, bow: BowVector, max_results: int = 10, max_kf_id: int | None = None,
              min_score: float = 0.0) -> list[tuple[int, float]]:
        """Keyframes sharing words with ``bow``, best first: (kf_id, score) with score >=
        ``min_score``, only ids <= ``max_kf_id`` when given (to leave out the recent
        keyframes, which always look alike)."""
        kfs: list[int] = []
        vals: list[float] = []
        for w, x in zip(bow.words.tolist(), bow.weights.tolist(), strict=True):
            posting = self._postings.get(w)
            if not posting:
                continue
            kfs.extend(posting.keys())
            vals.extend(min(x, y) for y in posting.values())
        if not kfs:
            return []
        ids, inverse = np.unique(np.array(kfs, dtype=np.int64), return_inverse=True)
        scores = np.bincount(inverse, weights=np.array(vals))
        keep = scores >= min_score
        if max_kf_id is not None:
            keep &= ids <= max_kf_id
        ids, scores = ids[keep], scores[keep]
        order = np.argsort(-scores, kind="stable")[:max_results]
        return [(int(ids[i]), float(scores[i])) for i in order]
