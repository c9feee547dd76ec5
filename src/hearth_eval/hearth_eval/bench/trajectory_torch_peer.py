"""The peer of ``./hearth bench trajectory``: pytorch-mppi on the same dynamics and costs.

hearth's trajectory space (jerk-limited tracking of per-step (v, w) targets,
``hearth_trajectory.trajectory_space``) and its critics (``hearth_trajectory.critics``),
written again in torch as pytorch-mppi wants them: ``dynamics(state, action, t)`` and
``running_cost(state, action, t)`` per step over all samples. The per-step quantities the
critics need across steps (survival, the previous cost-to-go) travel in the state.
:func:`rollout_costs` checks the port against hearth's costs on the same targets.
"""

from __future__ import annotations

import math

import numpy as np

from hearth_trajectory.critics import PathGoal, Scene
from hearth_trajectory.fields import GridField
from hearth_trajectory.planner import PlannerParams
from hearth_trajectory.trajectory_space import StartState

# State columns.
X, Y, YAW, V, W, A, AL, JV, JW, S, S_PREV, C, C_PREV, NEAR, WORST = range(15)


class TorchPeer:
    def __init__(self, scene: Scene, start: StartState, params: PlannerParams,
                 comfort_sigma_m: float):
        import torch

        if not isinstance(scene.goal, PathGoal):
            raise ValueError("the torch port scores progress along a path only (no follow mode)")
        self.torch = torch
        self.p = params
        self.scene = scene
        self.steps = params.steps
        self.dt = params.dt_s
        lim = scene.limits
        t = torch.float64
        self.lo = torch.tensor([lim.linear.min_velocity, lim.angular.min_velocity], dtype=t)
        self.hi = torch.tensor([lim.linear.max_velocity, lim.angular.max_velocity], dtype=t)
        self.amax = torch.tensor([lim.linear.max_accel, lim.angular.max_accel], dtype=t)
        self.jmax = torch.tensor([lim.linear.max_jerk, lim.angular.max_jerk], dtype=t)
        f = scene.distance
        if f is None:  # nothing seen: far from everything (a grid around the start)
            f = GridField((start.x_m - 5.0, start.y_m - 5.0), 5.0, np.full((2, 2), 1e3))
        self.dist = torch.tensor(np.asarray(f.values, dtype=float))
        self.dist_origin = f.origin_xy
        self.dist_inv = 1.0 / f.resolution_m
        ctg = scene.goal.field
        self.ctg = [torch.tensor(np.asarray(g.values, dtype=float))
                    for g in (ctg.cost, ctg.dir_x, ctg.dir_y)]
        self.ctg_origin = ctg.cost.origin_xy
        self.ctg_inv = 1.0 / ctg.cost.resolution_m
        ppl = scene.people
        c = ppl.covs + scene.pose_cov_xy
        self.means = torch.tensor(ppl.means)  # (P, T, 2)
        self.cov3 = torch.tensor(np.stack([c[..., 0, 0], c[..., 0, 1], c[..., 1, 1]], -1))
        self.reach = torch.tensor(ppl.radii + scene.robot_radius_m)
        self.n_people = len(ppl)
        self.offset = 0.5 * scene.distance_cell_m + scene.robot_radius_m
        self.inv_sigma = 1.0 / max(scene.pose_sigma_m, 0.01)
        self.inv_2s2 = 0.5 / comfort_sigma_m**2
        self.near_cut = 4.0 * comfort_sigma_m
        self.nx = WORST + 1 + self.n_people
        x0 = np.zeros(self.nx)
        x0[[X, Y, YAW, V, W, A, AL]] = [start.x_m, start.y_m, start.yaw_rad, start.v_mps,
                                        start.w_radps, start.a_mps2, start.alpha_radps2]
        x0[S] = x0[S_PREV] = 1.0
        x0[C] = x0[C_PREV] = float(scene.goal.cost_to_go(np.array([[start.x_m]]),
                                                         np.array([[start.y_m]]))[0, 0])
        self.x0 = torch.tensor(x0)

    # -- the dynamics: hearth's per-step rule, every sample at once ---------------------------

    def _braking_dv(self, a):
        torch = self.torch
        m = a.abs()
        jd = self.jmax * self.dt
        n = torch.floor(m / jd)
        dv = m * self.dt * (n + 0.5) - 0.5 * jd * self.dt * n * (n + 1.0)
        return torch.where(a >= 0, dv, -dv)

    def _max_accel_within(self, margin):
        torch = self.torch
        jd2 = self.jmax * self.dt * self.dt
        g = margin.clamp(min=0.0)
        n = torch.floor(0.5 * (torch.sqrt(1.0 + 8.0 * g / jd2) - 1.0))
        pos = (g + 0.5 * jd2 * n * (n + 1.0)) / (self.dt * (n + 1.0))
        return torch.where(margin < 0.0, 2.0 * margin / self.dt, pos)

    def _bilinear(self, values, origin, inv, x, y):
        torch = self.torch
        h, w = values.shape
        fx = ((x - origin[0]) * inv - 0.5).clamp(0.0, w - 1.000001)
        fy = ((y - origin[1]) * inv - 0.5).clamp(0.0, h - 1.000001)
        ix, iy = torch.floor(fx), torch.floor(fy)
        tx, ty = fx - ix, fy - iy
        ix, iy = ix.long(), iy.long()
        ix1, iy1 = (ix + 1).clamp(max=w - 1), (iy + 1).clamp(max=h - 1)
        top = values[iy, ix] + tx * (values[iy, ix1] - values[iy, ix])
        bottom = values[iy1, ix] + tx * (values[iy1, ix1] - values[iy1, ix])
        return top + ty * (bottom - top)

    def dynamics(self, state, action, t):
        torch = self.torch
        dt = self.dt
        s = state.clone()
        v = state[:, [V, W]]
        a = state[:, [A, AL]]
        r = torch.minimum(torch.maximum(action, self.lo), self.hi)
        base = v + 0.5 * dt * a
        up = r >= v + self._braking_dv(a)
        a1 = torch.where(up, self._max_accel_within(r - base),
                         -self._max_accel_within(base - r))
        jd = self.jmax * dt
        a_hi = torch.minimum(a + jd, self.amax)
        a_lo = torch.maximum(a - jd, -self.amax)
        a_lo = torch.where(up, torch.maximum(a_lo, -self._max_accel_within(base - self.lo)), a_lo)
        a_hi = torch.where(up, a_hi, torch.minimum(a_hi, self._max_accel_within(self.hi - base)))
        a1 = torch.minimum(torch.maximum(a1, a_lo), a_hi)
        v1 = base + 0.5 * dt * a1
        j = (a1 - a) / dt
        yaw = state[:, YAW]
        yaw_mid = (yaw + 0.5 * v[:, 1] * dt + 0.125 * a[:, 1] * dt**2 + j[:, 1] * dt**3 / 48.0)
        ds = (v[:, 0] + 0.5 * a[:, 0] * dt + 0.125 * j[:, 0] * dt**2) * dt
        x = state[:, X] + ds * torch.cos(yaw_mid)
        y = state[:, Y] + ds * torch.sin(yaw_mid)
        s[:, X], s[:, Y] = x, y
        s[:, YAW] = yaw + v[:, 1] * dt + 0.5 * a[:, 1] * dt**2 + j[:, 1] * dt**3 / 6.0
        s[:, [V, W]], s[:, [A, AL]], s[:, [JV, JW]] = v1, a1, j
        # The per-step quantities of the critics.
        clearance = self._bilinear(self.dist, self.dist_origin, self.dist_inv, x, y) - self.offset
        m_static = 0.5 * torch.special.erfc(clearance * self.inv_sigma / math.sqrt(2.0))
        s[:, WORST] = torch.maximum(state[:, WORST], m_static)
        surv = 1.0 - s[:, WORST]
        near = torch.zeros_like(x)
        if self.n_people:
            dx = x[:, None] - self.means[None, :, t, 0]
            dy = y[:, None] - self.means[None, :, t, 1]
            d2 = (dx * dx + dy * dy).clamp(min=1e-24)
            d = torch.sqrt(d2)
            c = self.cov3[:, t]
            var = ((c[:, 0] * dx * dx + 2.0 * c[:, 1] * dx * dy + c[:, 2] * dy * dy) / d2
                   ).clamp(min=1e-4)
            z = (d - self.reach) / torch.sqrt(var)
            e = torch.exp(-0.5 * z * z)
            tail = 0.5 * torch.special.erfc(z.abs() / math.sqrt(2.0))
            m = torch.where(z >= 0.0, tail, 1.0 - tail)
            m = torch.minimum(m, 0.5 * self.reach**2 / var * torch.where(z > 0.0, e, 1.0))
            worst = torch.maximum(state[:, WORST + 1:], m)
            s[:, WORST + 1:] = worst
            surv = surv * torch.prod(1.0 - worst, dim=1)
            gap = (d - self.reach).clamp(min=0.0)
            near = torch.where(d - self.reach < self.near_cut,
                               torch.exp(-gap * gap * self.inv_2s2), 0.0).sum(dim=1)
        s[:, S_PREV], s[:, S] = state[:, S], surv
        s[:, C_PREV] = state[:, C]
        s[:, C] = self._bilinear(self.ctg[0], self.ctg_origin, self.ctg_inv, x, y)
        # Comfort counts the metres driven near people (critics.ComfortCritic).
        s[:, NEAR] = near * torch.hypot(x - state[:, X], y - state[:, Y])
        return s

    def running_cost(self, state, action, t):
        torch = self.torch
        p = self.p
        lim = self.scene.limits
        k = t + 1
        progress = (p.progress_discount**k) * state[:, S] * (state[:, C_PREV] - state[:, C])
        collision = state[:, S_PREV] - state[:, S]
        jerk = ((state[:, JV] / lim.linear.max_jerk) ** 2
                + (state[:, JW] / lim.angular.max_jerk) ** 2) / self.steps
        comfort = state[:, NEAR]
        ux = self._bilinear(self.ctg[1], self.ctg_origin, self.ctg_inv, state[:, X], state[:, Y])
        uy = self._bilinear(self.ctg[2], self.ctg_origin, self.ctg_inv, state[:, X], state[:, Y])
        misalign = 1.0 - (torch.cos(state[:, YAW]) * ux + torch.sin(state[:, YAW]) * uy)
        fade = (state[:, C] / p.heading_fade_m).clamp(0.0, 1.0)
        heading = misalign * fade / self.steps
        return (-p.progress_weight * progress + p.collision_weight * collision
                + p.jerk_weight * jerk + p.comfort_weight * comfort + p.heading_weight * heading)

    def mppi(self, num_samples: int, seed: int = 0):
        self.torch.manual_seed(seed)
        return make_mppi(self.dynamics, self.running_cost, self.nx, self.scene.limits,
                         num_samples, self.steps)

    def rollout_costs(self, targets: np.ndarray) -> np.ndarray:
        """The ported costs of per-step targets (N, T, 2), without MPPI's own terms."""
        torch = self.torch
        u = torch.tensor(targets)
        state = self.x0.view(1, -1).expand(len(targets), -1)
        total = torch.zeros(len(targets), dtype=torch.float64)
        for t in range(self.steps):
            state = self.dynamics(state, u[:, t], t)
            total = total + self.running_cost(state, u[:, t], t)
        return total.numpy()


