"""The V-SLAM evaluation's drives on the simulator, and their recordings (ROS-free).

``record_drive(...)`` builds the MuJoCo simulator in a home (optionally with the day's
changes), drives waypoints closed-loop on the simulator's *true* pose (A* on the home's own
raster, a small pure-pursuit follower: a stimulus, the same whatever the estimator does) and
records:

- the stereo pairs (mono8, 10 Hz) and the ToF depth images (5 Hz) as the simulator renders
  them, with their stamps and camera_info fields;
- the IMU samples and the encoder positions as the simulator delivers them (the fused
  odometry is replayed from them: ``fused_odometry``);
- the ground truth pose of base_link at every image and at 50 Hz.

**Darkness** (``darkness=``): the same drive is recorded once, and the stereo pairs that fall
in the dimming and dark window are rendered again under the dimmed lighting (the
simulator's ``LightingSchedule``): the home's lights go off and the sun and the ambient
light fade over ``dim_s``, then it is dark for ``dark_s``. Only the home's light changes:
the robot's own IR illuminator comes on in the dark, as the simulator's darkness has it
(``dark_*`` arrays; ``Recording.with_darkness()``). The pairs of the dark itself are also
rendered with the illuminator off (``black_*``; ``with_darkness(illuminator=False)``): a
failed illuminator or a covered camera, black images, the stress case for "keep the estimate
through fusion, relocalize after". The robot drives on the true pose, so the dark runs'
trajectory and every other sensor reading are the lit run's: sequence (b) is sequence (a)
with those pairs replaced. One simulation, three sequences.

A :class:`Recording` is one folder: ``recording.npz`` (``numpy.savez``, plain arrays, read with
``allow_pickle=False``; images uncompressed: noisy images hardly compress and writing is the
cost) and ``manifest.json`` (scenario, camera_info, counts, timings), each written atomically.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from hearth_eval.atomic_json import write_json_atomic

NS = 1_000_000_000
SCENARIO_FILE = Path("config") / "scenarios" / "slam_tour.yaml"
LEG_TIMEOUT_S = 120.0


def workspace_root() -> Path:
    env = os.environ.get("HEARTH_WS")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        if (parent / SCENARIO_FILE).is_file():
            return parent
    return Path.cwd()


# ------------------------------------------------------------------------------ scenario


@dataclass(frozen=True)
class Drive:
    start: tuple[float, float, float]  # x_m, y_m, yaw_rad
    waypoints: tuple[tuple[float, float], ...]
    changes: str = ""  # maps/<home>/changes/<name>.yaml


@dataclass(frozen=True)
class Darkness:
    dim_start_s: float
    dim_s: float
    dark_s: float

    @property
    def end_s(self) -> float:
        return self.dim_start_s + self.dim_s + self.dark_s


@dataclass(frozen=True)
class Scenario:
    home: str
    seed: int
    speed_mps: float
    turn_radps: float
    inflation_m: float
    lookahead_m: float
    pause_s: float
    initial_rest_s: float
    stereo_rate_hz: float
    tof_rate_hz: float
    tour: Drive
    darkness: Darkness
    session2: Drive
    quick: bool = False

    def to_dict(self) -> dict:
        def drive(d: Drive) -> dict:
            return {"start": list(d.start), "waypoints": [list(w) for w in d.waypoints],
                    "changes": d.changes}
        out = {k: v for k, v in self.__dict__.items() if not isinstance(v, (Drive, Darkness))}
        out.update(tour=drive(self.tour), session2=drive(self.session2),
                   darkness=dict(self.darkness.__dict__))
        return out


def _drive(d: dict) -> Drive:
    x, y, yaw_deg = d["start"]
    return Drive((float(x), float(y), math.radians(float(yaw_deg))),
                 tuple((float(w[0]), float(w[1])) for w in d["waypoints"]),
                 str(d.get("changes", "") or ""))


def load_scenario(path: str | Path | None = None, quick: bool = False) -> Scenario:
    """The drives of ``slam_tour.yaml`` (its ``quick`` variant with ``quick=True``)."""
    path = Path(path) if path is not None else workspace_root() / SCENARIO_FILE
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if quick:
        data = {**data, **(data.get("quick") or {})}
    dk = data["darkness"]
    return Scenario(
        home=str(data["home"]), seed=int(data["seed"]), speed_mps=float(data["speed_mps"]),
        turn_radps=float(data["turn_radps"]), inflation_m=float(data["inflation_m"]),
        lookahead_m=float(data["lookahead_m"]), pause_s=float(data["pause_s"]),
        initial_rest_s=float(data["initial_rest_s"]),
        stereo_rate_hz=float(data["stereo_rate_hz"]), tof_rate_hz=float(data["tof_rate_hz"]),
        tour=_drive(data["tour"]),
        darkness=Darkness(float(dk["dim_start_s"]), float(dk["dim_s"]), float(dk["dark_s"])),
        session2=_drive(data["session2"]), quick=quick)


# ------------------------------------------------------------------------------ recording


@dataclass
class Recording:
    """Arrays by name (see ``record_drive``) and a JSON-able manifest."""

    arrays: dict[str, np.ndarray]
    manifest: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".recording.", suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **self.arrays)
            os.replace(tmp, folder / "recording.npz")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        write_json_atomic(folder / "manifest.json", self.manifest)
        return folder

    @classmethod
    def load(cls, folder: str | Path, keys: tuple[str, ...] | None = None) -> Recording:
        """From the folder (or its files); only ``keys`` when given (the images are most of
        a recording)."""
        folder = Path(folder)
        if folder.is_file():
            folder = folder.parent
        with np.load(folder / "recording.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if keys is None or k in keys}
        with open(folder / "manifest.json", encoding="utf-8") as f:
            manifest = json.load(f)
        return cls(arrays, manifest)

    def with_darkness(self, illuminator: bool = True) -> Recording:
        """Sequence (b): the pairs of the dimming and dark window replaced by their dark
        renders, the robot's IR illuminator on in the dark (or off: black images)."""
        kinds = ("dark",) if illuminator else ("dark", "black")
        if any(f"{k}_index" not in self.arrays for k in kinds):
            raise ValueError("this recording has no darkness renders"
                             + ("" if illuminator else " with the illuminator off"))
        left, right = self["stereo_left"].copy(), self["stereo_right"].copy()
        for k in kinds:
            idx = self[f"{k}_index"]
            left[idx], right[idx] = self[f"{k}_left"], self[f"{k}_right"]
        arrays = dict(self.arrays, stereo_left=left, stereo_right=right)
        return Recording(arrays, dict(self.manifest, lighting="darkness" if illuminator
                                      else "darkness, illuminator off"))


