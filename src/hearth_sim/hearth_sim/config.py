"""Configuration of the simulator node (ROS-free): see ``config/sim.yaml``."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hearth_common.config import ConfigError, param

# Sensors whose latency and drop rate can be injected (see hearth_sim.disturbances).
SENSORS = ("stereo", "tof", "screen_camera", "imu", "wheels")
MIN_IMAGE_SIDE_PX = 16  # the smallest image the simulator renders


@dataclass(frozen=True)
class SimConfig:
    # Time. The IMU, encoder, joint-state, ground-truth, clock and people rates must divide
    # the physics rate (they sample on physics steps); cameras take the step nearest their
    # period.
    physics_rate_hz: float = param(
        1000.0, "physics steps per simulated second (1 kHz: stiff wheel and caster contacts "
        "stay stable over a threshold)", min=100.0, max=5000.0)
    real_time_factor: float = param(
        1.0, "simulated seconds per wall second at most; the sim never runs faster, and runs "
        "slower (and says so) when the machine cannot keep up", min=0.01, max=50.0)
    rtf_log_period_s: float = param(
        5.0, "log the achieved real-time factor this often (wall time)", min=0.5, max=3600.0)
    clock_rate_hz: float = param(
        200.0, "rate of /clock (simulated time): every sensor stamp is on this grid, so "
        "/clock never lags a message", min=1.0)
    imu_rate_hz: float = param(200.0, "rate of /imu/data (simulated time)", min=1.0)
    wheel_rate_hz: float = param(50.0, "rate of /wheel/joint_states (simulated time)", min=1.0)
    screen_rate_hz: float = param(50.0, "rate of /screen/joint_states (simulated time)", min=1.0)
    ground_truth_rate_hz: float = param(
        50.0, "rate of /ground_truth/odom, /ground_truth/people and /ground_truth/contacts "
        "(simulated time)", min=1.0)
    people_rate_hz: float = param(
        25.0, "rate at which the people simulator steps (their bodies move smoothly in "
        "between, every physics step)", min=1.0)

    # Cameras. 0 takes robot.yaml's rate; rendering is the cost of the simulator (measure
    # with `./hearth bench sim`).
    render_cameras: bool = param(
        True, "render the stereo pair, the ToF and the screen camera (false: physics and "
        "the other sensors only)")
    stereo_rate_hz: float = param(0.0, "stereo pair rate (0: robot.yaml's stereo.rate_hz)",
                                  min=0.0, max=100.0)
    tof_rate_hz: float = param(0.0, "ToF rate (0: robot.yaml's tof.rate_hz)", min=0.0,
                               max=100.0)
    screen_camera_rate_hz: float = param(
        2.0, "screen camera rate (0: robot.yaml's screen_camera.rate_hz)", min=0.0, max=100.0)
    screen_camera_width_px: int = param(
        0, "render the screen camera this wide (0: robot.yaml's screen_camera.width_px; its "
        "field of view is robot.yaml's either way)", min=0, max=1920)
    screen_camera_height_px: int = param(
        0, "render the screen camera this high (0: robot.yaml's screen_camera.height_px)",
        min=0, max=1080)
    stereo_noise_std: float = param(
        2.0, "white noise of the stereo images, grey levels (read noise of the sensor)",
        min=0.0, max=50.0)
    shadow_map_px: int = param(
        1024, "size of the sun's shadow map (the largest share of a rendered frame's cost)",
        min=256, max=8192)
    sun_session_s: float = param(
        600.0, "simulated seconds in which the sun moves from morning to evening", min=1.0)

    # The world and the robot.
    home_file: str = param(
        "apartment", "the home: a name under maps/ (apartment, house, small_house) or the "
        "path of a home.yaml (or of a map_server .yaml map, extruded into walls)")
    changes_file: str = param(
        "", "medium-term changes applied to the home at start (maps/<home>/changes/*.yaml; "
        "empty: none)")
    robot_params_file: str = param(
        "", "robot.yaml of the simulated robot (empty: hearth_description's config/robot.yaml)")
    start_pose: str = param(
        "", "robot start '<x_m> <y_m> <yaw_rad>' in the world frame (empty: the home's "
        "robot_start)")
    people: int = param(0, "people walking about the home (social-force model)", min=0,
                        max=50)
    people_replay_file: str = param(
        "", "ETH/UCY trajectory file ('frame id x y') to replay instead of the social-force "
        "people (empty: none)")
    people_replay_room: str = param(
        "", "room of the home the recording is centred on (empty: the largest room)")
    people_replay_max: int = param(8, "replay at most this many of the recording's people "
                                   "(the first to appear)", min=1, max=200)

    # Noise and imperfections. The same seed and the same commands give the same run.
    seed: int = param(0, "seed of every random draw (sensor noise, people, drops)", min=0)
    imu_accel_noise_density: float = param(
        2.0e-3, "accelerometer white noise density, m/s²/√Hz (200 µg/√Hz: a consumer part)",
        min=0.0, max=1.0)
    imu_gyro_noise_density: float = param(
        1.0e-4, "gyroscope white noise density, rad/s/√Hz", min=0.0, max=1.0)
    imu_accel_bias_std_mps2: float = param(
        0.05, "standard deviation of each accelerometer axis's constant bias", min=0.0, max=5.0)
    imu_gyro_bias_std_radps: float = param(
        0.003, "standard deviation of each gyroscope axis's constant bias", min=0.0, max=1.0)

    # Disturbances (hearth_sim.disturbances).
    disturbance_schedule: str = param(
        "", "scheduled events separated by ';', each '<t_s> <kind> <args>': "
        "'lift <x_m> <y_m> <yaw_rad>', 'power normal|low', 'dark <duration_s>', "
        "'light <name> on|off' (e.g. '20 dark 5; 30 lift 4.0 1.5 0')")
    lift_hold_s: float = param(2.0, "a lift holds the robot up this long before carrying it",
                               min=0.0, max=60.0)
    lift_offset: list[float] = param(
        [1.0, 0.0, 1.57], "where /sim/lift puts the robot down: [dx_m, dy_m, dyaw_rad] from "
        "where it was picked up (world frame)")
    stereo_latency_s: float = param(0.0, "delay of the stereo pair's messages", min=0.0,
                                    max=5.0)
    stereo_drop_probability: float = param(0.0, "fraction of stereo pairs lost", min=0.0,
                                           max=1.0)
    tof_latency_s: float = param(0.0, "delay of the ToF's messages", min=0.0, max=5.0)
    tof_drop_probability: float = param(0.0, "fraction of ToF frames lost", min=0.0, max=1.0)
    screen_camera_latency_s: float = param(0.0, "delay of the screen camera's messages",
                                           min=0.0, max=5.0)
    screen_camera_drop_probability: float = param(0.0, "fraction of screen camera frames "
                                                  "lost", min=0.0, max=1.0)
    imu_latency_s: float = param(0.0, "delay of /imu/data", min=0.0, max=5.0)
    imu_drop_probability: float = param(0.0, "fraction of IMU samples lost", min=0.0,
                                        max=1.0)
    wheels_latency_s: float = param(0.0, "delay of /wheel/joint_states", min=0.0, max=5.0)
    wheels_drop_probability: float = param(0.0, "fraction of encoder samples lost", min=0.0,
                                           max=1.0)

    # Commands and robot state.
    cmd_timeout_s: float = param(
        0.5, "stop (within the deceleration limit) when /cmd_vel is silent this long "
        "(simulated time)", min=0.01, max=60.0)
    power_mode: str = param("normal", "power mode at start (low: cameras off)",
                            choices=("normal", "low"))

    def __post_init__(self) -> None:
        for key in ("clock_rate_hz", "imu_rate_hz", "wheel_rate_hz", "screen_rate_hz",
                    "ground_truth_rate_hz", "people_rate_hz"):
            rate = getattr(self, key)
            ratio = self.physics_rate_hz / rate
            if rate > self.physics_rate_hz or abs(ratio - round(ratio)) > 1e-9:
                raise ConfigError(
                    f"parameter '{key}' = {rate:g} must divide physics_rate_hz = "
                    f"{self.physics_rate_hz:g} (sensors sample on physics steps)")
        size = (self.screen_camera_width_px, self.screen_camera_height_px)
        if (0 in size and size != (0, 0)) or 0 < min(size) < MIN_IMAGE_SIDE_PX:
            raise ConfigError(
                f"parameters 'screen_camera_width_px' and 'screen_camera_height_px' = "
                f"{size[0]} x {size[1]}: give both (at least {MIN_IMAGE_SIDE_PX} px) or "
                "neither (0: robot.yaml's)")
        self.start_xy_yaw()  # raises on a malformed start pose
        if len(self.lift_offset) != 3:
            raise ConfigError(f"parameter 'lift_offset' = {self.lift_offset} must be "
                              "[dx_m, dy_m, dyaw_rad]")
        if self.people and self.people_replay_file:
            raise ConfigError("parameters 'people' and 'people_replay_file': give one source "
                              "of people, not both")

    @property
    def step_ns(self) -> int:
        """Length of one physics step, in integer nanoseconds."""
        return round(1e9 / self.physics_rate_hz)

    def steps_per_sample(self, rate_hz: float) -> int:
        """Physics steps between two samples of a sensor running at ``rate_hz``."""
        return round(self.physics_rate_hz / rate_hz)

    def start_xy_yaw(self) -> tuple[float, float, float] | None:
        """``start_pose`` as (x_m, y_m, yaw_rad); None when empty (the home's start)."""
        if not self.start_pose.strip():
            return None
        try:
            values = tuple(float(v) for v in self.start_pose.split())
        except ValueError:
            values = ()
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise ConfigError(f"parameter 'start_pose' = {self.start_pose!r} must be empty or "
                              "'<x_m> <y_m> <yaw_rad>'")
        return values  # type: ignore[return-value]

    def schedule_entries(self) -> list[str]:
        """``disturbance_schedule`` split into its events."""
        return [e.strip() for e in self.disturbance_schedule.split(";") if e.strip()]

    def latency_s(self, sensor: str) -> float:
        return getattr(self, f"{sensor}_latency_s")

    def drop_probability(self, sensor: str) -> float:
        return getattr(self, f"{sensor}_drop_probability")
