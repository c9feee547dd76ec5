"""Saving and loading the V-SLAM map (ROS-free). The format is in ``docs/map_format.md``.

One ``.npz`` file (``numpy.savez_compressed``, read with ``allow_pickle=False``): named
arrays for the graph (keyframes, landmarks, observations, odometry and loop edges), the
keyframes' bag-of-words vectors, the occupancy grid and the per-keyframe ToF scans, plus
``meta_json`` (UTF-8 JSON as uint8): format, version, the vocabulary's id, the stereo camera,
counts, creation time. ``save_map`` writes a temporary file beside the target and renames
it (``os.replace``): a crash leaves the old map or the new one, never half of one.

``load_map`` checks everything it reads (format, version, vocabulary id, every array's
presence, dtype, shape and finiteness, ids unique, references resolvable) and raises
``MapFileError`` with one line saying what is wrong; the node then starts a fresh map.
"""

from __future__ import annotations

import datetime
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hearth_common.atomic_file import atomic_write

MAP_FORMAT = "hearth_slam_map"
MAP_VERSION = 1


class MapFileError(RuntimeError):
    """A map file that cannot be used: missing, corrupt, another version or vocabulary."""


# name -> (dtype kind(s), shape with symbols: K keyframes, L landmarks, O observations,
# E odometry edges, C loops, W bag-of-words entries, S scans, B bearing bins, N obstacle
# points, R, Q grid rows and columns, P prior keyframes (0 or 1))
SCHEMA: dict[str, tuple[str, tuple]] = {
    "keyframe_ids": ("i", ("K",)),
    "keyframe_t_s": ("f", ("K",)),
    "keyframe_pose_map_base": ("f", ("K", 4, 4)),
    "keyframe_pose_odom_base": ("f", ("K", 4, 4)),
    "keyframe_path_m": ("f", ("K",)),
    "keyframe_turn_rad": ("f", ("K",)),
    "keyframe_segment": ("i", ("K",)),
    "keyframe_in_loop": ("b", ("K",)),
    "prior_keyframe": ("i", ("P",)),
    "prior_pose_map_base": ("f", (4, 4)),
    "landmark_ids": ("i", ("L",)),
    "landmark_points_map": ("f", ("L", 3)),
    "landmark_descriptors": ("u", ("L", 32)),
    "landmark_has_descriptor": ("b", ("L",)),
    "observation_keyframe": ("i", ("O",)),
    "observation_landmark": ("i", ("O",)),
    "observation_uv": ("f", ("O", 3)),
    "observation_sigma_px": ("f", ("O",)),
    "odometry_a": ("i", ("E",)),
    "odometry_b": ("i", ("E",)),
    "odometry_pose_a_b": ("f", ("E", 4, 4)),
    "odometry_sigmas": ("f", ("E", 6)),
    "loop_a": ("i", ("C",)),
    "loop_b": ("i", ("C",)),
    "loop_pose_a_b": ("f", ("C", 4, 4)),
    "loop_information": ("f", ("C", 6, 6)),
    "bow_keyframe": ("i", ("W",)),
    "bow_word": ("i", ("W",)),
    "bow_weight": ("f", ("W",)),
    "occupancy_data": ("i", ("R", "Q")),
    "occupancy_log_odds": ("f", ("R", "Q")),
    "occupancy_seen": ("b", ("R", "Q")),
    "occupancy_origin_xy_m": ("f", (2,)),
    "scan_keyframe": ("i", ("S",)),
    "scan_origin_xy": ("f", ("S", 2)),
    "scan_bearing_min_step_rad": ("f", ("S", 2)),
    "scan_free_range_m": ("f", ("S", "B")),
    "scan_obstacle_start": ("i", ("S+1",)),
    "scan_obstacles_xy": ("f", ("N", 2)),
}
GRAPH_KEYS = tuple(k for k in SCHEMA if k.split("_")[0] in (
    "keyframe", "prior", "landmark", "observation", "odometry", "loop"))


@dataclass
class SlamMap:
    """Everything a map file holds: ``arrays`` by the names of ``SCHEMA``, ``meta``."""

    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    @property
    def vocabulary_id(self) -> str:
        return str(self.meta.get("vocabulary_id", ""))

    def graph_state(self) -> dict[str, np.ndarray]:
        """The arrays ``Backend.from_state`` takes."""
        return {k: self.arrays[k] for k in GRAPH_KEYS}


