"""The simulated robot in its home, in MuJoCo (ROS-free): physics, sensors, ground truth.

``MujocoSim(home, robot_params, config, people, seed)`` builds the model (``world.home_mjcf``
+ ``world.robot_mjcf`` + people, through ``world.assemble``) and advances it one physics
step per ``step(v, w)`` call (``config.physics_rate_hz``, 1 kHz by default). Each step:

1. scheduled disturbances that are due start (``hearth_sim.disturbances``);
2. the people simulator steps at ``people_rate_hz``; their mocap bodies move smoothly (linear
   interpolation toward the crowd's next state) every physics step;
3. the motor controller (``sim_drive``) ramps its set point toward the command within the
   acceleration limits; the wheel servos track it (divided by ``1 + slip`` on a rug); the
   pan servo's set point moves toward its target at the joint's speed limit;
4. ``mj_step``; then the sensors that are due sample: the IMU accumulates every step and
   reads out at ``imu_rate_hz`` (``sim_imu``), the encoders count ticks at
   ``wheel_rate_hz``, ground truth (pose, twist, people, contacts) at
   ``ground_truth_rate_hz``, and the cameras render at their rates from a separate
   ``MjData`` holding the same positions (rendering never feeds back into physics);
5. each sensor's output goes through its ``SensorChannel`` (injected latency and drops).

Determinism: MuJoCo steps on one thread; every random draw comes from a generator seeded
from ``seed`` (one stream each for the IMU, image noise and each sensor's drops); the
people's crowd is seeded by its maker. The same seed and the same sequence of ``step``
arguments give the same ground truth, bit for bit.

Time is integer nanoseconds from the start of the run (``t_ns``); a short settling period
before it (the robot set down on its wheels and casters) is not counted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import mujoco
import numpy as np

from hearth_description.robot_model import RobotParams
from hearth_sim.config import SENSORS, SimConfig
from hearth_sim.disturbances import Event, LiftProfile, SensorChannel, parse_schedule
from hearth_sim.encoders import EncoderReading, WheelEncoders
from hearth_sim.home import geometry
from hearth_sim.home.model import Home
from hearth_sim.pan_servo import PanServo
from hearth_sim.people.crowd import Crowd
from hearth_sim.sensors.cameras import (
    MuJoCoCamera,
    PinholeIntrinsics,
    RendererPool,
    render_depth_m,
    render_rgb,
    render_stereo_mono8,
)
from hearth_sim.sim_drive import DriveController, SlippingEncoderShaft
from hearth_sim.sim_imu import ImuNoise, ImuSample, SimImu
from hearth_sim.world import robot_mjcf as rm
from hearth_sim.world.assemble import PERSON_PARK_Z_M, assemble, person_name
from hearth_sim.world.home_mjcf import element_kind, home_mjcf
from hearth_sim.world.lighting import Darkness, LightingSchedule, LightSwitch

SETTLE_S = 0.5  # the robot is set down and settles before t = 0
START_HEIGHT_M = 0.002  # set down from this height


# ------------------------------------------------------------------------------ outputs


@dataclass(frozen=True)
class WheelSample:
    t_ns: int
    reading: EncoderReading  # (left, right) encoder positions (rad) and velocities (rad/s)


@dataclass(frozen=True)
class PanSample:
    t_ns: int
    position_rad: float
    velocity_radps: float


@dataclass(frozen=True)
class RobotTruth:
    """base_link in the world frame; twist in base_link's axes (nav_msgs/Odometry's)."""

    t_ns: int
    position_m: np.ndarray  # (3,)
    quat_wxyz: np.ndarray  # (4,)
    linear_mps: np.ndarray  # (3,) in base_link
    angular_radps: np.ndarray  # (3,) in base_link
    lifted: bool

    @property
    def yaw_rad(self) -> float:
        w, x, y, z = self.quat_wxyz
        return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


@dataclass(frozen=True)
class PeopleTruth:
    t_ns: int
    ids: np.ndarray  # (N,) of the people present
    positions_m: np.ndarray  # (N, 2)
    velocities_mps: np.ndarray  # (N, 2)
    radius_m: np.ndarray  # (N,)


@dataclass
class Contact:
    """A contact between the robot and a person or an object (not its wheels and casters on
    the floor, a rug or a threshold)."""

    start_ns: int
    robot_link: str  # the robot's link that touched
    other: str  # the other body's name (``person_1``, ``furniture/sofa``, ``wall/south#0``)
    other_kind: str  # person, wall, door, furniture, threshold, rug, floor
    position_m: np.ndarray  # (3,) where it touched (latest)
    max_normal_force_n: float = 0.0
    end_ns: int | None = None  # None while it lasts


@dataclass(frozen=True)
class CameraFrame:
    t_ns: int
    images: tuple[np.ndarray, ...]  # stereo: (left, right) mono8; tof: (depth,); screen: (rgb,)


@dataclass
class StepOutputs:
    """What one step produced; lists hold what the sensor channels deliver now (captures of
    this step, or earlier ones when a latency is injected)."""

    t_ns: int
    clock: bool = False
    imu: list[ImuSample] = field(default_factory=list)
    wheels: list[WheelSample] = field(default_factory=list)
    stereo: list[CameraFrame] = field(default_factory=list)
    tof: list[CameraFrame] = field(default_factory=list)
    screen_camera: list[CameraFrame] = field(default_factory=list)
    pan: PanSample | None = None
    truth: RobotTruth | None = None
    people: PeopleTruth | None = None
    contacts: list[Contact] | None = None  # at the ground-truth rate: all since the last
    power_mode: str | None = None  # when it changed
    log: list[str] = field(default_factory=list)  # what happened (lift, darkness, ...)


# ------------------------------------------------------------------------------ the world


def _yaw_quat(yaw_rad: float) -> np.ndarray:
    return np.array([math.cos(0.5 * yaw_rad), 0.0, 0.0, math.sin(0.5 * yaw_rad)])


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    m = np.zeros(9)
    mujoco.mju_quat2Mat(m, q)
    return m.reshape(3, 3)


@dataclass(frozen=True)
class CameraSet:
    """The robot's cameras with their intrinsics and optical frames."""

    stereo_left: MuJoCoCamera
    stereo_right: MuJoCoCamera
    tof: MuJoCoCamera
    screen: MuJoCoCamera
    frames: dict[str, str]  # MuJoCo camera name -> optical frame id


