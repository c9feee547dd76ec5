"""The simulator's parts, one at a time: the robot's MJCF against its URDF, the IMU's ADC,
the motor controller, the disturbance schedule, the lift and the sensor channels."""

from __future__ import annotations

import math

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco")

from hearth_common.config import ConfigError  # noqa: E402
from hearth_description.robot_model import (  # noqa: E402
    STANDARD_GRAVITY_MPS2,
    expand_xacro,
    joint_transform,
    parse_links,
    parse_urdf,
    quaternion_multiply,
    rotate_vector,
)
from hearth_sim.disturbances import (  # noqa: E402
    LIFT_HEIGHT_M,
    LiftProfile,
    SensorChannel,
    parse_schedule,
)
from hearth_sim.sim_drive import CommandWatchdog, DriveController  # noqa: E402
from hearth_sim.sim_imu import ImuNoise, SimImu, adc  # noqa: E402
from hearth_sim.world import robot_mjcf as rm  # noqa: E402

SCREEN_SIZE_PX = (320, 240)  # the simulator's budget: fewer pixels than robot.yaml's


@pytest.fixture(scope="module")
def urdf():
    return expand_xacro()


@pytest.fixture(scope="module")
def robot_model(urdf, robot):
    parts = rm.build_robot_mjcf(urdf, robot, rm.default_cameras(robot, SCREEN_SIZE_PX))
    xml = (f'<mujoco><compiler {parts.compiler}/><worldbody>'
           f'<geom name="floor" type="plane" size="5 5 .1"/>{parts.worldbody}</worldbody>'
           f'<actuator>{parts.actuator}</actuator><sensor>{parts.sensor}</sensor>'
           f'<equality>{parts.equality}</equality></mujoco>')
    return parts, mujoco.MjModel.from_xml_string(xml)


def urdf_pose(urdf: str, frame: str, positions: dict[str, float] | None = None
              ) -> tuple[np.ndarray, tuple]:
    """(position, quaternion xyzw) of a frame in base_link through the URDF with its joints
    at ``positions`` (by name; 0 otherwise)."""
    positions = positions or {}
    parents = {j.child: j for j in parse_urdf(urdf)}
    chain = []
    while frame != "base_link":
        chain.append(parents[frame])
        frame = parents[frame].parent
    q, t = (0.0, 0.0, 0.0, 1.0), np.zeros(3)
    for j in reversed(chain):
        tf = joint_transform(j, positions.get(j.name, 0.0))
        t = t + np.array(rotate_vector(q, tf.translation_m))
        q = quaternion_multiply(q, tf.rotation_xyzw)
    return t, q


def test_the_mjcf_robot_has_the_urdf_links_joints_and_masses(urdf, robot_model):
    parts, m = robot_model
    links = parse_links(urdf)
    assert {m.body(i).name for i in range(m.nbody)} >= {link.name for link in links}
    total = sum(link.mass_kg or 0.0 for link in links)
    assert m.body_subtreemass[m.body("base_link").id] == pytest.approx(total)
    for link in links:
        if link.mass_kg:
            assert m.body(link.name).mass[0] == pytest.approx(link.mass_kg)
    assert parts.wheel_joints == ("wheel_left_joint", "wheel_right_joint")
    pan = next(j for j in parse_urdf(urdf) if j.name == parts.pan_joint)
    assert m.joint(parts.pan_joint).range == pytest.approx([pan.lower, pan.upper])
    servo = m.actuator(parts.pan_actuator)
    assert servo.forcerange == pytest.approx([-pan.effort, pan.effort])
    for name in parts.wheel_actuators:  # torque-limited velocity servos
        assert 0.0 < m.actuator(name).forcerange[1] < 2.0
    assert m.light(rm.IR_LIGHT).id >= 0 and not m.light_active[m.light(rm.IR_LIGHT).id]