def empty_arrays() -> dict[str, np.ndarray]:
    """Arrays of a map with nothing in it, of the schema's dtypes and shapes."""
    dt = {"i": np.int64, "f": np.float64, "b": bool, "u": np.uint8}
    out = {}
    for name, (kind, shape) in SCHEMA.items():
        dims = [d if isinstance(d, int) else (1 if d == "S+1" else 0) for d in shape]
        out[name] = np.zeros(dims, dtype=dt[kind])
    out["prior_pose_map_base"] = np.eye(4)
    out["occupancy_data"] = out["occupancy_data"].astype(np.int8)
    return out


def build_map(graph_state: dict[str, np.ndarray], vocabulary_id: str,
              bow: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
              occupancy=None, camera: dict | None = None, extra_meta: dict | None = None
              ) -> SlamMap:
    """A ``SlamMap`` from the back end's ``export_state()``, the keyframes' BoW vectors
    (kf -> (words, weights)) and an ``OccupancyMapper`` (its grid and scans)."""
    arrays = empty_arrays()
    arrays.update({k: np.asarray(v) for k, v in graph_state.items()})
    if bow:
        kfs = sorted(bow)
        arrays["bow_keyframe"] = np.concatenate(
            [np.full(len(bow[k][0]), k, dtype=np.int64) for k in kfs])
        arrays["bow_word"] = np.concatenate([np.asarray(bow[k][0], np.int64) for k in kfs])
        arrays["bow_weight"] = np.concatenate([np.asarray(bow[k][1], np.float64)
                                               for k in kfs])
    if occupancy is not None:
        data, origin, _ = occupancy.occupancy_grid()
        arrays["occupancy_data"] = data
        arrays["occupancy_log_odds"] = occupancy.log_odds().astype(np.float64)
        arrays["occupancy_seen"] = occupancy.seen()
        arrays["occupancy_origin_xy_m"] = np.array(origin, dtype=np.float64)
        scans = sorted(occupancy.scans.items())
        if scans:
            arrays["scan_keyframe"] = np.array([k for k, _ in scans], dtype=np.int64)
            arrays["scan_origin_xy"] = np.array([s.origin_xy for _, s in scans], np.float64)
            arrays["scan_bearing_min_step_rad"] = np.array(
                [(s.bearing_min_rad, s.bearing_step_rad) for _, s in scans], np.float64)
            arrays["scan_free_range_m"] = np.array([s.free_range_m for _, s in scans],
                                                   dtype=np.float64)
            counts = [len(s.obstacles_xy) for _, s in scans]
            arrays["scan_obstacle_start"] = np.concatenate([[0], np.cumsum(counts)]).astype(
                np.int64)
            arrays["scan_obstacles_xy"] = np.concatenate(
                [s.obstacles_xy.astype(np.float64).reshape(-1, 2) for _, s in scans])
    meta = {
        "format": MAP_FORMAT, "version": MAP_VERSION, "vocabulary_id": vocabulary_id,
        "created": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "frames": {"map": "map", "base": "base_link", "camera": "stereo_left_optical"},
        "occupancy_resolution_m": None if occupancy is None else occupancy.p.resolution_m,
        "camera": camera or {},
        "counts": {"keyframes": len(arrays["keyframe_ids"]),
                   "landmarks": len(arrays["landmark_ids"]),
                   "observations": len(arrays["observation_keyframe"]),
                   "loops": len(arrays["loop_a"]), "scans": len(arrays["scan_keyframe"])},
        **(extra_meta or {}),
    }
    return SlamMap(arrays, meta)


# ------------------------------------------------------------------------------ files


def save_map(path: str | os.PathLike, slam_map: SlamMap) -> int:
    """Write the map atomically; returns the file's size in bytes. The map is checked
    first (an inconsistent map raises ``MapFileError`` and nothing is written)."""
    path = Path(path)
    meta = dict(slam_map.meta, format=MAP_FORMAT, version=MAP_VERSION)
    check_arrays(slam_map.arrays, str(path))
    with atomic_write(path, "wb", permissions=0o600) as f:  # a plan of someone's home
        np.savez_compressed(f, meta_json=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                            **slam_map.arrays)
    return path.stat().st_size


