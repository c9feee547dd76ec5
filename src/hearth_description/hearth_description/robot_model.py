"""The robot model (ROS-free): ``config/robot.yaml`` and the URDF built from it.

``robot.yaml`` is the one source of truth for the robot's geometry, sensors and limits.
:func:`load_robot_params` reads and validates it into a frozen :class:`RobotParams`;
:func:`expand_xacro` builds the URDF from it; :func:`parse_urdf` reads the URDF's joints and
:func:`fixed_transforms` / :func:`joint_transform` turn them into frame transforms (what
robot_state_publisher does). Units are SI and named in each field; frames follow REP-103/105.
"""

from __future__ import annotations

import dataclasses
import math
import typing
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hearth_common.config import ConfigError

PACKAGE = "hearth_description"
STANDARD_GRAVITY_MPS2 = 9.80665


def _key(description: str, *, gt: float | None = None, ge: float | None = None,
         le: float | None = None, choices: tuple[str, ...] | None = None) -> Any:
    """A required robot.yaml key: what it means and which values are admissible."""
    return dataclasses.field(
        metadata={"description": description, "gt": gt, "ge": ge, "le": le, "choices": choices}
    )


@dataclass(frozen=True)
class BaseParams:
    radius_m: float = _key("radius of the round chassis", gt=0.0)
    height_m: float = _key("height of the chassis shell", gt=0.0)
    ground_clearance_m: float = _key("floor to the underside of the chassis", ge=0.0)
    mass_kg: float = _key("mass of the chassis (everything not listed separately)", gt=0.0)


@dataclass(frozen=True)
class WheelParams:
    radius_m: float = _key("driven wheel radius", gt=0.0)
    width_m: float = _key("driven wheel width", gt=0.0)
    separation_m: float = _key("distance between the two wheels' contact points", gt=0.0)
    mass_kg: float = _key("mass of one wheel", gt=0.0)
    encoder_ticks_per_rev: int = _key("encoder counts per wheel revolution", ge=1)


@dataclass(frozen=True)
class CasterParams:
    radius_m: float = _key("ball caster radius", gt=0.0)
    front_x_m: float = _key("front caster position along x", gt=0.0)
    rear_x_m: float = _key("rear caster position along x (negative: behind)", le=0.0)
    mass_kg: float = _key("mass of one caster", gt=0.0)


@dataclass(frozen=True)
class MotionLimits:
    max_linear_speed_mps: float = _key("top forward/backward speed", gt=0.0)
    max_angular_speed_radps: float = _key("top yaw rate", gt=0.0)
    max_linear_accel_mps2: float = _key("linear acceleration limit", gt=0.0)
    max_angular_accel_radps2: float = _key("yaw acceleration limit", gt=0.0)
    max_linear_jerk_mps3: float = _key("linear jerk limit (for planners)", gt=0.0)
    max_angular_jerk_radps3: float = _key("yaw jerk limit (for planners)", gt=0.0)


@dataclass(frozen=True)
class MastParams:
    x_m: float = _key("the mast's axis along x")
    radius_m: float = _key("mast radius", gt=0.0)
    height_m: float = _key("mast height above the chassis top", gt=0.0)
    mass_kg: float = _key("mast mass", gt=0.0)


@dataclass(frozen=True)
class ScreenParams:
    width_m: float = _key("screen width", gt=0.0)
    height_m: float = _key("screen height", gt=0.0)
    depth_m: float = _key("screen thickness", gt=0.0)
    mass_kg: float = _key("screen mass", gt=0.0)
    pan_limit_rad: float = _key("pan joint travel either side of forward", gt=0.0, le=math.pi)
    max_pan_speed_radps: float = _key("pan joint speed limit", gt=0.0)
    max_pan_effort_nm: float = _key("pan joint torque limit", gt=0.0)


@dataclass(frozen=True)
class ScreenCameraParams:
    height_on_screen_m: float = _key("optical centre above the screen's bottom edge (the pan "
                                     "joint)", ge=0.0)
    forward_of_face_m: float = _key("optical centre in front of the screen's face", ge=0.0)
    width_px: int = _key("image width", ge=1)
    height_px: int = _key("image height", ge=1)
    hfov_rad: float = _key("horizontal field of view", gt=0.0, le=math.pi)
    rate_hz: float = _key("frame rate", gt=0.0)