def test_cameras_and_the_imu_sit_at_the_urdf_frames(urdf, robot_model):
    parts, m = robot_model
    d = mujoco.MjData(m)
    mujoco.mj_kinematics(m, d)
    mujoco.mj_camlight(m, d)
    for cam, frame in rm.CAMERA_FRAMES.items():
        t, (x, y, z, w) = urdf_pose(urdf, frame)
        i = m.camera(cam).id
        assert d.cam_xpos[i] == pytest.approx(t, abs=1e-9)
        R_opt = np.zeros(9)
        mujoco.mju_quat2Mat(R_opt, np.array([w, x, y, z]))
        # a MuJoCo camera looks along its -z, with y up: optical z forward, y down
        R_mj = d.cam_xmat[i].reshape(3, 3)
        assert R_mj == pytest.approx(R_opt.reshape(3, 3) @ np.diag([1.0, -1.0, -1.0]), abs=1e-9)
        assert m.cam_fovy[i] == pytest.approx(parts.cameras[cam].fovy_deg)
    t, _ = urdf_pose(urdf, "imu_link")
    assert d.site_xpos[m.site(rm.IMU_SITE).id] == pytest.approx(t, abs=1e-9)
    left, _ = urdf_pose(urdf, rm.CAMERA_FRAMES[rm.STEREO_LEFT_CAMERA])
    right, _ = urdf_pose(urdf, rm.CAMERA_FRAMES[rm.STEREO_RIGHT_CAMERA])
    assert np.linalg.norm(left - right) == pytest.approx(0.08)  # robot.yaml's baseline


def test_the_screen_camera_is_robot_yaml_s_at_the_urdf_frame_and_pans(urdf, robot,
                                                                       robot_model):
    parts, m = robot_model
    assert parts.camera_frames[rm.SCREEN_CAMERA] == "screen_camera_optical"
    intr = parts.cameras[rm.SCREEN_CAMERA]
    assert (intr.width_px, intr.height_px) == SCREEN_SIZE_PX  # the budget's pixels ...
    assert intr.hfov_rad == pytest.approx(robot.screen_camera.hfov_rad)  # ... robot.yaml's view
    full = rm.default_cameras(robot)[rm.SCREEN_CAMERA]
    assert (full.width_px, full.height_px) == (robot.screen_camera.width_px,
                                               robot.screen_camera.height_px)
    d = mujoco.MjData(m)
    i = m.camera(rm.SCREEN_CAMERA).id
    for angle in (0.0, 1.2, -2.0):
        d.qpos[m.jnt_qposadr[m.joint(parts.pan_joint).id]] = angle
        mujoco.mj_kinematics(m, d)
        mujoco.mj_camlight(m, d)
        t, (x, y, z, w) = urdf_pose(urdf, "screen_camera_optical", {parts.pan_joint: angle})
        assert d.cam_xpos[i] == pytest.approx(t, abs=1e-9)
        R_opt = np.zeros(9)
        mujoco.mju_quat2Mat(R_opt, np.array([w, x, y, z]))
        R_mj = d.cam_xmat[i].reshape(3, 3)
        assert R_mj == pytest.approx(R_opt.reshape(3, 3) @ np.diag([1.0, -1.0, -1.0]), abs=1e-9)
        assert -R_mj[:, 2] == pytest.approx([math.cos(angle), math.sin(angle), 0.0], abs=1e-9)


def test_the_imu_adc_rounds_to_the_lsb_and_clips_at_full_scale():
    values, saturated = adc(np.array([0.26, -0.74, 1.0]), full_scale=1.0, bits=3)  # lsb 0.25
    assert values == pytest.approx([0.25, -0.75, 0.75])
    assert saturated


def test_the_imu_averages_its_period_and_saturates_on_a_shock(robot):
    imu = SimImu(robot.imu, 200.0, 5, ImuNoise(), np.random.default_rng(0))
    g = np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2])
    for _ in range(5):
        imu.add(g, np.zeros(3))
    rest = imu.read(5_000_000)
    assert rest.accel_mps2 == pytest.approx(g, abs=robot.imu.accel_full_scale_mps2 / 2 ** 15)
    assert not rest.accel_saturated
    # a 2 ms shock of 15 g in a 5 ms period: the average (7 g) is beyond the 4 g range
    for k in range(5):
        imu.add(g + np.array([0.0, 0.0, 15 * STANDARD_GRAVITY_MPS2 if k < 2 else 0.0]),
                np.zeros(3))
    shock = imu.read(10_000_000)
    assert shock.accel_saturated
    assert shock.accel_mps2[2] == pytest.approx(robot.imu.accel_full_scale_mps2 * (1 - 2 ** -15))


