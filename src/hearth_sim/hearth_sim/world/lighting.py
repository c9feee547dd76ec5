"""Lighting at run time, on a compiled ``mujoco.MjModel`` of ``assemble.assemble`` (ROS-free).

Lights of the model (``home_mjcf.py``):
    ``sun``             directional, casts shadows (walls and ceiling shade it: it enters
                        through the windows)
    ``ambient``         directional with only an ambient term: the level of indirect light
    ``light/<name>``    ceiling lights (wide spotlights)
    ``ir_illuminator``  the robot's IR spotlight (``robot_mjcf.py``)

The state lives in the model (``light_active``, ``light_diffuse``, ``light_ambient``,
``light_pos``, ``light_dir``): the renderer reads it at the next ``Renderer.update_scene``.
The world positions of lights (``data.light_xpos/xdir``) are recomputed by MuJoCo's
kinematics (``mj_step`` / ``mj_forward`` / ``mj_kinematics``); ``set_sun`` also writes them
when given ``data``.

Darkness (``set_darkness``) switches every light off but the IR spotlight, and the sky's
glow: the rendered image is black except where the IR spot falls (materials other than the
sky have no emission). The ``ambient`` light always stays active (at level 0 in darkness):
with no active light at all, MuJoCo's renderer turns lighting off and draws every surface at
its full texture colour.

Note (measured, MuJoCo 4.0 classic renderer): at most 8 lights are rendered per image;
``sensors.cameras`` keeps the 8 that matter (directional ones, the robot's, then the ceiling
lights nearest the camera), so a house may have more ceiling lights than that.

``LightingSchedule`` gives a whole session: the sun moving from morning (east) to evening
(west) through the south, lights switched on and off at given times, and intervals of
darkness; ``apply(model, t_s)`` sets the state at simulated time ``t_s``; the state depends
on ``t_s`` only (not on earlier calls), so a run is deterministic.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

os.environ.setdefault("MUJOCO_GL", "egl")  # headless by default (see sensors/cameras.py)

import mujoco
import numpy as np

from hearth_sim.world.home_mjcf import (
    AMBIENT_LIGHT,
    LIGHT_PREFIX,
    SKY_EMISSION,
    SKY_MATERIAL,
    SUN_LIGHT,
    HomeMjcf,
)

IR_LIGHT = "ir_illuminator"
SUN_COLOR = np.array([1.0, 0.96, 0.88])  # diffuse colour of the sun at intensity 1
SUN_SPECULAR = 0.25


def light_id(model: mujoco.MjModel, name: str) -> int:
    """The id of light ``name``; a ceiling light may be named with or without ``light/``."""
    for candidate in (name, LIGHT_PREFIX + name):
        i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_LIGHT, candidate)
        if i >= 0:
            return i
    raise KeyError(f"the model has no light named '{name}' (lights: "
                   f"{', '.join(light_names(model))})")


def light_names(model: mujoco.MjModel) -> list[str]:
    return [model.light(i).name for i in range(model.nlight)]


def ceiling_lights(model: mujoco.MjModel) -> list[str]:
    return [n for n in light_names(model) if n.startswith(LIGHT_PREFIX)]


def sun_direction(azimuth_rad: float, elevation_rad: float) -> np.ndarray:
    """The direction the sunlight travels (unit vector, world frame) for a sun seen at
    ``azimuth_rad`` (counter-clockwise from east, +x; north is +pi/2) and ``elevation_rad``
    above the horizon."""
    ce = math.cos(elevation_rad)
    return -np.array([ce * math.cos(azimuth_rad), ce * math.sin(azimuth_rad),
                      math.sin(elevation_rad)])


def set_sun(model: mujoco.MjModel, azimuth_rad: float, elevation_rad: float,
            intensity: float, data: mujoco.MjData | None = None) -> None:
    """Point the sun (see ``sun_direction``) and set its brightness (0..1 of full diffuse
    light). A sun at or below the horizon, or of zero intensity, is switched off. The light
    is placed up-sun of the home's centre, so that its shadow volume covers the home."""
    i = light_id(model, SUN_LIGHT)
    d = sun_direction(azimuth_rad, elevation_rad)
    center = np.array(model.stat.center, dtype=float)
    pos = center - d * 2.0 * float(model.stat.extent)
    model.light_dir[i] = d
    model.light_pos[i] = pos
    level = max(0.0, float(intensity))
    model.light_diffuse[i] = SUN_COLOR * level
    model.light_specular[i] = SUN_SPECULAR * level
    model.light_active[i] = level > 0.0 and elevation_rad > 0.0
    if data is not None:
        data.light_xdir[i] = d
        data.light_xpos[i] = pos


