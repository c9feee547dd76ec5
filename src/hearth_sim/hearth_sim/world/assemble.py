"""One complete MuJoCo model: the home, the robot's parts and the people (ROS-free).

``assemble(home_mjcf(home), robot_xml_parts, people_count=3)`` returns ``(xml, assets)`` for
``mujoco.MjModel.from_xml_string(xml, assets=assets)``.

The robot's parts (``robot_mjcf.py``) are a mapping, or an object with attributes, of MJCF
strings: ``default``, ``asset``, ``worldbody``, ``contact``, ``tendon``, ``equality``,
``actuator``, ``sensor`` (each the contents of that section; any may be missing), plus
``compiler`` (attributes for ``<compiler>``, e.g. ``'angle="radian"'``) and ``files`` (a
dict of asset file bytes, merged into the returned assets). The world's own fragments set
every rotation with quaternions, so the robot may use either angle unit.

People are mocap bodies ``person_<i>`` (i = 0 .. people_count-1) whose frame is the point of
the floor under the person (z = 0): a capsule ``person_<i>/body`` (radius
``PERSON_RADIUS_M``) and a sphere ``person_<i>/head``, together ``PERSON_HEIGHT_M`` tall,
with clothes and skin colours chosen by index (deterministic). They start parked at
``PERSON_PARK_Z_M`` under the floor, out of every camera's sight: the simulator moves them
each step through ``data.mocap_pos`` / ``data.mocap_quat`` (``model.body(name).mocapid``).

``<visual>``: no headlight (all light comes from ``lighting.py``), one shadow map of
``shadow_size_px``, an offscreen buffer of ``offscreen_px``, near/far clipping planes at
``NEAR_CLIP_M`` / ``FAR_CLIP_M`` (MuJoCo scales them by ``statistic/extent``, which is set
here from the home's size so that these distances are exact).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hearth_sim.world import textures as tx
from hearth_sim.world.home_mjcf import (
    GROUP_PEOPLE,
    PERSON_CONAFFINITY,
    PERSON_CONTYPE,
    HomeMjcf,
    _attr_name,
    _f,
    _v,
)

PERSON_HEIGHT_M = 1.7
PERSON_RADIUS_M = 0.22
PERSON_HEAD_RADIUS_M = 0.11
PERSON_PARK_Z_M = -5.0
NEAR_CLIP_M = 0.02
FAR_CLIP_M = 60.0

_SKIN = [(0.96, 0.80, 0.69), (0.87, 0.67, 0.52), (0.72, 0.52, 0.37), (0.55, 0.38, 0.26),
         (0.40, 0.27, 0.18)]
_ROBOT_SECTIONS = ("default", "asset", "worldbody", "contact", "tendon", "equality",
                   "actuator", "sensor")


def _part(parts: Any, key: str, default: Any = "") -> Any:
    if parts is None:
        return default
    value = (parts.get(key, default) if isinstance(parts, Mapping)
             else getattr(parts, key, default))
    return default if value is None else value


def person_name(i: int) -> str:
    return f"person_{i}"


def _people(count: int, assets: tx.TextureAssets) -> tuple[list[str], list[str]]:
    asset_xml: list[str] = []
    body_xml: list[str] = []
    body_top = PERSON_HEIGHT_M - 2.0 * PERSON_HEAD_RADIUS_M  # the capsule's top
    half_len = (body_top - 2.0 * PERSON_RADIUS_M) / 2.0
    for i in range(count):
        name = person_name(i)
        cloth = f"clothing:{i % 8}"
        fname = assets.file(cloth)
        tname = f"tex/{name}"
        mat = f"mat/{name}"
        skin = _SKIN[(i * 3) % len(_SKIN)]
        asset_xml.append(f'<texture name="{tname}" type="2d" file="{fname}"/>')
        asset_xml.append(f'<material name="{mat}" texture="{tname}" texrepeat="2 2" '
                         f'specular="0.1" shininess="0.1"/>')
        common = (f'contype="{PERSON_CONTYPE}" conaffinity="{PERSON_CONAFFINITY}" '
                  f'group="{GROUP_PEOPLE}"')
        body_xml.append(
            f'<body name="{name}" mocap="true" pos="{_v(0, 0, PERSON_PARK_Z_M - 3.0 * i)}">'
            f'<geom name="{name}/body" type="capsule" size="{_v(PERSON_RADIUS_M, half_len)}" '
            f'pos="{_v(0, 0, PERSON_RADIUS_M + half_len)}" material="{mat}" {common}/>'
            f'<geom name="{name}/head" type="sphere" size="{_f(PERSON_HEAD_RADIUS_M)}" '
            f'pos="{_v(0, 0, PERSON_HEIGHT_M - PERSON_HEAD_RADIUS_M)}" '
            f'rgba="{_v(*skin, 1.0)}" {common}/>'
            f'</body>')
    return asset_xml, body_xml


def assemble(home: HomeMjcf, robot_xml_parts: Any = None, people_count: int = 0, *,
             timestep_s: float = 0.005, integrator: str = "implicitfast",
             offscreen_px: tuple[int, int] = (1280, 1024), shadow_size_px: int = 1024,
             offsamples: int = 0, model_name: str | None = None,
             texture_assets: tx.TextureAssets | None = None) -> tuple[str, dict[str, bytes]]:
    """The complete ``<mujoco>`` model and its asset files. ``texture_assets`` supplies the
    people's clothing textures (a new ``TextureAssets()`` when None)."""
    if people_count < 0:
        raise ValueError(f"people_count must be >= 0, got {people_count}")
    texs = texture_assets if texture_assets is not None else tx.TextureAssets()
    people_asset, people_body = _people(people_count, texs)

    extent = home.extent_m
    cx, cy, cz = home.center_m
    compiler = str(_part(robot_xml_parts, "compiler", "")).strip()
    sections = {key: str(_part(robot_xml_parts, key, "")) for key in _ROBOT_SECTIONS}

    xml = f"""<mujoco model="{_attr_name(model_name or 'hearth_' + home.home_name)}">
<compiler autolimits="true" {compiler}/>
<option timestep="{_f(timestep_s)}" gravity="0 0 -9.81" integrator="{integrator}"/>
<statistic center="{_v(cx, cy, cz)}" extent="{_f(extent)}"/>
<visual>
  <headlight active="0" ambient="0 0 0" diffuse="0 0 0" specular="0 0 0"/>
  <quality shadowsize="{int(shadow_size_px)}" offsamples="{int(offsamples)}"/>
  <global offwidth="{int(offscreen_px[0])}" offheight="{int(offscreen_px[1])}"/>
  <map znear="{_f(NEAR_CLIP_M / extent)}" zfar="{_f(FAR_CLIP_M / extent)}" shadowclip="1.0"/>
</visual>
<default>
{sections['default']}
</default>
<asset>
{home.asset_xml}
{chr(10).join(people_asset)}
{sections['asset']}
</asset>
<worldbody>
{home.worldbody_xml}
{chr(10).join(people_body)}
{sections['worldbody']}
</worldbody>
<contact>
{sections['contact']}
</contact>
<tendon>
{sections['tendon']}
</tendon>
<equality>
{sections['equality']}
</equality>
<actuator>
{sections['actuator']}
</actuator>
<sensor>
{sections['sensor']}
</sensor>
</mujoco>
"""
    assets = dict(home.assets)
    assets.update(texs.assets())
    assets.update(dict(_part(robot_xml_parts, "files", {}) or {}))
    return xml, assets
