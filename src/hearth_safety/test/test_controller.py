"""The controller's inputs and staleness, frame by frame on a fixed clock (ROS-free).

Acceptance 3 at the core: each stale input produces a stop within one cycle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from safety_harness import CAMERA, FRAME_NS, MOUNTING, T0, default_params

from hearth_safety.controller import Mode, SafetyController
from hearth_safety.synthetic_depth import Box, Scene

WATCHDOG_NS = 20_000_000  # 50 Hz


class Bench:
    """A controller fed by hand: the robot parked at the origin of odom, a planner asking
    ``cmd`` with a straight committed plan, a floor-only depth frame each 15 Hz frame."""

    def __init__(self, renderer, **params) -> None:
        self.params = default_params(**params)
        self.ctl = SafetyController(self.params, mounting=MOUNTING)
        self.ctl.set_camera(CAMERA)
        self.floor = renderer.render(Scene())
        self.renderer = renderer
        self.t = T0
        self.send = {"odom": True, "plan": True, "cmd": True, "depth": True}
        self.cmd = (0.5, 0.0)
        self.scene: Scene | None = None

    def plan(self) -> tuple[np.ndarray, np.ndarray]:
        times = np.arange(1, 31) * 0.1
        poses = np.column_stack([self.cmd[0] * times, np.zeros(30), np.zeros(30)])
        return self.t + np.round(times * 1e9).astype(np.int64), poses

    def step(self) -> list:
        """One watchdog period of 20 ms: inputs, then the frame (if one is due) or the
        watchdog. Returns the outputs it produced."""
        self.t += WATCHDOG_NS
        if self.send["odom"]:
            self.ctl.add_odom(self.t, 0.0, 0.0, 0.0, 0.0, 0.0, self.t)
        if self.send["cmd"]:
            self.ctl.set_command(*self.cmd, self.t)
        if self.send["plan"]:
            self.ctl.set_plan(*self.plan(), self.t)
        outs = []
        if self.send["depth"] and (self.t - T0) % FRAME_NS < WATCHDOG_NS:
            depth = self.floor if self.scene is None else self.renderer.render(self.scene)
            outs.append(self.ctl.process_depth(self.t, depth, self.t))
        out = self.ctl.tick(self.t)
        if out is not None:
            outs.append(out)
        return outs

    def run(self, seconds: float) -> list:
        outs = []
        for _ in range(round(seconds * 1e9 / WATCHDOG_NS)):
            outs += self.step()
        return outs


def test_with_every_input_fresh_the_command_is_followed(renderer):
    b = Bench(renderer)
    outs = b.run(2.0)
    assert outs[-1].mode is Mode.NOMINAL
    assert outs[-1].linear_mps == pytest.approx(0.5)
    assert outs[-1].ttc_s == math.inf
    # The frames drive the output: the watchdog stays quiet while nothing is stale.
    assert len([o for o in outs if o.mode is not Mode.STALE]) == pytest.approx(2.0 * 15, abs=2)


@pytest.mark.parametrize(("silent", "timeout_key", "says"), [
    ("depth", "depth_timeout_s", "depth frame stale"),
    ("plan", "plan_timeout_s", "/local_plan stale"),
    ("cmd", "cmd_timeout_s", "/cmd_vel_nav stale"),
])
def test_a_stale_input_starts_a_controlled_stop_within_one_cycle(renderer, silent, timeout_key,
                                                                  says):
    b = Bench(renderer)
    b.run(2.0)
    b.send[silent] = False
    outs = b.run(1.5)
    timeout = getattr(b.params, timeout_key)
    late = [o for o in outs if o.ages_s[silent] > timeout]
    assert all(o.mode is not Mode.STALE for o in outs if o.ages_s[silent] <= timeout)
    # The first output past the timeout is at most one watchdog period late, and stops.
    first = late[0]
    assert first.ages_s[silent] <= timeout + WATCHDOG_NS * 1e-9
    assert all(o.mode is Mode.STALE and says in o.reason for o in late), late[0].reason
    assert first.target_linear_mps == 0.0 and first.linear_mps < 0.5
    assert not any(o.emergency for o in late)  # controlled: within the jerk limit
    assert late[-1].linear_mps == 0.0


def test_silent_odometry_is_an_emergency_stop_within_one_cycle(renderer):
    b = Bench(renderer)
    b.run(2.0)
    b.send["odom"] = False
    outs = b.run(0.5)
    assert all(o.mode is Mode.NOMINAL for o in outs
               if o.ages_s["odom"] <= b.params.odom_timeout_s)
    first = next(o for o in outs if o.ages_s["odom"] > b.params.odom_timeout_s)
    assert first.ages_s["odom"] <= b.params.odom_timeout_s + WATCHDOG_NS * 1e-9
    assert first.mode is Mode.STALE and first.emergency
    assert first.reason.startswith("/odom silent")
    assert (first.linear_mps, first.angular_radps) == (0.0, 0.0)


def test_every_stale_input_is_reported(renderer):
    b = Bench(renderer)
    b.run(1.0)
    for key in b.send:
        b.send[key] = False
    out = b.run(0.5)[-1]
    for says in ("/odom silent", "depth frame stale", "/local_plan stale", "/cmd_vel_nav stale"):
        assert says in out.reason


def test_nothing_received_yet_is_stale_and_still(renderer):
    ctl = SafetyController(default_params(), mounting=MOUNTING)
    out = ctl.tick(T0)
    assert out.mode is Mode.STALE and (out.linear_mps, out.angular_radps) == (0.0, 0.0)
    assert "no /odom received" in out.reason and "no usable depth frame" in out.reason


def test_nan_and_inf_commands_are_never_forwarded(renderer):
    b = Bench(renderer)
    b.run(1.0)
    for bad in (math.nan, math.inf, -math.inf):
        assert not b.ctl.set_command(bad, 0.0, b.t)
        assert not b.ctl.set_command(0.3, bad, b.t)
    assert b.ctl.counts["cmd_nonfinite"] == 6
    b.cmd = (math.nan, 0.0)  # the planner goes on sending NaN
    outs = b.run(1.0)
    assert all(math.isfinite(o.linear_mps) and math.isfinite(o.angular_radps) for o in outs)
    assert outs[-1].linear_mps == 0.0
    assert "non-finite" in outs[-1].reason


def test_an_all_nan_frame_counts_as_no_data(renderer):
    b = Bench(renderer)
    b.run(1.0)
    b.floor = np.full_like(b.floor, np.nan)
    outs = b.run(0.5)
    assert b.ctl.counts["depth_no_valid_pixels"] >= 5
    assert outs[-1].mode is Mode.STALE and "depth frame stale" in outs[-1].reason


def test_nan_pixels_are_ignored(renderer):
    b = Bench(renderer)
    depth = renderer.render(Scene(boxes=(Box((0.8, 0.0, 0.1), (0.2, 0.4, 0.2)),)))
    rng = np.random.default_rng(0)
    holes = depth.copy()
    holes[rng.random(depth.shape) < 0.3] = np.nan  # 30 % dropouts
    b.ctl.add_odom(b.t, 0.0, 0.0, 0.0, 0.0, 0.0, b.t)
    b.ctl.process_depth(b.t, holes, b.t)
    assert b.ctl.counts["depth_frames_used"] == 1
    assert b.ctl.map.stats["cells_seen"] > 10


def test_frames_without_intrinsics_of_the_wrong_size_or_out_of_order_are_rejected(renderer):
    ctl = SafetyController(default_params(), mounting=MOUNTING)
    floor = renderer.render(Scene())
    ctl.process_depth(T0, floor, T0)
    assert ctl.counts["depth_without_camera_info"] == 1
    ctl.set_camera(CAMERA)
    ctl.process_depth(T0, floor[:, :100], T0)
    assert ctl.counts["depth_rejected"] == 1
    ctl.process_depth(T0 + 10, floor, T0 + 10)
    ctl.process_depth(T0 + 5, floor, T0 + 20)  # older than the one before
    assert ctl.counts["depth_rejected"] == 2
    ctl.process_depth(T0 + 5_000_000_000, floor, T0 + 30)  # from the future
    assert ctl.counts["depth_rejected"] == 3
    assert ctl.counts["depth_frames_used"] == 1


def test_a_plan_with_nan_or_stamps_going_back_is_rejected_and_ages_out(renderer):
    b = Bench(renderer)
    b.run(1.0)
    stamps, poses = b.plan()
    poses[3, 0] = math.nan
    assert b.ctl.set_plan(stamps, poses, b.t) == "a pose is not finite"
    stamps, poses = b.plan()
    assert b.ctl.set_plan(stamps[::-1], poses, b.t) == "pose stamps do not increase"
    b.send["plan"] = False
    out = b.run(0.5)[-1]
    assert b.ctl.counts["plan_rejected"] == 2
    assert out.mode is Mode.STALE and "/local_plan stale" in out.reason


def test_a_command_above_the_robots_limits_is_scaled_keeping_the_curvature(renderer):
    b = Bench(renderer)
    b.cmd = (2.0, 1.0)
    out = b.run(3.0)[-1]
    assert out.mode is Mode.SLOWING and "linear 2.00 m/s above max 1.00" in out.reason
    assert (out.linear_mps, out.angular_radps) == pytest.approx((1.0, 0.5))


def test_an_obstacle_in_the_plan_gives_the_time_to_collision(renderer):
    b = Bench(renderer)
    b.cmd = (0.8, 0.0)
    b.scene = Scene(boxes=(Box((0.9, 0.0, 0.1), (0.2, 0.6, 0.2)),))
    out = b.run(1.0)[-1]
    # Near face at 0.8 m; the padded footprint's front at 0.175 + 0.03 m: about 0.6 m free,
    # reached at the plan's 0.8 m/s in 0.74 s.
    free = 0.8 - 0.175 - b.params.footprint_padding_m
    assert out.free_distance_m == pytest.approx(free, abs=0.03)
    assert out.ttc_s == pytest.approx(free / 0.8, abs=0.04)
    assert out.mode is Mode.SLOWING  # (parked: the pose does not change)


def test_a_clock_jumping_back_forgets_the_inputs_and_stops(renderer):
    b = Bench(renderer)
    b.run(1.0)
    out = b.ctl.tick(T0)  # earlier than the inputs
    assert out.mode is Mode.STALE and "no /odom received" in out.reason
    assert b.ctl.counts["clock_jumps_back"] == 1
    assert (out.linear_mps, out.angular_radps) == (0.0, 0.0)
