"""The robot in MJCF, translated from the expanded URDF (ROS-free).

Nothing here restates the robot: every link, joint, mass, inertia, shape and frame comes from
the URDF that ``hearth_description`` expands from ``robot.yaml``; the camera intrinsics come
from ``robot.yaml`` through the caller (``default_cameras``: the simulator may render the
screen camera at fewer pixels, over the same field of view). What the simulator adds to the
URDF is said where it is added:

- ``base_link`` gets a free joint: the robot moves on the floor, and can be lifted;
- each URDF link becomes a MuJoCo body with the URDF's inertial (fixed joints weld bodies;
  continuous and revolute joints become hinges with the URDF's names, axes and limits);
- a ``<collision>`` becomes a colliding geom (the ``<visual>`` of the same shape shares it),
  a ``<visual>`` of its own becomes a non-colliding geom of group 1. The robot collides with
  the world and people, never with itself (``home_mjcf``'s collision bits). A wheel's
  cylinder collides as a sphere of its radius (a tyre climbing a rug's edge: MuJoCo's
  cylinder-box contact would push it back with the box face's normal);
- contact: the robot's geoms take precedence (``priority``) so that their friction and
  stiffness apply against any floor: rubber wheels grip, the ball casters are nearly
  frictionless spheres (they roll every way), the shell slides. The stiff contact
  (``CONTACT_TIMECONST_S``) is a hard wheel on a hard floor: a 2 cm threshold at walking
  pace gives a shock of several g, as on the real robot;
- the ball casters are spring-loaded (a slide joint, ``<caster link>_spring``, up to
  ``CASTER_TRAVEL_M``): with two rigid casters and two wheels in a line, a bump under one
  caster would lift the drive wheels off the floor and strand the robot;
- actuators: a velocity servo per wheel (``<joint>_motor``) with the motor's torque limit,
  so that nothing accelerates the robot harder than its motors can; a position servo on the
  pan joint (``<joint>_servo``) within the URDF's range and effort (its set point moves at
  the URDF's speed limit: ``hearth_sim.pan_servo``);
- sensors: cameras ``stereo_left``, ``stereo_right``, ``tof`` and ``screen_cam`` at the URDF
  optical frames (``CAMERA_FRAMES``; ``screen_camera_optical`` hangs from the screen's body,
  so that camera pans with it); the IMU site ``imu`` at ``imu_link`` with an accelerometer
  and a gyro (range, noise and bias are the simulator's: ``hearth_sim.sim_imu``); the spot
  light ``ir_illuminator`` at the stereo pair's centre, along its axis, off until
  ``world.lighting`` switches it on;
- the lift: a mocap body ``lift_hand`` and an inactive weld ``lift_weld`` from it to
  ``base_link`` (``hearth_sim.disturbances``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

from hearth_description.robot_model import (
    RobotParams,
    pan_joint,
    parse_urdf,
    rpy_to_quaternion,
    wheel_joints,
)
from hearth_sim.sensors.cameras import PinholeIntrinsics, camera_mjcf
from hearth_sim.world.home_mjcf import ROBOT_CONAFFINITY, ROBOT_CONTYPE
from hearth_sim.world.lighting import IR_LIGHT

ROOT_LINK = "base_link"
FREE_JOINT = "base_free"
IMU_SITE = "imu"
IMU_LINK = "imu_link"
ACCEL_SENSOR = "imu_accel"
GYRO_SENSOR = "imu_gyro"
STEREO_LEFT_CAMERA = "stereo_left"
STEREO_RIGHT_CAMERA = "stereo_right"
TOF_CAMERA = "tof"
SCREEN_CAMERA = "screen_cam"
LIFT_HAND = "lift_hand"
LIFT_WELD = "lift_weld"

# The URDF optical frames (z forward, x right, y down) of the cameras.
CAMERA_FRAMES = {
    STEREO_LEFT_CAMERA: "stereo_left_optical",
    STEREO_RIGHT_CAMERA: "stereo_right_optical",
    TOF_CAMERA: "tof_optical",
    SCREEN_CAMERA: "screen_camera_optical",
}

# Contact and actuation: the simulator's, not the robot description's.
CONTACT_TIMECONST_S = 0.004  # a hard wheel or caster on a hard floor; >= 2 physics steps
WHEEL_FRICTION = (1.0, 0.005, 0.0001)  # rubber: sliding, torsional, rolling
CASTER_FRICTION = (0.01,)  # a ball caster rolls every way (frictionless contact, condim 1)
SHELL_FRICTION = (0.3, 0.005, 0.0001)  # plastic shell against walls, furniture, people
WHEEL_SERVO_GAIN_NMS = 0.5  # N·m per rad/s of speed error (time constant ~5 ms loaded)
WHEEL_TORQUE_HEADROOM = 5.0  # motor stall torque / one wheel's torque for full acceleration
CASTER_TRAVEL_M = 0.02  # a spring-loaded caster retracts this far
CASTER_SPRING_NPM = 300.0
CASTER_PRELOAD_N = 8.0  # at full extension (the URDF position): braking does not rock the body
CASTER_DAMPING_NSPM = 40.0  # damps the body rocking on them (pitch ζ ≈ 0.6)
PAN_SERVO_GAIN_NM = 4.0  # N·m per rad of position error
PAN_DAMPING_NMS = 0.05
IR_CUTOFF_DEG = 50.0  # the IR spot's half angle: it covers the stereo field of view
IR_DIFFUSE = 0.9
IR_ATTENUATION = (0.2, 0.0, 0.35)  # constant, linear, quadratic: the spot fades with range

# Geom groups (cameras render 0-2): solid 0, visual-only 1, collision-only 3 (hidden).
GROUP_SOLID, GROUP_VISUAL, GROUP_HIDDEN = 0, 1, 3


@dataclass(frozen=True)
class RobotMjcf:
    """The robot's sections of an MJCF document (the contents of the element each field
    names, for ``world.assemble.assemble``) and the names the simulator refers to."""

    worldbody: str
    actuator: str
    compiler: str  # attributes of <compiler>: joint ranges are in radians
    sensor: str
    equality: str
    wheel_joints: tuple[str, str]  # (left, right): the URDF's names
    wheel_actuators: tuple[str, str]
    caster_joints: tuple[str, ...]
    pan_joint: str
    pan_actuator: str
    links: tuple[str, ...]  # every body of the robot: the URDF's link names
    cameras: dict[str, PinholeIntrinsics] = field(default_factory=dict)  # by MuJoCo name
    camera_frames: dict[str, str] = field(default_factory=dict)  # MuJoCo name -> frame_id


def default_cameras(params: RobotParams,
                    screen_size_px: tuple[int, int] = (0, 0)) -> dict[str, PinholeIntrinsics]:
    """The cameras' intrinsics from robot.yaml (square pixels: each from its hfov).

    ``screen_size_px``: (width, height) to render the screen camera at instead of robot.yaml's
    (0: robot.yaml's); its field of view stays robot.yaml's.
    """
    st, tof, sc = params.stereo, params.tof, params.screen_camera
    stereo = PinholeIntrinsics(st.width_px, st.height_px, st.hfov_rad)
    width_px, height_px = screen_size_px
    return {STEREO_LEFT_CAMERA: stereo, STEREO_RIGHT_CAMERA: stereo,
            TOF_CAMERA: PinholeIntrinsics(tof.width_px, tof.height_px, tof.hfov_rad),
            SCREEN_CAMERA: PinholeIntrinsics(width_px or sc.width_px, height_px or sc.height_px,
                                             sc.hfov_rad)}


def _fmt(values) -> str:
    return " ".join(f"{float(v):.9g}" for v in values)


def _quat(rpy) -> tuple[float, float, float, float]:
    """URDF roll, pitch, yaw as a MuJoCo quaternion (w, x, y, z)."""
    x, y, z, w = rpy_to_quaternion(*rpy)
    return (w, x, y, z)


def _origin(el: ET.Element | None) -> tuple[tuple, tuple]:
    """(xyz, quat wxyz) of a URDF <origin> (identity when absent)."""
    if el is None:
        return (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0)
    xyz = tuple(float(v) for v in (el.get("xyz") or "0 0 0").split())
    rpy = tuple(float(v) for v in (el.get("rpy") or "0 0 0").split())
    return xyz, _quat(rpy)


def _shape(el: ET.Element, where: str) -> tuple[str, tuple]:
    """MuJoCo (type, size) of the <geometry> of a URDF <visual> or <collision>."""
    geometry = el.find("geometry")
    for child in geometry if geometry is not None else ():
        if child.tag == "cylinder":
            return "cylinder", (float(child.get("radius")), 0.5 * float(child.get("length")))
        if child.tag == "sphere":
            return "sphere", (float(child.get("radius")),)
        if child.tag == "box":
            return "box", tuple(0.5 * float(v) for v in child.get("size").split())
    raise ValueError(f"URDF: {where}: only cylinder, sphere and box geometry is supported")


def _same_shape(a: ET.Element, b: ET.Element) -> bool:
    def key(el: ET.Element) -> tuple:
        return (_origin(el.find("origin")), _shape(el, ""))
    return key(a) == key(b)


def _rgba(el: ET.Element, materials: dict[str, str]) -> str | None:
    m = el.find("material")
    if m is None:
        return None
    color = m.find("color")
    return color.get("rgba") if color is not None else materials.get(m.get("name"))


def _inertia_in_body(quat_wxyz, inertia: ET.Element) -> tuple:
    """A URDF inertia (given in the inertial frame) as MJCF ``fullinertia`` in the body
    frame: ixx iyy izz ixy ixz iyz."""
    w, x, y, z = quat_wxyz
    R = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    i = {k: float(inertia.get(k, "0")) for k in ("ixx", "iyy", "izz", "ixy", "ixz", "iyz")}
    local = np.array([[i["ixx"], i["ixy"], i["ixz"]],
                      [i["ixy"], i["iyy"], i["iyz"]],
                      [i["ixz"], i["iyz"], i["izz"]]])
    J = R @ local @ R.T
    return (J[0, 0], J[1, 1], J[2, 2], J[0, 1], J[0, 2], J[1, 2])


def robot_mass_kg(urdf_xml: str) -> float:
    """The robot's total mass, from the URDF's inertials."""
    return sum(float(el.get("value")) for el in ET.fromstring(urdf_xml).iter("mass"))


def wheel_torque_limit_nm(params: RobotParams, mass_kg: float) -> float:
    """Each wheel motor's stall torque: ``WHEEL_TORQUE_HEADROOM`` times what one wheel needs
    to accelerate the whole robot at its limit, enough to climb a threshold, far from
    unbounded."""
    return (WHEEL_TORQUE_HEADROOM * mass_kg * params.limits.max_linear_accel_mps2
            * params.wheels.radius_m)


def build_robot_mjcf(urdf_xml: str, params: RobotParams,
                     cameras: dict[str, PinholeIntrinsics]) -> RobotMjcf:
    """The robot's MJCF sections from the expanded URDF (see the module docstring).

    ``cameras``: intrinsics by camera name (``default_cameras``), the four of them.
    """
    missing = {STEREO_LEFT_CAMERA, STEREO_RIGHT_CAMERA, TOF_CAMERA, SCREEN_CAMERA} - set(cameras)
    if missing:
        raise ValueError(f"no intrinsics for camera(s) {', '.join(sorted(missing))}")
    root = ET.fromstring(urdf_xml)
    joints = parse_urdf(urdf_xml)
    left, right = wheel_joints(joints)
    pan = pan_joint(joints)
    links = {el.get("name"): el for el in root.findall("link")}
    for name in (ROOT_LINK, IMU_LINK, *CAMERA_FRAMES.values()):
        if name not in links:
            raise ValueError(f"URDF: no link '{name}'")
    wheel_links = {left.child, right.child}
    caster_links = {j.child for j in joints if j.type == "fixed" and j.parent == ROOT_LINK
                    and "caster" in j.child}
    children: dict[str, list] = {}
    for j in joints:
        children.setdefault(j.parent, []).append(j)
    materials = {m.get("name"): m.find("color").get("rgba")
                 for m in root.findall("material") if m.find("color") is not None}
    frame_camera = {frame: cam for cam, frame in CAMERA_FRAMES.items()}
    stereo_centre = next(j.parent for j in joints if j.child == CAMERA_FRAMES[STEREO_LEFT_CAMERA])

    def contact_attrs(link: str) -> str:
        if link in wheel_links:
            friction, condim = WHEEL_FRICTION, 4
        elif link in caster_links:
            friction, condim = CASTER_FRICTION, 1
        else:
            friction, condim = SHELL_FRICTION, 4
        return (f'contype="{ROBOT_CONTYPE}" conaffinity="{ROBOT_CONAFFINITY}" priority="1" '
                f'condim="{condim}" friction="{_fmt(friction)}" '
                f'solref="{CONTACT_TIMECONST_S:g} 1"')

    out: list[str] = []

    def emit_body(link: str, pos, quat, joint_xml: str, indent: str) -> None:
        el = links[link]
        out.append(f'{indent}<body name="{link}" pos="{_fmt(pos)}" quat="{_fmt(quat)}">')
        ind = indent + "  "
        if joint_xml:
            out.append(ind + joint_xml)
        inertial = el.find("inertial")
        if inertial is not None:
            ipos, iquat = _origin(inertial.find("origin"))
            mass = float(inertial.find("mass").get("value"))
            full = _inertia_in_body(iquat, inertial.find("inertia"))
            out.append(f'{ind}<inertial pos="{_fmt(ipos)}" mass="{mass:.9g}" '
                       f'fullinertia="{_fmt(full)}"/>')
        collisions = el.findall("collision")
        shared = []  # the visuals drawn by a colliding geom
        for k, col in enumerate(collisions):
            shape, size = _shape(col, f"link '{link}' collision")
            gpos, gquat = _origin(col.find("origin"))
            twin = next((v for v in el.findall("visual") if _same_shape(v, col)), None)
            if link in wheel_links and shape == "cylinder":
                # A tyre: a sphere of the wheel's radius touches the floor where the wheel
                # does, and rolls over an edge as a round tyre does; MuJoCo's cylinder-box
                # contact takes the box face's normal at an edge, so a cylinder could not
                # climb a rug's edge. The cylinder is drawn, not collided.
                shape, size, twin = "sphere", (size[0],), None
            if twin is not None:
                shared.append(twin)
            rgba = _rgba(twin, materials) if twin is not None else None
            group = GROUP_SOLID if twin is not None else GROUP_HIDDEN
            out.append(f'{ind}<geom name="{link}" ' if k == 0 else f'{ind}<geom name="{link}/{k}" ')
            out[-1] += (f'type="{shape}" size="{_fmt(size)}" pos="{_fmt(gpos)}" '
                        f'quat="{_fmt(gquat)}" group="{group}" mass="0" '
                        f'{contact_attrs(link)}' + (f' rgba="{rgba}"' if rgba else "") + "/>")
        for k, vis in enumerate(el.findall("visual")):
            if any(vis is v for v in shared):
                continue
            shape, size = _shape(vis, f"link '{link}' visual")
            gpos, gquat = _origin(vis.find("origin"))
            rgba = _rgba(vis, materials)
            out.append(f'{ind}<geom name="{link}/visual{k}" type="{shape}" size="{_fmt(size)}" '
                       f'pos="{_fmt(gpos)}" quat="{_fmt(gquat)}" group="{GROUP_VISUAL}" '
                       f'contype="0" conaffinity="0" mass="0"'
                       + (f' rgba="{rgba}"' if rgba else "") + "/>")
        if link in frame_camera:
            cam = frame_camera[link]
            out.append(ind + camera_mjcf(cam, (0.0, 0.0, 0.0), np.array([1.0, 0.0, 0.0, 0.0]),
                                         cameras[cam]))
        if link == stereo_centre:
            out.append(f'{ind}<light name="{IR_LIGHT}" type="spot" pos="0 0 0" dir="1 0 0" '
                       f'cutoff="{IR_CUTOFF_DEG:g}" exponent="1" '
                       f'diffuse="{_fmt([IR_DIFFUSE] * 3)}" specular="0 0 0" ambient="0 0 0" '
                       f'attenuation="{_fmt(IR_ATTENUATION)}" castshadow="false" '
                       f'active="false"/>')
        if link == IMU_LINK:
            out.append(f'{ind}<site name="{IMU_SITE}" size="0.005" group="{GROUP_HIDDEN}"/>')
        for j in children.get(link, []):
            if j.type == "fixed" and j.child in caster_links:
                jx = (f'<joint name="{j.child}_spring" type="slide" axis="0 0 1" '
                      f'range="0 {CASTER_TRAVEL_M:g}" stiffness="{CASTER_SPRING_NPM:g}" '
                      f'springref="{-CASTER_PRELOAD_N / CASTER_SPRING_NPM:.9g}" '
                      f'damping="{CASTER_DAMPING_NSPM:g}" '
                      f'solreflimit="{CONTACT_TIMECONST_S:g} 1"/>')
            elif j.type == "fixed":
                jx = ""
            elif j.type in ("continuous", "revolute"):
                extra = ""
                if j.type == "revolute":
                    if j.lower is None or j.upper is None:
                        raise ValueError(f"URDF: revolute joint '{j.name}' has no limits")
                    extra = f' range="{j.lower:.9g} {j.upper:.9g}"'
                if j.name == pan.name:
                    extra += f' damping="{PAN_DAMPING_NMS:g}"'
                jx = f'<joint name="{j.name}" type="hinge" axis="{_fmt(j.axis)}"{extra}/>'
            else:
                raise ValueError(f"URDF: joint '{j.name}' of type '{j.type}' is not supported")
            emit_body(j.child, j.xyz_m, _quat(j.rpy_rad), jx, ind)
        out.append(f"{indent}</body>")

    emit_body(ROOT_LINK, (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0),
              f'<freejoint name="{FREE_JOINT}"/>', "")
    out.append(f'<body name="{LIFT_HAND}" mocap="true" pos="0 0 -1"/>')

    torque_nm = wheel_torque_limit_nm(params, robot_mass_kg(urdf_xml))
    top_speed = params.max_wheel_speed_radps
    actuators = [
        f'<velocity name="{j.name}_motor" joint="{j.name}" kv="{WHEEL_SERVO_GAIN_NMS:g}" '
        f'ctrlrange="{-top_speed:.9g} {top_speed:.9g}" '
        f'forcerange="{-torque_nm:.9g} {torque_nm:.9g}"/>' for j in (left, right)]
    if pan.effort is None:
        raise ValueError(f"URDF: pan joint '{pan.name}' has no effort limit")
    actuators.append(
        f'<position name="{pan.name}_servo" joint="{pan.name}" kp="{PAN_SERVO_GAIN_NM:g}" '
        f'ctrlrange="{pan.lower:.9g} {pan.upper:.9g}" '
        f'forcerange="{-pan.effort:.9g} {pan.effort:.9g}"/>')
    return RobotMjcf(
        worldbody="\n".join(out),
        compiler='angle="radian"',
        actuator="\n".join(actuators),
        sensor=(f'<accelerometer name="{ACCEL_SENSOR}" site="{IMU_SITE}"/>\n'
                f'<gyro name="{GYRO_SENSOR}" site="{IMU_SITE}"/>'),
        equality=(f'<weld name="{LIFT_WELD}" body1="{LIFT_HAND}" body2="{ROOT_LINK}" '
                  f'relpose="0 0 0 1 0 0 0" active="false"/>'),
        wheel_joints=(left.name, right.name),
        wheel_actuators=(f"{left.name}_motor", f"{right.name}_motor"),
        caster_joints=tuple(f"{c}_spring" for c in sorted(caster_links)),
        pan_joint=pan.name,
        pan_actuator=f"{pan.name}_servo",
        links=tuple(links),
        cameras=dict(cameras),
        camera_frames=dict(CAMERA_FRAMES),
    )
