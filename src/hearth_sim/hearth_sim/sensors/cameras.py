"""Pinhole cameras rendered by MuJoCo: mono8 stereo images and ToF depth (ROS-free).

Intrinsics
    ``PinholeIntrinsics(width_px, height_px, hfov_rad)``: square pixels, no distortion,
    ``fx = fy = width / (2 tan(hfov / 2))``, principal point at the image centre
    ``cx = (width - 1) / 2``, ``cy = (height - 1) / 2`` (the OpenCV / ROS convention that
    pixel centres have integer coordinates; OpenGL's symmetric frustum puts the optical
    axis on the centre of the viewport). MuJoCo's ``<camera fovy=...>`` that reproduces them
    is ``fovy_deg`` = 2 atan(height / (2 fy)); the renderer's aspect ratio (width / height)
    then gives the horizontal field of view.

Frames
    ROS optical frame: z forward, x right, y down. MuJoCo camera frame: x right, y up, the
    camera looks along -z. A point ``p_opt`` in the optical frame is
    ``p_mj = R_MJ_OPTICAL @ p_opt`` with ``R_MJ_OPTICAL = diag(1, -1, -1)``: a rotation of
    pi about x (quaternion w, x, y, z = 0, 1, 0, 0). So ``R_world_optical =
    R_world_mjcam @ R_MJ_OPTICAL`` where ``R_world_mjcam = data.cam_xmat[i].reshape(3, 3)``,
    and an optical frame at ``q_parent_optical`` in a body is a MuJoCo camera at
    ``q_parent_optical * (0, 1, 0, 0)`` (``mujoco_quat_from_optical``).

Depth
    MuJoCo's depth image (``Renderer.enable_depth_rendering``) is the distance along the
    optical axis (the z of the optical frame), not the range along the ray: checked by
    ``test_cameras_projection.py`` on a plane square to the axis (flat across the whole
    image; exact to float precision in practice, the test allows 1 cm) and on a box face.
    Values outside [min_range_m, max_range_m] become NaN. The near clipping plane must be
    nearer than ``min_range_m`` (``assemble`` puts it at 2 cm).

Lights
    MuJoCo's classic renderer uses at most 8 lights per image. ``cull_scene_lights`` keeps,
    in order, the directional lights (sun, ambient), the lights on moving bodies (the
    robot's IR illuminator), then the lights nearest the camera.

One ``mujoco.Renderer`` per resolution: ``RendererPool(model).get(width, height)``; a
renderer switches between colour and depth for each call.

Timings (measured on this machine: 2 cores, no GPU, Mesa llvmpipe via ``MUJOCO_GL=egl``;
``assemble`` defaults: sun shadow map 1024 px, no multisampling; camera at the home's
``robot_start``, lights as at mid-morning; median of 30 frames, best of 3 runs while other
work shared the cores, so expect up to 2x under load)

    ======================  ==================  ===================  =================
    home                    stereo pair         stereo pair          ToF depth frame
                            2 x 320x200 mono8   2 x 640x400 mono8    160x120
    ======================  ==================  ===================  =================
    apartment, sun shadows  63 ms               97 ms                3.4 ms
    apartment, no shadows   20 ms               36 ms                3.4 ms
    house, sun shadows      82 ms               95 ms                4.0 ms
    house, no shadows       23 ms               27-42 ms             4.0 ms
    ======================  ==================  ===================  =================

    The sun's shadow map is most of the cost: each image renders it again (MuJoCo has no
    way to share it between the two cameras), and a shadow-casting light adds a pass over
    all geoms. Shadow map size changes little (512 px: -10 ms a pair; 2048 px: +50 ms; 4096
    px: +220 ms); 4x multisampling (``offsamples=4``) costs +60 to +120 ms a pair. At night
    or in darkness the sun is off and images cost the "no shadows" row;
    ``lighting.set_sun_shadows(model, False)`` buys the same in daylight. Depth rendering
    draws no lighting or shadows. ``Renderer.update_scene`` is well under 0.1 ms.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

# headless by default: MuJoCo picks its GL backend when first imported (EGL renders on the CPU
# through Mesa here); an explicit MUJOCO_GL (glfw, osmesa) wins
os.environ.setdefault("MUJOCO_GL", "egl")

import cv2
import mujoco
import numpy as np

R_MJ_OPTICAL = np.diag([1.0, -1.0, -1.0])  # optical-frame vectors in the MuJoCo camera frame
Q_MJ_OPTICAL = np.array([0.0, 1.0, 0.0, 0.0])  # the same rotation, (w, x, y, z)
MAX_RENDERED_LIGHTS = 8


@dataclass(frozen=True)
class PinholeIntrinsics:
    """An ideal pinhole camera: square pixels, centred principal point, no distortion."""

    width_px: int
    height_px: int
    hfov_rad: float

    def __post_init__(self) -> None:
        if self.width_px < 1 or self.height_px < 1:
            raise ValueError(f"image size must be positive, got {self.width_px}x{self.height_px}")
        if not 0.0 < self.hfov_rad < math.pi:
            raise ValueError(f"hfov_rad must be in (0, pi), got {self.hfov_rad}")

    @property
    def fx(self) -> float:
        return self.width_px / (2.0 * math.tan(self.hfov_rad / 2.0))

    @property
    def fy(self) -> float:
        return self.fx

    @property
    def cx(self) -> float:
        return (self.width_px - 1) / 2.0

    @property
    def cy(self) -> float:
        return (self.height_px - 1) / 2.0

    @property
    def vfov_rad(self) -> float:
        return 2.0 * math.atan(self.height_px / (2.0 * self.fy))

    @property
    def fovy_deg(self) -> float:
        """MuJoCo's ``<camera fovy>`` (degrees) that renders these intrinsics."""
        return math.degrees(self.vfov_rad)

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @classmethod
    def from_fovy(cls, width_px: int, height_px: int, fovy_deg: float) -> PinholeIntrinsics:
        """The intrinsics MuJoCo renders for a camera of ``fovy_deg`` at this size."""
        f = height_px / (2.0 * math.tan(math.radians(fovy_deg) / 2.0))
        return cls(width_px, height_px, 2.0 * math.atan(width_px / (2.0 * f)))

    def project(self, points_optical: np.ndarray) -> np.ndarray:
        """Pixel coordinates (N, 2) (u right, v down) of points (N, 3) in the optical frame."""
        p = np.atleast_2d(np.asarray(points_optical, dtype=float))
        z = p[:, 2]
        return np.column_stack([self.fx * p[:, 0] / z + self.cx, self.fy * p[:, 1] / z + self.cy])