def set_sun_shadows(model: mujoco.MjModel, on: bool) -> None:
    """Whether the sun casts shadows. Off, sunlight reaches every surface that faces it,
    walls or not, but each image renders about 2.5x faster (no shadow-map pass; see
    ``sensors/cameras.py`` for timings)."""
    model.light_castshadow[light_id(model, SUN_LIGHT)] = bool(on)


def set_sky(model: mujoco.MjModel, level: float) -> None:
    """The brightness of the sky seen through the windows: the sky material's emission
    (``home_mjcf.SKY_EMISSION`` in full daylight, 0 at night). No-op without a sky."""
    i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_MATERIAL, SKY_MATERIAL)
    if i >= 0:
        model.mat_emission[i] = max(0.0, float(level))


def set_light(model: mujoco.MjModel, name: str, on: bool) -> None:
    """Switch light ``name`` (a ceiling light, with or without ``light/``) on or off."""
    model.light_active[light_id(model, name)] = bool(on)


def set_ambient(model: mujoco.MjModel, level: float) -> None:
    """The level (0..1) of indirect light that reaches every surface. The ambient light
    stays active even at 0: with no active light at all MuJoCo renders unlit, every
    surface at its full texture colour (measured), which is the opposite of darkness."""
    i = light_id(model, AMBIENT_LIGHT)
    level = max(0.0, float(level))
    model.light_ambient[i] = (level, level, level)
    model.light_active[i] = True


def set_ir(model: mujoco.MjModel, on: bool) -> None:
    """Switch the robot's IR illuminator on or off."""
    model.light_active[light_id(model, IR_LIGHT)] = bool(on)


def set_darkness(model: mujoco.MjModel, ir_on: bool = True) -> None:
    """Every light off (sun, ambient, ceiling lights, anything else) and the sky black, but
    the robot's IR illuminator, which is set to ``ir_on`` (if the model has one)."""
    model.light_active[:] = False
    set_ambient(model, 0.0)  # active, but dark: keeps the renderer's lighting on
    set_sky(model, 0.0)
    try:
        set_ir(model, ir_on)
    except KeyError:
        if ir_on:
            raise


@dataclass(frozen=True)
class LightSwitch:
    """At ``t_s`` light ``light`` (a ceiling light's name) goes ``on`` or off."""

    t_s: float
    light: str
    on: bool


@dataclass(frozen=True)
class Darkness:
    """From ``start_s`` to ``end_s`` every light is off; the IR illuminator is ``ir_on``."""

    start_s: float
    end_s: float
    ir_on: bool = True


@dataclass(frozen=True)
class LightState:
    """The lighting at one instant."""

    sun_azimuth_rad: float
    sun_elevation_rad: float
    sun_intensity: float
    ambient: float
    lights_on: dict[str, bool]
    dark: bool
    ir_on: bool


