"""Floor transitions: door sills and rug edges, where the robot should cross slowly (ROS-free).

A small home robot feels every change in floor height: a 2 cm sill or the edge of a rug
lifts one wheel before the other, and the body (with the screen on it) yaws and pitches.
Crossed at 0.8 m/s while turning, the jolt is what a passenger would call jerk: on the
suite's apartment hallway the true yaw-rate jerk was 47 rad/s³ with the sill and the rug and
12 rad/s³ on the same floor made flat (``hearth_eval``'s nav suite, apartment_hall_crowd
seed 1). The local planner slows down for them (``critics.FloorCritic``); this module holds
where they are.

The transitions are marked once per home, as Nav2's speed-filter masks are, in a YAML file
beside the map (``maps/<home>/floor_transitions.yaml``, map frame)::

    frame_id: map
    transitions:
      - {name: bathroom_sill, from_m: [4.85, 4.6], to_m: [5.65, 4.6], half_width_m: 0.06}
      - {name: hall_runner_n, from_m: [5.0, 4.35], to_m: [8.0, 4.35], half_width_m: 0.0}

Each is a strip: the points within ``half_width_m`` of the segment from ``from_m`` to
``to_m`` (a sill: its width along the segment, its depth as the strip; a rug: each edge of
its outline, of no width). The robot is on a transition when one of its floor contacts (a
wheel or a caster) is on the strip or about to cross it. The files are written
atomically; a file that fails to parse or to validate is refused with a message that names
the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from hearth_common.atomic_file import atomic_write

FILE_NAME = "floor_transitions.yaml"


class FloorTransitionsError(ValueError):
    """A floor-transitions file that cannot be used, with the reason."""


@dataclass(frozen=True)
class FloorTransitions:
    """Strips of floor to cross slowly: segments ``(Z, 2, 2)`` (from, to; metres, in
    ``frame_id``) and their half-widths ``(Z,)`` (m)."""

    segments_m: np.ndarray
    half_widths_m: np.ndarray
    names: tuple[str, ...] = ()
    frame_id: str = "map"

    def __post_init__(self) -> None:
        seg = np.asarray(self.segments_m, dtype=float).reshape(-1, 2, 2)
        hw = np.asarray(self.half_widths_m, dtype=float).reshape(-1)
        if len(seg) != len(hw):
            raise FloorTransitionsError(f"{len(seg)} segments but {len(hw)} half-widths")
        if not (np.all(np.isfinite(seg)) and np.all(np.isfinite(hw))):
            raise FloorTransitionsError("a floor transition has a NaN or infinite coordinate")
        if np.any(hw < 0.0):
            raise FloorTransitionsError("a floor transition has a negative half_width_m")
        object.__setattr__(self, "segments_m", seg)
        object.__setattr__(self, "half_widths_m", hw)

    def __len__(self) -> int:
        return len(self.half_widths_m)

    def transformed(self, pose_xy_yaw: tuple[float, float, float], frame_id: str
                    ) -> FloorTransitions:
        """The same strips in another frame: ``pose_xy_yaw`` is this frame's pose there
        (e.g. the map's pose in odom)."""
        x, y, yaw = pose_xy_yaw
        c, s = math.cos(yaw), math.sin(yaw)
        rot = np.array([[c, -s], [s, c]])
        seg = self.segments_m @ rot.T + np.array([x, y])
        return FloorTransitions(seg, self.half_widths_m, self.names, frame_id)

    @property
    def directions(self) -> np.ndarray:
        """(Z, 2) unit vectors along each strip (zeros for a strip of no length)."""
        d = self.segments_m[:, 1] - self.segments_m[:, 0]
        n = np.linalg.norm(d, axis=1, keepdims=True)
        return np.divide(d, n, out=np.zeros_like(d), where=n > 0)

    def touched(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
                contacts_body_m: np.ndarray, margin_m: float = 0.06) -> np.ndarray:
        """Whether any of the robot's floor contacts (wheels, casters: ``(P, 2)`` in the body
        frame) is on a strip or within ``margin_m`` of it, with the robot at (x, y, yaw)
        (equal shapes): a bool array of their shape."""
        return self.strip_touched(x, y, yaw, contacts_body_m, margin_m) >= 0

    def strip_touched(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
                      contacts_body_m: np.ndarray, margin_m: float = 0.06) -> np.ndarray:
        """The index of a strip that one of the robot's floor contacts is on or within
        ``margin_m`` of (-1: none), as :meth:`touched`. The margin is at least half the way a
        contact goes in one planning step at top speed, so no crossing falls between steps.
        A strip running beside the robot's way, such as the long edge of a hallway runner,
        is touched only by a contact that crosses it."""
        idx = np.full(np.shape(x), -1, dtype=int)
        c, s = np.cos(yaw), np.sin(yaw)
        for bx, by in np.asarray(contacts_body_m, dtype=float).reshape(-1, 2):
            under = self.strip_under(x + c * bx - s * by, y + s * bx + c * by, margin_m)
            np.maximum(idx, under, out=idx)
        return idx

    def overlap(self, x: np.ndarray, y: np.ndarray, radius_m: float) -> np.ndarray:
        """Whether a disc of ``radius_m`` at each point (x, y; any equal shapes) overlaps a
        strip: a bool array of the points' shape."""
        return self.strip_under(x, y, radius_m) >= 0

    def strip_under(self, x: np.ndarray, y: np.ndarray, radius_m: float) -> np.ndarray:
        """The index of the last strip that a disc of ``radius_m`` at each point overlaps
        (-1: none), an int array of the points' shape."""
        idx = np.full(np.shape(x), -1, dtype=int)
        for k, ((a, b), hw) in enumerate(zip(self.segments_m, self.half_widths_m,
                                             strict=True)):
            reach = hw + radius_m
            lo, hi = np.minimum(a, b) - reach, np.maximum(a, b) + reach
            near = (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1])
            if not near.any():
                continue
            d = b - a
            length2 = float(d @ d)
            px, py = x[near] - a[0], y[near] - a[1]
            t = np.clip((px * d[0] + py * d[1]) / length2, 0.0, 1.0) if length2 > 0 else 0.0
            gap2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2
            hit = np.flatnonzero(near)[gap2 <= reach * reach]
            idx.flat[hit] = k
        return idx

    def to_dict(self) -> dict:
        names = self.names or tuple(f"transition_{k}" for k in range(len(self)))
        return {"frame_id": self.frame_id, "transitions": [
            {"name": n, "from_m": [round(float(v), 4) for v in s[0]],
             "to_m": [round(float(v), 4) for v in s[1]], "half_width_m": round(float(h), 4)}
            for n, s, h in zip(names, self.segments_m, self.half_widths_m, strict=True)]}