@dataclass(frozen=True)
class StereoParams:
    baseline_m: float = _key("distance between the two optical centres", gt=0.0)
    height_on_mast_m: float = _key("centre of the pair above the mast's foot", ge=0.0)
    pitch_down_rad: float = _key("downward tilt of the pair", ge=-0.5 * math.pi, le=0.5 * math.pi)
    width_px: int = _key("image width", ge=1)
    height_px: int = _key("image height", ge=1)
    hfov_rad: float = _key("horizontal field of view", gt=0.0, le=math.pi)
    rate_hz: float = _key("frame rate", gt=0.0)
    shutter: str = _key("shutter type", choices=("global", "rolling"))
    encoding: str = _key("image encoding", choices=("mono8", "mono16", "rgb8", "bgr8"))


@dataclass(frozen=True)
class TofParams:
    height_on_mast_m: float = _key("optical centre above the mast's foot", ge=0.0)
    pitch_down_rad: float = _key("downward tilt", ge=-0.5 * math.pi, le=0.5 * math.pi)
    width_px: int = _key("depth image width", ge=1)
    height_px: int = _key("depth image height", ge=1)
    hfov_rad: float = _key("horizontal field of view", gt=0.0, le=math.pi)
    min_range_m: float = _key("nearest measurable depth", gt=0.0)
    max_range_m: float = _key("farthest measurable depth", gt=0.0)
    rate_hz: float = _key("frame rate", gt=0.0)


@dataclass(frozen=True)
class ImuParams:
    xyz_m: tuple[float, float, float] = _key("position of imu_link in base_link")
    accel_full_scale_g: float = _key("accelerometer range: readings clip at +-this", gt=0.0)
    gyro_full_scale_dps: float = _key("gyroscope range: readings clip at +-this", gt=0.0)
    adc_bits: int = _key("resolution of the readings (two's complement)", ge=2)

    @property
    def accel_full_scale_mps2(self) -> float:
        return self.accel_full_scale_g * STANDARD_GRAVITY_MPS2

    @property
    def gyro_full_scale_radps(self) -> float:
        return math.radians(self.gyro_full_scale_dps)


@dataclass(frozen=True)
class RobotParams:
    """Everything robot.yaml says, validated. Read it with :func:`load_robot_params`."""

    base: BaseParams = _key("the round chassis")
    wheels: WheelParams = _key("the two driven wheels")
    casters: CasterParams = _key("the ball casters")
    limits: MotionLimits = _key("motion limits")
    mast: MastParams = _key("the mast")
    screen: ScreenParams = _key("the screen and its pan joint")
    screen_camera: ScreenCameraParams = _key("the screen's own camera")
    stereo: StereoParams = _key("the forward stereo pair")
    tof: TofParams = _key("the forward ToF depth camera")
    imu: ImuParams = _key("the IMU")

    @property
    def max_wheel_speed_radps(self) -> float:
        """Fastest a wheel turns within the limits: full speed plus full turn."""
        w = self.wheels
        v = self.limits.max_linear_speed_mps
        return (v + 0.5 * w.separation_m * self.limits.max_angular_speed_radps) / w.radius_m


# --- reading robot.yaml --------------------------------------------------------------------


