"""``./hearth eval prediction``: people prediction measured against real pedestrians (ETH/UCY).

    python -m hearth_eval.eval prediction [--data DIR] [--train DIR | --no-fit]
                                          [--max-windows N] [--dt S]

The standard protocol: every run of 8 + 12 consecutive annotations of one pedestrian
(0.4 s apart; consecutive = frame ids exactly one annotation step apart, the file's most
common step) is a window; the predictor sees the first 8 positions and predicts the next 12.
Per scene (a sub-folder of ``--data``, or each ``.txt`` file directly in it) and averaged
over the scenes:

- ADE / FDE (m): mean displacement over the 12 predicted steps / at the last one;
- calibration of the predicted covariance: the share of truths inside the 1- and 2-sigma
  ellipses over all predicted steps (a calibrated 2-D Gaussian: 39.3 % and 86.5 %), and the
  mean negative log-likelihood.

Three predictors, in the same run, all through
``hearth_perception.prediction.predict_constant_velocity``:

- ``cv`` (the peer): plain constant velocity, the last displacement over the last step, with
  the covariance of white acceleration (``q``) alone from a certain start;
- ``cv_kf``: the tracker's constant-velocity Kalman filter (``q``, position noise ``r``) over
  the 8 observed positions (``estimate_from_window``), its state and covariance predicted;
- ``cv_intent`` (hearth's predictor): the peer's mean, with the people's intent uncertainty
  (``intent_covariance``: speed along the walk, heading across it) and position noise ``r``
  at the start, and white acceleration ``q``.

Their noise parameters are fitted by maximum likelihood (mean negative log-likelihood of the
12 predicted positions) on training scenes, never on the evaluated ones: ``--train DIR``, else
``<data>/../train``, else ``<data>/../all_data`` less every file whose bytes or name match an
evaluated file (for the shared copy: crowds_zara03 and uni_examples). ``--no-fit`` (or no
training file) uses hearth_perception's defaults. Missing data: a message and exit 0.

Prints a table, then one JSON object with every figure as the last line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from hearth_perception.prediction import (
    PEOPLE_ACCEL_PSD_M2PS3,
    PEOPLE_HEADING_STD_RAD,
    PEOPLE_POSITION_NOISE_M,
    PEOPLE_SPEED_STD_MPS,
    estimate_from_window,
    intent_covariance,
    last_step_velocity,
    mahalanobis_sq_2d,
    predict_constant_velocity,
)
from hearth_sim.people.replay import ETH_UCY_FRAME_PERIOD_S, read_eth_ucy

OBS_STEPS, PRED_STEPS = 8, 12
#: The literature's plain constant-velocity ADE/FDE averaged over the five ETH/UCY scenes (m).
LITERATURE_CV_ADE_FDE_M = (0.39, 0.83)
#: Share of a calibrated 2-D Gaussian's samples inside its 1- and 2-sigma ellipses.
GAUSSIAN_INSIDE = (1.0 - np.exp(-0.5), 1.0 - np.exp(-2.0))
#: Fitting grids (log-spaced): process noise q (m²/s³) and position noise r (m).
GRID_Q = np.geomspace(0.003, 3.0, 19)
GRID_R = np.geomspace(0.003, 0.3, 11)
DATA_SUBPATH = Path("..") / "shared" / "data" / "eth-ucy-pedestrians"


def workspace_root() -> Path:
    """The workspace (the folder holding src/hearth_eval), from $HEARTH_WS or this file."""
    env = os.environ.get("HEARTH_WS")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        if (parent / "src" / "hearth_eval").is_dir():
            return parent
    return Path.cwd()


def default_data_dir() -> Path:
    return workspace_root() / DATA_SUBPATH / "test"


# ------------------------------------------------------------------------------ windows


def frame_step(rows: np.ndarray) -> int:
    """The file's annotation step in video frames: the most common gap between frames."""
    frames = np.unique(rows[:, 0])
    gaps = np.diff(frames)
    if gaps.size == 0:
        return 1
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[np.argmax(counts)])