def test_imu_noise_and_bias_have_the_configured_size(robot):
    noise = ImuNoise(2e-3, 1e-4, 0.05, 0.003)
    imu = SimImu(robot.imu, 200.0, 5, noise, np.random.default_rng(7))
    g = np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2])
    samples = []
    for k in range(3000):
        for _ in range(5):
            imu.add(g, np.zeros(3))
        samples.append(imu.read(k))
    accel = np.array([s.accel_mps2 for s in samples])
    gyro = np.array([s.gyro_radps for s in samples])
    assert accel.std(axis=0) == pytest.approx([2e-3 * math.sqrt(200)] * 3, rel=0.1)
    assert gyro.std(axis=0) == pytest.approx([1e-4 * math.sqrt(200)] * 3, rel=0.1)
    assert accel.mean(axis=0) - g == pytest.approx(imu.accel_bias_mps2, abs=3e-3)


def test_the_motor_controller_keeps_to_the_limits(robot):
    drive = DriveController(robot)
    lim = robot.limits
    left, right = drive.step(0.001, 5.0, -10.0)  # far beyond the limits: ramps
    assert drive.v_mps == pytest.approx(lim.max_linear_accel_mps2 * 0.001)
    for _ in range(3000):
        left, right = drive.step(0.001, 5.0, -10.0)
    assert (drive.v_mps, drive.w_radps) == (lim.max_linear_speed_mps, -lim.max_angular_speed_radps)
    r, half = robot.wheels.radius_m, robot.wheels.separation_m / 2
    assert (left, right) == pytest.approx(((1.0 + half * 2.5) / r, (1.0 - half * 2.5) / r))
    with pytest.raises(ValueError):
        drive.step(0.001, math.nan, 0.0)


def test_the_watchdog_stops_a_silent_command():
    dog = CommandWatchdog(500_000_000)
    assert dog.command(0) == (0.0, 0.0)
    dog.set(0.3, 0.1, 1_000_000_000)
    assert dog.command(1_400_000_000) == (0.3, 0.1)
    assert dog.command(1_600_000_000) == (0.0, 0.0)


def test_the_schedule_reads_its_events_and_names_a_bad_one():
    events = parse_schedule(["30 power low", "12.5 lift 4 1.5 1.57", "40 dark 8",
                             "5 light hall_light_w off"])
    assert [(e.t_s, e.kind) for e in events] == [(5.0, "light"), (12.5, "lift"),
                                                 (30.0, "power"), (40.0, "dark")]
    assert events[1].args == (4.0, 1.5, 1.57)
    for bad, why in (("x lift 1 2 3", "not a number"), ("3 fly", "unknown kind"),
                     ("3 lift 1 2", "lift <x_m>"), ("3 power off", "normal|low"),
                     ("3 dark 0", "> 0"), ("-1 power low", ">= 0")):
        with pytest.raises(ConfigError, match=f"disturbance_schedule'\\[0\\].*{why}"):
            parse_schedule([bad])


def test_the_lift_goes_up_holds_carries_and_puts_down():
    lift = LiftProfile(10.0, (1.0, 2.0, 0.0), 0.0, (3.0, 2.0), math.pi / 2, hold_s=2.0)
    t_up, t_hold, t_carry, t_down = lift.phases_s
    assert lift.hand_pose(10.0) == ((1.0, 2.0, 0.0), 0.0)
    assert lift.hand_pose(t_up)[0] == pytest.approx((1.0, 2.0, LIFT_HEIGHT_M))
    assert lift.hand_pose(0.5 * (t_up + t_hold))[0] == pytest.approx((1.0, 2.0, LIFT_HEIGHT_M))
    (x, y, z), yaw = lift.hand_pose(t_carry)
    assert (x, y, z, yaw) == pytest.approx((3.0, 2.0, LIFT_HEIGHT_M, math.pi / 2))
    assert lift.hand_pose(t_down)[0][2] == pytest.approx(0.003)
    ts = np.arange(10.0, t_down, 0.001)
    zs = [lift.hand_pose(t)[0][2] for t in ts]
    assert max(np.abs(np.diff(zs))) / 0.001 < 0.6  # smooth: at most 0.6 m/s, no jump


def test_a_sensor_channel_delays_and_drops_reproducibly():
    ch = SensorChannel(0.02, 0.0, np.random.default_rng(0))
    ch.push(1_000, "a")
    assert ch.pop_due(20_000_999) == [] and ch.pop_due(20_001_000) == ["a"]
    one = SensorChannel(0.0, 0.3, np.random.default_rng(5))
    two = SensorChannel(0.0, 0.3, np.random.default_rng(5))
    a, b = [one.admit() for _ in range(1000)], [two.admit() for _ in range(1000)]
    assert a == b and 0.25 < 1 - np.mean(a) < 0.35 and one.dropped == a.count(False)