def package_share_dir() -> Path:
    """The package's installed share directory, else the source tree (next to this module)."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PACKAGE))
    except (ImportError, LookupError, ValueError):
        return Path(__file__).resolve().parent.parent


def default_robot_yaml() -> Path:
    return package_share_dir() / "config" / "robot.yaml"


def default_xacro() -> Path:
    return package_share_dir() / "urdf" / "hearth.urdf.xacro"


def load_robot_params(path: str | Path | None = None) -> RobotParams:
    """Read and validate robot.yaml (default: the package's own).

    Raises ConfigError with one line naming the file and the key: a missing or unknown key,
    a wrong type, a value out of range, or parts that do not fit together.
    """
    path = Path(path) if path else default_robot_yaml()
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read robot description {path}: {exc}") from exc
    params = _build(RobotParams, doc, "", path)
    _check_fit(params, path)
    return params


def _build(cls: type, data: Any, prefix: str, source: Path) -> Any:
    where = f"'{prefix}'" if prefix else "the top level"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {where} must be a mapping of keys, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        if f.name not in data:
            raise ConfigError(f"{source}: missing key '{key}' ({f.metadata['description']})")
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            kwargs[f.name] = _build(tp, data[f.name], key, source)
        else:
            kwargs[f.name] = _check(key, tp, f.metadata, data[f.name], source)
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown:
        name = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(f"{source}: unknown key '{name}' (known: {', '.join(names)})")
    return cls(**kwargs)


def _number(key: str, tp: type, value: Any, source: Path) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: '{key}' must be a number, got {value!r}")
    if tp is int:
        if not isinstance(value, int):
            raise ConfigError(f"{source}: '{key}' must be an integer, got {value!r}")
        return value
    if not math.isfinite(value):
        raise ConfigError(f"{source}: '{key}' must be finite, got {value!r}")
    return float(value)


def _check(key: str, tp: Any, meta: Mapping[str, Any], value: Any, source: Path) -> Any:
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{source}: '{key}' must be a list of {len(args)} numbers, "
                              f"got {value!r}")
        return tuple(_number(f"{key}[{i}]", t, v, source) for i, (t, v) in
                     enumerate(zip(args, value, strict=True)))
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: '{key}' must be a string, got {value!r}")
        if meta["choices"] is not None and value not in meta["choices"]:
            raise ConfigError(f"{source}: '{key}' = {value!r} is not one of "
                              f"{', '.join(meta['choices'])}")
        return value
    number = _number(key, tp, value, source)
    if meta["gt"] is not None and not number > meta["gt"]:
        raise ConfigError(f"{source}: '{key}' must be > {meta['gt']:g}, got {value!r}")
    if meta["ge"] is not None and not number >= meta["ge"]:
        raise ConfigError(f"{source}: '{key}' must be >= {meta['ge']:g}, got {value!r}")
    if meta["le"] is not None and not number <= meta["le"]:
        raise ConfigError(f"{source}: '{key}' must be <= {meta['le']:g}, got {value!r}")
    return number


def _check_fit(p: RobotParams, source: Path) -> None:
    """Rules between keys: the parts must fit together."""

    def fail(key: str, why: str) -> None:
        raise ConfigError(f"{source}: '{key}' {why}")

    if 0.5 * (p.wheels.separation_m + p.wheels.width_m) > p.base.radius_m:
        fail("wheels.separation_m", f"= {p.wheels.separation_m:g} puts the wheels outside the "
             f"chassis (base.radius_m = {p.base.radius_m:g})")
    if p.casters.radius_m >= p.wheels.radius_m:
        fail("casters.radius_m", f"= {p.casters.radius_m:g} must be smaller than "
             f"wheels.radius_m = {p.wheels.radius_m:g}")
    for key, x in (("casters.front_x_m", p.casters.front_x_m),
                   ("casters.rear_x_m", p.casters.rear_x_m)):
        if abs(x) + p.casters.radius_m > p.base.radius_m:
            fail(key, f"= {x:g} puts the caster outside the chassis")
    if abs(p.mast.x_m) + p.mast.radius_m > p.base.radius_m:
        fail("mast.x_m", f"= {p.mast.x_m:g} puts the mast outside the chassis")
    for key, h in (("stereo.height_on_mast_m", p.stereo.height_on_mast_m),
                   ("tof.height_on_mast_m", p.tof.height_on_mast_m)):
        if h > p.mast.height_m:
            fail(key, f"= {h:g} is above the top of the mast (mast.height_m = {p.mast.height_m:g})")
    if p.screen_camera.height_on_screen_m > p.screen.height_m:
        fail("screen_camera.height_on_screen_m", f"= {p.screen_camera.height_on_screen_m:g} is "
             f"above the top of the screen (screen.height_m = {p.screen.height_m:g})")
    if p.tof.min_range_m >= p.tof.max_range_m:
        fail("tof.min_range_m", f"= {p.tof.min_range_m:g} must be below tof.max_range_m = "
             f"{p.tof.max_range_m:g}")


# --- the URDF --------------------------------------------------------------------------------


def expand_xacro(path: str | Path | None = None, robot_yaml: str | Path | None = None) -> str:
    """The URDF (XML text) from the xacro file, with robot.yaml validated first.

    ``path`` defaults to the package's ``urdf/hearth.urdf.xacro``; ``robot_yaml`` to the file
    the xacro names itself (the package's ``config/robot.yaml``).
    """
    import xacro  # ROS's xacro (also on PyPI); imported here: only this function needs it

    path = Path(path) if path else default_xacro()
    mappings = {}
    if robot_yaml:
        robot_yaml = Path(robot_yaml).resolve()
        mappings["robot_yaml"] = str(robot_yaml)
    load_robot_params(robot_yaml or (path.parent.parent / "config" / "robot.yaml"))
    try:
        doc = xacro.process_file(str(path), mappings=mappings)
    except Exception as exc:  # xacro raises XacroException, OSError, NameError, ...
        raise ValueError(f"xacro failed on {path}: {exc}") from exc
    return doc.toprettyxml(indent="  ")


@dataclass(frozen=True)
class Joint:
    """One URDF joint. Angles in rad; ``lower``/``upper``/``velocity``/``effort`` are None
    when the joint has no <limit>."""

    name: str
    type: str  # fixed, revolute, continuous, prismatic, floating, planar
    parent: str
    child: str
    xyz_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy_rad: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    lower: float | None = None
    upper: float | None = None
    velocity: float | None = None
    effort: float | None = None

    @property
    def moves(self) -> bool:
        return self.type in ("revolute", "continuous", "prismatic")


@dataclass(frozen=True)
class Link:
    """One URDF link; ``inertia_kgm2`` is the 3x3 inertia matrix (rows), None when massless."""

    name: str
    mass_kg: float | None = None
    inertia_kgm2: tuple[tuple[float, float, float], ...] | None = None


def _floats(text: str | None, n: int, default: tuple[float, ...], what: str) -> tuple:
    if text is None:
        return default
    parts = text.split()
    try:
        values = tuple(float(v) for v in parts)
    except ValueError as exc:
        raise ValueError(f"URDF: {what} = {text!r} is not {n} numbers") from exc
    if len(values) != n:
        raise ValueError(f"URDF: {what} = {text!r} is not {n} numbers")
    return values


def _root(xml: str) -> ET.Element:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"URDF is not well-formed XML: {exc}") from exc
    if root.tag != "robot":
        raise ValueError(f"URDF root element is <{root.tag}>, not <robot>")
    return root


def parse_urdf(xml: str) -> list[Joint]:
    """The joints of a URDF, in document order."""
    joints = []
    for j in _root(xml).findall("joint"):
        name = j.get("name") or "?"
        parent, child = j.find("parent"), j.find("child")
        if parent is None or child is None or not parent.get("link") or not child.get("link"):
            raise ValueError(f"URDF: joint '{name}' needs <parent link=...> and <child link=...>")
        origin = j.find("origin")
        axis = j.find("axis")
        limit = j.find("limit")

        def lim(attr: str, limit: ET.Element | None = limit, name: str = name) -> float | None:
            if limit is None or limit.get(attr) is None:
                return None
            return _floats(limit.get(attr), 1, (), f"joint '{name}' limit {attr}")[0]

        joints.append(Joint(
            name=name,
            type=j.get("type") or "?",
            parent=parent.get("link"),
            child=child.get("link"),
            xyz_m=_floats(origin.get("xyz") if origin is not None else None, 3,
                          (0.0, 0.0, 0.0), f"joint '{name}' origin xyz"),
            rpy_rad=_floats(origin.get("rpy") if origin is not None else None, 3,
                            (0.0, 0.0, 0.0), f"joint '{name}' origin rpy"),
            axis=_floats(axis.get("xyz") if axis is not None else None, 3,
                         (1.0, 0.0, 0.0), f"joint '{name}' axis"),
            lower=lim("lower"), upper=lim("upper"), velocity=lim("velocity"),
            effort=lim("effort"),
        ))
    return joints


def parse_links(xml: str) -> list[Link]:
    """The links of a URDF with their mass and inertia matrix, in document order."""
    links = []
    for link in _root(xml).findall("link"):
        name = link.get("name") or "?"
        inertial = link.find("inertial")
        if inertial is None:
            links.append(Link(name))
            continue
        mass = inertial.find("mass")
        inertia = inertial.find("inertia")
        if mass is None or inertia is None:
            raise ValueError(f"URDF: link '{name}' <inertial> needs <mass> and <inertia>")
        m = _floats(mass.get("value"), 1, (), f"link '{name}' mass")[0]
        i = {k: _floats(inertia.get(k, "0"), 1, (), f"link '{name}' inertia {k}")[0]
             for k in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")}
        matrix = ((i["ixx"], i["ixy"], i["ixz"]),
                  (i["ixy"], i["iyy"], i["iyz"]),
                  (i["ixz"], i["iyz"], i["izz"]))
        links.append(Link(name, m, matrix))
    return links


def wheel_joints(joints: Sequence[Joint]) -> tuple[Joint, Joint]:
    """The (left, right) driven-wheel joints: the two continuous joints, left at +y."""
    wheels = [j for j in joints if j.type == "continuous"]
    if len(wheels) != 2:
        raise ValueError(f"URDF: expected 2 continuous (wheel) joints, found {len(wheels)}")
    left, right = sorted(wheels, key=lambda j: -j.xyz_m[1])
    return left, right


def pan_joint(joints: Sequence[Joint]) -> Joint:
    """The screen's pan joint: the revolute joint turning about z."""
    pans = [j for j in joints if j.type == "revolute" and abs(j.axis[2]) > 0.99]
    if len(pans) != 1:
        raise ValueError(f"URDF: expected 1 revolute joint about z (screen pan), found {len(pans)}")
    return pans[0]


# --- frame transforms ------------------------------------------------------------------------

Quaternion = tuple[float, float, float, float]  # (x, y, z, w)


@dataclass(frozen=True)
class FrameTransform:
    """The pose of ``child_frame`` in ``parent_frame``: translation (m), rotation (x, y, z, w)."""

    parent_frame: str
    child_frame: str
    translation_m: tuple[float, float, float]
    rotation_xyzw: Quaternion


def rpy_to_quaternion(roll_rad: float, pitch_rad: float, yaw_rad: float) -> Quaternion:
    """URDF's fixed-axis roll, pitch, yaw (R = Rz(yaw) Ry(pitch) Rx(roll)) as (x, y, z, w)."""
    cr, sr = math.cos(0.5 * roll_rad), math.sin(0.5 * roll_rad)
    cp, sp = math.cos(0.5 * pitch_rad), math.sin(0.5 * pitch_rad)
    cy, sy = math.cos(0.5 * yaw_rad), math.sin(0.5 * yaw_rad)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )


def axis_angle_to_quaternion(axis: Sequence[float], angle_rad: float) -> Quaternion:
    n = math.sqrt(sum(a * a for a in axis))
    if n == 0.0:
        raise ValueError("rotation axis has zero length")
    s = math.sin(0.5 * angle_rad) / n
    return (axis[0] * s, axis[1] * s, axis[2] * s, math.cos(0.5 * angle_rad))


def quaternion_multiply(a: Quaternion, b: Quaternion) -> Quaternion:
    """The rotation ``a`` followed, in a's frame, by ``b`` (Hamilton product a * b)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def rotate_vector(q: Quaternion, v: Sequence[float]) -> tuple[float, float, float]:
    x, y, z, _ = quaternion_multiply(quaternion_multiply(q, (v[0], v[1], v[2], 0.0)),
                                     (-q[0], -q[1], -q[2], q[3]))
    return (x, y, z)


def joint_transform(joint: Joint, position: float = 0.0) -> FrameTransform:
    """The child link's frame in the parent's at joint ``position`` (rad, or m if prismatic)."""
    rotation = rpy_to_quaternion(*joint.rpy_rad)
    translation = joint.xyz_m
    if joint.type in ("revolute", "continuous"):
        rotation = quaternion_multiply(rotation, axis_angle_to_quaternion(joint.axis, position))
    elif joint.type == "prismatic":
        n = math.sqrt(sum(a * a for a in joint.axis))
        offset = rotate_vector(rotation, [a * position / n for a in joint.axis])
        translation = tuple(t + o for t, o in zip(translation, offset, strict=True))
    elif joint.type != "fixed":
        raise ValueError(f"joint '{joint.name}': type '{joint.type}' is not supported")
    return FrameTransform(joint.parent, joint.child, tuple(translation), rotation)


def fixed_transforms(joints: Sequence[Joint]) -> list[FrameTransform]:
    """The transform of every fixed joint: what goes on /tf_static."""
    return [joint_transform(j) for j in joints if j.type == "fixed"]