def windows_of(rows: np.ndarray, length: int = OBS_STEPS + PRED_STEPS) -> np.ndarray:
    """Every run of ``length`` consecutive annotations of one pedestrian, (W, length, 2)."""
    step = frame_step(rows)
    out = []
    for pid in np.unique(rows[:, 1]):
        r = rows[rows[:, 1] == pid]
        r = r[np.argsort(r[:, 0], kind="stable")]
        if len(r) < length:
            continue
        ok = np.diff(r[:, 0]) == step
        # a window starting at s needs ok[s : s + length - 1] all true
        run = np.concatenate([[0], np.cumsum(~ok)])
        starts = np.nonzero(run[length - 1:] - run[: len(r) - length + 1] == 0)[0]
        if starts.size:
            idx = starts[:, None] + np.arange(length)[None, :]
            out.append(r[idx][:, :, 2:4])
    return np.concatenate(out) if out else np.zeros((0, length, 2))


def find_scenes(folder: Path) -> dict[str, list[Path]]:
    """Scenes of a folder: each sub-folder holding .txt files, else each .txt file in it."""
    scenes = {d.name: sorted(d.glob("*.txt")) for d in sorted(folder.iterdir()) if d.is_dir()}
    scenes = {k: v for k, v in scenes.items() if v}
    if not scenes:
        scenes = {f.stem: [f] for f in sorted(folder.glob("*.txt"))}
    return scenes


