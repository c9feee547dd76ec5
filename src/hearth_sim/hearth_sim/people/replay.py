"""People who replay recorded trajectories (ETH/UCY ``frame id x y`` files), ROS-free.

The file format (the preprocessed ETH/BIWI and UCY sets, ``../shared/data/eth-ucy-pedestrians``):
one annotation per line, four fields separated by tabs or spaces: the video frame number, the
pedestrian's id, and its x and y in metres. Frames are annotated every ``frame_step`` (10)
video frames, ``frame_period_s`` (0.4 s, 2.5 Hz) apart. Blank lines and lines starting with
``#`` are skipped. A malformed line (wrong number of fields, a field that is not a number,
NaN or infinity, a fractional frame or id, the same person twice in one frame) raises
``ReplayFormatError`` naming the file and the line number.

Placement. The recording is put into the world with a rigid transform: a point (x, y) of the
file lands at ``origin_xy_m + R(yaw_rad) (x, y)``, and frame ``f`` plays at sim time
``time_offset_s + (f - f0) * frame_period_s / frame_step``, where ``f0`` is the file's first
frame (so the recording starts at ``time_offset_s``).

Playback. At any sim time a person's position is interpolated linearly between the two
annotations around it (exactly the annotated position at an annotated time), and its velocity
is that of the segment it is on (the later segment at an annotated time, the last one at the
last annotation). A person is present from its first annotated time to its last, both
included (give or take ``TIME_TOLERANCE_S``), and absent otherwise; a gap in the annotations
(a missed frame) is interpolated across. Absent people follow the ``Crowd`` conventions:
rows are *slots*, each holding at most one person at a time; a slot is reused once its person
has left, so the number of rows is the largest number of people present at once, not the
number in the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hearth_sim.people.crowd import BODY_RADIUS_M, CrowdArrays, check_step_args

ETH_UCY_FRAME_STEP = 10  # video frames between two annotations
ETH_UCY_FRAME_PERIOD_S = 0.4  # time between two annotations (2.5 Hz)
TIME_TOLERANCE_S = 1e-9  # a person is present this much before its first and after its last
# annotation, so that float noise in a sim time (k * dt) does not drop it at the boundary


class ReplayFormatError(ValueError):
    """A malformed trajectory file; the message names the file and the line."""


_FIELDS = ("frame", "id", "x", "y")


def read_eth_ucy(path: str | Path) -> np.ndarray:
    """The annotations of an ETH/UCY file as a float array (M, 4): frame, id, x, y, in file
    order. Raises ReplayFormatError (naming the line) on a malformed line, FileNotFoundError
    when there is no file."""
    path = Path(path)
    rows: list[tuple[float, float, float, float]] = []
    first_line: dict[tuple[int, int], int] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) != len(_FIELDS):
                raise ReplayFormatError(
                    f"{path}:{lineno}: expected 4 fields 'frame id x y', got {len(fields)}: "
                    f"{line!r}")
            values = []
            for name, text in zip(_FIELDS, fields, strict=True):
                try:
                    v = float(text)
                except ValueError:
                    raise ReplayFormatError(
                        f"{path}:{lineno}: field {name!r} is not a number: {text!r}") from None
                if not math.isfinite(v):
                    raise ReplayFormatError(
                        f"{path}:{lineno}: field {name!r} must be finite, got {text!r}")
                if name in ("frame", "id") and not v.is_integer():
                    raise ReplayFormatError(
                        f"{path}:{lineno}: field {name!r} must be a whole number, got {text!r}")
                values.append(v)
            key = (int(values[0]), int(values[1]))
            if key in first_line:
                raise ReplayFormatError(
                    f"{path}:{lineno}: pedestrian {key[1]} appears twice in frame {key[0]} "
                    f"(first on line {first_line[key]})")
            first_line[key] = lineno
            rows.append((values[0], values[1], values[2], values[3]))
    if not rows:
        raise ReplayFormatError(f"{path}: no annotations (expected lines 'frame id x y')")
    return np.array(rows, dtype=float)


@dataclass(frozen=True)
class Track:
    """One person's recorded path, placed in the world: annotated times (K,), strictly
    increasing, and positions (K, 2)."""

    person_id: int
    times_s: np.ndarray
    xy_m: np.ndarray

    @property
    def start_s(self) -> float:
        return float(self.times_s[0])

    @property
    def end_s(self) -> float:
        return float(self.times_s[-1])

    def state_at(self, t_s: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Position and velocity at ``t_s``, or None when the person is not present then."""
        times = self.times_s
        if not times[0] - TIME_TOLERANCE_S <= t_s <= times[-1] + TIME_TOLERANCE_S:
            return None
        t_s = min(max(t_s, times[0]), times[-1])
        if len(times) == 1:
            return self.xy_m[0].copy(), np.zeros(2)
        k = min(int(np.searchsorted(times, t_s, side="right")) - 1, len(times) - 2)
        p0, p1 = self.xy_m[k], self.xy_m[k + 1]
        span = times[k + 1] - times[k]
        vel = (p1 - p0) / span
        if t_s == times[k]:
            return p0.copy(), vel
        if t_s == times[k + 1]:
            return p1.copy(), vel
        return p0 + (t_s - times[k]) / span * (p1 - p0), vel


def _assign_slots(tracks: list[Track]) -> np.ndarray:
    """Slot of each track (tracks sorted by start): the lowest slot whose last track ended
    before this one starts."""
    slot_end: list[float] = []
    slots = np.empty(len(tracks), dtype=int)
    for j, track in enumerate(tracks):
        for s, end in enumerate(slot_end):
            if end < track.start_s:
                slots[j] = s
                slot_end[s] = track.end_s
                break
        else:
            slots[j] = len(slot_end)
            slot_end.append(track.end_s)
    return slots


