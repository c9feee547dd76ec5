"""The fusion node's end-to-end latency, IMU message -> the /odom that reflects it, over DDS.

The installed ``fusion_node`` runs in its own process (its installed params file,
``use_sim_time:=false``) on an isolated ROS domain. A probe in this process publishes
/wheel/joint_states at 50 Hz and /imu/data at 200 Hz (gravity on z), the robot at rest, and
once the node publishes /odom it steps the yaw rate between 0 and ``step_radps`` (a turn in
place: the gyro z and both wheels, consistent with the robot's wheel radius and separation).
Latency of a step: from publishing the first IMU message of the step to receiving the first
/odom whose twist.angular.z is past half the step. It includes both DDS hops, the EKF's
reorder window (``reorder_window_s``: a message is processed only once a message that much
newer has arrived) and the wait for the node's next /odom tick (``publish_rate_hz``).

For reference, the plain DDS hop node -> probe: receipt time minus /odom's header stamp
(the node stamps /odom with its clock just before publishing; same host clock).
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time

from hearth_eval.bench.node_process import installed_node, stop_node

GRAVITY_MPS2 = 9.80665
IMU_RATE_HZ = 200.0
WHEEL_RATE_HZ = 50.0


def measure(steps: int = 20, hold_s: float = 0.8, step_radps: float = 0.5,
            settle_s: float = 1.5, seed: int = 0) -> dict:
    """Run the node, step the yaw rate ``steps`` times (up and down alternately); figures."""
    import yaml
    from nav_msgs.msg import Odometry
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import Imu, JointState

    from hearth_common.msg_conversions import ns_to_stamp, stamp_to_ns
    from hearth_common.qos import SENSOR
    from hearth_common.testing import pick_domain_id, ros_context
    from hearth_description.robot_model import load_robot_params
    from hearth_eval.bench.stats import summarize_ms

    exe, params_file = installed_node("hearth_fusion", "fusion_node", "fusion.yaml")
    node_params = yaml.safe_load(params_file.read_text())["fusion"]["ros__parameters"]
    wheels = load_robot_params(node_params.get("robot_params_file") or None).wheels
    radius_m, sep_m = wheels.radius_m, wheels.separation_m
    left_joint, right_joint = node_params["left_wheel_joint"], node_params["right_wheel_joint"]

    domain_id = pick_domain_id()
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id))
    cmd = [str(exe), "--ros-args", "-r", "__node:=fusion", "--params-file", str(params_file),
           "-p", "use_sim_time:=false"]
    rng = random.Random(seed)

    odom_rx: list[tuple[int, float]] = []  # (receipt, monotonic ns; angular.z)
    hop_s: list[float] = []
    latencies_up_s: list[float] = []
    latencies_down_s: list[float] = []
    to_stamp_s: list[float] = []  # step publish (wall clock) -> stamp of that /odom
    missed = 0
    pending: dict = {}  # the step being timed: t_pub_ns, up, threshold

    with tempfile.TemporaryFile(mode="w+") as log, ros_context(domain_id) as ctx:
        probe = Node("bench_fusion_probe", context=ctx)
        imu_pub = probe.create_publisher(Imu, "/imu/data", SENSOR)
        js_pub = probe.create_publisher(JointState, "/wheel/joint_states", SENSOR)

        def on_odom(msg: Odometry) -> None:
            rx_mono = time.monotonic_ns()
            hop_s.append((time.time_ns() - stamp_to_ns(msg.header.stamp)) * 1e-9)
            w = msg.twist.twist.angular.z
            odom_rx.append((rx_mono, w))
            if pending and rx_mono > pending["t_pub_ns"]:
                crossed = w > pending["threshold"] if pending["up"] else w < pending["threshold"]
                if crossed:
                    lat = (rx_mono - pending["t_pub_ns"]) * 1e-9
                    (latencies_up_s if pending["up"] else latencies_down_s).append(lat)
                    to_stamp_s.append(
                        (stamp_to_ns(msg.header.stamp) - pending["t_pub_wall_ns"]) * 1e-9)
                    pending.clear()

        probe.create_subscription(Odometry, "/odom", on_odom, 10)
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(probe)

        # The commanded yaw rate, piecewise constant; the yaw (wheel positions) integrates it.
        state = {"w": 0.0, "yaw": 0.0, "t_ns": time.monotonic_ns()}

        def yaw_at(t_ns: int) -> float:
            return state["yaw"] + state["w"] * (t_ns - state["t_ns"]) * 1e-9

        def set_rate(t_ns: int, w: float) -> None:
            state["yaw"] = yaw_at(t_ns)
            state["w"], state["t_ns"] = w, t_ns

        def publish_imu(t_mono: int) -> None:
            msg = Imu()
            msg.header.stamp = ns_to_stamp(time.time_ns())
            msg.header.frame_id = "imu_link"
            msg.linear_acceleration.z = GRAVITY_MPS2
            msg.angular_velocity.z = state["w"]
            msg.orientation_covariance[0] = -1.0
            imu_pub.publish(msg)

        def publish_wheels(t_mono: int) -> None:
            wheel_rad = 0.5 * sep_m * yaw_at(t_mono) / radius_m
            msg = JointState()
            msg.header.stamp = ns_to_stamp(time.time_ns())
            msg.name = [left_joint, right_joint]
            msg.position = [-wheel_rad, wheel_rad]
            js_pub.publish(msg)

        imu_period = round(1e9 / IMU_RATE_HZ)
        wheel_period = round(1e9 / WHEEL_RATE_HZ)
        clock = {"imu": 0, "wheels": 0}

        def run_for(seconds: float, until=None, step_at_first_imu: float | None = None) -> bool:
            """Publish the streams for ``seconds`` (or until ``until()``), spinning between
            messages; with ``step_at_first_imu``, the next IMU message carries that rate."""
            deadline = time.monotonic_ns() + round(seconds * 1e9)
            while True:
                now = time.monotonic_ns()
                if until is not None and until():
                    return True
                if now >= deadline:
                    return until is None
                if child.poll() is not None:
                    raise RuntimeError("fusion_node exited early")
                if now >= clock["imu"]:
                    if step_at_first_imu is not None:
                        set_rate(now, step_at_first_imu)
                        pending.update(t_pub_ns=time.monotonic_ns(), t_pub_wall_ns=time.time_ns(),
                                       up=step_at_first_imu > 0.0,
                                       threshold=0.5 * step_radps)
                        step_at_first_imu = None
                    publish_imu(now)
                    clock["imu"] = max(clock["imu"] + imu_period, now - imu_period)
                if now >= clock["wheels"]:
                    publish_wheels(now)
                    clock["wheels"] = max(clock["wheels"] + wheel_period, now - wheel_period)
                wait_ns = min(clock["imu"], clock["wheels"], deadline) - time.monotonic_ns()
                executor.spin_once(timeout_sec=max(wait_ns, 0) * 1e-9)

        child = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            # Discovery: both subscriptions of the node and its /odom publisher matched.
            t0 = time.monotonic()
            if not run_for(30.0, until=lambda: imu_pub.get_subscription_count() > 0
                           and js_pub.get_subscription_count() > 0
                           and probe.count_publishers("/odom") > 0):
                raise RuntimeError("fusion_node not discovered within 30 s")
            if not run_for(20.0, until=lambda: len(odom_rx) >= 20):
                raise RuntimeError("no /odom from fusion_node within 20 s")
            discovery_s = time.monotonic() - t0
            run_for(settle_s)  # at rest: the rest detector settles
            hop_s.clear()
            for i in range(steps):
                target = step_radps if i % 2 == 0 else 0.0
                pending.clear()
                run_for(hold_s + rng.randrange(4) * imu_period * 1e-9,
                        step_at_first_imu=target)
                if pending:
                    missed += 1
                    pending.clear()
        except RuntimeError as exc:
            stop_node(child)
            log.seek(0)
            tail = log.read()[-2000:]
            raise RuntimeError(f"{exc}; fusion_node output:\n{tail}") from exc
        finally:
            stop_node(child)
            executor.remove_node(probe)
            executor.shutdown()
            probe.destroy_node()

    both = latencies_up_s + latencies_down_s
    return {
        "what": "fusion_node in its own process (installed executable and fusion.yaml, "
                "use_sim_time false) over Fast DDS: time from publishing the first /imu/data "
                f"message of a yaw-rate step (0 <-> {step_radps} rad/s, a turn in place, "
                "wheels turning consistently) to receiving the first /odom whose "
                "twist.angular.z is past half the step; includes both DDS hops, the EKF's "
                f"reorder window (reorder_window_s = {node_params['reorder_window_s']} s) and "
                f"the wait for the node's next /odom tick (publish_rate_hz = "
                f"{node_params['publish_rate_hz']} Hz)",
        "latency": summarize_ms(both),
        "latency_step_up": summarize_ms(latencies_up_s),
        "latency_step_down": summarize_ms(latencies_down_s),
        "latency_to_odom_stamp": summarize_ms(to_stamp_s),
        "latency_to_odom_stamp_what": "the node's part: step published -> header stamp of "
                                      "that /odom (inbound hop, reorder window, tick wait)",
        "steps": steps,
        "steps_missed": missed,
        "step_radps": step_radps,
        "imu_rate_hz": IMU_RATE_HZ,
        "wheel_rate_hz": WHEEL_RATE_HZ,
        "reorder_window_s": node_params["reorder_window_s"],
        "publish_rate_hz": node_params["publish_rate_hz"],
        "discovery_s": round(discovery_s, 3),
        "dds_hop_odom": {
            "what": "plain DDS hop for reference: /odom receipt minus its header stamp "
                    "(node clock just before publishing), every /odom during the steps",
            **summarize_ms(hop_s),
        },
    }
