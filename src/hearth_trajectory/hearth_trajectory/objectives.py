"""Which cost the planner minimises: hearth's survival-weighted objective or an ablation.

:func:`build_critics` turns the planner's parameters into its critics (``critics.py``'s
protocol: (N,) cost per candidate from an :class:`~hearth_trajectory.critics.Evaluation`,
no per-candidate loop). ``objective`` picks how the collision risk enters; every objective
keeps the same smoothness (jerk), comfort (personal space), heading and floor terms, so between
them only the risk handling differs (issue 9's ablations (d) and (e);
``docs/planner.md#objectives-the-ablations-of-the-risk-handling``):

* ``"survival"`` (hearth): each step's progress counts only as far as the robot is expected
  to survive to make it, plus the expected collision, ``w_c (1 - S_T)``.
* ``"chance_constraint"``: a trajectory whose collision risk ``1 - S_T`` exceeds
  ``risk_threshold`` is forbidden; among the others, pure (discounted) progress, not
  survival-weighted. The risk is otherwise free.
* ``"weighted_sum"``: a fixed weighted sum of pure progress and risk,
  ``-progress + w_c (1 - S_T)``, with hearth's ``collision_weight`` as ``w_c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hearth_trajectory.critics import (
    BlindSpotCritic,
    CollisionCritic,
    ComfortCritic,
    Critic,
    Evaluation,
    FloorCritic,
    HeadingCritic,
    JerkCritic,
    ProgressCritic,
)

if TYPE_CHECKING:  # planner.py imports this module
    from hearth_trajectory.planner import PlannerParams

OBJECTIVES = ("survival", "chance_constraint", "weighted_sum")

# What a forbidden trajectory costs: more than any allowed one can (progress is a few metres
# at most), and ordered by risk among the forbidden, so that when every candidate is
# forbidden the least risky one is chosen rather than an arbitrary one.
FORBIDDEN_COST = 1.0e6


@dataclass
class RawProgressCritic:
    """Pure progress: the reduction of the cost-to-go, ``sum_k g^k (c_{k-1} - c_k)`` (a
    reward: negative cost), discounted per step like :class:`ProgressCritic` but not weighted
    by the survival probability: the risk of not getting there is another term's business."""

    weight: float = 1.0
    discount: float = 0.97

    def __call__(self, ev: Evaluation) -> np.ndarray:
        gain = -np.diff(ev.cost_to_go, axis=1)
        return -(gain @ self.discount ** np.arange(1, gain.shape[1] + 1))


@dataclass
class ChanceConstraintCritic:
    """The chance constraint ``1 - S_T <= threshold``: 0 for a trajectory within it, and
    ``FORBIDDEN_COST * (1 + risk)`` for one beyond (forbidden: any allowed trajectory beats
    it; among forbidden ones the least risky ranks first, the fallback when all are)."""

    threshold: float = 0.01
    weight: float = 1.0

    def __call__(self, ev: Evaluation) -> np.ndarray:
        risk = 1.0 - ev.survival[:, -1]
        return np.where(risk > self.threshold, FORBIDDEN_COST * (1.0 + risk), 0.0)


def build_critics(p: PlannerParams) -> dict[str, Critic]:
    """The critics of objective ``p.objective`` with ``p``'s weights (ValueError for an
    unknown objective)."""
    shared: dict[str, Critic] = {
        "jerk": JerkCritic(p.jerk_weight),
        "comfort": ComfortCritic(p.comfort_weight, p.comfort_sigma_m),
        "heading": HeadingCritic(p.heading_weight, p.heading_fade_m),
        "floor": FloorCritic(p.floor_weight, p.floor_speed_mps, p.floor_turn_radps,
                             p.floor_contacts_m),
        "blind_spots": BlindSpotCritic(p.blind_spot_weight, p.blind_spot_reaction_s,
                                       p.blind_spot_decel_mps2, p.blind_spot_creep_mps),
    }
    if p.objective == "survival":
        risk: dict[str, Critic] = {
            "progress": ProgressCritic(p.progress_weight, p.progress_discount),
            "collision": CollisionCritic(p.collision_weight),
        }
    elif p.objective == "chance_constraint":
        risk = {
            "progress": RawProgressCritic(p.progress_weight, p.progress_discount),
            "chance_constraint": ChanceConstraintCritic(p.risk_threshold),
        }
    elif p.objective == "weighted_sum":
        risk = {
            "progress": RawProgressCritic(p.progress_weight, p.progress_discount),
            "collision": CollisionCritic(p.collision_weight),
        }
    else:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {p.objective!r}")
    return {**risk, **shared}