@dataclass(frozen=True)
class LightingSchedule:
    """The lighting of a session. Over ``duration_s`` the sun's azimuth moves linearly from
    ``sun_azimuth_start_rad`` (morning) to ``sun_azimuth_end_rad`` (evening) and its
    elevation rises from ``sun_min_elevation_rad`` to ``sun_peak_elevation_rad`` at mid
    session and sets back; its intensity follows the elevation (half at the ends). Past
    ``duration_s`` it stays where it ended. Ceiling lights start as ``initial_lights``
    (name -> on; ceiling lights it does not name are on) and follow ``switches``; during a
    ``Darkness`` interval everything is off but the IR illuminator."""

    duration_s: float = 600.0
    sun_azimuth_start_rad: float = -math.pi / 6.0  # east-south-east
    sun_azimuth_end_rad: float = -5.0 * math.pi / 6.0  # west-south-west
    sun_min_elevation_rad: float = math.radians(10.0)
    sun_peak_elevation_rad: float = math.radians(50.0)
    sun_intensity: float = 0.9
    ambient: float = 0.2
    initial_lights: tuple[tuple[str, bool], ...] = ()
    switches: tuple[LightSwitch, ...] = ()
    darkness: tuple[Darkness, ...] = ()
    ir_on: bool = False  # the IR illuminator outside darkness

    def __post_init__(self) -> None:
        if not self.duration_s > 0.0:
            raise ValueError(f"duration_s must be > 0, got {self.duration_s}")
        for d in self.darkness:
            if not d.end_s > d.start_s:
                raise ValueError(f"darkness interval must end after it starts: {d}")

    @classmethod
    def for_home(cls, home: HomeMjcf, **kwargs: object) -> LightingSchedule:
        """A schedule whose ceiling lights start as the home file says."""
        return cls(initial_lights=tuple(sorted(home.lights_on.items())), **kwargs)  # type: ignore[arg-type]

    def sun_at(self, t_s: float) -> tuple[float, float, float]:
        """(azimuth, elevation, intensity) of the sun at ``t_s``."""
        frac = min(max(t_s / self.duration_s, 0.0), 1.0)
        az = self.sun_azimuth_start_rad + frac * (self.sun_azimuth_end_rad
                                                  - self.sun_azimuth_start_rad)
        arc = math.sin(math.pi * frac)
        el = self.sun_min_elevation_rad + arc * (self.sun_peak_elevation_rad
                                                 - self.sun_min_elevation_rad)
        return az, el, self.sun_intensity * (0.5 + 0.5 * arc)

    def darkness_at(self, t_s: float) -> Darkness | None:
        for d in self.darkness:
            if d.start_s <= t_s < d.end_s:
                return d
        return None

    def lights_at(self, t_s: float) -> dict[str, bool]:
        """Ceiling light (full name, ``light/<name>``) -> on, for the lights the schedule
        names; outside darkness, the model's other ceiling lights are on."""
        state = {_full(n): bool(on) for n, on in self.initial_lights}
        for s in sorted(self.switches, key=lambda s: s.t_s):
            if s.t_s <= t_s:
                state[_full(s.light)] = s.on
        return state

    def state_at(self, t_s: float) -> LightState:
        az, el, intensity = self.sun_at(t_s)
        dark = self.darkness_at(t_s)
        return LightState(az, el, intensity, self.ambient, self.lights_at(t_s),
                          dark is not None, dark.ir_on if dark is not None else self.ir_on)

    def apply(self, model: mujoco.MjModel, t_s: float,
              data: mujoco.MjData | None = None) -> LightState:
        """Set the model's lights to the state at ``t_s``; returns that state."""
        state = self.state_at(t_s)
        if state.dark:
            set_darkness(model, ir_on=state.ir_on)
            return state
        set_sun(model, state.sun_azimuth_rad, state.sun_elevation_rad, state.sun_intensity,
                data)
        set_sky(model, SKY_EMISSION * min(1.0, 0.3 + state.sun_intensity))
        set_ambient(model, state.ambient)
        for name in ceiling_lights(model):
            set_light(model, name, state.lights_on.get(name, True))
        for name, on in state.lights_on.items():
            set_light(model, name, on)  # raises on a name the model lacks
        _set_ir_if_present(model, state.ir_on)
        return state


def _full(name: str) -> str:
    return name if name.startswith(LIGHT_PREFIX) else LIGHT_PREFIX + name


def _set_ir_if_present(model: mujoco.MjModel, on: bool) -> None:
    if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_LIGHT, IR_LIGHT) >= 0:
        set_ir(model, on)


def switches(events: Iterable[tuple[float, str, bool]]) -> tuple[LightSwitch, ...]:
    """``[(t_s, light, on), ...]`` as ``LightSwitch``es."""
    return tuple(LightSwitch(float(t), str(n), bool(on)) for t, n, on in events)
