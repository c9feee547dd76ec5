"""The fusion evaluation's drive on the simulator, and its recording (ROS-free).

``record_drive(scenario)`` builds the MuJoCo simulator without cameras, drives the scenario's
route closed-loop on the simulator's *true* pose (A* between waypoints on the home's exported
map, pure pursuit along the path: a stimulus, the same whatever the estimators do), lifts the
robot where the scenario says, then drives the ``normal`` loop for its duration. It records

- the IMU samples and the encoder samples exactly as the simulator delivers them (stamps,
  arrival times, values, the IMU's saturation bits);
- the ground truth at 50 Hz: pose, body twist, whether the robot is held up (lifted), and the
  slip fraction under each wheel (the simulator's rug contact: the encoders count ``1 + slip``
  times the true travel there);
- the segments: the ~100 m drive, the lift (pick-up, put-down, settled), the normal driving;
- with ``visual_odometry`` (the scenario's switch): the stereo pair rendered at the robot's
  10 Hz and run through hearth_slam's front end as it happens (prior: the wheels' relative
  motion), its body twist (vx, wz) and their 2x2 covariance per frame, stamped with the
  frame, arriving after the measured compute time: what /slam/visual_odometry carries.

A :class:`Recording` is saved as ``recording.npz`` (compressed numpy arrays, loaded with
``allow_pickle=False``) and ``manifest.json`` (scenario, robot geometry, segments, ground-truth
events, timings), each written to a temporary file and renamed (atomic).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from hearth_eval.atomic_json import write_json_atomic

NS = 1_000_000_000
SCENARIO_FILE = Path("config") / "scenarios" / "fusion_drive.yaml"
LEG_TIMEOUT_S = 180.0  # a leg the follower does not finish in this long is a broken route
PUT_DOWN_SETTLE_S = 1.0  # after the put-down, stand still this long before driving on
VO_RATE_HZ = 10.0  # stereo pairs for the front end (the simulator node renders them at 10 Hz)


def workspace_root() -> Path:
    """The colcon workspace (the folder holding config/scenarios), from $HEARTH_WS or here."""
    env = os.environ.get("HEARTH_WS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / SCENARIO_FILE).is_file():
            return parent
    return Path.cwd()


# ------------------------------------------------------------------------------ scenario


@dataclass(frozen=True)
class Lift:
    put_down: tuple[float, float, float]  # x_m, y_m, yaw_rad
    hold_s: float
    wheels_mps: float


@dataclass(frozen=True)
class Scenario:
    name: str
    home: str
    seed: int
    start: tuple[float, float, float]  # x_m, y_m, yaw_rad
    speed_mps: float
    inflation_m: float
    lookahead_m: float
    pause_s: float
    initial_rest_s: float  # standing still after switch-on: the filter's static initialisation
    visual_odometry: bool  # render the stereo pair and run the V-SLAM front end on it
    drive: tuple  # (x, y) or (x, y, speed_mps) tuples and the string "lift"
    lift: Lift | None
    normal_duration_s: float
    normal_loop: tuple[tuple[float, float], ...]

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["drive"] = [list(w) if w != "lift" else "lift" for w in self.drive]
        d["lift"] = None if self.lift is None else dict(self.lift.__dict__)
        d["normal_loop"] = [list(p) for p in self.normal_loop]
        return d


def load_scenario(path: str | Path | None = None, quick: bool = False) -> Scenario:
    """The drive of ``fusion_drive.yaml`` (its ``quick`` variant with ``quick=True``)."""
    path = Path(path) if path is not None else workspace_root() / SCENARIO_FILE
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    base = dict(data)
    if quick:
        base.update(data.get("quick") or {})
        name = "fusion_drive (quick)"
    else:
        name = "fusion_drive"
    x, y, yaw_deg = base["start"]
    lift = base.get("lift")
    normal = base.get("normal") or {}
    drive = []
    for w in base["drive"]:
        if w == "lift":
            drive.append("lift")
        else:
            drive.append(tuple(float(v) for v in w[:3]))  # x, y[, leg speed]
    if drive.count("lift") > 1 or ("lift" in drive and not lift):
        raise ValueError(f"{path}: at most one 'lift' in drive, and a 'lift:' section for it")
    return Scenario(
        name=name, home=str(base["home"]), seed=int(base["seed"]),
        start=(float(x), float(y), math.radians(float(yaw_deg))),
        speed_mps=float(base["speed_mps"]), inflation_m=float(base["inflation_m"]),
        lookahead_m=float(base["lookahead_m"]), pause_s=float(base.get("pause_s", 0.5)),
        initial_rest_s=float(base.get("initial_rest_s", base.get("pause_s", 0.5))),
        visual_odometry=bool(base.get("visual_odometry", False)),
        drive=tuple(drive),
        lift=None if not lift else Lift(
            (float(lift["put_down"][0]), float(lift["put_down"][1]),
             math.radians(float(lift["put_down"][2]))),
            float(lift.get("hold_s", 2.0)), float(lift.get("wheels_mps", 0.0))),
        normal_duration_s=float(normal.get("duration_s", 0.0)),
        normal_loop=tuple((float(p[0]), float(p[1])) for p in normal.get("loop", [])),
    )


# ------------------------------------------------------------------------------ recording


@dataclass
class Recording:
    """Arrays (see ``ARRAYS``) and a JSON-able manifest."""

    arrays: dict[str, np.ndarray]
    manifest: dict = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def save(self, folder: str | Path) -> Path:
        """Write ``recording.npz`` and ``manifest.json`` into ``folder`` (atomically each)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        npz = folder / "recording.npz"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".recording.", suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **self.arrays)
            os.replace(tmp, npz)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        manifest = dict(self.manifest)
        manifest["recording_sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
        write_json_atomic(folder / "manifest.json", manifest)
        self.manifest = manifest
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """From the folder (or its ``recording.npz`` or ``manifest.json``)."""
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        with np.load(folder / "recording.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        with open(folder / "manifest.json", encoding="utf-8") as f:
            manifest = json.load(f)
        return cls(arrays, manifest)


# ------------------------------------------------------------------------------ the drive


class _FrontEnd:
    """hearth_slam's stereo front end on the simulator's pairs, its prior the wheels'
    relative motion since the previous pair (what TF odom -> base_link gives the node)."""

    def __init__(self, sim, robot) -> None:
        import cv2

        from hearth_description.robot_model import expand_xacro
        from hearth_fusion.wheel_odometry import WheelOdometry
        from hearth_sim.sensors.cameras import camera_info_fields
        from hearth_slam.stereo_camera import StereoRig, mount_from_urdf
        from hearth_slam.visual_odometry import VisualOdometry

        cv2.setNumThreads(1)  # one core, as on the robot
        intr = sim.cameras.stereo_left.intrinsics
        keys = ("width", "height", "k", "d", "r", "p")
        infos = (camera_info_fields(intr, "stereo_left_optical"),
                 camera_info_fields(intr, "stereo_right_optical", robot.stereo.baseline_m,
                                    right=True))
        rig = StereoRig.from_camera_info_fields(*[{k: i[k] for k in keys} for i in infos])
        self.vo = VisualOdometry(rig, mount_from_urdf(expand_xacro(), "stereo_left_optical"))
        self.odo = WheelOdometry(wheel_radius_m=robot.wheels.radius_m,
                                 wheel_separation_m=robot.wheels.separation_m)
        self._last_pose: tuple[float, float, float] | None = None
        self._last_t_ns: int | None = None
        # t_ns, arrival_ns, v, w, c_vv, c_vw, c_ww, tracked, interval_ns
        self.rows: list[tuple] = []

    def wheels(self, left_rad: float, right_rad: float, t_ns: int) -> None:
        self.odo.update(left_rad, right_rad, t_ns)

    def pair(self, frame) -> None:
        from hearth_slam.visual_odometry import twist_message_fields

        pose = (self.odo.x_m, self.odo.y_m, self.odo.yaw_rad)
        prior = None
        if self._last_pose is not None:
            (x0, y0, a0), (x1, y1, a1) = self._last_pose, pose
            c, s = math.cos(a0), math.sin(a0)
            dx, dy = c * (x1 - x0) + s * (y1 - y0), -s * (x1 - x0) + c * (y1 - y0)
            prior = _planar(dx, dy, a1 - a0)
        self._last_pose = pose
        # the twist is the mean since the previous pair (a lost one gives none)
        interval_ns = frame.t_ns - (self._last_t_ns or frame.t_ns)
        self._last_t_ns = frame.t_ns
        tick = time.perf_counter()
        out = self.vo.track(frame.images[0], frame.images[1], frame.t_ns * 1e-9, prior)
        compute_ns = round((time.perf_counter() - tick) * NS)
        fields = twist_message_fields(out)
        if fields is None:
            self.rows.append((frame.t_ns, frame.t_ns + compute_ns, 0.0, 0.0, 0.0, 0.0, 0.0,
                              False, interval_ns))
            return
        cov = np.asarray(fields["covariance"]).reshape(6, 6)
        self.rows.append((frame.t_ns, frame.t_ns + compute_ns, fields["linear"][0],
                          fields["angular"][2], cov[0, 0], cov[0, 5], cov[5, 5], True,
                          interval_ns))


def _planar(dx: float, dy: float, dyaw: float) -> np.ndarray:
    T = np.eye(4)
    c, s = math.cos(dyaw), math.sin(dyaw)
    T[:2, :2] = [[c, -s], [s, c]]
    T[0, 3], T[1, 3] = dx, dy
    return T


class _Recorder:
    def __init__(self, front_end: _FrontEnd | None = None) -> None:
        self.imu: list[tuple] = []
        self.wheels: list[tuple] = []
        self.truth: list[tuple] = []
        self.cmd: list[tuple] = []
        self.front_end = front_end

    def take(self, out, sim, cmd: tuple[float, float]) -> None:
        for s in out.imu:
            self.imu.append((s.t_ns, out.t_ns, *s.accel_mps2, *s.gyro_radps,
                             s.accel_saturated, s.gyro_saturated,
                             *s.accel_signal_mps2, *s.gyro_signal_radps))
        for w in out.wheels:
            r = w.reading
            self.wheels.append((w.t_ns, out.t_ns, *r.positions_rad, *r.velocities_radps,
                                *r.ticks))
            if self.front_end is not None:
                self.front_end.wheels(*r.positions_rad, w.t_ns)
        if self.front_end is not None:
            for frame in out.stereo:
                self.front_end.pair(frame)
        if out.truth is not None:
            t = out.truth
            slip = getattr(sim, "_slip", (0.0, 0.0))  # the rug under each wheel (see module doc)
            self.truth.append((t.t_ns, *t.position_m, *t.quat_wxyz, *t.linear_mps,
                               *t.angular_radps, t.lifted, t.yaw_rad, *slip))
            self.cmd.append((t.t_ns, *cmd))

    def arrays(self) -> dict[str, np.ndarray]:
        imu = np.array(self.imu, dtype=object).reshape(-1, 16)
        wh = np.array(self.wheels, dtype=object).reshape(-1, 8)
        tr = np.array(self.truth, dtype=object).reshape(-1, 18)
        cm = np.array(self.cmd, dtype=object).reshape(-1, 3)
        vo = np.array(self.front_end.rows if self.front_end else [], dtype=float).reshape(-1, 9)
        return {
            "vo_t_ns": vo[:, 0].astype(np.int64),  # stereo frame stamps
            "vo_arrival_ns": vo[:, 1].astype(np.int64),  # + the front end's compute time
            "vo_vw": vo[:, 2:4],  # body forward speed (m/s), yaw rate (rad/s)
            "vo_cov": vo[:, 4:7],  # their 2x2 covariance: (vv, vw, ww)
            "vo_tracked": vo[:, 7].astype(bool),  # false: lost or initialising, no twist
            "vo_interval_ns": vo[:, 8].astype(np.int64),  # the twist's averaging interval
            "imu_t_ns": imu[:, 0].astype(np.int64),
            "imu_arrival_ns": imu[:, 1].astype(np.int64),
            "imu_accel_mps2": imu[:, 2:5].astype(float),
            "imu_gyro_radps": imu[:, 5:8].astype(float),
            "imu_accel_saturated": imu[:, 8].astype(bool),
            "imu_gyro_saturated": imu[:, 9].astype(bool),
            "imu_accel_signal_mps2": imu[:, 10:13].astype(float),  # noise-free, pre-ADC
            "imu_gyro_signal_radps": imu[:, 13:16].astype(float),
            "wheel_t_ns": wh[:, 0].astype(np.int64),
            "wheel_arrival_ns": wh[:, 1].astype(np.int64),
            "wheel_pos_rad": wh[:, 2:4].astype(float),
            "wheel_vel_radps": wh[:, 4:6].astype(float),
            "wheel_ticks": wh[:, 6:8].astype(np.int64),
            "truth_t_ns": tr[:, 0].astype(np.int64),
            "truth_pos_m": tr[:, 1:4].astype(float),
            "truth_quat_wxyz": tr[:, 4:8].astype(float),
            "truth_lin_mps": tr[:, 8:11].astype(float),
            "truth_ang_radps": tr[:, 11:14].astype(float),
            "truth_lifted": tr[:, 14].astype(bool),
            "truth_yaw_rad": tr[:, 15].astype(float),
            "truth_slip": tr[:, 16:18].astype(float),
            "cmd_t_ns": cm[:, 0].astype(np.int64),
            "cmd_vw": cm[:, 1:3].astype(float),
        }


def robot_geometry_dict(params) -> dict:
    return {
        "wheel_radius_m": params.wheels.radius_m,
        "wheel_separation_m": params.wheels.separation_m,
        "accel_full_scale_mps2": params.imu.accel_full_scale_mps2,
        "gyro_full_scale_radps": params.imu.gyro_full_scale_radps,
        "max_wheel_speed_mps": params.limits.max_linear_speed_mps
        + 0.5 * params.wheels.separation_m * params.limits.max_angular_speed_radps,
    }


def record_drive(scn: Scenario, *, progress=None) -> Recording:
    """Drive the scenario on the simulator and record it (see the module doc)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from hearth_common.config import load_config
    from hearth_description.robot_model import load_robot_params
    from hearth_planning.grid_astar import GridPlanner
    from hearth_planning.map_io import load_map
    from hearth_sim.config import SimConfig
    from hearth_sim.home.loader import maps_dir, resolve_home
    from hearth_sim.mujoco_sim import MujocoSim
    from hearth_trajectory.path_follower import FollowerLimits, FollowStatus, PathFollower

    wall0 = time.perf_counter()
    robot = load_robot_params()
    home = resolve_home(scn.home)
    cameras = {"render_cameras": True, "stereo_rate_hz": VO_RATE_HZ,
               "tof_rate_hz": 0.01, "screen_camera_rate_hz": 0.01} if scn.visual_odometry \
        else {"render_cameras": False}
    cfg = load_config(SimConfig, {
        **cameras, "home_file": scn.home, "seed": scn.seed,
        "start_pose": f"{scn.start[0]} {scn.start[1]} {scn.start[2]}",
        "lift_hold_s": scn.lift.hold_s if scn.lift else 2.0,
    })
    sim = MujocoSim(home, robot, cfg)
    planner = GridPlanner(load_map(maps_dir() / scn.home / "map.yaml"), scn.inflation_m)
    def limits(speed: float) -> FollowerLimits:
        return FollowerLimits(max_linear_mps=speed, max_angular_radps=1.5,
                              max_linear_accel_mps2=0.8, max_angular_accel_radps2=3.0)

    follower = PathFollower(limits(scn.speed_mps), lookahead_m=scn.lookahead_m,
                            goal_tolerance_m=0.12,
                            turn_in_place_exit_rad=0.1)  # aligned before doorways
    rec = _Recorder(_FrontEnd(sim, robot) if scn.visual_odometry else None)
    per_truth = sim.dt_s * round(1.0 / (cfg.ground_truth_rate_hz * sim.dt_s))
    cmd = [0.0, 0.0]
    truth = sim.robot_truth()
    segments: dict[str, int] = {"drive_start_ns": 0}
    route_len = 0.0

    def step_for(seconds: float, v: float = 0.0, w: float = 0.0) -> None:
        nonlocal truth
        for _ in range(round(seconds / sim.dt_s)):
            out = sim.step(v, w)
            rec.take(out, sim, (v, w))
            if out.truth is not None:
                truth = out.truth

    def goto(goal: tuple[float, ...], label: str) -> None:
        nonlocal truth, route_len
        follower.limits = limits(goal[2] if len(goal) > 2 else scn.speed_mps)
        goal = goal[:2]
        plan = planner.plan((truth.position_m[0], truth.position_m[1]), goal)
        route_len += plan.length_m
        follower.set_path(plan.points)
        t_end = sim.t_ns + LEG_TIMEOUT_S * NS
        cmd[:] = [0.0, 0.0]
        while True:
            out = sim.step(*cmd)
            rec.take(out, sim, tuple(cmd))
            if out.truth is None:
                continue
            truth = out.truth
            c = follower.command(truth.position_m[0], truth.position_m[1], truth.yaw_rad,
                                 cmd[0], cmd[1], per_truth)
            cmd[:] = [c.linear_mps, c.angular_radps]
            if c.status is FollowStatus.ARRIVED and cmd == [0.0, 0.0]:
                return
            if sim.t_ns > t_end:
                raise RuntimeError(f"leg {label} to {goal} not done in {LEG_TIMEOUT_S:g} s; "
                                   f"robot at {truth.position_m[:2].round(2)}")

    def lift() -> None:
        nonlocal truth
        assert scn.lift is not None
        segments["lift_ns"] = sim.t_ns
        sim.lift(*scn.lift.put_down, hold_s=scn.lift.hold_s)
        while sim.lift_profile is not None:
            out = sim.step(scn.lift.wheels_mps, 0.0)
            rec.take(out, sim, (scn.lift.wheels_mps, 0.0))
            if out.truth is not None:
                truth = out.truth
        segments["put_down_ns"] = sim.t_ns
        step_for(PUT_DOWN_SETTLE_S)
        segments["settled_ns"] = sim.t_ns

    step_for(scn.initial_rest_s)
    for k, item in enumerate(scn.drive):
        if item == "lift":
            lift()
        else:
            goto(item, f"drive[{k}]")
            step_for(scn.pause_s)
        if progress:
            progress(f"drive {k + 1}/{len(scn.drive)}: t = {sim.t_ns / NS:.0f} s")
    segments["drive_end_ns"] = sim.t_ns
    t_normal_end = sim.t_ns + round(scn.normal_duration_s * NS)
    k = 0
    while scn.normal_loop and sim.t_ns < t_normal_end:
        goto(scn.normal_loop[k % len(scn.normal_loop)], f"normal[{k}]")
        k += 1
    if sim.t_ns < t_normal_end:
        step_for((t_normal_end - sim.t_ns) / NS)
    segments["normal_end_ns"] = sim.t_ns
    wall = time.perf_counter() - wall0

    arrays = rec.arrays()
    manifest = {
        "kind": "hearth fusion recording",
        "format": 3,  # 2: the IMU's noise-free signal arrays; 3: the front end's twists
        "scenario": scn.to_dict(),
        "robot": robot_geometry_dict(robot),
        "sim": {"render_cameras": cfg.render_cameras, "physics_rate_hz": cfg.physics_rate_hz,
                "imu_rate_hz": cfg.imu_rate_hz, "wheel_rate_hz": cfg.wheel_rate_hz,
                "ground_truth_rate_hz": cfg.ground_truth_rate_hz,
                "imu_gyro_bias_radps": [float(b) for b in sim.imu.gyro_bias_radps],
                "imu_accel_bias_mps2": [float(b) for b in sim.imu.accel_bias_mps2]},
        "segments": segments,
        "planned_route_m": route_len,
        "simulated_s": sim.t_ns / NS,
        "record_wall_s": wall,
        "counts": {"imu": len(arrays["imu_t_ns"]), "wheels": len(arrays["wheel_t_ns"]),
                   "truth": len(arrays["truth_t_ns"])},
    }
    sim.close()
    return Recording(arrays, manifest)