def camera_info_fields(intr: PinholeIntrinsics, frame_id: str, baseline_m: float | None = None,
                       right: bool = False) -> dict:
    """The fields of a ``sensor_msgs/CameraInfo`` for these intrinsics, named as the message's
    Python attributes (``frame_id`` belongs in ``header``). Rectified images: D zeros
    (``plumb_bob``), R identity, P = [K | 0]; for the right camera of a rectified stereo
    pair (``right=True``, ``baseline_m`` > 0) P[0, 3] = Tx = -fx * baseline, so that a point
    at depth Z has disparity u_left - u_right = fx * baseline / Z."""
    if right and not (baseline_m and baseline_m > 0.0):
        raise ValueError("the right camera of a stereo pair needs baseline_m > 0")
    K = intr.K
    P = np.zeros((3, 4))
    P[:, :3] = K
    if right:
        P[0, 3] = -intr.fx * float(baseline_m)  # type: ignore[arg-type]
    return {
        "frame_id": frame_id,
        "height": int(intr.height_px),
        "width": int(intr.width_px),
        "distortion_model": "plumb_bob",
        "d": [0.0] * 5,
        "k": [float(v) for v in K.ravel()],
        "r": [float(v) for v in np.eye(3).ravel()],
        "p": [float(v) for v in P.ravel()],
        "binning_x": 0,
        "binning_y": 0,
    }


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of quaternions (w, x, y, z)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw])


def mujoco_quat_from_optical(q_parent_optical: np.ndarray) -> np.ndarray:
    """The MuJoCo camera quaternion (w, x, y, z) in a body, for an optical frame at
    ``q_parent_optical`` in that body."""
    return quat_mul(np.asarray(q_parent_optical, dtype=float), Q_MJ_OPTICAL)


def optical_quat_from_mujoco(q_parent_mjcam: np.ndarray) -> np.ndarray:
    """Inverse of ``mujoco_quat_from_optical``: ``q_parent_mjcam * conj(Q_MJ_OPTICAL)``."""
    return quat_mul(np.asarray(q_parent_mjcam, dtype=float), Q_MJ_OPTICAL * [1, -1, -1, -1])