def load_map(path: str | os.PathLike, vocabulary_id: str | None = None) -> SlamMap:
    """Read and check a map file; ``vocabulary_id`` (when given) must be the map's.
    Raises ``MapFileError`` naming the file and the problem."""
    path = Path(path)
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            if "meta_json" not in names:
                raise MapFileError(f"{where}: not a hearth map (no meta_json)")
            meta = json.loads(z["meta_json"].tobytes().decode("utf-8"))
            if not isinstance(meta, dict):
                raise MapFileError(f"{where}: meta_json is not a JSON object")
            _check_meta(meta, where, vocabulary_id)
            missing = [k for k in SCHEMA if k not in names]
            if missing:
                raise MapFileError(f"{where}: arrays missing: {', '.join(missing[:5])}")
            arrays = {k: z[k] for k in SCHEMA}
    except MapFileError:
        raise
    except FileNotFoundError:
        raise MapFileError(f"{where}: no such map file") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise MapFileError(f"{where}: unreadable map file ({type(exc).__name__}: {exc})"
                           ) from None
    check_arrays(arrays, where)
    return SlamMap(arrays, meta)


def _check_meta(meta: dict, where: str, vocabulary_id: str | None) -> None:
    if meta.get("format") != MAP_FORMAT:
        raise MapFileError(f"{where}: format {meta.get('format')!r}, expected {MAP_FORMAT!r}")
    if meta.get("version") != MAP_VERSION:
        raise MapFileError(f"{where}: map version {meta.get('version')!r}, this code reads "
                           f"version {MAP_VERSION}")
    if vocabulary_id is not None and meta.get("vocabulary_id") != vocabulary_id:
        raise MapFileError(f"{where}: built with vocabulary {meta.get('vocabulary_id')!r}, "
                           f"the node uses {vocabulary_id!r}: its words would not match")


