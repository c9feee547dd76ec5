"""Train the ORB bag-of-words vocabulary (``train_vocabulary``, offline).

Images:

- **Simulated homes** (``--homes``; default the apartment, the house and the small house
  extruded from the shared AWS map when present): the robot is set down at random free
  poses (a room's interior, or the map's free cells, at least ``--clearance-m`` from a
  wall) with a random heading and a random time of the lighting session (the sun moves),
  and the stereo pair's left camera is rendered (MuJoCo, the robot's own camera).
- **Real images** from ``<workspace>/../shared/data`` when present: EuRoC V1_01's left and
  right cameras (every ``--euroc-stride``-th pair: the rig is at rest) and TUM fr3 office's
  colour frames as grey.

ORB (OpenCV, ``--features`` per image) gives the descriptors; at most
``--max-descriptors`` of them, spread evenly over the images, train the tree
(hierarchical k-majority, ``--k`` x ``--levels``) and every image's descriptors give the
idf. The vocabulary goes to ``--out`` (default ``src/hearth_slam/vocabulary/
orb_vocabulary.npz``, with its header beside it as ``orb_vocabulary.json``), with its
provenance: homes, image counts, data folders, date, seed, ORB settings.

    python -m hearth_slam.tools.train_vocabulary      # the shipped vocabulary (~3 min)
    python -m hearth_slam.tools.train_vocabulary --homes apartment --images-per-home 20 \
        --out /tmp/v.npz                              # a quick one
    (installed: ros2 run hearth_slam train_vocabulary, install/hearth_slam/lib/...)
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "vocabulary" / "orb_vocabulary.npz"


def workspace_root() -> Path:
    env = os.environ.get("HEARTH_WS")
    return Path(env) if env else Path(__file__).resolve().parents[4]


def shared_data_dir() -> Path:
    return workspace_root().parent / "shared" / "data"


# ------------------------------------------------------------------------------ images


def free_poses(home_name: str, n: int, clearance_m: float,
               rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """``n`` random (x, y, yaw) at least ``clearance_m`` from anything occupied: inside the
    home's rooms when it has rooms, else on the map's free cells."""
    from scipy.ndimage import distance_transform_edt

    from hearth_sim.home.loader import maps_dir, resolve_home, small_house_map_path
    from hearth_sim.home.occupancy import FREE, read_map_server

    home = resolve_home(home_name)
    map_yaml = small_house_map_path() if home_name == "small_house" else (
        maps_dir() / home_name / "map.yaml")
    raster = read_map_server(map_yaml)
    res = raster.resolution_m
    clear = distance_transform_edt(raster.data == FREE) * res >= clearance_m
    rows, cols = np.nonzero(clear)
    xs = raster.origin_xy_m[0] + (cols + 0.5) * res
    ys = raster.origin_xy_m[1] + (rows + 0.5) * res
    if home.rooms:
        inside = np.zeros(len(xs), dtype=bool)
        for room in home.rooms:
            inside |= ((xs > room.min_m[0]) & (xs < room.max_m[0]) & (ys > room.min_m[1])
                       & (ys < room.max_m[1]))
        xs, ys = xs[inside], ys[inside]
    if len(xs) == 0:
        raise RuntimeError(f"home {home_name!r}: no free cell {clearance_m} m from a wall")
    pick = rng.choice(len(xs), n, replace=len(xs) < n)
    jitter = rng.uniform(-0.5 * res, 0.5 * res, (n, 2))
    yaw = rng.uniform(-math.pi, math.pi, n)
    return [(float(xs[i] + jx), float(ys[i] + jy), float(a))
            for i, (jx, jy), a in zip(pick, jitter, yaw, strict=True)]


def render_home(home_name: str, n_images: int, clearance_m: float,
                rng: np.random.Generator) -> list[np.ndarray]:
    """Left stereo images (mono8) at random free poses and times of day."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    import mujoco

    from hearth_common.config import load_config
    from hearth_description.robot_model import load_robot_params
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import resolve_home
    from hearth_sim.mujoco_sim import MujocoSim
    from hearth_sim.world.robot_mjcf import FREE_JOINT

    cfg = load_config(SimConfig, {"people": 0, "render_cameras": False})
    sim = MujocoSim(resolve_home(home_name), load_robot_params(), cfg)
    try:
        q = sim.model.jnt_qposadr[sim.model.joint(FREE_JOINT).id]
        z = float(sim.data.qpos[q + 2])  # as the robot settled on its wheels
        images = []
        for x, y, yaw in free_poses(home_name, n_images, clearance_m, rng):
            sim.data.qpos[q:q + 3] = (x, y, z)
            sim.data.qpos[q + 3:q + 7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
            mujoco.mj_forward(sim.model, sim.data)
            sim.t_ns = int(rng.uniform(0.0, cfg.sun_session_s) * 1e9)
            images.append(sim.render("stereo")[0])
        return images
    finally:
        sim.close()


def real_images(data_dir: Path, euroc_stride: int) -> dict[str, list[np.ndarray]]:
    """EuRoC V1_01 (left and right, every ``euroc_stride``-th) and TUM fr3 office (grey)."""
    import cv2

    out: dict[str, list[np.ndarray]] = {}
    euroc = data_dir / "euroc-v1_01-micro-stereo-imu-gt" / "mav0"
    if euroc.is_dir():
        files = []
        for cam in ("cam0", "cam1"):
            files += sorted((euroc / cam / "data").glob("*.png"))[::euroc_stride]
        out["euroc-v1_01-micro-stereo-imu-gt"] = [
            cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]
    tum = data_dir / "tum-rgbd-fr3-long-office-sparse-gt" / "rgb"
    if tum.is_dir():
        out["tum-rgbd-fr3-long-office-sparse-gt"] = [
            cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in sorted(tum.glob("*.png"))]
    return {k: [im for im in v if im is not None] for k, v in out.items()}


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="train_vocabulary", description=__doc__.split("\n")[0])
    ap.add_argument("--homes", nargs="*", default=["apartment", "house", "small_house"])
    ap.add_argument("--images-per-home", type=int, default=120)
    ap.add_argument("--clearance-m", type=float, default=0.3)
    ap.add_argument("--euroc-stride", type=int, default=5)
    ap.add_argument("--data-dir", type=Path, default=shared_data_dir())
    ap.add_argument("--features", type=int, default=1000, help="ORB features per image")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--max-descriptors", type=int, default=200000)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    import cv2

    from hearth_slam.place_recognition import Vocabulary

    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    sources: dict[str, list[np.ndarray]] = {}
    skipped = []
    for home in args.homes:
        try:
            sources[f"sim:{home}"] = render_home(home, args.images_per_home, args.clearance_m,
                                                 rng)
        except Exception as exc:  # the small house needs the shared data
            skipped.append(f"sim:{home}: {exc}")
            print(f"skipping home {home}: {exc}", file=sys.stderr)
        print(f"rendered {home}: {len(sources.get(f'sim:{home}', []))} images "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if args.data_dir.is_dir():
        sources.update(real_images(args.data_dir, args.euroc_stride))
    orb_settings = {"nfeatures": args.features, "scaleFactor": 1.2, "nlevels": 8,
                    "edgeThreshold": 31, "patchSize": 31, "fastThreshold": 20}
    orb = cv2.ORB_create(**orb_settings)
    descs, image_index, per_source = [], [], {}
    n_img = 0
    for name, images in sources.items():
        count = 0
        for im in images:
            _, d = orb.detectAndCompute(im, None)
            if d is None or len(d) == 0:
                continue
            descs.append(d)
            image_index.append(np.full(len(d), n_img))
            n_img += 1
            count += len(d)
        per_source[name] = {"images": len(images), "descriptors": count}
    if not descs:
        print("no descriptors: nothing to train on", file=sys.stderr)
        return 1
    all_desc = np.concatenate(descs)
    all_img = np.concatenate(image_index)
    n_train = min(len(all_desc), args.max_descriptors)
    print(f"{n_img} images, {len(all_desc)} descriptors, training the tree on {n_train}",
          file=sys.stderr)
    header = {
        "descriptor": "ORB (OpenCV) 256-bit, Hamming",
        "orb": orb_settings,
        "k": args.k, "levels": args.levels, "seed": args.seed,
        "training": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sources": per_source, "skipped": skipped,
            "homes": [h for h in args.homes if f"sim:{h}" in sources],
            "data_folders": sorted(k for k in sources if not k.startswith("sim:")),
            "images": n_img, "descriptors_total": len(all_desc),
            "descriptors_tree": n_train, "idf": "all descriptors of every image",
            "images_per_home": args.images_per_home, "clearance_m": args.clearance_m,
            "euroc_stride": args.euroc_stride,
            "opencv": cv2.__version__, "numpy": np.__version__,
            "tool": "hearth_slam/tools/train_vocabulary.py",
        },
    }
    voc = Vocabulary.train(all_desc, all_img, args.k, args.levels, args.seed,
                           args.iterations, args.max_descriptors, header)
    voc.header["training"]["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    voc.save(args.out)
    sidecar = args.out.with_suffix(".json")
    tmp = sidecar.with_name(f".{sidecar.name}.tmp")
    tmp.write_text(json.dumps(voc.header, indent=1) + "\n")
    os.replace(tmp, sidecar)
    size_kb = args.out.stat().st_size / 1024
    print(json.dumps({"out": str(args.out), "vocabulary_id": voc.vocabulary_id,
                      "words": voc.n_words, "nodes": len(voc.centres), "size_kb": round(size_kb),
                      "images": n_img, "seconds": voc.header["training"]["seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