def camera_mjcf(name: str, pos: tuple[float, float, float], q_parent_optical: np.ndarray,
                intr: PinholeIntrinsics) -> str:
    """A ``<camera>`` element for an optical frame at ``pos`` / ``q_parent_optical`` (w, x,
    y, z) in its body, rendering ``intr``."""
    q = mujoco_quat_from_optical(q_parent_optical)
    return (f'<camera name="{name}" pos="{" ".join(f"{v:.9g}" for v in pos)}" '
            f'quat="{" ".join(f"{v:.9g}" for v in q)}" fovy="{intr.fovy_deg:.9g}"/>')


@dataclass(frozen=True)
class MuJoCoCamera:
    """A named MuJoCo camera with the intrinsics it is rendered with."""

    name: str
    intrinsics: PinholeIntrinsics

    def id(self, model: mujoco.MjModel) -> int:
        i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, self.name)
        if i < 0:
            raise KeyError(f"the model has no camera named '{self.name}'")
        return i

    def check(self, model: mujoco.MjModel, tol_deg: float = 1e-3) -> None:
        """Raise ``ValueError`` if the model's camera does not render these intrinsics."""
        i = self.id(model)
        if np.any(model.cam_sensorsize[i] > 0):
            raise ValueError(f"camera '{self.name}' sets sensorsize; give it fovy="
                             f"{self.intrinsics.fovy_deg:.6f} instead")
        if abs(float(model.cam_fovy[i]) - self.intrinsics.fovy_deg) > tol_deg:
            raise ValueError(f"camera '{self.name}' has fovy {float(model.cam_fovy[i]):.6f} deg, "
                             f"its intrinsics need {self.intrinsics.fovy_deg:.6f}")

    def pose_world(self, model: mujoco.MjModel,
                   data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """(R_world_optical (3, 3), position (3,)) of the optical frame in the world."""
        i = self.id(model)
        R_world_mj = np.asarray(data.cam_xmat[i], dtype=float).reshape(3, 3)
        return R_world_mj @ R_MJ_OPTICAL, np.array(data.cam_xpos[i], dtype=float)

    def to_optical(self, model: mujoco.MjModel, data: mujoco.MjData,
                   points_world: np.ndarray) -> np.ndarray:
        """World points (N, 3) in the optical frame (N, 3)."""
        R, t = self.pose_world(model, data)
        return (np.atleast_2d(np.asarray(points_world, dtype=float)) - t) @ R

    def project_world(self, model: mujoco.MjModel, data: mujoco.MjData,
                      points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pixels (N, 2), depth z (N,)) of world points."""
        p = self.to_optical(model, data, points_world)
        return self.intrinsics.project(p), p[:, 2]


class RendererPool:
    """One ``mujoco.Renderer`` per resolution for a model (each holds a GL context)."""

    def __init__(self, model: mujoco.MjModel):
        self.model = model
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}

    def get(self, width_px: int, height_px: int) -> mujoco.Renderer:
        key = (int(width_px), int(height_px))
        if key not in self._renderers:
            self._renderers[key] = mujoco.Renderer(self.model, height=key[1], width=key[0])
        return self._renderers[key]

    def for_camera(self, camera: MuJoCoCamera) -> mujoco.Renderer:
        return self.get(camera.intrinsics.width_px, camera.intrinsics.height_px)

    def close(self) -> None:
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()

    def __enter__(self) -> RendererPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_LIGHT_FIELDS = ("id", "texid", "type", "headlight", "castshadow", "pos", "dir", "ambient",
                 "diffuse", "specular", "attenuation", "cutoff", "exponent", "intensity",
                 "range", "bulbradius", "softness")


def cull_scene_lights(scene: mujoco.MjvScene, model: mujoco.MjModel, camera_pos: np.ndarray,
                      max_lights: int = MAX_RENDERED_LIGHTS) -> None:
    """Keep the ``max_lights`` lights of an updated scene that matter most (see the module's
    notes), in place."""
    n = scene.nlight
    if n <= max_lights:
        return
    cam = np.asarray(camera_pos, dtype=float)

    def rank(k: int) -> tuple[int, float]:
        light = scene.lights[k]
        if light.headlight or light.type == mujoco.mjtLightType.mjLIGHT_DIRECTIONAL:
            return (0, 0.0)
        if light.id >= 0 and model.light_bodyid[light.id] != 0:
            return (1, 0.0)
        return (2, float(np.linalg.norm(np.asarray(light.pos) - cam)))

    keep = sorted(range(n), key=lambda k: (*rank(k), k))[:max_lights]
    saved = [{f: np.copy(getattr(scene.lights[k], f)) for f in _LIGHT_FIELDS} for k in keep]
    for dst, values in enumerate(saved):
        light = scene.lights[dst]
        for f, v in values.items():
            if np.ndim(v) == 0:
                setattr(light, f, v.item())
            else:
                getattr(light, f)[:] = v
    scene.nlight = len(keep)


def _camera_name(camera: MuJoCoCamera | str) -> str:
    return camera.name if isinstance(camera, MuJoCoCamera) else str(camera)


def _update(renderer: mujoco.Renderer, data: mujoco.MjData, camera: MuJoCoCamera | str,
            scene_option: mujoco.MjvOption | None) -> None:
    if isinstance(camera, MuJoCoCamera):
        intr = camera.intrinsics
        if (renderer.width, renderer.height) != (intr.width_px, intr.height_px):
            raise ValueError(f"renderer is {renderer.width}x{renderer.height}, camera "
                             f"'{camera.name}' needs {intr.width_px}x{intr.height_px}")
    name = _camera_name(camera)
    renderer.update_scene(data, camera=name, scene_option=scene_option)
    model = renderer.model
    cam_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name)
    cull_scene_lights(renderer.scene, model, data.cam_xpos[cam_id])


def render_rgb(renderer: mujoco.Renderer, data: mujoco.MjData, camera: MuJoCoCamera | str,
               scene_option: mujoco.MjvOption | None = None) -> np.ndarray:
    """The camera's RGB image (H, W, 3) uint8."""
    renderer.disable_depth_rendering()
    renderer.disable_segmentation_rendering()
    _update(renderer, data, camera, scene_option)
    return renderer.render()


def render_mono8(renderer: mujoco.Renderer, data: mujoco.MjData, camera: MuJoCoCamera | str,
                 *, gain: float = 1.0, noise_std: float = 0.0,
                 rng: np.random.Generator | None = None,
                 scene_option: mujoco.MjvOption | None = None) -> np.ndarray:
    """A mono8 image (H, W) uint8: luminance (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B)
    times ``gain`` (exposure x analogue gain; 1 = as rendered), plus zero-mean Gaussian noise
    of ``noise_std`` grey levels (``rng`` makes it deterministic), rounded and clipped. An
    unlit scene renders black, so darkness gives a dark image (only noise)."""
    gray = cv2.cvtColor(render_rgb(renderer, data, camera, scene_option), cv2.COLOR_RGB2GRAY)
    if gain == 1.0 and noise_std <= 0.0:
        return gray
    img = gray.astype(np.float32) * np.float32(gain)
    if noise_std > 0.0:
        gen = rng if rng is not None else np.random.default_rng()
        img += gen.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_std)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def render_depth_m(renderer: mujoco.Renderer, data: mujoco.MjData, camera: MuJoCoCamera | str,
                   min_range_m: float, max_range_m: float,
                   scene_option: mujoco.MjvOption | None = None) -> np.ndarray:
    """The depth image (H, W) float32 in metres: distance along the optical axis; NaN where
    it is outside [min_range_m, max_range_m] (nothing there, or too near)."""
    renderer.enable_depth_rendering()
    try:
        _update(renderer, data, camera, scene_option)
        depth = renderer.render()
    finally:
        renderer.disable_depth_rendering()
    depth = depth.astype(np.float32, copy=False)
    depth[(depth < min_range_m) | (depth > max_range_m) | ~np.isfinite(depth)] = np.nan
    return depth


def render_stereo_mono8(renderer: mujoco.Renderer, data: mujoco.MjData, left: MuJoCoCamera,
                        right: MuJoCoCamera, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
    """Both images of a stereo pair (same renderer resolution, same instant)."""
    return (render_mono8(renderer, data, left, **kwargs),  # type: ignore[arg-type]
            render_mono8(renderer, data, right, **kwargs))  # type: ignore[arg-type]