def check_arrays(arrays: dict[str, np.ndarray], where: str = "<map>") -> None:
    """Every schema array present with its dtype kind, consistent shapes, finite values,
    unique ids and resolvable references; ``MapFileError`` otherwise."""
    sizes: dict[str, int] = {}

    def fail(msg: str) -> None:
        raise MapFileError(f"{where}: {msg}")

    for name, (kind, shape) in SCHEMA.items():
        if name not in arrays:
            fail(f"array {name!r} missing")
        a = np.asarray(arrays[name])
        if a.dtype.kind not in ({"i", "u"} if kind == "i" else {kind}) and not (
                kind == "f" and a.dtype.kind == "f"):
            fail(f"array {name!r} has dtype {a.dtype}, expected kind {kind!r}")
        if a.ndim != len(shape):
            fail(f"array {name!r} has shape {a.shape}, expected {len(shape)} dimensions")
        for dim, want in zip(a.shape, shape, strict=True):
            if isinstance(want, int):
                if dim != want:
                    fail(f"array {name!r} has shape {a.shape}, expected {shape}")
            elif sizes.setdefault(want, dim) != dim:
                fail(f"array {name!r} has {dim} rows where {want} = {sizes[want]}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            fail(f"array {name!r} holds NaN or infinity")
    if sizes.get("S+1", 1) != sizes.get("S", 0) + 1:
        fail("scan_obstacle_start must have one more entry than scan_keyframe")
    kf = np.asarray(arrays["keyframe_ids"])
    lm = np.asarray(arrays["landmark_ids"])
    for name, ids in (("keyframe_ids", kf), ("landmark_ids", lm),
                      ("scan_keyframe", np.asarray(arrays["scan_keyframe"]))):
        if len(np.unique(ids)) != len(ids):
            fail(f"{name} repeats an id")
    refs = {"observation_keyframe": kf, "odometry_a": kf, "odometry_b": kf, "loop_a": kf,
            "loop_b": kf, "prior_keyframe": kf, "bow_keyframe": kf, "scan_keyframe": kf,
            "observation_landmark": lm}
    for name, ids in refs.items():
        if not np.isin(arrays[name], ids).all():
            fail(f"{name} refers to an id that is not in the map")
    if len(kf) and len(arrays["prior_keyframe"]) != 1:
        fail("a map with keyframes needs its prior keyframe")
    start = np.asarray(arrays["scan_obstacle_start"])
    if start[0] != 0 or start[-1] != len(arrays["scan_obstacles_xy"]) or (
            np.diff(start) < 0).any():
        fail("scan_obstacle_start does not index scan_obstacles_xy")
    uv = np.asarray(arrays["observation_uv"])
    if len(uv) and not (uv[:, 0] > uv[:, 1]).all():
        fail("an observation has no positive disparity")
    if (np.asarray(arrays["observation_sigma_px"]) <= 0).any():
        fail("an observation has a sigma <= 0")
    for name in ("keyframe_pose_map_base", "keyframe_pose_odom_base", "odometry_pose_a_b",
                 "loop_pose_a_b"):
        T = np.asarray(arrays[name]).reshape(-1, 4, 4)
        R = T[:, :3, :3]
        if len(T) and (np.abs(R @ R.transpose(0, 2, 1) - np.eye(3)).max() > 1e-4
                       or np.abs(T[:, 3] - [0, 0, 0, 1]).max() > 1e-9):
            fail(f"{name} holds a transform that is not rigid")
    if (np.asarray(arrays["odometry_sigmas"]) <= 0).any():
        fail("odometry_sigmas must be > 0")
    info = np.asarray(arrays["loop_information"])
    if len(info) and (np.linalg.eigvalsh(0.5 * (info + info.transpose(0, 2, 1))).min(
            axis=1) <= 0).any():
        fail("a loop's information is not positive definite")


# ------------------------------------------------------------------------------ parts


def bow_vectors(slam_map: SlamMap) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """kf -> (words (int32), weights (float32)) from the map."""
    a = slam_map.arrays
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    kf = np.asarray(a["bow_keyframe"])
    for k in np.unique(kf).tolist():
        sel = kf == k
        order = np.argsort(a["bow_word"][sel])
        out[k] = (a["bow_word"][sel][order].astype(np.int32),
                  a["bow_weight"][sel][order].astype(np.float32))
    return out


def occupancy_parts(slam_map: SlamMap):
    """(scans: kf -> KeyframeScan, (log_odds, seen, origin_xy)) from the map."""
    from hearth_slam.occupancy_mapping import KeyframeScan

    a = slam_map.arrays
    scans = {}
    start = a["scan_obstacle_start"]
    for n, k in enumerate(a["scan_keyframe"].tolist()):
        scans[k] = KeyframeScan(
            a["scan_origin_xy"][n].astype(np.float32), float(a["scan_bearing_min_step_rad"][n, 0]),
            float(a["scan_bearing_min_step_rad"][n, 1]),
            a["scan_free_range_m"][n].astype(np.float16),
            a["scan_obstacles_xy"][start[n]:start[n + 1]].astype(np.float16))
    return scans, (a["occupancy_log_odds"].astype(np.float32), a["occupancy_seen"].astype(bool),
                   a["occupancy_origin_xy_m"].astype(float))


def restore(slam_map: SlamMap, camera, params=None, loop_detector=None, occupancy=None):
    """A ``Backend`` holding the map's graph; the keyframes' BoW vectors go into
    ``loop_detector`` and the scans and grid into ``occupancy`` when given. The next
    keyframe's odometry counts as restarted (see ``Backend.from_state``); the front end
    continues with ids from ``Backend.next_ids()``."""
    from hearth_slam.backend import Backend
    from hearth_slam.place_recognition import BowVector

    backend = Backend.from_state(camera, slam_map.graph_state(), params)
    if loop_detector is not None:
        t_of = dict(zip(slam_map.arrays["keyframe_ids"].tolist(),
                        slam_map.arrays["keyframe_t_s"].tolist(), strict=True))
        for k, (words, weights) in bow_vectors(slam_map).items():
            loop_detector.add_bow(k, t_of[k], BowVector(words, weights))
    if occupancy is not None:
        scans, (log_odds, seen, origin) = occupancy_parts(slam_map)
        occupancy.scans = scans
        if log_odds.size:
            occupancy.set_grid(log_odds, seen, origin)
    return backend