def parse_floor_transitions(doc: object, source: str = "floor transitions") -> FloorTransitions:
    """FloorTransitions from a parsed YAML document (FloorTransitionsError naming the bad
    field)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("transitions"), list):
        raise FloorTransitionsError(f"{source}: expected a mapping with a 'transitions' list")
    frame_id = doc.get("frame_id", "map")
    if not isinstance(frame_id, str) or not frame_id.strip():
        raise FloorTransitionsError(f"{source}: 'frame_id' must be a frame name")
    segs, widths, names = [], [], []
    for k, item in enumerate(doc["transitions"]):
        where = f"{source}: transitions[{k}]"
        if not isinstance(item, dict):
            raise FloorTransitionsError(f"{where}: expected a mapping")
        try:
            a = [float(v) for v in item["from_m"]]
            b = [float(v) for v in item["to_m"]]
            hw = float(item.get("half_width_m", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise FloorTransitionsError(
                f"{where}: needs from_m [x, y], to_m [x, y] and a number half_width_m "
                f"({exc!r})") from None
        if len(a) != 2 or len(b) != 2:
            raise FloorTransitionsError(f"{where}: from_m and to_m are [x, y]")
        if not all(math.isfinite(v) for v in (*a, *b, hw)) or hw < 0.0:
            raise FloorTransitionsError(
                f"{where}: coordinates must be finite and half_width_m >= 0")
        segs.append([a, b])
        widths.append(hw)
        names.append(str(item.get("name", f"transition_{k}")))
    return FloorTransitions(np.array(segs, dtype=float).reshape(-1, 2, 2),
                            np.array(widths, dtype=float), tuple(names), frame_id)


def load_floor_transitions(path: str | Path) -> FloorTransitions:
    """The strips of a floor-transitions file (FloorTransitionsError: unreadable, not YAML,
    or a bad field)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise FloorTransitionsError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FloorTransitionsError(f"{path}: not valid YAML ({exc})") from None
    return parse_floor_transitions(doc, str(path))


def save_floor_transitions(ft: FloorTransitions, path: str | Path) -> None:
    """Write ``ft`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    path = Path(path)
    text = ("# Floor transitions (door sills, rug edges): the local planner crosses these "
            "slowly.\n# hearth_trajectory.floor_transitions documents the format.\n"
            + yaml.safe_dump(ft.to_dict(), sort_keys=False, default_flow_style=None))
    with atomic_write(path) as f:
        f.write(text)
