"""hearth_fusion's EKF on the simulator's IMU and wheels, beside the closed loop (ROS-free).

The fusion node's core (``OdometryEKF`` with the node's default parameters, the robot's
geometry, the IMU rotated into base_link as the URDF mounts it) is fed every IMU and
encoder sample the simulator delivers, in delivery order, exactly as the node would get them
over /imu/data and /wheel/joint_states (injected latency included). The planner in the loop
does not use its estimate (it plans on /odom as a perfect odometry would give it, and in the
stack V-SLAM corrects the drift): the estimate is only measured.

**Fusion drift** of an episode (:meth:`LoopFusion.drift`): the odom frame starts at the
robot's true start pose; the error between the estimate, so placed, and the true pose at the
end of the episode, in metres and as a percentage of the true distance driven, and the
heading error in degrees. It is fusion's dead-reckoning drift (wheels and gyro, no visual
odometry), not the stack's pose error: that is ATE, which needs V-SLAM (``./hearth demo``,
``./hearth eval slam``). The EKF's rejections by reason come with it: wheel samples that
arrive later than the EKF's ``reorder_window_s`` behind the IMU's are rejected as too old,
and the drift with them says what that costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FusionDrift:
    distance_m: float  # true distance driven
    position_error_m: float  # at the end
    drift_percent: float  # position error / distance, %
    heading_error_deg: float  # at the end
    rejected: tuple[tuple[str, int], ...] = ()  # the EKF's rejections by reason (non-zero)

    def as_dict(self) -> dict:
        out = {k: round(float(v), 4) for k, v in self.__dict__.items() if k != "rejected"}
        return {**out, "rejected": dict(self.rejected)}


def _compose(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple:
    c, s = math.cos(a[2]), math.sin(a[2])
    return (a[0] + c * b[0] - s * b[1], a[1] + s * b[0] + c * b[1], a[2] + b[2])


class LoopFusion:
    """The EKF fed from the simulator's step outputs (see the module docstring)."""

    def __init__(self, robot, urdf_xml: str):
        from hearth_common.config import load_config
        from hearth_fusion.config import FusionConfig
        from hearth_fusion.ekf import OdometryEKF, RobotGeometry
        from hearth_safety.mounting import frame_in_base

        cfg = load_config(FusionConfig, {})
        top_wheel_speed_mps = robot.max_wheel_speed_radps * robot.wheels.radius_m
        self.ekf = OdometryEKF(
            RobotGeometry(wheel_radius_m=robot.wheels.radius_m,
                          wheel_separation_m=robot.wheels.separation_m,
                          accel_full_scale_mps2=robot.imu.accel_full_scale_mps2,
                          gyro_full_scale_radps=robot.imu.gyro_full_scale_radps),
            cfg.ekf_params(cfg.implausible_speed_factor * top_wheel_speed_mps))
        rot = np.asarray(frame_in_base(urdf_xml, "imu_link").rotation, dtype=float)
        self._imu_rotation = None if np.allclose(rot, np.eye(3), atol=1e-12) else rot
        self.t_ns: list[int] = []
        self.poses: list[tuple[float, float, float]] = []  # odom frame

    def add(self, out) -> None:
        """The IMU and wheel samples of one ``MujocoSim.step`` output."""
        for s in out.imu:
            accel, gyro = s.accel_mps2, s.gyro_radps
            if self._imu_rotation is not None:
                accel, gyro = self._imu_rotation @ accel, self._imu_rotation @ gyro
            self.ekf.add_imu(int(s.t_ns), tuple(map(float, accel)), tuple(map(float, gyro)))
        for w in out.wheels:
            left, right = w.reading.positions_rad
            self.ekf.add_wheels(int(w.t_ns), float(left), float(right))
            self._record()

    def _record(self) -> None:
        st = self.ekf.state()
        if st.t_ns > 0 and (not self.t_ns or st.t_ns > self.t_ns[-1]):
            self.t_ns.append(int(st.t_ns))
            self.poses.append((float(st.x_m), float(st.y_m), float(st.yaw_rad)))

    def drift(self, start_pose: tuple[float, float, float], truth_t_ns: np.ndarray,
              truth_pose: np.ndarray) -> FusionDrift | None:
        """The episode's drift (module docstring) against the true poses (N, 3) at
        ``truth_t_ns``; None when the filter gave no pose."""
        self.ekf.flush()
        self._record()
        if not self.t_ns or len(truth_t_ns) < 2:
            return None
        t_end = min(self.t_ns[-1], int(truth_t_ns[-1]))
        k = int(np.searchsorted(self.t_ns, t_end, side="right")) - 1
        j = int(np.searchsorted(truth_t_ns, t_end, side="right")) - 1
        if k < 0 or j < 0:
            return None
        est = _compose(start_pose, self.poses[k])
        true = truth_pose[j]
        err = math.hypot(est[0] - true[0], est[1] - true[1])
        head = abs((est[2] - true[2] + math.pi) % (2 * math.pi) - math.pi)
        dist = float(np.sum(np.hypot(*np.diff(truth_pose[: j + 1, :2], axis=0).T)))
        rejected = tuple((k, int(v)) for k, v in self.ekf.rejected.items() if v)
        return FusionDrift(dist, err, 100.0 * err / max(dist, 1e-9), math.degrees(head),
                           rejected)