# ------------------------------------------------------------------------------ the drive


class PurePursuit:
    """Follows a polyline on the true pose: turns on the spot when the path's direction is
    more than ``turn_in_place_rad`` off the heading, else pure pursuit at ``speed_mps``,
    slowing into the last point."""

    def __init__(self, path_xy: np.ndarray, speed_mps: float, turn_radps: float,
                 lookahead_m: float, turn_in_place_rad: float = 0.5,
                 goal_tolerance_m: float = 0.08) -> None:
        self.path = _densify(np.asarray(path_xy, dtype=float).reshape(-1, 2), 0.05)
        self.speed, self.turn, self.lookahead = speed_mps, turn_radps, lookahead_m
        self.turn_in_place = turn_in_place_rad
        self.tolerance = goal_tolerance_m
        self._i = 0
        self._turning = True

    def command(self, x: float, y: float, yaw: float) -> tuple[float, float, bool]:
        """(v m/s, w rad/s, arrived)."""
        p, here = self.path, np.array([x, y])
        goal_dist = float(np.linalg.norm(p[-1] - here))
        if goal_dist < self.tolerance:
            return 0.0, 0.0, True
        ahead = np.linalg.norm(p[self._i:self._i + 20] - here, axis=1)  # the next metre
        self._i += int(np.argmin(ahead))
        j = self._i
        while j < len(p) - 1 and np.linalg.norm(p[j] - here) < self.lookahead:
            j += 1
        tx, ty = p[j]
        err = (math.atan2(ty - y, tx - x) - yaw + math.pi) % (2 * math.pi) - math.pi
        if abs(err) > self.turn_in_place or (self._turning and abs(err) > 0.1):
            self._turning = True
            return 0.0, float(np.clip(2.0 * err, -self.turn, self.turn)), False
        self._turning = False
        v = min(self.speed, 0.6 * goal_dist + 0.05)
        dist = max(float(np.linalg.norm([tx - x, ty - y])), 1e-3)
        w = float(np.clip(2.0 * v * math.sin(err) / dist, -self.turn, self.turn))
        return v, w, False


def _densify(points: np.ndarray, step_m: float) -> np.ndarray:
    out = [points[0]]
    for a, b in itertools.pairwise(points):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step_m)))
        out.extend(a + (b - a) * (k / n) for k in range(1, n + 1))
    return np.array(out)


