"""How fast the fusion EKF core runs: updates per second on one core.

Two streams of synthetic data of a robot driving (``hearth_fusion.synthetic``): 200 Hz IMU
samples and 50 Hz wheel encoder readings. Each figure is the number of messages per second
that go through the public API (``add_imu`` / ``add_wheels``: validation, the reorder
buffer, the detectors, the prediction to the message's stamp and the gated update), the
median over ``--repeats`` runs. Goal: >= 20,000 updates/s for each.

Then the node's end-to-end latency from an IMU message to the /odom that reflects it
(``node_imu_to_odom_latency``): the installed fusion_node in its own process over real DDS,
yaw-rate steps published by a probe (``hearth_eval.bench.fusion_node_latency``). It includes
the node's /odom publish period and the EKF's reorder window. ``--no-node`` skips it (null).
"""

from __future__ import annotations

import argparse
import math
import time

GOAL_UPDATES_PER_S = 20_000


def _profile(t_s: float) -> tuple[float, float]:
    return 0.3 + 0.1 * math.sin(0.5 * t_s), 0.5 * math.sin(0.7 * t_s)


def _rate(ekf_factory, messages, kind: str) -> float:
    ekf = ekf_factory()
    add = ekf.add_imu if kind == "imu" else ekf.add_wheels
    t0 = time.perf_counter()
    for t_ns, payload in messages:
        add(t_ns, *payload)
    ekf.flush()
    return len(messages) / (time.perf_counter() - t0)


def run(argv: list[str]) -> dict:
    ap = argparse.ArgumentParser(prog="hearth bench fusion", description=__doc__)
    ap.add_argument("--seconds", type=float, default=20.0,
                    help="simulated seconds of data per run (default 20)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per figure (default 5)")
    ap.add_argument("--steps", type=int, default=20,
                    help="yaw-rate steps (up and down) for the node latency (default 20)")
    ap.add_argument("--hold-s", type=float, default=0.8,
                    help="seconds each yaw rate is held (default 0.8)")
    ap.add_argument("--no-node", action="store_true",
                    help="EKF core only: skip the node latency (null)")
    args = ap.parse_args(argv)

    import numpy as np

    from hearth_fusion.ekf import EkfParams, OdometryEKF, RobotGeometry
    from hearth_fusion.synthetic import GEOMETRY, generate

    geometry = RobotGeometry(**GEOMETRY)
    streams = generate(args.seconds, _profile, gyro_bias_radps=0.005, seed=0)
    imu = [(t, (a, g)) for t, a, g in streams.imu]
    wheels = [(t, (lft, rgt)) for t, lft, rgt in streams.wheels]

    def factory() -> OdometryEKF:
        return OdometryEKF(geometry, EkfParams())

    def factory_imu_only() -> OdometryEKF:
        # wheels off: the IMU stream alone, every sample a predict + gyro update
        return OdometryEKF(geometry, EkfParams(use_wheels=False))

    imu_rates = [_rate(factory_imu_only, imu, "imu") for _ in range(args.repeats)]
    wheel_rates = [_rate(factory, wheels, "wheels") for _ in range(args.repeats)]
    imu_med = float(np.median(imu_rates))
    wheel_med = float(np.median(wheel_rates))
    print(f"predict + IMU update:   {imu_med:10.0f} updates/s (median of {args.repeats})")
    print(f"predict + wheel update: {wheel_med:10.0f} updates/s (median of {args.repeats})")
    print(f"goal: >= {GOAL_UPDATES_PER_S} each")
    node_latency = None
    if not args.no_node:
        from hearth_eval.bench.fusion_node_latency import measure

        node_latency = measure(steps=args.steps, hold_s=args.hold_s)
        lat, hop = node_latency["latency"], node_latency["dds_hop_odom"]
        print(f"node IMU->/odom latency: median {lat.get('median_ms')} ms, "
              f"p95 {lat.get('p95_ms')} ms over {lat['n']} steps "
              f"({node_latency['steps_missed']} missed); DDS hop /odom: median "
              f"{hop.get('median_ms')} ms, p95 {hop.get('p95_ms')} ms")
    return {
        "what": "EKF core (hearth_fusion.ekf.OdometryEKF through add_imu/add_wheels, "
                "synthetic drive, one core): updates/s; node_imu_to_odom_latency: the "
                "fusion node over DDS (its own 'what'; null with --no-node)",
        "imu_updates_per_s": round(imu_med),
        "wheel_updates_per_s": round(wheel_med),
        "imu_updates_per_s_all": [round(r) for r in imu_rates],
        "wheel_updates_per_s_all": [round(r) for r in wheel_rates],
        "goal_updates_per_s": GOAL_UPDATES_PER_S,
        "goal_met": min(imu_med, wheel_med) >= GOAL_UPDATES_PER_S,
        "imu_messages": len(imu),
        "wheel_messages": len(wheels),
        "repeats": args.repeats,
        "node_imu_to_odom_latency": node_latency,
    }
