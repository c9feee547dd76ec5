"""The cost terms ("critics") that score candidate trajectories, all candidates at once.

In the manner of Nav2 MPPI's critics: each term is a small object with its own parameters
(``weight`` and what else it needs) that maps the candidates' arrays, shaped (candidates,
steps), to one cost per candidate. No term loops over candidates in Python. The terms share
an :class:`Evaluation`, which computes what several of them need once (the per-step
collision probability and the survival it implies, the cost-to-go along the path).

The total, minimised (``docs/planner.md`` has the derivation)::

    J = - w_p  sum_k g^k S_k (c_{k-1} - c_k)             uncertainty-adjusted progress
        + w_c  sum_k S_{k-1} p_k                         expected collision
        + w_j  mean_k (j_v / J_v)^2 + (j_w / J_w)^2      smoothness
        + w_s  sum_k |x_k - x_{k-1}| sum_j exp(-e_jk^2 / 2 s^2)   comfort (personal space)
        + w_h  mean_k f_k (1 - cos(yaw_k - dir_k))       heading toward the path

``p_k`` is the probability of a first collision during step k (static obstacles from the
distance field with the pose uncertainty; each person from their forecast Gaussian; see
:attr:`Evaluation.survival`), ``S_k = prod_{i<=k} (1 - p_i)`` the probability of surviving
up to step k, ``c_k`` the cost-to-go along the global path at the step's position.

Progress, collision and comfort are one-offs over the horizon (metres, a probability,
metres driven): none charges per second for a state the robot may stay in, such as standing
near someone. Such a rate, summed over a fixed horizon, makes standing near people cost as
much as the horizon is long, and arriving early there cost more than arriving late: waiting
for a crossing flow to pass looked worse than fleeing from it, and a goal beside a person
was approached ever later (each plan arrived at its horizon's end, the next one postponed
it: the robot never got there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np
from numba import njit

from hearth_trajectory.blind_spots import stopping_speed_mps
from hearth_trajectory.fields import CostToGo, GridField, bilinear_at
from hearth_trajectory.floor_transitions import FloorTransitions
from hearth_trajectory.people_forecast import Forecast
from hearth_trajectory.trajectory_space import ANGULAR, LINEAR, MotionLimits, Rollouts


class Goal(Protocol):
    """What the robot makes progress towards: a cost-to-go (m) at every step's position."""

    def cost_to_go(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(N, T+1) positions at steps 0..T -> (N, T+1) cost-to-go."""

    def direction(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit vector (odom frame) of the way to go at (N, T) positions of steps 1..T."""


@dataclass(frozen=True)
class PathGoal:
    """Progress along the global path: its cost-to-go field (:func:`fields.path_cost_to_go`)."""

    field: CostToGo

    def cost_to_go(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.field.cost.sample(x, y)

    def direction(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.field.dir_x.sample(x, y), self.field.dir_y.sample(x, y)


@dataclass(frozen=True)
class FollowGoal:
    """Progress towards a moving point (follow mode): ``targets_xy`` (T+1, 2), the place to
    be at each step (``follow_distance_m`` behind the followed person's forecast)."""

    targets_xy: np.ndarray

    def cost_to_go(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.hypot(x - self.targets_xy[:, 0], y - self.targets_xy[:, 1])

    def direction(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx = self.targets_xy[1:, 0] - x
        dy = self.targets_xy[1:, 1] - y
        n = np.maximum(np.hypot(dx, dy), 1e-9)
        return dx / n, dy / n


@dataclass
class Scene:
    """Everything the critics see besides the candidates (odom frame, one planning cycle)."""

    dt_s: float
    limits: MotionLimits
    robot_radius_m: float
    pose_cov_xy: np.ndarray  # (2, 2) the robot's position covariance (m^2)
    distance: GridField | None  # distance to the nearest obstacle (m), None: nothing seen
    distance_cell_m: float  # obstacles are cells: their centres lie this far inside them
    people: Forecast  # at steps 1..T
    goal: Goal | None
    # Per person, how much their personal space counts (0: the person being followed, who
    # asked for the robot's company); None: all 1.
    comfort_weights: np.ndarray | None = None
    # The safety controller's emergency stop (hearth_safety.speed_law.stopping_distance_m):
    # (reaction s, deceleration m/s²); None: not checked. See Evaluation.static_contact.
    braking: tuple[float, float] | None = None
    # How much a contact with a person counts when the person, not the robot, closes the gap
    # (0..1; 1: every contact counts in full). See Evaluation._people.
    passive_contact_weight: float = 1.0
    # Door sills and rug edges to cross slowly (odom frame); None: none marked.
    floor: FloorTransitions | None = None
    # The walking distance from the nearest blind spot a person could step out of (m, odom
    # frame; hearth_trajectory.blind_spots.phantom_distance); None: not considered.
    blind_spots: GridField | None = None

    @property
    def pose_sigma_m(self) -> float:
        """The position standard deviation towards an obstacle in the worst direction."""
        return float(np.sqrt(max(np.linalg.eigvalsh(self.pose_cov_xy)[-1], 0.0)))


class Evaluation:
    """Per-step quantities of N candidates, computed on first use and shared by the critics.

    Steps 1..T are indexed 0..T-1 in every (N, T) array here. The two geometric inner loops
    (the distance field under the pose uncertainty, and every person at every step) are
    compiled (numba): same formulas as the docstrings, evaluated point by point, skipping a
    person whose forecast is more than ``cutoff_sigmas`` standard deviations out of reach.
    """

    def __init__(self, roll: Rollouts, scene: Scene, comfort_sigma_m: float = 0.45,
                 min_sigma_m: float = 0.01, cutoff_sigmas: float = 5.0):
        self.roll = roll
        self.scene = scene
        self.comfort_sigma_m = comfort_sigma_m
        self.min_sigma_m = min_sigma_m
        self.cutoff_sigmas = cutoff_sigmas
        self.x = np.ascontiguousarray(roll.x[:, 1:])
        self.y = np.ascontiguousarray(roll.y[:, 1:])

    @cached_property
    def static_contact(self) -> np.ndarray:
        """P(touching a mapped or seen obstacle at step k): the clearance (distance to the
        nearest obstacle cell's edge minus the robot's radius) under a Gaussian error of the
        robot's position along the obstacle's direction, ``Phi(-clearance / sigma_pose)``.

        With ``Scene.braking`` the same is also read where the robot would come to a halt if
        the safety controller stopped it at step k: ``v t_react + v² / (2 a)`` ahead along its
        heading. A trajectory that turns away from a wall only at the last moment is one the
        safety controller stops short, or one that ends on the wall when it does: at 0.9 m/s
        the robot needs 0.5 m to stop, and swinging into a doorway at that speed put it on
        the door jamb (demo, t = 59 s). The larger of the two probabilities counts.
        """
        sc = self.scene
        out = np.zeros(self.x.shape)
        if sc.distance is None:
            return out
        f = sc.distance
        args = (np.ascontiguousarray(f.values, dtype=float), f.origin_xy[0], f.origin_xy[1],
                1.0 / f.resolution_m)
        offset = 0.5 * sc.distance_cell_m + sc.robot_radius_m
        inv_sigma = 1.0 / max(sc.pose_sigma_m, self.min_sigma_m)
        _static_contact(*args, self.x, self.y, offset, inv_sigma, out)
        if sc.braking is not None:
            reaction_s, decel = sc.braking
            v = self.roll.vel[0, :, 1:]
            ahead = np.abs(v) * reaction_s + v * v / (2.0 * decel)
            ahead = np.copysign(ahead, v)  # backing up halts behind
            yaw = self.roll.yaw[:, 1:]
            stop = np.zeros(self.x.shape)
            _static_contact(*args, np.ascontiguousarray(self.x + ahead * np.cos(yaw)),
                            np.ascontiguousarray(self.y + ahead * np.sin(yaw)), offset,
                            inv_sigma, stop)
            np.maximum(out, stop, out=out)
        return out

    @cached_property
    def _people(self) -> tuple[np.ndarray, np.ndarray]:
        """People's survival ``prod_j (1 - max_{i<=k} m_ji)`` and nearness
        ``sum_j exp(-gap_jk^2 / 2 s^2)``, both (N, T).

        ``m_jk`` bounds the probability that the relative position of robot and person j at
        step k falls within ``r = r_robot + r_j``: the smaller of two upper bounds, the
        half-plane tangent to the disc, ``Phi((r - d) / sigma)``, and the disc's area times
        the largest density on it, ``r^2 / (2 sigma^2) exp(-(d - r)_+^2 / (2 sigma^2))``, with
        ``sigma^2 = u' (C_j + C_pose) u`` along the line of centres ``u``. ``gap`` is the
        distance between the two discs.

        **Who closes the gap.** A person walks on as forecast only while nothing is in their
        way: people see a robot and step aside or stop for it, and one that stands or backs
        off is not running into anyone. So each rise of ``max_{i<=k} m_ji`` counts in the
        proportion ``w + (1 - w) share``, where ``share`` is the robot's part of the closing
        speed along the line of centres (0 when the robot is not closing in; by the two speeds
        while the discs overlap, where that line says little) and ``w`` is
        ``Scene.passive_contact_weight``. With ``w = 1`` every contact counts in full, the
        bound above. With ``w < 1`` the robot still answers for the whole risk of driving
        into someone, and for the part ``w`` of the risk that a person walks into it:
        scripted walkers give way to nobody, and a robot in a doorway should still step
        aside. The weighting is meant to stop a narrow-hallway flight from an oncoming
        person, whom the constant-velocity forecast walks straight through the robot
        whatever it does; off by default, as the suite did not show it better (README).
        """
        sc, ppl = self.scene, self.scene.people
        free = np.ones(self.x.shape)
        near = np.zeros(self.x.shape)
        if len(ppl):
            c = ppl.covs + sc.pose_cov_xy  # relative position: both uncertainties add
            cov3 = np.ascontiguousarray(
                np.stack([c[..., 0, 0], c[..., 0, 1], c[..., 1, 1]], axis=-1), dtype=float
            )
            reach = np.ascontiguousarray(ppl.radii + sc.robot_radius_m, dtype=float)
            cw = np.ones(len(ppl)) if sc.comfort_weights is None else sc.comfort_weights
            means = np.ascontiguousarray(ppl.means, dtype=float)
            v, yaw = self.roll.vel[0, :, 1:], self.roll.yaw[:, 1:]
            _people_terms(
                self.x, self.y, means, cov3, reach,
                np.ascontiguousarray(cw, dtype=float), self.min_sigma_m, self.cutoff_sigmas,
                self.comfort_sigma_m, np.ascontiguousarray(v * np.cos(yaw)),
                np.ascontiguousarray(v * np.sin(yaw)), _velocities(means, sc.dt_s),
                float(sc.passive_contact_weight), free, near,
            )
        return free, near

    @property
    def people_nearness(self) -> np.ndarray:
        """sum_j exp(-gap_jk^2 / 2 s^2): how far inside people's personal space step k is."""
        return self._people[1]

    @cached_property
    def survival(self) -> np.ndarray:
        """S_k: the probability of getting through steps 1..k unharmed, (N, T).

        Position errors persist over the horizon (the robot's pose error; a person walking a
        little left of their forecast stays left of it), so the events "touching obstacle o
        at step i" are nested rather than independent: the probability of having touched o by
        step k is the largest of its per-step contact probabilities so far. Obstacles (the
        static map as one, each person) are independent of each other.
        """
        static = 1.0 - np.maximum.accumulate(self.static_contact, axis=1)
        return static * self._people[0]

    @cached_property
    def hazard(self) -> np.ndarray:
        """p_k: the probability of a first collision during step k, so that
        ``S_k = prod_{i<=k} (1 - p_i)``."""
        prev = np.concatenate([np.ones((self.x.shape[0], 1)), self.survival[:, :-1]], axis=1)
        return 1.0 - self.survival / np.maximum(prev, 1e-300)

    @cached_property
    def cost_to_go(self) -> np.ndarray:
        """(N, T+1) cost-to-go at steps 0..T (zeros without a goal)."""
        if self.scene.goal is None:
            return np.zeros_like(self.roll.x)
        return self.scene.goal.cost_to_go(self.roll.x, self.roll.y)

    @cached_property
    def progress(self) -> np.ndarray:
        """sum_k S_k (c_{k-1} - c_k), (N,): the progress expected to be made (m)."""
        gain = -np.diff(self.cost_to_go, axis=1)
        return np.sum(self.survival * gain, axis=1)

    def progress_apart_from_people(self, max_risk: float) -> np.ndarray:
        """(N,) the progress each candidate would make if no one were there, counted only
        for those the map's obstacles leave at most ``max_risk`` of a collision (0 for the
        others): whether the way is open but for people (who move on: wait) or shut (a gap
        too narrow, a closed door: find another)."""
        gain = -np.diff(self.cost_to_go, axis=1)
        touched = np.maximum.accumulate(self.static_contact, axis=1)
        progress = np.sum((1.0 - touched) * gain, axis=1)
        return np.where(touched[:, -1] <= max_risk, progress, 0.0)

    def discounted_progress(self, discount: float) -> np.ndarray:
        """sum_k discount^k S_k (c_{k-1} - c_k), (N,): sooner progress is worth more."""
        gain = -np.diff(self.cost_to_go, axis=1)
        weights = discount ** np.arange(1, gain.shape[1] + 1)
        return (self.survival * gain) @ weights


_SQRT1_2 = 1.0 / math.sqrt(2.0)


@njit(cache=True)
def _static_contact(values, ox, oy, inv_res, x, y, offset, inv_sigma, out):  # pragma: no cover
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            clearance = bilinear_at(values, ox, oy, inv_res, x[i, k], y[i, k]) - offset
            out[i, k] = 0.5 * math.erfc(clearance * inv_sigma * _SQRT1_2)


@njit(cache=True, inline="always")
def _normal_tail(z):  # pragma: no cover - compiled
    """``(Phi(-|z|) / exp(-z^2 / 2))``: the Gaussian tail beyond ``|z|`` without its
    exponential factor (Abramowitz & Stegun 7.1.26, absolute error < 1.5e-7)."""
    t = 1.0 / (1.0 + 0.3275911 * abs(z) * _SQRT1_2)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                + t * (-1.453152027 + t * 1.061405429))))
    return 0.5 * poly


def _velocities(means: np.ndarray, dt_s: float) -> np.ndarray:
    """(P, T, 2) each person's forecast velocity (m/s) at each step, from the means (P, T, 2)
    (zero with a single step or a frozen forecast)."""
    if means.shape[1] < 2:
        return np.zeros_like(means)
    return np.ascontiguousarray(np.gradient(means, dt_s, axis=1))


@njit(cache=True, fastmath=True)
def _people_terms(x, y, means, cov3, reach, comfort_w, min_sigma, cutoff, comfort_sigma,
                  robot_vx, robot_vy, people_v, passive_w, free,
                  near):  # pragma: no cover - compiled
    n_people, steps = means.shape[0], means.shape[1]
    inv_2s2 = 0.5 / (comfort_sigma * comfort_sigma)
    near_cut = 4.0 * comfort_sigma
    # Per person and step: how far out either term can matter (the hazard: ``cutoff``
    # standard deviations in the widest direction beyond contact).
    far2 = np.empty((n_people, steps))
    for j in range(n_people):
        for k in range(steps):
            a, b, c = cov3[j, k, 0], cov3[j, k, 1], cov3[j, k, 2]
            lam = 0.5 * (a + c) + math.sqrt(0.25 * (a - c) ** 2 + b * b)
            far = reach[j] + max(cutoff * math.sqrt(max(lam, min_sigma * min_sigma)), near_cut)
            far2[j, k] = far * far
    worst = np.zeros(n_people)  # per person: the largest contact probability so far
    counted = np.zeros(n_people)  # ... and its rises, each weighted by who closed the gap
    for i in range(x.shape[0]):
        worst[:] = 0.0
        counted[:] = 0.0
        for k in range(steps):
            s = 0.0
            for j in range(n_people):
                dx = x[i, k] - means[j, k, 0]
                dy = y[i, k] - means[j, k, 1]
                d2 = dx * dx + dy * dy
                if d2 > far2[j, k]:
                    continue
                d2 = max(d2, 1e-24)
                d = math.sqrt(d2)
                var = (cov3[j, k, 0] * dx * dx + 2.0 * cov3[j, k, 1] * dx * dy
                       + cov3[j, k, 2] * dy * dy) / d2
                var = max(var, min_sigma * min_sigma)
                r = reach[j]
                z = (d - r) / math.sqrt(var)
                e = math.exp(-0.5 * z * z)
                # Two upper bounds on P(|relative position| < r); the smaller is used: the
                # half-plane tangent to the disc (tight when the spread is small), and the
                # disc's area times the density's largest value on it, r^2 / (2 var) (tight
                # when the spread is large).
                tail = _normal_tail(z) * e
                p = tail if z >= 0.0 else 1.0 - tail
                p = min(p, 0.5 * r * r / var * (e if z > 0.0 else 1.0))
                if p > worst[j]:
                    w = 1.0
                    if passive_w < 1.0:
                        # Closing speeds along the line of centres (dx, dy: person to robot).
                        robot_in = -(robot_vx[i, k] * dx + robot_vy[i, k] * dy) / d
                        person_in = (people_v[j, k, 0] * dx + people_v[j, k, 1] * dy) / d
                        if d < r:  # overlapping: the line of centres says little; speeds
                            robot_in = math.hypot(robot_vx[i, k], robot_vy[i, k])
                            person_in = math.hypot(people_v[j, k, 0], people_v[j, k, 1])
                        robot_in = max(robot_in, 0.0)
                        person_in = max(person_in, 0.0)
                        w = passive_w  # the robot is not closing in
                        if robot_in > 1e-6:
                            w += (1.0 - passive_w) * robot_in / (robot_in + person_in)
                    counted[j] += w * (p - worst[j])
                    worst[j] = p
                gap = d - r
                if gap < near_cut and comfort_w[j] > 0.0:
                    gap = max(gap, 0.0)
                    s += comfort_w[j] * math.exp(-gap * gap * inv_2s2)
            f = 1.0
            for j in range(n_people):
                f *= 1.0 - counted[j]
            free[i, k] = f
            near[i, k] = s


class Critic(Protocol):
    weight: float

    def __call__(self, ev: Evaluation) -> np.ndarray:
        """(N,) cost of each candidate, before ``weight``."""


@dataclass
class ProgressCritic:
    """Uncertainty-adjusted progress: each step's reduction of the cost-to-go counts as far as
    the robot is expected to survive to make it (a reward: negative cost), discounted by
    ``discount`` per step so that getting there sooner is better (without it, arriving in
    one second or in three would score the same)."""

    weight: float = 1.0
    discount: float = 0.97

    def __call__(self, ev: Evaluation) -> np.ndarray:
        return -ev.discounted_progress(self.discount)


@dataclass
class CollisionCritic:
    """Expected collision: the probability of a first collision at step k, summed
    (``sum_k S_{k-1} p_k = 1 - S_T``)."""

    weight: float = 70.0

    def __call__(self, ev: Evaluation) -> np.ndarray:
        return 1.0 - ev.survival[:, -1]


@dataclass
class JerkCritic:
    """Smoothness: mean squared jerk, each axis relative to its limit (0..1 per step)."""

    weight: float = 0.05

    def __call__(self, ev: Evaluation) -> np.ndarray:
        lim = ev.scene.limits
        jv = ev.roll.jerk[LINEAR] / lim.linear.max_jerk
        jw = ev.roll.jerk[ANGULAR] / lim.angular.max_jerk
        return np.mean(jv * jv + jw * jw, axis=1)


@dataclass
class ComfortCritic:
    """Personal space: metres driven near people, each weighted by a Gaussian of the gap
    between the robot's and the person's discs (``sigma_m``: ~0.45 m, the personal zone; the
    :class:`Evaluation` computes the nearness with it), ``sum_k |x_k - x_{k-1}| near_k``.

    It is the robot's own intrusion that counts: driving by someone, towards or alongside
    them. Standing still (waiting for people to pass, or at a goal beside someone) or turning
    in place costs nothing: the collision term keeps the robot out of their way. Counted in
    seconds instead (the same at 1 m/s), standing near people cost as much as the horizon is
    long, more than the progress left: the robot fled a crossing flow rather than wait for
    it, and never arrived at a goal 0.9 m from a person."""

    weight: float = 1.0
    sigma_m: float = 0.45

    def __call__(self, ev: Evaluation) -> np.ndarray:
        x, y = ev.roll.x, ev.roll.y
        dx, dy = x[:, 1:] - x[:, :-1], y[:, 1:] - y[:, :-1]
        return np.einsum("nk,nk->n", np.sqrt(dx * dx + dy * dy), ev.people_nearness)


SLANT_FREE = math.sin(math.radians(20.0))  # a sill crossed within 20 degrees of square


@dataclass
class FloorCritic:
    """Crossing a door sill or a rug edge slowly, straight across and without turning::

        dt sum_k on_k [((|v_k| - v_f)_+ / (v_max - v_f))^2
                       + ((|w_k| - w_f)_+ / (w_max - w_f))^2 + slant_k^2]

    where ``on_k`` is whether a wheel or a caster (``contacts_body_m``, body frame) is on a
    marked transition at step k (``Scene.floor``, ``FloorTransitions.strip_touched``), and
    ``slant_k`` the excess of ``|h_k . e_k|`` (the heading's part along the strip) over
    sin 20 degrees, scaled to 1 along the strip: 0 within 20 degrees of square, and charged
    for sills only. In the simulator a slow slanted crossing of a 2 cm sill sticks the robot
    on its edge (0.3 m/s, 23 degrees off square); with the robot's 2 cm of ground clearance
    even a square one does below 0.5 m/s, leaving the bathroom, while with 3 cm it crosses
    at 0.3 m/s. A soft cost, so the planner brakes and lines up before the sill within its
    jerk limits; speed and turn rate within (``v_f``, ``w_f``) cost nothing. Off by
    default (README: what the suite showed).
    """

    weight: float = 0.0
    speed_mps: float = 0.3
    turn_radps: float = 0.4
    contacts_body_m: tuple[tuple[float, float], ...] = ((0.0, 0.14), (0.0, -0.14),
                                                        (0.13, 0.0), (-0.13, 0.0))

    def __call__(self, ev: Evaluation) -> np.ndarray:
        sc = ev.scene
        if sc.floor is None or not len(sc.floor):
            return np.zeros(ev.x.shape[0])
        yaw = ev.roll.yaw[:, 1:]
        strip = sc.floor.strip_touched(ev.x, ev.y, yaw, np.array(self.contacts_body_m))
        on = strip >= 0
        if not on.any():
            return np.zeros(ev.x.shape[0])
        lim = sc.limits
        v = np.abs(ev.roll.vel[0, :, 1:])
        w = np.abs(ev.roll.vel[1, :, 1:])
        over_v = np.maximum(v - self.speed_mps, 0.0) / max(
            lim.linear.max_velocity - self.speed_mps, 1e-3)
        over_w = np.maximum(w - self.turn_radps, 0.0) / max(
            lim.angular.max_velocity - self.turn_radps, 1e-3)
        k = np.maximum(strip, 0)
        along = sc.floor.directions[k]  # (N, T, 2)
        # |sin| of the slant: the heading's part along the strip. Only a sill (a strip with
        # depth) catches a slanted chassis; a rug edge does not, and a robot that meets a
        # runner's corner at a slant must not find standing still cheaper than crossing.
        sin_slant = np.abs(np.cos(yaw) * along[..., 0] + np.sin(yaw) * along[..., 1])
        slant = (np.maximum(sin_slant - SLANT_FREE, 0.0) / (1.0 - SLANT_FREE)) ** 2
        slant *= sc.floor.half_widths_m[k] > 0.0
        return np.sum(on * (over_v**2 + over_w**2 + slant), axis=1) * sc.dt_s


@dataclass
class BlindSpotCritic:
    """Slow enough, where an unseen person could step out, to stop before meeting them::

        dt sum_k ((|v_k| - max(v_stop(g_k), v_creep))_+ / v_max)^2,
        g_k = d_k - r_robot - r_person

    where ``d_k`` is the walking distance from the nearest blind spot a person fits in to
    step k's position (``Scene.blind_spots``), and ``v_stop(g)`` the speed from which the
    robot stops within ``g`` (``reaction_s`` at speed, then ``decel_mps2``;
    :func:`~hearth_trajectory.blind_spots.stopping_speed_mps`). Where nothing is hidden
    nearby it costs nothing; beside a doorway passed at a slant, or leaving a room into a
    hallway it cannot see along, the robot slows as a careful driver would. A person who
    does step out is then tracked and avoided by the collision term at a speed that leaves
    it the room to. ``creep_mps`` is always allowed: in a doorway or an arch the hidden
    room is beside the robot (no gap), and without it standing still beats every way
    through (the robot stood in the apartment's arch for 30 s with nobody near).
    """

    weight: float = 0.0
    reaction_s: float = 0.3
    decel_mps2: float = 1.0
    creep_mps: float = 0.3
    person_radius_m: float = 0.25

    def __call__(self, ev: Evaluation) -> np.ndarray:
        sc = ev.scene
        if sc.blind_spots is None:
            return np.zeros(ev.x.shape[0])
        gap = (sc.blind_spots.sample(ev.x, ev.y) - sc.robot_radius_m
               - self.person_radius_m)
        v = np.abs(ev.roll.vel[0, :, 1:])
        allowed = np.maximum(stopping_speed_mps(gap, self.reaction_s, self.decel_mps2),
                             self.creep_mps)
        over = np.maximum(v - allowed, 0.0) / max(sc.limits.linear.max_velocity, 1e-3)
        return np.sum(over**2, axis=1) * sc.dt_s


@dataclass
class HeadingCritic:
    """Heading toward the path: ``1 - cos`` of the angle between the robot's heading and the
    way to go, averaged over steps; faded out within ``fade_m`` of the goal, where the way
    to go turns on the spot."""

    weight: float = 0.3
    fade_m: float = 0.5

    def __call__(self, ev: Evaluation) -> np.ndarray:
        goal = ev.scene.goal
        if goal is None:
            return np.zeros(ev.roll.n)
        ux, uy = goal.direction(ev.x, ev.y)
        yaw = ev.roll.yaw[:, 1:]
        misalign = 1.0 - (np.cos(yaw) * ux + np.sin(yaw) * uy)
        fade = np.clip(ev.cost_to_go[:, 1:] / self.fade_m, 0.0, 1.0)
        return np.mean(misalign * fade, axis=1)


@dataclass
class CostBreakdown:
    """Each critic's weighted cost (N,) and their total."""

    total: np.ndarray
    terms: dict[str, np.ndarray] = field(default_factory=dict)


def evaluate(critics: dict[str, Critic], ev: Evaluation) -> CostBreakdown:
    """The weighted sum of ``critics`` over the candidates of ``ev`` (a NaN cost, from a NaN
    input that slipped through, counts as infinitely bad)."""
    total = np.zeros(ev.roll.n)
    terms = {}
    for name, critic in critics.items():
        if critic.weight == 0.0:
            continue
        c = critic.weight * critic(ev)
        terms[name] = c
        total += c
    total[~np.isfinite(total)] = np.inf
    return CostBreakdown(total, terms)