class ReplayCrowd(CrowdArrays):
    """Recorded people replayed at sim time (see the module docstring). Implements
    ``hearth_sim.people.crowd.Crowd``; the robot is ignored (recordings do not see it).
    The state starts at sim time ``start_time_s``."""

    def __init__(self, tracks: Iterable[Track], *, radius_m: float = BODY_RADIUS_M,
                 start_time_s: float = 0.0):
        if not radius_m > 0.0:
            raise ValueError(f"radius_m must be > 0, got {radius_m}")
        self.tracks = sorted(tracks, key=lambda tr: (tr.start_s, tr.person_id))
        ids = [tr.person_id for tr in self.tracks]
        if len(set(ids)) != len(ids):
            raise ValueError("two tracks have the same person_id")
        for tr in self.tracks:
            if len(tr.times_s) == 0 or np.any(np.diff(tr.times_s) <= 0.0):
                raise ValueError(f"track {tr.person_id}: times must be non-empty and "
                                 "strictly increasing")
        self._by_id = {tr.person_id: tr for tr in self.tracks}
        self._slot = _assign_slots(self.tracks)
        super().__init__(int(self._slot.max()) + 1 if self.tracks else 0, radius_m)
        self._start = np.array([tr.start_s for tr in self.tracks])
        self._end = np.array([tr.end_s for tr in self.tracks])
        self.sample(start_time_s)

    @classmethod
    def from_file(cls, path: str | Path, *, origin_xy_m: tuple[float, float] = (0.0, 0.0),
                  yaw_rad: float = 0.0, time_offset_s: float = 0.0,
                  frame_period_s: float = ETH_UCY_FRAME_PERIOD_S,
                  max_people: int | None = None, ids: Iterable[int] | None = None,
                  frame_step: int = ETH_UCY_FRAME_STEP, radius_m: float = BODY_RADIUS_M,
                  start_time_s: float = 0.0) -> ReplayCrowd:
        """Reads an ETH/UCY file and places it (see the module docstring). ``ids``: keep
        only these pedestrians (all must be in the file); ``max_people``: then keep only the
        first that many to appear."""
        if not frame_period_s > 0.0:
            raise ValueError(f"frame_period_s must be > 0, got {frame_period_s}")
        if not frame_step > 0:
            raise ValueError(f"frame_step must be > 0, got {frame_step}")
        if max_people is not None and max_people < 0:
            raise ValueError(f"max_people must be >= 0, got {max_people}")
        data = read_eth_ucy(path)
        frame0 = data[:, 0].min()
        times = time_offset_s + (data[:, 0] - frame0) * (frame_period_s / frame_step)
        c, s = math.cos(yaw_rad), math.sin(yaw_rad)
        xy = data[:, 2:4] @ np.array([[c, s], [-s, c]]) + np.asarray(origin_xy_m, dtype=float)
        person = data[:, 1].astype(np.int64)
        wanted = np.unique(person)
        if ids is not None:
            requested = np.unique(np.asarray(list(ids), dtype=np.int64))
            missing = np.setdiff1d(requested, wanted)
            if len(missing):
                raise ValueError(f"{path}: no pedestrian with id {missing.tolist()}")
            wanted = requested
        tracks = []
        for pid in wanted:
            rows = np.nonzero(person == pid)[0]
            order = np.argsort(times[rows], kind="stable")
            rows = rows[order]
            tracks.append(Track(int(pid), times[rows], xy[rows]))
        tracks.sort(key=lambda tr: (tr.start_s, tr.person_id))
        if max_people is not None:
            tracks = tracks[:max_people]
        return cls(tracks, radius_m=radius_m, start_time_s=start_time_s)

    # ---------------------------------------------------------------- Crowd interface

    def step(self, t_s: float, dt_s: float, robot_xy_m: np.ndarray,
             robot_v_mps: np.ndarray) -> None:
        check_step_args(t_s, dt_s, robot_xy_m, robot_v_mps)
        self.sample(float(t_s) + float(dt_s))

    # ---------------------------------------------------------------- replay

    def sample(self, t_s: float) -> None:
        """Sets the state to that at sim time ``t_s`` (any time, forwards or backwards)."""
        if not math.isfinite(t_s):
            raise ValueError(f"t_s must be finite, got {t_s!r}")
        pos = np.full((self._n, 2), np.nan)
        vel = np.full((self._n, 2), np.nan)
        ids = np.full(self._n, -1, dtype=np.int64)
        if self._n:
            active = ((self._start - TIME_TOLERANCE_S <= t_s)
                      & (t_s <= self._end + TIME_TOLERANCE_S))
            for j in np.nonzero(active)[0]:
                track = self.tracks[j]
                slot = self._slot[j]
                pos[slot], vel[slot] = track.state_at(t_s)
                ids[slot] = track.person_id
        self._time_s = float(t_s)
        self._pos, self._vel, self._ids = pos, vel, ids

    def track(self, person_id: int) -> Track:
        """The placed track of one person (KeyError when there is none)."""
        return self._by_id[person_id]

    @property
    def person_ids(self) -> np.ndarray:
        """Every person in the replay, in order of appearance."""
        return np.array([tr.person_id for tr in self.tracks], dtype=np.int64)

    @property
    def time_span_s(self) -> tuple[float, float]:
        """(first, last) annotated sim time; (nan, nan) when there are no tracks."""
        if not self.tracks:
            return math.nan, math.nan
        return float(self._start.min()), float(self._end.max())

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of every placed annotation: to check that a placement
        fits the room it is meant for."""
        if not self.tracks:
            return math.nan, math.nan, math.nan, math.nan
        xy = np.vstack([tr.xy_m for tr in self.tracks])
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])