def camera_intrinsics(params: RobotParams, cfg: SimConfig) -> dict[str, PinholeIntrinsics]:
    return rm.default_cameras(params, (cfg.screen_camera_width_px, cfg.screen_camera_height_px))


class MujocoSim:
    """The world. ``step(v, w)`` advances it one physics step under the velocity command."""

    def __init__(self, home: Home, robot_params: RobotParams, config: SimConfig,
                 people: Crowd | None = None, seed: int | None = None, *,
                 urdf_xml: str | None = None):
        from hearth_description.robot_model import expand_xacro

        cfg = self.cfg = config
        self.home = home
        self.params = robot_params
        self.seed = cfg.seed if seed is None else seed
        self.crowd = people
        self.timing_s: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        t_build = time.perf_counter()

        # --- the model
        urdf = urdf_xml if urdf_xml is not None else expand_xacro(
            robot_yaml=cfg.robot_params_file or None)
        self.robot = rm.build_robot_mjcf(urdf, robot_params, camera_intrinsics(robot_params, cfg))
        self.home_mjcf = home_mjcf(home)
        n_people = len(people) if people is not None else 0
        xml, assets = assemble(self.home_mjcf, self.robot, n_people,
                               timestep_s=1.0 / cfg.physics_rate_hz,
                               shadow_size_px=cfg.shadow_map_px)
        self.model = m = mujoco.MjModel.from_xml_string(xml, assets)
        self.data = d = mujoco.MjData(m)
        self._render_data = mujoco.MjData(m)
        self.step_ns = cfg.step_ns
        self.dt_s = self.step_ns * 1e-9
        self._add_time("build", time.perf_counter() - t_build)

        # --- ids and addresses
        r = self.robot
        self._free_qpos = m.jnt_qposadr[m.joint(rm.FREE_JOINT).id]
        self._free_dof = m.jnt_dofadr[m.joint(rm.FREE_JOINT).id]
        self._wheel_qpos = [m.jnt_qposadr[m.joint(n).id] for n in r.wheel_joints]
        self._wheel_act = [m.actuator(n).id for n in r.wheel_actuators]
        self._pan_qpos = m.jnt_qposadr[m.joint(r.pan_joint).id]
        self._pan_dof = m.jnt_dofadr[m.joint(r.pan_joint).id]
        self._pan_act = m.actuator(r.pan_actuator).id
        self._accel_adr = m.sensor_adr[m.sensor(rm.ACCEL_SENSOR).id]
        self._gyro_adr = m.sensor_adr[m.sensor(rm.GYRO_SENSOR).id]
        self._hand_mocap = m.body_mocapid[m.body(rm.LIFT_HAND).id]
        self._weld = m.equality(rm.LIFT_WELD).id
        self._person_mocap = np.array([m.body_mocapid[m.body(person_name(i)).id]
                                       for i in range(n_people)], dtype=int)
        self._classify_geoms()

        # --- the robot's controllers and sensors
        seeds = np.random.SeedSequence(self.seed).spawn(2 + len(SENSORS))
        self.drive = DriveController(robot_params)
        screen = robot_params.screen
        self.pan = PanServo(screen.pan_limit_rad, screen.max_pan_speed_radps)
        self._shafts = [SlippingEncoderShaft(), SlippingEncoderShaft()]
        self._slip = [0.0, 0.0]
        self.encoders = WheelEncoders(robot_params.wheels.encoder_ticks_per_rev)
        self._imu_every = cfg.steps_per_sample(cfg.imu_rate_hz)
        self.imu = SimImu(robot_params.imu, cfg.imu_rate_hz, self._imu_every,
                          ImuNoise(cfg.imu_accel_noise_density, cfg.imu_gyro_noise_density,
                                   cfg.imu_accel_bias_std_mps2, cfg.imu_gyro_bias_std_radps),
                          np.random.default_rng(seeds[0]))
        self._image_rng = np.random.default_rng(seeds[1])
        self.channels = {name: SensorChannel(cfg.latency_s(name), cfg.drop_probability(name),
                                             np.random.default_rng(seeds[2 + k]))
                         for k, name in enumerate(SENSORS)}
        self._every = {key: cfg.steps_per_sample(getattr(cfg, f"{key}_rate_hz"))
                       for key in ("clock", "wheel", "screen", "ground_truth", "people")}
        self.camera_rates_hz = {
            "stereo": cfg.stereo_rate_hz or robot_params.stereo.rate_hz,
            "tof": cfg.tof_rate_hz or robot_params.tof.rate_hz,
            "screen_camera": cfg.screen_camera_rate_hz or robot_params.screen_camera.rate_hz,
        }
        self._next_capture_ns = dict.fromkeys(self.camera_rates_hz, 0)
        intr = r.cameras
        self.cameras = CameraSet(
            MuJoCoCamera(rm.STEREO_LEFT_CAMERA, intr[rm.STEREO_LEFT_CAMERA]),
            MuJoCoCamera(rm.STEREO_RIGHT_CAMERA, intr[rm.STEREO_RIGHT_CAMERA]),
            MuJoCoCamera(rm.TOF_CAMERA, intr[rm.TOF_CAMERA]),
            MuJoCoCamera(rm.SCREEN_CAMERA, intr[rm.SCREEN_CAMERA]),
            dict(r.camera_frames))
        self._renderers: RendererPool | None = None

        # --- disturbances and lighting
        self.power_mode = cfg.power_mode
        self._power_announced = False
        self._events: list[Event] = list(parse_schedule(cfg.schedule_entries()))
        self.lift_profile: LiftProfile | None = None
        self.lighting = LightingSchedule.for_home(
            self.home_mjcf, duration_s=cfg.sun_session_s,
            darkness=tuple(Darkness(e.t_s, e.t_s + e.args[0]) for e in self._events
                           if e.kind == "dark"),
            switches=tuple(LightSwitch(e.t_s, e.args[0], e.args[1] == "on")
                           for e in self._events if e.kind == "light"))
        self._events = [e for e in self._events if e.kind in ("lift", "power")]
        self._dark_logged = False

        # --- contacts
        self._active: dict[tuple[str, str], Contact] = {}
        self._finished: list[Contact] = []
        self.contact_count = 0

        # --- start: the robot set down at its start pose, people where the crowd has them
        self.t_ns = 0
        self._steps = 0
        start = cfg.start_xy_yaw()
        x, y, yaw = start if start is not None else (
            home.robot_start.x_m, home.robot_start.y_m, home.robot_start.yaw_rad)
        q = self._free_qpos
        d.qpos[q:q + 3] = (x, y, START_HEIGHT_M)
        d.qpos[q + 3:q + 7] = _yaw_quat(yaw)
        self._people_from = self._people_to = None
        if n_people:
            self._people_from = self._crowd_positions()
            self._people_to = self._people_from
            self._place_people(1.0)
        self.pan.command(0.0)
        d.ctrl[self._pan_act] = 0.0
        mujoco.mj_forward(m, d)
        for _ in range(round(SETTLE_S / self.dt_s)):
            mujoco.mj_step(m, d)
        d.time = 0.0
        for k in range(2):
            self._shafts[k] = SlippingEncoderShaft(float(d.qpos[self._wheel_qpos[k]]))

    # ------------------------------------------------------------------ set-up helpers

    def _classify_geoms(self) -> None:
        m = self.model
        robot_bodies = {m.body(n).id for n in self.robot.links}
        self._geom_robot = np.array([m.geom_bodyid[g] in robot_bodies for g in range(m.ngeom)])
        wheel_bodies = [int(m.joint(n).bodyid[0]) for n in self.robot.wheel_joints]
        caster_bodies = {int(m.joint(n).bodyid[0]) for n in self.robot.caster_joints}
        self._geom_wheel = np.full(m.ngeom, -1)
        for k, b in enumerate(wheel_bodies):
            self._geom_wheel[m.geom_bodyid == b] = k
        self._geom_rolls = (self._geom_wheel >= 0) | np.isin(m.geom_bodyid, list(caster_bodies))
        names = [m.geom(g).name for g in range(m.ngeom)]
        kinds = [element_kind(n) for n in names]
        self._geom_surface = np.array([k in ("floor", "rug", "threshold") for k in kinds])
        slips = {f"rug/{rug.name}": rug.slip for rug in self.home.rugs}
        self._geom_slip = np.array([slips.get(n, 0.0) for n in names])
        self._geom_link = [m.body(m.geom_bodyid[g]).name for g in range(m.ngeom)]
        self._geom_other = []
        for g in range(m.ngeom):
            body = int(m.geom_bodyid[g])
            self._geom_other.append(names[g] if body == 0 else m.body(body).name)
        self._geom_kind = [element_kind(o) or element_kind(n)
                           for o, n in zip(self._geom_other, names, strict=True)]

    def _add_time(self, key: str, seconds: float) -> None:
        self.timing_s[key] = self.timing_s.get(key, 0.0) + seconds
        self.counts[key] = self.counts.get(key, 0) + 1

    # ------------------------------------------------------------------ commands

    def command_pan(self, target_rad: float) -> float:
        """Point the screen (clamped to the pan travel); returns the target it goes to."""
        return self.pan.command(target_rad)

    def set_power_mode(self, mode: str) -> None:
        if mode not in ("normal", "low"):
            raise ValueError(f"power mode must be 'normal' or 'low', got {mode!r}")
        if mode != self.power_mode:
            self.power_mode = mode
            self._power_announced = False

    def lift(self, to_x_m: float, to_y_m: float, to_yaw_rad: float,
             hold_s: float | None = None) -> None:
        """Pick the robot up now, hold it, put it down at the pose (world frame)."""
        if self.lift_profile is not None:
            raise RuntimeError("the robot is already being lifted")
        if not all(math.isfinite(v) for v in (to_x_m, to_y_m, to_yaw_rad)):
            raise ValueError("the put-down pose must be finite")
        truth = self.robot_truth()
        self.lift_profile = LiftProfile(
            self.t_ns * 1e-9, tuple(float(v) for v in truth.position_m), truth.yaw_rad,
            (float(to_x_m), float(to_y_m)), float(to_yaw_rad),
            self.cfg.lift_hold_s if hold_s is None else float(hold_s))
        self._move_hand(self.t_ns * 1e-9)
        self.data.eq_active[self._weld] = 1

    def set_darkness(self, dark: bool) -> None:
        """Darkness from now until ``set_darkness(False)`` (on top of the schedule's)."""
        t_s = self.t_ns * 1e-9
        spans = list(self.lighting.darkness)
        if dark:
            if self.lighting.darkness_at(t_s) is None:
                spans.append(Darkness(t_s, math.inf))
        else:
            spans = [replace(s, end_s=t_s) if s.start_s <= t_s < s.end_s else s for s in spans
                     if not (s.start_s >= t_s)]
            spans = [s for s in spans if s.end_s > s.start_s]
        self.lighting = replace(self.lighting, darkness=tuple(spans))

    @property
    def dark(self) -> bool:
        return self.lighting.darkness_at(self.t_ns * 1e-9) is not None

    # ------------------------------------------------------------------ stepping

    def step(self, cmd_v_mps: float, cmd_w_radps: float) -> StepOutputs:
        """One physics step under the command (m/s, rad/s)."""
        m, d = self.model, self.data
        t0_ns = self.t_ns
        t0_s = t0_ns * 1e-9
        out = StepOutputs(t_ns=t0_ns + self.step_ns)
        while self._events and self._events[0].t_s <= t0_s + 1e-12:
            self._start_event(self._events.pop(0), out)

        tick = time.perf_counter()
        people_s = 0.0
        if self.crowd is not None and len(self.crowd):
            if self._steps % self._every["people"] == 0:
                people_s = self._step_people(t0_s)
            k = self._steps % self._every["people"]
            self._place_people(k / self._every["people"])
        if self.lift_profile is not None:
            if t0_s >= self.lift_profile.end_s:
                d.eq_active[self._weld] = 0
                self.lift_profile = None
                out.log.append("lift: put down")
            else:
                self._move_hand(t0_s)
        tock = time.perf_counter()
        self._add_time("mocap_and_disturbances", tock - tick - people_s)

        shaft = self.drive.step(self.dt_s, cmd_v_mps, cmd_w_radps)
        for k in range(2):
            d.ctrl[self._wheel_act[k]] = shaft[k] / (1.0 + self._slip[k])
        d.ctrl[self._pan_act] = self.pan.step(self.dt_s)
        mujoco.mj_step(m, d)
        self._steps += 1
        self.t_ns = t_ns = t0_ns + self.step_ns
        tick = time.perf_counter()
        self._add_time("physics", tick - tock)

        # sensors sampled every step
        self.imu.add(d.sensordata[self._accel_adr:self._accel_adr + 3],
                     d.sensordata[self._gyro_adr:self._gyro_adr + 3])
        self._scan_contacts(t_ns)
        for k in range(2):
            self._shafts[k].update(float(d.qpos[self._wheel_qpos[k]]), self._slip[k])

        n = self._steps
        out.clock = n % self._every["clock"] == 0
        if n % self._imu_every == 0:
            sample = self.imu.read(t_ns)
            self._offer("imu", t_ns, sample)
        if n % self._every["wheel"] == 0:
            reading = self.encoders.sample(t_ns, self._shafts[0].shaft_rad,
                                           self._shafts[1].shaft_rad)
            self._offer("wheels", t_ns, WheelSample(t_ns, reading))
        if n % self._every["screen"] == 0:
            out.pan = PanSample(t_ns, float(d.qpos[self._pan_qpos]),
                                float(d.qvel[self._pan_dof]))
        if n % self._every["ground_truth"] == 0:
            out.truth = self.robot_truth()
            out.people = self.people_truth()
            out.contacts = self._take_contacts()
        if not self._power_announced:
            out.power_mode = self.power_mode
            self._power_announced = True
        dark = self.dark
        if dark != self._dark_logged:
            out.log.append("darkness: the IR illuminator is all the cameras see" if dark
                           else "darkness over: lights back")
            self._dark_logged = dark
        self._add_time("sensors", time.perf_counter() - tick)

        self._capture_cameras(t_ns)
        for name in SENSORS:
            for item in self.channels[name].pop_due(t_ns):
                getattr(out, name).append(item)
        return out

    def _offer(self, channel: str, t_ns: int, item) -> None:
        ch = self.channels[channel]
        if ch.admit():
            ch.push(t_ns, item)

    def _start_event(self, e: Event, out: StepOutputs) -> None:
        if e.kind == "power":
            self.set_power_mode(e.args[0])
            out.log.append(f"power mode {e.args[0]} (scheduled at {e.t_s:g} s)")
        elif e.kind == "lift" and self.lift_profile is None:
            self.lift(*e.args)
            out.log.append(f"lift (scheduled at {e.t_s:g} s): put down at "
                           f"({e.args[0]:g}, {e.args[1]:g}, {e.args[2]:g} rad)")
        elif e.kind == "lift":
            out.log.append(f"lift scheduled at {e.t_s:g} s skipped: the robot is held already")

    def _move_hand(self, t_s: float) -> None:
        (x, y, z), yaw = self.lift_profile.hand_pose(t_s)
        self.data.mocap_pos[self._hand_mocap] = (x, y, z)
        self.data.mocap_quat[self._hand_mocap] = _yaw_quat(yaw)

    # ------------------------------------------------------------------ people

    def _crowd_positions(self) -> np.ndarray:
        pos = np.asarray(self.crowd.positions_m, dtype=float)
        present = np.asarray(self.crowd.present, dtype=bool)
        out = np.full((len(pos), 3), np.nan)
        out[present, :2] = pos[present]
        out[present, 2] = 0.0
        return out

    def _step_people(self, t_s: float) -> float:
        """Step the crowd; returns the wall time it took."""
        tick = time.perf_counter()
        truth = self.robot_truth()
        R = _quat_to_matrix(truth.quat_wxyz)
        v_world = R @ truth.linear_mps
        before_ids = np.asarray(self.crowd.ids).copy()
        self._people_from = self._crowd_positions()
        self.crowd.step(t_s, self._every["people"] * self.dt_s, truth.position_m[:2],
                        v_world[:2])
        self._people_to = self._crowd_positions()
        # a row that changed person jumps: no gliding from one person to the next
        changed = np.asarray(self.crowd.ids) != before_ids
        self._people_from[changed] = self._people_to[changed]
        took = time.perf_counter() - tick
        self._add_time("people", took)
        return took

    def _place_people(self, u: float) -> None:
        a, b = self._people_from, self._people_to
        pos = a + (b - a) * u
        park = np.isnan(pos[:, 0])
        pos[park] = [0.0, 0.0, PERSON_PARK_Z_M]
        pos[park, 2] -= 3.0 * np.nonzero(park)[0]
        self.data.mocap_pos[self._person_mocap] = pos

    # ------------------------------------------------------------------ contacts

    def _scan_contacts(self, t_ns: int) -> None:
        d = self.data
        ncon = d.ncon
        slip = [0.0, 0.0]
        seen: set[tuple[str, str]] = set()
        if ncon:
            g = d.contact.geom[:ncon]
            g1, g2 = g[:, 0], g[:, 1]
            r1, r2 = self._geom_robot[g1], self._geom_robot[g2]
            mine = r1 != r2
            rob = np.where(r1, g1, g2)
            oth = np.where(r1, g2, g1)
            support = mine & self._geom_surface[oth] & self._geom_rolls[rob]
            for k in (0, 1):
                on = support & (self._geom_wheel[rob] == k)
                if on.any():
                    slip[k] = float(self._geom_slip[oth[on]].max())
            for i in np.nonzero(mine & ~support)[0]:
                key = (self._geom_link[rob[i]], self._geom_other[oth[i]])
                force = np.zeros(6)
                mujoco.mj_contactForce(self.model, d, int(i), force)
                c = self._active.get(key)
                if c is None:
                    c = self._active[key] = Contact(
                        t_ns, key[0], key[1], self._geom_kind[oth[i]],
                        np.array(d.contact.pos[i]))
                    self.contact_count += 1
                c.position_m = np.array(d.contact.pos[i])
                c.max_normal_force_n = max(c.max_normal_force_n, float(force[0]))
                seen.add(key)
        for key in [k for k in self._active if k not in seen]:
            c = self._active.pop(key)
            c.end_ns = t_ns
            self._finished.append(c)
        self._slip = slip

    def _take_contacts(self) -> list[Contact]:
        out = self._finished + [replace(c, position_m=c.position_m.copy())
                                for c in self._active.values()]
        self._finished = []
        return out

    # ------------------------------------------------------------------ ground truth

    def robot_truth(self) -> RobotTruth:
        d, q, v = self.data, self._free_qpos, self._free_dof
        quat = np.array(d.qpos[q + 3:q + 7])
        R = _quat_to_matrix(quat)
        return RobotTruth(self.t_ns, np.array(d.qpos[q:q + 3]), quat,
                          R.T @ np.asarray(d.qvel[v:v + 3]), np.array(d.qvel[v + 3:v + 6]),
                          self.lift_profile is not None)

    def people_truth(self) -> PeopleTruth | None:
        if self.crowd is None:
            return None
        present = np.asarray(self.crowd.present, dtype=bool)
        return PeopleTruth(self.t_ns, np.asarray(self.crowd.ids)[present],
                           np.asarray(self.crowd.positions_m)[present],
                           np.asarray(self.crowd.velocities_mps)[present],
                           np.asarray(self.crowd.radius_m)[present])

    @property
    def wheel_shaft_rad(self) -> tuple[float, float]:
        """The encoders' true (unquantized) shaft angles."""
        return self._shafts[0].shaft_rad, self._shafts[1].shaft_rad

    # ------------------------------------------------------------------ cameras

    def _capture_cameras(self, t_ns: int) -> None:
        if not self.cfg.render_cameras or self.power_mode == "low":
            return
        for name, rate in self.camera_rates_hz.items():
            if rate <= 0.0 or t_ns < self._next_capture_ns[name]:
                continue
            period_ns = round(1e9 / rate)
            nxt = self._next_capture_ns[name] + period_ns
            self._next_capture_ns[name] = nxt if nxt > t_ns else t_ns + period_ns
            if not self.channels[name].admit():
                continue
            self.channels[name].push(t_ns, CameraFrame(t_ns, self.render(name)))

    def _prepare_render(self) -> mujoco.MjData:
        m, d, rd = self.model, self.data, self._render_data
        rd.qpos[:] = d.qpos
        rd.mocap_pos[:] = d.mocap_pos
        rd.mocap_quat[:] = d.mocap_quat
        rd.time = self.t_ns * 1e-9
        mujoco.mj_kinematics(m, rd)
        mujoco.mj_camlight(m, rd)
        self.lighting.apply(m, self.t_ns * 1e-9, rd)
        if self._renderers is None:
            self._renderers = RendererPool(m)
        return rd

    def render(self, camera: str) -> tuple[np.ndarray, ...]:
        """Render ``stereo`` (left, right mono8), ``tof`` (depth, m) or ``screen_camera``
        (RGB) at the current state."""
        tick = time.perf_counter()
        rd = self._prepare_render()
        cams, pool = self.cameras, self._renderers
        if camera == "stereo":
            images = render_stereo_mono8(pool.for_camera(cams.stereo_left), rd,
                                         cams.stereo_left, cams.stereo_right,
                                         noise_std=self.cfg.stereo_noise_std,
                                         rng=self._image_rng)
        elif camera == "tof":
            tof = self.params.tof
            images = (render_depth_m(pool.for_camera(cams.tof), rd, cams.tof,
                                     tof.min_range_m, tof.max_range_m),)
        elif camera == "screen_camera":
            images = (render_rgb(pool.for_camera(cams.screen), rd, cams.screen),)
        else:
            raise ValueError(f"unknown camera {camera!r}")
        self._add_time(f"render_{camera}", time.perf_counter() - tick)
        return images

    def close(self) -> None:
        if self._renderers is not None:
            self._renderers.close()
            self._renderers = None