def _lighting_at(base, home_lights: list[str], dk: Darkness, t_s: float,
                 illuminator: bool = True):
    """The dimmed lighting of sequence (b) at ``t_s`` (None outside the window); in the
    dark, the robot's IR illuminator on or off."""
    from hearth_sim.world.lighting import Darkness as LightDark
    from hearth_sim.world.lighting import LightSwitch

    if not dk.dim_start_s <= t_s < dk.end_s:
        return None
    off = tuple(LightSwitch(dk.dim_start_s, name, False) for name in home_lights)
    if t_s < dk.dim_start_s + dk.dim_s:
        f = 1.0 - 0.9 * (t_s - dk.dim_start_s) / max(dk.dim_s, 1e-9)
        return replace(base, switches=base.switches + off, sun_intensity=base.sun_intensity * f,
                       ambient=base.ambient * f)
    dark = LightDark(dk.dim_start_s + dk.dim_s, dk.end_s, ir_on=illuminator)
    return replace(base, switches=base.switches + off, darkness=(*base.darkness, dark))


def record_drive(scn: Scenario, drive: Drive, darkness: Darkness | None = None,
                 progress=None) -> Recording:
    """Drive ``drive`` in the scenario's home on the simulator and record it (module doc)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from hearth_common.config import load_config
    from hearth_description.robot_model import expand_xacro, load_robot_params
    from hearth_planning.grid_astar import GridPlanner
    from hearth_planning.map_io import OccupancyMap
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import apply_changes, load_changes, maps_dir, resolve_home
    from hearth_sim.home.occupancy import rasterize
    from hearth_sim.mujoco_sim import MujocoSim
    from hearth_sim.sensors.cameras import camera_info_fields
    from hearth_slam.stereo_camera import mount_from_urdf

    wall0 = time.perf_counter()
    robot = load_robot_params()
    home = resolve_home(scn.home)
    if drive.changes:
        path = maps_dir() / scn.home / "changes" / f"{drive.changes}.yaml"
        home = apply_changes(home, load_changes(path), str(path))
    x0, y0, yaw0 = drive.start
    cfg = load_config(SimConfig, {
        "seed": scn.seed, "start_pose": f"{x0} {y0} {yaw0}", "render_cameras": True,
        "stereo_rate_hz": scn.stereo_rate_hz, "tof_rate_hz": scn.tof_rate_hz,
        "screen_camera_rate_hz": 0.001})
    sim = MujocoSim(home, robot, cfg)
    raster = rasterize(home)
    planner = GridPlanner(OccupancyMap(raster.data, raster.resolution_m, *raster.origin_xy_m),
                          scn.inflation_m)
    lights = sorted(sim.home_mjcf.lights_on)
    base_lighting = sim.lighting
    every_truth = round(1.0 / (cfg.ground_truth_rate_hz * sim.dt_s))
    rec: dict[str, list] = {k: [] for k in (
        "stereo_t_ns", "stereo_left", "stereo_right", "stereo_truth", "tof_t_ns", "tof_depth",
        "tof_truth", "imu", "wheels", "truth", "dark_index", "dark_left", "dark_right",
        "black_index", "black_left", "black_right")}

    def pose_of(truth) -> np.ndarray:
        from hearth_slam import se3

        w, x, y, z = truth.quat_wxyz
        return se3.from_quaternion([x, y, z, w], truth.position_m)

    def step(v: float, w: float):
        out = sim.step(v, w)
        for s in out.imu:
            rec["imu"].append((s.t_ns, out.t_ns, *s.accel_mps2, *s.gyro_radps))
        for s in out.wheels:
            rec["wheels"].append((s.t_ns, out.t_ns, *s.reading.positions_rad))
        if out.stereo or out.tof or out.truth is not None:
            T = pose_of(sim.robot_truth())
            if out.truth is not None:
                rec["truth"].append(np.concatenate([[out.truth.t_ns], T[:3, :].ravel()]))
            for f in out.tof:
                rec["tof_t_ns"].append(f.t_ns)
                rec["tof_depth"].append(f.images[0].astype(np.float32))
                rec["tof_truth"].append(T)
            for f in out.stereo:
                rec["stereo_t_ns"].append(f.t_ns)
                rec["stereo_left"].append(f.images[0])
                rec["stereo_right"].append(f.images[1])
                rec["stereo_truth"].append(T)
                dark = None if darkness is None else _lighting_at(base_lighting, lights,
                                                                  darkness, f.t_ns / NS)
                if dark is not None:  # the same instant, rendered under sequence b's light
                    sim.lighting = dark
                    left, right = sim.render("stereo")
                    rec["dark_index"].append(len(rec["stereo_t_ns"]) - 1)
                    rec["dark_left"].append(left)
                    rec["dark_right"].append(right)
                    if f.t_ns / NS >= darkness.dim_start_s + darkness.dim_s:
                        sim.lighting = _lighting_at(base_lighting, lights, darkness,
                                                    f.t_ns / NS, illuminator=False)
                        left, right = sim.render("stereo")
                        rec["black_index"].append(len(rec["stereo_t_ns"]) - 1)
                        rec["black_left"].append(left)
                        rec["black_right"].append(right)
                    sim.lighting = base_lighting
        return out

    def stand(seconds: float) -> None:
        for _ in range(round(seconds / sim.dt_s)):
            step(0.0, 0.0)

    route_m = 0.0
    stand(scn.initial_rest_s)
    for k, goal in enumerate(drive.waypoints):
        truth = sim.robot_truth()
        plan = planner.plan((float(truth.position_m[0]), float(truth.position_m[1])), goal)
        route_m += plan.length_m
        follower = PurePursuit(np.asarray(plan.points), scn.speed_mps, scn.turn_radps,
                               scn.lookahead_m)
        v = w = 0.0
        t_end = sim.t_ns + LEG_TIMEOUT_S * NS
        n = 0
        while True:
            step(v, w)
            n += 1
            if n % every_truth == 0:
                truth = sim.robot_truth()
                v, w, done = follower.command(float(truth.position_m[0]),
                                              float(truth.position_m[1]), truth.yaw_rad)
                if done:
                    break
            if sim.t_ns > t_end:
                sim.close()
                raise RuntimeError(f"leg {k} to {goal} not done in {LEG_TIMEOUT_S:g} s; robot "
                                   f"at {np.round(sim.robot_truth().position_m[:2], 2)}")
        stand(scn.pause_s)
        if progress:
            progress(f"waypoint {k + 1}/{len(drive.waypoints)}: t = {sim.t_ns / NS:.0f} s, "
                     f"{len(rec['stereo_t_ns'])} pairs")
    wall = time.perf_counter() - wall0

    intr = sim.cameras.stereo_left.intrinsics
    frames = sim.cameras.frames
    urdf = expand_xacro()
    tof_cam = sim.cameras.tof
    tof_frame = frames[tof_cam.name]
    imu = np.array(rec["imu"], dtype=float).reshape(-1, 8)
    wheels = np.array(rec["wheels"], dtype=float).reshape(-1, 4)
    truth = np.array(rec["truth"], dtype=float).reshape(-1, 13)
    h, wd = intr.height_px, intr.width_px
    arrays = {
        "stereo_t_ns": np.array(rec["stereo_t_ns"], np.int64),
        "stereo_left": np.array(rec["stereo_left"], np.uint8).reshape(-1, h, wd),
        "stereo_right": np.array(rec["stereo_right"], np.uint8).reshape(-1, h, wd),
        "stereo_pose_world_base": np.array(rec["stereo_truth"]).reshape(-1, 4, 4),
        "tof_t_ns": np.array(rec["tof_t_ns"], np.int64),
        "tof_depth_m": np.array(rec["tof_depth"], np.float32).reshape(
            -1, tof_cam.intrinsics.height_px, tof_cam.intrinsics.width_px),
        "tof_pose_world_base": np.array(rec["tof_truth"]).reshape(-1, 4, 4),
        "tof_K": np.asarray(tof_cam.intrinsics.K, dtype=float),
        "tof_pose_base_optical": mount_from_urdf(urdf, tof_frame),
        "stereo_pose_base_left_optical": mount_from_urdf(
            urdf, frames[sim.cameras.stereo_left.name]),
        "imu_t_ns": imu[:, 0].astype(np.int64), "imu_arrival_ns": imu[:, 1].astype(np.int64),
        "imu_accel_mps2": imu[:, 2:5], "imu_gyro_radps": imu[:, 5:8],
        "wheel_t_ns": wheels[:, 0].astype(np.int64),
        "wheel_arrival_ns": wheels[:, 1].astype(np.int64), "wheel_pos_rad": wheels[:, 2:4],
        "truth_t_ns": truth[:, 0].astype(np.int64),
        "truth_pose_world_base": np.concatenate(
            [truth[:, 1:].reshape(-1, 3, 4), np.tile([[[0, 0, 0, 1.0]]], (len(truth), 1, 1))],
            axis=1),
    }
    for kind in ("dark", "black"):
        if rec[f"{kind}_index"]:
            arrays[f"{kind}_index"] = np.array(rec[f"{kind}_index"], np.int64)
            arrays[f"{kind}_left"] = np.array(rec[f"{kind}_left"], np.uint8).reshape(-1, h, wd)
            arrays[f"{kind}_right"] = np.array(rec[f"{kind}_right"], np.uint8).reshape(-1, h,
                                                                                      wd)
    left_info = camera_info_fields(intr, frames[sim.cameras.stereo_left.name])
    right_info = camera_info_fields(intr, frames[sim.cameras.stereo_right.name],
                                    robot.stereo.baseline_m, right=True)
    manifest = {
        "kind": "hearth slam recording", "format": 1, "scenario": scn.to_dict(),
        "drive": {"start": list(drive.start), "waypoints": [list(w) for w in drive.waypoints],
                  "changes": drive.changes},
        "darkness": None if darkness is None else dict(darkness.__dict__),
        "stereo_left_info": left_info, "stereo_right_info": right_info,
        "tof_frame": tof_frame,
        "robot": {"wheel_radius_m": robot.wheels.radius_m,
                  "wheel_separation_m": robot.wheels.separation_m,
                  "accel_full_scale_mps2": robot.imu.accel_full_scale_mps2,
                  "gyro_full_scale_radps": robot.imu.gyro_full_scale_radps},
        "planned_route_m": route_m, "simulated_s": sim.t_ns / NS, "record_wall_s": wall,
        "counts": {"stereo": len(arrays["stereo_t_ns"]), "tof": len(arrays["tof_t_ns"]),
                   "imu": len(imu), "wheels": len(wheels), "dark": len(rec["dark_index"]),
                   "black": len(rec["black_index"])},
        "render_s": {k: round(v, 2) for k, v in sim.timing_s.items()},
    }
    sim.close()
    return Recording(arrays, manifest)


# ------------------------------------------------------------------------------ odometry


def fused_odometry(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """The fusion EKF (hearth_fusion, default parameters: IMU + wheels, no visual odometry)
    replayed over the recording in delivery order: (t_ns (N,), (x, y, yaw) (N, 3)) in odom,
    one row per encoder message."""
    from hearth_fusion.ekf import OdometryEKF, RobotGeometry

    r = rec.manifest["robot"]
    ekf = OdometryEKF(RobotGeometry(r["wheel_radius_m"], r["wheel_separation_m"],
                                    r["accel_full_scale_mps2"], r["gyro_full_scale_radps"]))
    n_i, n_w = len(rec["imu_t_ns"]), len(rec["wheel_t_ns"])
    arrival = np.concatenate([rec["imu_arrival_ns"], rec["wheel_arrival_ns"]])
    kind = np.concatenate([np.zeros(n_i, np.int8), np.ones(n_w, np.int8)])
    index = np.concatenate([np.arange(n_i), np.arange(n_w)])
    order = np.lexsort((index, kind, arrival))
    acc, gyr, wpos = rec["imu_accel_mps2"], rec["imu_gyro_radps"], rec["wheel_pos_rad"]
    it, wt = rec["imu_t_ns"], rec["wheel_t_ns"]
    ts, poses = [], []
    for m in order:
        k = int(index[m])
        if kind[m] == 0:
            ekf.add_imu(int(it[k]), acc[k], gyr[k])
        else:
            ekf.add_wheels(int(wt[k]), float(wpos[k, 0]), float(wpos[k, 1]))
            st = ekf.state()
            if not ts or st.t_ns > ts[-1]:
                ts.append(st.t_ns)
                poses.append((st.x_m, st.y_m, st.yaw_rad))
    ekf.flush()
    st = ekf.state()
    if not ts or st.t_ns > ts[-1]:
        ts.append(st.t_ns)
        poses.append((st.x_m, st.y_m, st.yaw_rad))
    return np.array(ts, np.int64), np.array(poses)


def odometry_at(t_ns: np.ndarray, odo_t: np.ndarray, odo_xyyaw: np.ndarray) -> np.ndarray:
    """``T_odom_base`` (N, 4, 4) at the stamps, interpolated (x, y linearly, yaw unwrapped);
    held at the ends."""
    yaw = np.unwrap(odo_xyyaw[:, 2])
    x = np.interp(t_ns, odo_t, odo_xyyaw[:, 0])
    y = np.interp(t_ns, odo_t, odo_xyyaw[:, 1])
    a = np.interp(t_ns, odo_t, yaw)
    out = np.tile(np.eye(4), (len(t_ns), 1, 1))
    out[:, 0, 0] = out[:, 1, 1] = np.cos(a)
    out[:, 1, 0] = np.sin(a)
    out[:, 0, 1] = -np.sin(a)
    out[:, 0, 3], out[:, 1, 3] = x, y
    return out
