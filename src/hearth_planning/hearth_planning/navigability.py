"""Navigability memory: what the robot has seen of each doorway and narrow passage, how likely
each is to be passable now, and what that costs the planner (ROS-free).

**Observations.** Each is ``(t_unix_s, passable, source)``: ``source`` is ``map`` (a /map update
showed the region crossable or not, :func:`hearth_planning.regions.region_passable`),
``blocked`` (the local planner reported it could make no progress next to the region) or
``traversed`` (the robot drove through it). Times are wall-clock Unix seconds, because the
memory outlives the process and simulated clocks restart at zero. A repeat of the region's
last state is recorded only ``observation_interval_s`` after it, so that a map republished every
second does not count as a hundred sightings.

**Estimate.** A Beta estimate whose evidence decays with age (half-life ``half_life_h``)::

    w_i = 0.5 ** ((t - t_i) / half_life)
    p_passable = (a0 + sum(w_i, passable)) / (a0 + b0 + sum(w_i))
    a0 = prior_passable * prior_strength,   b0 = (1 - prior_passable) * prior_strength

**Cost.** Crossing a region costs ``closed_penalty_m * (1 - p_passable)`` extra metres (the
detour that a closed door costs, weighted by how likely it is to be closed), spread along the
region: every traversable cell of its rectangle gets ``penalty_m / (2 * half_length_m)`` added
to its cost multiplier. The penalty is finite, so a region the map shows open is never
forbidden; a door the map shows closed is an obstacle in the map itself.

**File.** One JSON file per home, written atomically (a temporary file in the same folder,
fsync, ``os.replace``). See the package README for the format. A file that cannot be read
raises :class:`MemoryFileError` with one line saying why.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hearth_common.atomic_file import atomic_write
from hearth_planning.costmap import Costmap
from hearth_planning.regions import KINDS, Region

FORMAT = "hearth_navigability_memory"
VERSION = 1
SOURCES = ("map", "blocked", "traversed")


class MemoryFileError(ValueError):
    """A memory file is unreadable, not JSON, or not in the expected format."""


@dataclass(frozen=True)
class MemoryParams:
    half_life_h: float = 48.0
    prior_passable: float = 0.95
    prior_strength: float = 2.0
    closed_penalty_m: float = 10.0
    observation_interval_s: float = 300.0
    max_observations: int = 200  # per region; the oldest are dropped

    def __post_init__(self) -> None:
        if not (self.half_life_h > 0.0 and math.isfinite(self.half_life_h)):
            raise ValueError(f"half_life_h must be > 0, got {self.half_life_h!r}")
        if not 0.0 < self.prior_passable < 1.0:
            raise ValueError(f"prior_passable must be in (0, 1), got {self.prior_passable!r}")
        if not self.prior_strength > 0.0:
            raise ValueError(f"prior_strength must be > 0, got {self.prior_strength!r}")
        if not (self.closed_penalty_m >= 0.0 and math.isfinite(self.closed_penalty_m)):
            raise ValueError(f"closed_penalty_m must be >= 0, got {self.closed_penalty_m!r}")


@dataclass(frozen=True)
class Observation:
    t_unix_s: float
    passable: bool
    source: str


@dataclass
class RegionMemory:
    region: Region
    source: str  # "detected" or "configured"
    observations: list[Observation] = field(default_factory=list)


class NavigabilityMemory:
    """The regions of one home and what was observed of each."""

    def __init__(self, params: MemoryParams | None = None, home: str = "") -> None:
        self.params = params or MemoryParams()
        self.home = home
        self.entries: dict[str, RegionMemory] = {}

    # -- regions ----------------------------------------------------------------------------

    @property
    def regions(self) -> list[Region]:
        return [e.region for e in self.entries.values()]

    def add_configured(self, region: Region) -> None:
        """A region from the configuration: replaces the geometry of one of the same id,
        keeping its observations."""
        old = self.entries.get(region.id)
        self.entries[region.id] = RegionMemory(
            region, "configured", old.observations if old else []
        )

    def merge_detected(self, regions: list[Region]) -> list[Region]:
        """Add the detected regions not already known (a known region contains the new one's
        centre, or the other way round); returns those added. Known regions are kept even
        when not detected again: a closed door is not detected."""
        added = []
        for region in regions:
            if any(
                e.region.contains(*region.centre_xy_m) or region.contains(*e.region.centre_xy_m)
                for e in self.entries.values()
            ):
                continue
            rid, n = region.id, 1
            while rid in self.entries:
                n += 1
                rid = f"{region.id}#{n}"
            if rid != region.id:
                region = Region(rid, region.kind, region.centre_xy_m, region.yaw_rad,
                                region.half_length_m, region.half_width_m)
            self.entries[rid] = RegionMemory(region, "detected")
            added.append(region)
        return added

    def region_at(self, x: float, y: float, margin_m: float = 0.0) -> Region | None:
        """The region containing (x, y) (within ``margin_m``), the nearest one if several."""
        inside = [
            e.region for e in self.entries.values() if e.region.contains(x, y, margin_m)
        ]
        if not inside:
            return None
        return min(inside, key=lambda r: math.hypot(x - r.centre_xy_m[0], y - r.centre_xy_m[1]))

    # -- observations and estimates ---------------------------------------------------------

    def observe(self, region_id: str, passable: bool, t_unix_s: float, source: str) -> bool:
        """Record an observation; returns False when it was skipped as a repeat of the last
        state within ``observation_interval_s``."""
        if source not in SOURCES:
            raise ValueError(f"observation source must be one of {SOURCES}, got {source!r}")
        if not math.isfinite(t_unix_s):
            raise ValueError(f"observation time must be finite, got {t_unix_s!r}")
        entry = self.entries[region_id]
        obs = entry.observations
        if obs:
            last = obs[-1]
            if (
                last.passable == passable
                and t_unix_s - last.t_unix_s < self.params.observation_interval_s
            ):
                return False
        obs.append(Observation(float(t_unix_s), bool(passable), source))
        obs.sort(key=lambda o: o.t_unix_s)
        del obs[: max(0, len(obs) - self.params.max_observations)]
        return True

    def p_passable(self, region_id: str, t_unix_s: float) -> float:
        p = self.params
        a = p.prior_passable * p.prior_strength
        b = (1.0 - p.prior_passable) * p.prior_strength
        for o in self.entries[region_id].observations:
            age_h = max(0.0, t_unix_s - o.t_unix_s) / 3600.0
            w = 0.5 ** (age_h / p.half_life_h)
            if o.passable:
                a += w
            else:
                b += w
        return a / (a + b)

    def penalty_m(self, region_id: str, t_unix_s: float) -> float:
        """Extra metres charged for crossing the region."""
        return self.params.closed_penalty_m * (1.0 - self.p_passable(region_id, t_unix_s))

    def penalties_m(self, t_unix_s: float) -> dict[str, float]:
        return {rid: self.penalty_m(rid, t_unix_s) for rid in self.entries}

    def penalty_layer(self, costmap: Costmap, penalties_m: dict[str, float]) -> np.ndarray:
        """Extra cost multiplier per cell (0 outside regions) for ``penalties_m``."""
        layer = np.zeros(costmap.shape)
        for rid, penalty in penalties_m.items():
            entry = self.entries.get(rid)
            if entry is None or penalty <= 0.0:
                continue
            ras = entry.region.raster(costmap)
            if ras is None:
                continue
            r0, c0, inside, _ = ras
            h, w = inside.shape
            layer[r0 : r0 + h, c0 : c0 + w][inside] += penalty / (
                2.0 * entry.region.half_length_m
            )
        layer[~costmap.traversable] = 0.0
        return layer

    # -- the file ---------------------------------------------------------------------------

    def to_dict(self, saved_unix_s: float) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "home": self.home,
            "saved_unix_s": saved_unix_s,
            "regions": [
                {
                    "id": e.region.id,
                    "kind": e.region.kind,
                    "source": e.source,
                    "centre_xy_m": list(e.region.centre_xy_m),
                    "yaw_rad": e.region.yaw_rad,
                    "half_length_m": e.region.half_length_m,
                    "half_width_m": e.region.half_width_m,
                    "observations": [
                        {"t_unix_s": o.t_unix_s, "passable": o.passable, "source": o.source}
                        for o in e.observations
                    ],
                }
                for e in self.entries.values()
            ],
        }

    def save(self, path: str | Path, saved_unix_s: float) -> None:
        """Write the memory to ``path`` atomically (temp file in the same folder + rename)."""
        text = json.dumps(self.to_dict(saved_unix_s), indent=1)
        with atomic_write(path) as f:
            f.write(text)

    @classmethod
    def from_dict(
        cls, doc: object, params: MemoryParams | None = None, where: str = "memory"
    ) -> NavigabilityMemory:
        """Parse :meth:`to_dict`'s output; MemoryFileError names the first bad field."""
        if not isinstance(doc, dict):
            raise MemoryFileError(f"{where}: expected a JSON object, got {type(doc).__name__}")
        if doc.get("format") != FORMAT:
            raise MemoryFileError(f"{where}: 'format' is {doc.get('format')!r}, not {FORMAT!r}")
        if doc.get("version") != VERSION:
            raise MemoryFileError(
                f"{where}: 'version' {doc.get('version')!r} is not supported (expected {VERSION})"
            )
        home = doc.get("home", "")
        if not isinstance(home, str):
            raise MemoryFileError(f"{where}: 'home' must be a string")
        regions = doc.get("regions")
        if not isinstance(regions, list):
            raise MemoryFileError(f"{where}: 'regions' must be a list")
        memory = cls(params, home)
        for i, item in enumerate(regions):
            at = f"{where}: regions[{i}]"
            if not isinstance(item, dict):
                raise MemoryFileError(f"{at} must be an object")
            try:
                rid, kind, source = item["id"], item["kind"], item["source"]
                centre = item["centre_xy_m"]
                numbers = [item[k] for k in ("yaw_rad", "half_length_m", "half_width_m")]
                observations = item["observations"]
            except KeyError as exc:
                raise MemoryFileError(f"{at}: missing key {exc.args[0]!r}") from None
            if not isinstance(rid, str) or not rid or rid in memory.entries:
                raise MemoryFileError(f"{at}: 'id' must be a unique non-empty string")
            if kind not in KINDS or source not in ("detected", "configured"):
                raise MemoryFileError(f"{at}: bad 'kind' {kind!r} or 'source' {source!r}")
            if not (isinstance(centre, list) and len(centre) == 2 and all(map(_is_num, centre))):
                raise MemoryFileError(f"{at}: 'centre_xy_m' must be [x, y]")
            if not all(map(_is_num, numbers)):
                raise MemoryFileError(f"{at}: yaw_rad, half_length_m, half_width_m must be numbers")
            try:
                xy = (float(centre[0]), float(centre[1]))
                region = Region(rid, kind, xy, *map(float, numbers))
            except ValueError as exc:
                raise MemoryFileError(f"{at}: {exc}") from None
            if not isinstance(observations, list):
                raise MemoryFileError(f"{at}: 'observations' must be a list")
            obs = []
            for j, o in enumerate(observations):
                if (
                    not isinstance(o, dict)
                    or not _is_num(o.get("t_unix_s"))
                    or not isinstance(o.get("passable"), bool)
                    or o.get("source") not in SOURCES
                ):
                    raise MemoryFileError(
                        f"{at}.observations[{j}] must be {{t_unix_s: number, passable: bool, "
                        f"source: one of {SOURCES}}}"
                    )
                obs.append(Observation(float(o["t_unix_s"]), o["passable"], o["source"]))
            obs.sort(key=lambda o: o.t_unix_s)
            memory.entries[rid] = RegionMemory(region, source, obs)
        return memory

    @classmethod
    def load(cls, path: str | Path, params: MemoryParams | None = None) -> NavigabilityMemory:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise MemoryFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError:
            raise MemoryFileError(f"{path} is not a text file") from None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MemoryFileError(
                f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        return cls.from_dict(doc, params, str(path))


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
