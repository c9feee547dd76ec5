"""How fast the MuJoCo simulator runs with every sensor on, and where its time goes.

The simulator of `config/sim.yaml` (cameras at its rates and resolutions) in the apartment
with 3 social-force people, the robot driving a wandering course through the hallway. Two
measurements:

- **core**: ``MujocoSim.step`` as fast as it goes for ``--seconds`` of simulated time: the
  achieved real-time factor, ms per stereo pair / depth frame / screen frame / physics step,
  and each part's share of the wall time;
- **node**: the ROS node itself (``SimNode``, real_time_factor raised so that it never
  waits, subscribers to every image in the same process) for ``--node-seconds`` of wall
  time: the factor it achieves with message conversion and publishing included.

The goal is a real-time factor of at least 0.5 on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

GOAL_RTF = 0.5


def _sim_yaml() -> Path:
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("hearth_sim")) / "config" / "sim.yaml"
    except (ImportError, LookupError, ValueError):
        import hearth_sim

        return Path(hearth_sim.__file__).resolve().parents[1] / "config" / "sim.yaml"


def _config(people: int, overrides: dict | None = None):
    from hearth_common.config import load_config, read_params_file
    from hearth_sim.config import SimConfig

    values = read_params_file(_sim_yaml(), "sim")
    values.update({"people": people, **(overrides or {})})
    return load_config(SimConfig, values), values


def _command(t_s: float) -> tuple[float, float]:
    """A wandering course: forward and back along the hallway, turning a little."""
    return 0.45 * math.sin(2 * math.pi * t_s / 16.0), 0.4 * math.sin(2 * math.pi * t_s / 7.0)


def _core(seconds: float, people: int) -> dict:
    from hearth_description.robot_model import load_robot_params
    from hearth_sim.home.loader import resolve_home
    from hearth_sim.mujoco_sim import MujocoSim, make_crowd

    cfg, _ = _config(people)
    params = load_robot_params(cfg.robot_params_file or None)
    home = resolve_home(cfg.home_file)
    t0 = time.perf_counter()
    sim = MujocoSim(home, params, cfg, make_crowd(home, cfg, params), cfg.seed)
    for _ in range(200):  # warm up: the people's first step compiles (numba), renderers open
        sim.step(0.0, 0.0)
    sim.render("stereo"), sim.render("tof"), sim.render("screen_camera")
    build_s = time.perf_counter() - t0
    sim.timing_s.clear()
    sim.counts.clear()
    n = round(seconds / sim.dt_s)
    frames = {"stereo": 0, "tof": 0, "screen_camera": 0}
    t0 = time.perf_counter()
    for k in range(n):
        out = sim.step(*_command(k * sim.dt_s))
        for key in frames:
            frames[key] += len(getattr(out, key))
    wall_s = time.perf_counter() - t0
    sim.close()

    def per_call_ms(key: str) -> float | None:
        count = sim.counts.get(key, 0)
        return round(sim.timing_s[key] / count * 1e3, 3) if count else None

    shares = {key: round(v / wall_s, 4) for key, v in sorted(sim.timing_s.items())}
    shares["loop_and_outputs"] = round(1.0 - sum(shares.values()), 4)
    intr = sim.cameras
    return {
        "sim_seconds": seconds,
        "wall_seconds": round(wall_s, 3),
        "build_and_warm_up_s": round(build_s, 3),
        "real_time_factor": round(seconds / wall_s, 3),
        "physics_rate_hz": cfg.physics_rate_hz,
        "ms_per_physics_step": per_call_ms("physics"),
        "ms_per_step_all_but_cameras": round(sum(
            sim.timing_s.get(k, 0.0) for k in ("physics", "sensors", "people",
                                               "mocap_and_disturbances")) / n * 1e3, 4),
        "ms_per_stereo_pair": per_call_ms("render_stereo"),
        "ms_per_depth_frame": per_call_ms("render_tof"),
        "ms_per_screen_frame": per_call_ms("render_screen_camera"),
        "ms_per_people_step": per_call_ms("people"),
        "frames": frames,
        "camera_rates_hz": sim.camera_rates_hz,
        "resolutions_px": {
            "stereo": [intr.stereo_left.intrinsics.width_px, intr.stereo_left.intrinsics.height_px],
            "tof": [intr.tof.intrinsics.width_px, intr.tof.intrinsics.height_px],
            "screen_camera": [intr.screen.intrinsics.width_px, intr.screen.intrinsics.height_px],
        },
        "shadow_map_px": cfg.shadow_map_px,
        "time_shares": shares,
    }


def _node(wall_seconds: float, people: int) -> dict:
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from hearth_common.qos import SENSOR
    from hearth_common.testing import Spinner, ros_context
    from hearth_sim.sim_node import SimNode

    _, values = _config(people, {"real_time_factor": 50.0, "rtf_log_period_s": 3600.0})
    with ros_context() as ctx:
        sim = SimNode(context=ctx, parameter_overrides=[
            Parameter(k, value=v) for k, v in values.items()])
        probe = Node("bench_sim_probe", context=ctx)
        images = {"n": 0}
        for topic in ("/stereo/left/image_raw", "/stereo/right/image_raw",
                      "/tof/depth/image_raw", "/screen/camera/image_raw"):
            probe.create_subscription(Image, topic, lambda _m: images.__setitem__(
                "n", images["n"] + 1), SENSOR)
        with Spinner([sim, probe]) as spin:
            spin.until(lambda: sim.sim.t_ns > 1_000_000_000, timeout_s=60.0)  # warm up
            start = (time.perf_counter(), sim.sim.t_ns)
            spin.until(lambda: time.perf_counter() - start[0] > wall_seconds,
                       timeout_s=wall_seconds + 10.0)
            end = (time.perf_counter(), sim.sim.t_ns)
        probe.destroy_node()
        sim.destroy_node()
    sim_s = (end[1] - start[1]) * 1e-9
    return {
        "wall_seconds": round(end[0] - start[0], 3),
        "sim_seconds": round(sim_s, 3),
        "real_time_factor": round(sim_s / (end[0] - start[0]), 3),
        "images_received_in_process": images["n"],
    }


def run(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="hearth bench sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds (core)")
    ap.add_argument("--node-seconds", type=float, default=20.0,
                    help="wall seconds of the node measurement (0: skip it)")
    ap.add_argument("--people", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    core = _core(args.seconds, args.people)
    node = _node(args.node_seconds, args.people) if args.node_seconds > 0 else None
    return {
        "bench": "sim",
        "what": "MuJoCo simulator, apartment, all sensors on (config/sim.yaml), "
                f"{args.people} people",
        "cpu_count": os.cpu_count(),
        "goal_real_time_factor": GOAL_RTF,
        "real_time_factor": core["real_time_factor"],
        "node_real_time_factor": node["real_time_factor"] if node else None,
        "meets_goal": core["real_time_factor"] >= GOAL_RTF and (
            node is None or node["real_time_factor"] >= GOAL_RTF),
        "physics_rate_hz": core["physics_rate_hz"],
        "ms_per_physics_step": core["ms_per_physics_step"],
        "ms_per_stereo_pair": core["ms_per_stereo_pair"],
        "ms_per_depth_frame": core["ms_per_depth_frame"],
        "core": core,
        "node": node,
    }
