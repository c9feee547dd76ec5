"""The planners ``./hearth eval nav`` compares, in the same run on the same seeds (issue 9).

``VARIANTS`` maps "a".."g" to a :class:`Variant`: hearth as designed, four ablations of its
claims and two peers. The suite (``hearth_eval.nav_suite``) builds each planner with
:meth:`Variant.make_planner` (``LoopOptions.planner_factory``) and passes
``planner_overrides`` (``LocalPlannerConfig`` fields) and ``latency_compensation`` to the
closed loop (``hearth_eval.planner_loop``), so every variant sees the same simulator, the
same perception and the same people.

======  ===================  =================================================================
key     name                 what differs from (a)
======  ===================  =================================================================
a       hearth               nothing: the default configuration
b       no latency comp.     plans from the last /odom as measured, people where last seen
c       no prediction        people frozen where the tracks last saw them
d       chance constraint    risk above ``risk_threshold`` forbidden, else pure progress
e       weighted sum         pure progress minus ``collision_weight`` x risk
f       DWB                  Nav2 DWB's sampling and default critics (baselines.dwb_planner)
g       MPPI                 pytorch-mppi on hearth's dynamics and costs (baselines.mppi_planner)
======  ===================  =================================================================

(c), (d) and (e) change one thing each in hearth's cost or inputs
(``hearth_trajectory.objectives``, ``docs/planner.md``); (f) and (g) replace only how the
trajectory is chosen, sharing hearth's start state, latency handling, arrival and stops.
(g) needs torch and pytorch-mppi (``tools/requirements/bench-peers.txt``); without them
building it raises ImportError naming the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from hearth_trajectory.planner import LocalPlanner, PlannerParams
from hearth_trajectory.trajectory_space import MotionLimits


def _hearth(limits: MotionLimits, params: PlannerParams) -> LocalPlanner:
    return LocalPlanner(limits, params)


def _dwb(limits: MotionLimits, params: PlannerParams) -> LocalPlanner:
    from hearth_eval.baselines.dwb_planner import DwbPlanner

    return DwbPlanner(limits, params)


def _mppi(limits: MotionLimits, params: PlannerParams) -> LocalPlanner:
    try:
        from hearth_eval.baselines.mppi_planner import MppiPlanner
    except ImportError as exc:
        raise ImportError(
            f"variant g needs torch and pytorch-mppi ({exc}): .venv/bin/pip install "
            "--no-deps -r tools/requirements/bench-peers.txt") from exc
    return MppiPlanner(limits, params)


@dataclass(frozen=True)
class Variant:
    key: str  # "a".."g"
    name: str  # short label for the table
    description: str
    planner_overrides: dict = field(default_factory=dict)  # LocalPlannerConfig fields
    latency_compensation: bool = True
    builder: Callable[[MotionLimits, PlannerParams], LocalPlanner] = _hearth

    def make_planner(self, limits: MotionLimits, params: PlannerParams) -> LocalPlanner:
        """The variant's planner (``plan``, ``record_cycle_time``, ``compute_estimate_s``).
        Its own settings are applied to ``params`` here too, so it is this variant whether
        or not the caller mapped ``planner_overrides`` through the node's config."""
        own = {k: v for k, v in self.planner_overrides.items()
               if k in {f.name for f in dataclasses.fields(PlannerParams)}}
        params = dataclasses.replace(params, latency_compensation=self.latency_compensation,
                                     **own)
        return self.builder(limits, params)


VARIANTS: dict[str, Variant] = {v.key: v for v in (
    Variant("a", "hearth", "hearth as designed, default configuration"),
    Variant("b", "no latency comp.",
            "latency compensation off: plans from the last /odom as measured, with the "
            "people where the tracks last saw them", latency_compensation=False),
    Variant("c", "no prediction",
            "prediction off: people frozen where the tracks last saw them (no velocity, "
            "no uncertainty growing with it)", {"predict_people": False}),
    Variant("d", "chance constraint",
            "trajectories whose collision risk over the horizon exceeds risk_threshold "
            "(1 %) forbidden, otherwise pure progress (not survival-weighted)",
            {"objective": "chance_constraint"}),
    Variant("e", "weighted sum",
            "a fixed weighted sum: pure progress minus collision_weight x collision risk",
            {"objective": "weighted_sum"}),
    Variant("f", "DWB (Nav2 defaults)",
            "dynamic-window sampler, 20x20 (v, w) over 1.7 s, Nav2 DWB's default critics",
            builder=_dwb),
    Variant("g", "MPPI (pytorch-mppi)",
            "pytorch-mppi's MPPI, same samples and steps, hearth's dynamics and costs",
            builder=_mppi),
)}