# pytorch-mppi's settings, shared by the bench's peer and the MPPI baseline planner
# (hearth_eval.baselines.mppi_planner): exploration noise of the (v, w) targets (m/s,
# rad/s), and the temperature lambda. pytorch-mppi's MPPI adds the control cost
# lambda * U' Sigma^-1 noise, which pulls the targets towards zero (a stop): with its default
# lambda = 1 (about 11 per m/s and step here) the robot hardly moves in free space. lambda is
# therefore Nav2 MPPI's default weight of that control cost (gamma = 0.015); the noise is the
# bench's (a wider spread of w than Nav2's 0.4 rad/s: a turn in place must be in reach).
NOISE_STD = (0.3, 1.0)
LAMBDA = 0.015


def make_mppi(dynamics, running_cost, nx: int, limits, num_samples: int, horizon: int):
    """pytorch-mppi's MPPI over per-step (v, w) targets within ``limits``, with hearth's
    step-dependent dynamics and running cost (:class:`TorchPeer`'s, or callables forwarding
    to one)."""
    import torch
    from pytorch_mppi import MPPI

    t = torch.float64
    sigma = torch.diag(torch.tensor([NOISE_STD[0] ** 2, NOISE_STD[1] ** 2], dtype=t))
    lo = torch.tensor([limits.linear.min_velocity, limits.angular.min_velocity], dtype=t)
    hi = torch.tensor([limits.linear.max_velocity, limits.angular.max_velocity], dtype=t)
    return MPPI(dynamics, running_cost, nx, sigma, num_samples=num_samples, horizon=horizon,
                lambda_=LAMBDA, u_min=lo, u_max=hi, step_dependent_dynamics=True)