def make_crowd(home: Home, cfg: SimConfig, robot_params: RobotParams) -> Crowd | None:
    """The people of the configuration: ``people`` social-force walkers, or the recording
    ``people_replay_file`` (ETH/UCY) with the centre of its tracks put at the centre of room
    ``people_replay_room`` (the largest room when empty)."""
    start = cfg.start_xy_yaw()
    robot_xy = start[:2] if start is not None else (home.robot_start.x_m, home.robot_start.y_m)
    if cfg.people_replay_file:
        from hearth_sim.people.replay import ReplayCrowd

        rooms = {r.name: r for r in home.rooms}
        if cfg.people_replay_room and cfg.people_replay_room not in rooms:
            raise ValueError(f"parameter 'people_replay_room' = {cfg.people_replay_room!r}: "
                             f"no such room in home '{home.name}' (rooms: "
                             f"{', '.join(rooms)})")
        if not rooms:
            raise ValueError(f"home '{home.name}' has no rooms to replay people in")
        room = rooms.get(cfg.people_replay_room) or max(
            home.rooms, key=lambda r: (r.max_m[0] - r.min_m[0]) * (r.max_m[1] - r.min_m[1]))
        path = Path(cfg.people_replay_file)
        raw = ReplayCrowd.from_file(path, max_people=cfg.people_replay_max)
        x0, y0, x1, y1 = raw.bounds_m
        cx, cy = 0.5 * (room.min_m[0] + room.max_m[0]), 0.5 * (room.min_m[1] + room.max_m[1])
        return ReplayCrowd.from_file(path, origin_xy_m=(cx - 0.5 * (x0 + x1),
                                                        cy - 0.5 * (y0 + y1)),
                                     max_people=cfg.people_replay_max)
    if cfg.people:
        from hearth_sim.people.social_force import SocialForceCrowd

        return SocialForceCrowd(geometry.obstacle_segments(home), home.rooms, cfg.people,
                                cfg.seed, robot_radius_m=robot_params.base.radius_m,
                                robot_start_xy_m=robot_xy)
    return None