def scene_windows(files: Sequence[Path], max_windows: int | None = None) -> np.ndarray:
    """The windows of a scene's files (each file on its own), at most ``max_windows`` of
    them evenly spaced."""
    parts = [windows_of(read_eth_ucy(f)) for f in files]
    w = np.concatenate(parts) if parts else np.zeros((0, OBS_STEPS + PRED_STEPS, 2))
    if max_windows is not None and len(w) > max_windows:
        w = w[np.linspace(0, len(w) - 1, max_windows).round().astype(int)]
    return w


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_files(data_dir: Path, train_dir: Path | None,
                   evaluated: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(training files, files left out because they match an evaluated one)."""
    if train_dir is None:
        for candidate in (data_dir.parent / "train", data_dir.parent / "all_data"):
            if candidate.is_dir() and candidate.resolve() != data_dir.resolve():
                train_dir = candidate
                break
    if train_dir is None or not train_dir.is_dir():
        return [], []
    files = sorted(train_dir.rglob("*.txt"))
    test_digests = {_digest(f) for f in evaluated}
    test_names = {f.name for f in evaluated}
    keep = [f for f in files if f.name not in test_names and _digest(f) not in test_digests]
    return keep, [f for f in files if f not in keep]


# ------------------------------------------------------------------------------ predictors


@dataclass(frozen=True)
class Prediction:
    means: np.ndarray  # (W, T, 2)
    covs: np.ndarray  # (W, T, 2, 2)


def predict_cv_kf(obs: np.ndarray, dt_s: float, q: float, r: float) -> Prediction:
    p, v, P = estimate_from_window(obs, dt_s, accel_psd_m2ps3=q, position_noise_m=r)
    return Prediction(*predict_constant_velocity(p, v, P, PRED_STEPS, dt_s, accel_psd_m2ps3=q))


def predict_cv(obs: np.ndarray, dt_s: float, q: float) -> Prediction:
    p, v = last_step_velocity(obs, dt_s)
    P = np.zeros((len(p), 4, 4))
    return Prediction(*predict_constant_velocity(p, v, P, PRED_STEPS, dt_s, accel_psd_m2ps3=q))


def predict_cv_intent(obs: np.ndarray, dt_s: float, speed_std: float, heading_std: float,
                      q: float, r: float) -> Prediction:
    p, v = last_step_velocity(obs, dt_s)
    P = intent_covariance(v, speed_std_mps=speed_std, heading_std_rad=heading_std)
    P[:, 0, 0] = P[:, 1, 1] = r * r
    return Prediction(*predict_constant_velocity(p, v, P, PRED_STEPS, dt_s, accel_psd_m2ps3=q))


MODELS = ("cv", "cv_kf", "cv_intent")
DEFAULTS = {
    "cv": {"q_m2ps3": PEOPLE_ACCEL_PSD_M2PS3},
    "cv_kf": {"q_m2ps3": PEOPLE_ACCEL_PSD_M2PS3, "r_m": PEOPLE_POSITION_NOISE_M},
    "cv_intent": {"speed_std_mps": PEOPLE_SPEED_STD_MPS,
                  "heading_std_rad": PEOPLE_HEADING_STD_RAD,
                  "q_m2ps3": PEOPLE_ACCEL_PSD_M2PS3, "r_m": PEOPLE_POSITION_NOISE_M},
}


def predict(model: str, params: dict[str, float], obs: np.ndarray, dt_s: float) -> Prediction:
    p = params
    if model == "cv":
        return predict_cv(obs, dt_s, p["q_m2ps3"])
    if model == "cv_kf":
        return predict_cv_kf(obs, dt_s, p["q_m2ps3"], p["r_m"])
    return predict_cv_intent(obs, dt_s, p["speed_std_mps"], p["heading_std_rad"],
                             p["q_m2ps3"], p["r_m"])


def metrics(pred: Prediction, truth: np.ndarray) -> dict[str, float]:
    """ADE, FDE (m), shares inside 1 and 2 sigma, mean NLL, over windows (W, T, 2)."""
    err = truth - pred.means
    dist = np.linalg.norm(err, axis=-1)
    d2 = mahalanobis_sq_2d(err, pred.covs)
    return {
        "ade_m": float(dist.mean()),
        "fde_m": float(dist[:, -1].mean()),
        "inside_1sigma": float(np.mean(d2 <= 1.0)),
        "inside_2sigma": float(np.mean(d2 <= 4.0)),
        "nll": _nll(pred, truth),
    }


def _nll(pred: Prediction, truth: np.ndarray) -> float:
    err = truth - pred.means
    d2 = mahalanobis_sq_2d(err, pred.covs)
    _, logdet = np.linalg.slogdet(pred.covs)
    return float(np.mean(0.5 * d2 + 0.5 * logdet + np.log(2.0 * np.pi)))


def fit_noise(windows: np.ndarray, dt_s: float) -> dict[str, dict[str, float]]:
    """Maximum-likelihood parameters of each model on training windows: a log grid for
    ``cv`` and ``cv_kf``; Nelder-Mead in log space from the defaults for ``cv_intent``."""
    obs, truth = windows[:, :OBS_STEPS], windows[:, OBS_STEPS:]
    _, q_cv = min((_nll(predict_cv(obs, dt_s, q), truth), q) for q in GRID_Q)
    _, q_kf, r_kf = min((_nll(predict_cv_kf(obs, dt_s, q, r), truth), q, r)
                        for q in GRID_Q for r in GRID_R)
    keys = ("speed_std_mps", "heading_std_rad", "q_m2ps3", "r_m")

    def nll(log_p: np.ndarray) -> float:
        p = dict(zip(keys, np.exp(log_p), strict=True))
        return _nll(predict("cv_intent", p, obs, dt_s), truth)

    start = np.log([DEFAULTS["cv_intent"][k] for k in keys])
    best = minimize(nll, start, method="Nelder-Mead",
                    options={"xatol": 1e-3, "fatol": 1e-5, "maxiter": 600})
    fitted = {
        "cv": {"q_m2ps3": float(q_cv)},
        "cv_kf": {"q_m2ps3": float(q_kf), "r_m": float(r_kf)},
        "cv_intent": {k: float(v) for k, v in zip(keys, np.exp(best.x), strict=True)},
    }
    for model, p in fitted.items():
        p["train_nll"] = _nll(predict(model, p, obs, dt_s), truth)
    return fitted


# ------------------------------------------------------------------------------ report


def _params_text(p: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in p.items() if k != "train_nll")


def format_table(res: dict) -> str:
    fit = res["fit"]
    lines = [
        f"ETH/UCY prediction: {res['obs_steps']} observed / {res['pred_steps']} predicted "
        f"steps at {res['dt_s']:g} s; data {res['data']}",
        f"noise fitted on {fit['source']} ({fit['train_windows']} windows):",
        *(f"  {m:<10} {_params_text(fit[m])}" for m in MODELS),
        "",
    ]
    w = max(len(name) for name in [*res["scenes"], "scene"]) + 2
    lines.append(f"{'scene':<{w}}{'model':<11}{'windows':>8}{'ADE m':>8}{'FDE m':>8}"
                 f"{'in 1σ':>8}{'in 2σ':>8}{'NLL':>8}")

    def row(scene: str, model: str, n: int, m: dict) -> str:
        return (f"{scene:<{w}}{model:<11}{n:>8}{m['ade_m']:8.3f}{m['fde_m']:8.3f}"
                f"{100 * m['inside_1sigma']:7.1f}%{100 * m['inside_2sigma']:7.1f}%"
                f"{m['nll']:8.2f}")

    for name, s in res["scenes"].items():
        lines += [row(name, m, s["windows"], s[m]) for m in MODELS]
    lines += [row("mean", m, res["windows"], res["mean"][m]) for m in MODELS]
    lit_ade, lit_fde = LITERATURE_CV_ADE_FDE_M
    lines += [
        "",
        f"cv = the plain constant-velocity peer; cv_intent = hearth's predictor. A calibrated "
        f"Gaussian has {100 * GAUSSIAN_INSIDE[0]:.1f} % inside 1 sigma, "
        f"{100 * GAUSSIAN_INSIDE[1]:.1f} % inside 2 sigma.",
        f"Literature plain CV over the five ETH/UCY scenes: {lit_ade}/{lit_fde} m ADE/FDE "
        f"(the mean here is over {len(res['scenes'])} scenes: {', '.join(res['scenes'])}).",
    ]
    return "\n".join(lines)


def evaluate(data_dir: Path, train_dir: Path | None = None, fit: bool = True,
             max_windows: int | None = None, dt_s: float = ETH_UCY_FRAME_PERIOD_S) -> dict:
    scenes = find_scenes(data_dir)
    evaluated = [f for files in scenes.values() for f in files]
    windows = {name: scene_windows(files, max_windows) for name, files in scenes.items()}
    windows = {k: w for k, w in windows.items() if len(w)}
    if not windows:
        raise ValueError(f"no window of {OBS_STEPS + PRED_STEPS} consecutive annotations in "
                         f"{data_dir}")
    train, left_out = training_files(data_dir, train_dir, evaluated) if fit else ([], [])
    train_w = scene_windows(train, None if max_windows is None else 4 * max_windows)
    if len(train_w):
        params: dict = fit_noise(train_w, dt_s)
        params["source"] = ", ".join(f.name for f in train)
    else:
        params = {m: dict(p) for m, p in DEFAULTS.items()}
        params["source"] = "nothing (no training file): hearth_perception's defaults"
    params["train_windows"] = len(train_w)
    params["left_out_as_evaluated"] = [f.name for f in left_out]
    res: dict = {"data": str(data_dir), "obs_steps": OBS_STEPS, "pred_steps": PRED_STEPS,
                 "dt_s": dt_s, "fit": params, "scenes": {}}
    for name, w in windows.items():
        obs, truth = w[:, :OBS_STEPS], w[:, OBS_STEPS:]
        res["scenes"][name] = {"windows": len(w)} | {
            m: metrics(predict(m, params[m], obs, dt_s), truth) for m in MODELS
        }
    res["windows"] = sum(s["windows"] for s in res["scenes"].values())
    res["mean"] = {  # over scenes, each scene counting once (as the literature averages)
        model: {k: float(np.mean([s[model][k] for s in res["scenes"].values()]))
                for k in ("ade_m", "fde_m", "inside_1sigma", "inside_2sigma", "nll")}
        for model in MODELS
    }
    res["literature_cv_ade_fde_m"] = list(LITERATURE_CV_ADE_FDE_M)
    res["gaussian_inside_1_2_sigma"] = [float(v) for v in GAUSSIAN_INSIDE]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hearth eval prediction", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="folder of scenes in the ETH/UCY format (default: the shared test set)")
    ap.add_argument("--train", type=Path, default=None,
                    help="folder of training files to fit the noise on (default: see above)")
    ap.add_argument("--no-fit", action="store_true", help="use hearth_perception's defaults")
    ap.add_argument("--max-windows", type=int, default=None,
                    help="at most this many windows per scene (a quick slice)")
    ap.add_argument("--dt", type=float, default=ETH_UCY_FRAME_PERIOD_S,
                    help="seconds between two annotations (default 0.4)")
    args = ap.parse_args(argv)
    data = args.data or default_data_dir()
    if not data.is_dir() or not find_scenes(data):
        print(f"prediction evaluation skipped: no ETH/UCY scenes in {data}")
        print(json.dumps({"skipped": True, "data": str(data)}))
        return 0
    if (args.max_windows is not None and args.max_windows < 1) or not args.dt > 0.0:
        print("--max-windows must be >= 1 and --dt > 0", file=sys.stderr)
        return 2
    try:
        res = evaluate(data, args.train, not args.no_fit, args.max_windows, args.dt)
    except (ValueError, OSError) as exc:  # a malformed file names itself and its line
        print(f"prediction evaluation failed: {exc}", file=sys.stderr)
        return 2
    print(format_table(res))
    print(json.dumps(res, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
