"""Shared pieces of the safety tests: the robot of robot.yaml, the ToF's mounting from its
URDF, a depth renderer, and a closed loop (robot motion with its motor board's braking,
synthetic depth)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hearth_common.config import load_config
from hearth_description.robot_model import RobotParams, expand_xacro, load_robot_params
from hearth_safety.config import SafetyConfig, controller_params
from hearth_safety.controller import ControllerParams, SafetyController, SafetyOutput
from hearth_safety.depth_projection import Mounting
from hearth_safety.mounting import frame_in_base
from hearth_safety.synthetic_depth import Chassis, DepthRenderer, Scene, tof_camera

ROBOT: RobotParams = load_robot_params()
MOUNTING: Mounting = frame_in_base(expand_xacro(), "tof_optical")
CAMERA = tof_camera(ROBOT.tof.width_px, ROBOT.tof.height_px, ROBOT.tof.hfov_rad)
FRAME_NS = round(1e9 / ROBOT.tof.rate_hz)  # 15 Hz
T0 = 1_000_000_000_000


def default_params(**overrides) -> ControllerParams:
    return controller_params(load_config(SafetyConfig, overrides), ROBOT)


def make_renderer() -> DepthRenderer:
    """The ToF of robot.yaml at its URDF mounting, seeing the chassis as the real one does."""
    chassis = Chassis(ROBOT.base.radius_m, ROBOT.base.ground_clearance_m,
                      ROBOT.base.ground_clearance_m + ROBOT.base.height_m)
    return DepthRenderer(CAMERA, MOUNTING, ROBOT.tof.min_range_m, ROBOT.tof.max_range_m,
                         chassis)


@dataclass
class ClosedLoop:
    """The controller driving a simulated robot through a synthetic scene.

    The robot is a unicycle whose motor board ramps its speed toward /cmd_vel within
    robot.yaml's acceleration limit (what ``hearth_sim.sim_drive`` models): it brakes at
    most at 1 m/s², whatever the command. Odometry is exact at 100 Hz; the planner asks a
    constant (v, w) and commits to its rollout, as ``hearth_trajectory`` does. Each ToF
    frame (15 Hz) is rendered from the robot's true pose, then processed; the command
    reaches the motors ``latency_s`` later.
    """

    renderer: DepthRenderer
    params: ControllerParams = field(default_factory=default_params)
    nav: tuple[float, float] = (0.8, 0.0)
    latency_s: float = 0.01
    pose: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    v: float = 0.0  # the wheels' speed
    w: float = 0.0

    def __post_init__(self) -> None:
        self.ctl = SafetyController(self.params, mounting=MOUNTING)
        self.ctl.set_camera(CAMERA)
        self.t_ns = T0
        self.cmd = (0.0, 0.0)
        self.pending: list[tuple[int, tuple[float, float]]] = []
        self.outputs: list[SafetyOutput] = []
        self.trace: list[tuple[int, float, float, float]] = []  # t, x, y, v

    def plan(self) -> tuple[np.ndarray, np.ndarray]:
        """The planner's rollout of its command from the current pose (0.1 s steps, 3 s)."""
        v, w = self.nav
        x, y, yaw = self.pose
        times = np.arange(1, 31) * 0.1
        yaws = yaw + w * times
        if abs(w) > 1e-9:
            xs = x + v / w * (np.sin(yaws) - math.sin(yaw))
            ys = y - v / w * (np.cos(yaws) - math.cos(yaw))
        else:
            xs, ys = x + v * times * math.cos(yaw), y + v * times * math.sin(yaw)
        return self.t_ns + np.round(times * 1e9).astype(np.int64), np.column_stack([xs, ys, yaws])

    def run(self, seconds: float, scene_at=lambda t_s: Scene(), dt_s: float = 0.001) -> None:
        """Step the loop for ``seconds``; ``scene_at(t_s)`` gives the world then."""
        dt_ns = round(dt_s * 1e9)
        lim = ROBOT.limits
        end = self.t_ns + round(seconds * 1e9)
        while self.t_ns < end:
            self.t_ns += dt_ns
            t = self.t_ns
            k = (t - T0) // dt_ns
            if k % 10 == 0:  # odometry, command and plan
                self.ctl.add_odom(t, *self.pose, self.v, self.w, t)
                self.ctl.set_command(*self.nav, t)
                self.ctl.set_plan(*self.plan(), t)
            if (t - T0) % FRAME_NS < dt_ns:
                depth = self.renderer.render(scene_at((t - T0) * 1e-9), tuple(self.pose))
                out = self.ctl.process_depth(t, depth, t)
                self.outputs.append(out)
                self.pending.append((t + round(self.latency_s * 1e9),
                                     (out.linear_mps, out.angular_radps)))
            elif k % 20 == 0:
                out = self.ctl.tick(t)
                if out is not None:
                    self.outputs.append(out)
                    self.pending.append((t + round(self.latency_s * 1e9),
                                         (out.linear_mps, out.angular_radps)))
            while self.pending and self.pending[0][0] <= t:
                self.cmd = self.pending.pop(0)[1]
            # The motor board: ramp toward the command within the acceleration limits.
            dv = lim.max_linear_accel_mps2 * dt_s
            dw = lim.max_angular_accel_radps2 * dt_s
            self.v += min(max(self.cmd[0] - self.v, -dv), dv)
            self.w += min(max(self.cmd[1] - self.w, -dw), dw)
            x, y, yaw = self.pose
            self.pose = [x + self.v * dt_s * math.cos(yaw), y + self.v * dt_s * math.sin(yaw),
                         yaw + self.w * dt_s]
            self.trace.append((t, self.pose[0], self.pose[1], self.v))
