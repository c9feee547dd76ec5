"""MPPI from the ``pytorch-mppi`` package on hearth's dynamics and costs (issue 9, variant g).

:class:`MppiPlanner` is hearth's ``LocalPlanner`` with only the choice of the trajectory
replaced (``_optimise``): each cycle runs one ``pytorch_mppi.MPPI.command`` (CPU, one
thread) with as many samples as hearth evaluates and hearth's steps, on the torch port of
hearth's trajectory space and critics that ``./hearth bench trajectory`` checks against
hearth's own (:class:`hearth_eval.bench.trajectory_torch_peer.TorchPeer`). The controls are
the per-step (v, w) targets of hearth's jerk-limited tracking rule; the optimised sequence
becomes the committed plan (hearth's rollout of it, the same dynamics), so the command, the
splice and the latency handling are hearth's.

Warm start, as MPPI does it: the nominal control sequence is kept from cycle to cycle and
shifted by the steps elapsed (the new tail: pytorch-mppi's ``u_init``, zero). Its settings
(noise, temperature) are the bench peer's (``trajectory_torch_peer.make_mppi``).
Path following only (the torch port scores progress along a path): in follow mode the
cycle stops with a fault status.
"""

from __future__ import annotations

import numpy as np

from hearth_eval.bench.trajectory_torch_peer import TorchPeer, make_mppi
from hearth_trajectory.critics import Evaluation, Scene, evaluate
from hearth_trajectory.planner import LocalPlanner, PlannerParams
from hearth_trajectory.trajectory_space import MotionLimits, StartState, rollout


class MppiPlanner(LocalPlanner):
    def __init__(self, limits: MotionLimits, params: PlannerParams | None = None):
        import torch  # pytorch-mppi's, pinned in tools/requirements/bench-peers.txt

        super().__init__(limits, params)
        torch.set_num_threads(1)
        self._torch = torch
        torch.manual_seed(self.p.seed)  # pytorch-mppi draws from torch's global generator
        self._peer: TorchPeer | None = None
        self._mppi = None
        self.samples = self.p.candidates

    def _dynamics(self, state, action, t):
        return self._peer.dynamics(state, action, t)

    def _running_cost(self, state, action, t):
        return self._peer.running_cost(state, action, t)

    def _optimise(self, scene: Scene, start: StartState, shift: int) -> dict:
        p = self.p
        self._peer = TorchPeer(scene, start, p, p.comfort_sigma_m)
        if self._mppi is None:
            self._mppi = make_mppi(self._dynamics, self._running_cost, self._peer.nx,
                                   self.limits, self.samples, p.steps)
        mppi = self._mppi
        mppi.nx = self._peer.nx  # the state carries one column per person
        if shift < 0:
            mppi.reset()  # off the previous plan (a pause): start afresh
        for _ in range(min(shift, p.steps)):
            mppi.shift_nominal_trajectory()
        mppi.command(self._peer.x0, shift_nominal_trajectory=False)
        targets = mppi.U.detach().numpy().copy()  # (T, 2)

        roll = rollout(start, targets[None], self.limits, p.dt_s)
        # The samples, a tenth of them, for the candidates' markers (ranked by their cost).
        k = mppi.perturbed_action.shape[0]
        vis = np.linspace(0, k - 1, max(1, k // 10)).astype(int)
        sampled = rollout(start, mppi.perturbed_action[vis].detach().numpy(), self.limits,
                          p.dt_s)
        cost = mppi.cost_total.detach().numpy()[vis]
        # hearth's critics on the committed plan: its terms, and progress for the blocked
        # signal (the sampled ones too).
        ev = Evaluation(roll, scene, comfort_sigma_m=p.comfort_sigma_m)
        costs = evaluate(self.critics, ev)
        ev_sampled = Evaluation(sampled, scene, p.comfort_sigma_m)
        progress = max(float(ev.progress[0]), float(np.max(ev_sampled.progress)))
        open_progress = max(float(ev.progress_apart_from_people(p.risk_threshold)[0]), float(
            np.max(ev_sampled.progress_apart_from_people(p.risk_threshold))))
        order = np.argsort(np.argsort(cost))
        return {"cost": float(costs.total[0]), "roll": roll, "targets": targets,
                "warm": False, "terms": {n: float(v[0]) for n, v in costs.terms.items()},
                "evaluated": k, "max_progress": progress, "progress": float(ev.progress[0]),
                "open_progress": open_progress,
                "vis_x": sampled.x,
                "vis_y": sampled.y, "vis_rank": order / max(len(vis) - 1, 1)}
