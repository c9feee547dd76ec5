"""sim: the kinematic stand-in for the robot and its world; it is the graph's clock.

A wall-clock timer steps the world at ``physics_rate_hz`` × ``real_time_factor`` (never
faster; slower, and said so, when the machine cannot keep up). Every step publishes /clock;
sensors publish at their own rates, stamped with simulated time. Ground truth is base_link's
pose in the ``world`` frame, the simulator's fixed frame (the studio map's frame). The sim
runs on wall time itself (use_sim_time does not apply to it) and publishes no TF: the robot's
frames come from state_publisher and odometry from fusion.
"""

from __future__ import annotations

import math
import sys
import time

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import Imu, JointState
from std_msgs.msg import Float64, String

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import all_finite, ns_to_stamp, yaw_to_quaternion_msg
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED, SENSOR
from hearth_description.robot_model import (
    expand_xacro,
    load_robot_params,
    pan_joint,
    parse_urdf,
    wheel_joints,
)
from hearth_sim.config import SimConfig
from hearth_sim.diff_drive import DiffDriveState
from hearth_sim.encoders import EncoderReading
from hearth_sim.imu_model import ImuSample
from hearth_sim.simulator import CommandWatchdog, KinematicSimulator, PanReading, StepOutputs

NODE_CONFIG = SimConfig

WORLD_FRAME = "world"
BASE_FRAME = "base_link"
IMU_FRAME = "imu_link"

NOT_SIMULATED = (
    "hearth_sim is a kinematic stand-in: cameras and ToF are not rendered yet (the MuJoCo "
    "world arrives with issue 3), and there are no walls or people. Published: /clock, "
    "/imu/data, /wheel/joint_states, /screen/joint_states, /ground_truth/odom, /power_mode."
)


class SimNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("sim", **node_kwargs)
        self.cfg: SimConfig = declare_config(self, SimConfig)
        robot_yaml = self.cfg.robot_params_file or None
        try:
            params = load_robot_params(robot_yaml)
            joints = parse_urdf(expand_xacro(robot_yaml=robot_yaml))
            left, right = wheel_joints(joints)
            pan = pan_joint(joints)
        except ConfigError:
            raise
        except ValueError as exc:  # the URDF does not describe the robot the sim expects
            raise ConfigError(str(exc)) from exc
        self.wheel_joint_names = [left.name, right.name]
        self.pan_joint_name = pan.name

        self.sim = KinematicSimulator(params, self.cfg)
        self.watchdog = CommandWatchdog(round(self.cfg.cmd_timeout_s * 1e9))
        self.rejected_cmd_count = 0
        self._stopped_for_timeout = True  # nothing commanded yet
        self._imu_noise_var = (self.sim.imu.accel_noise_std_mps2 ** 2,
                               self.sim.imu.gyro_noise_std_radps ** 2)

        self.clock_pub = self.create_publisher(ClockMsg, "/clock", 10)
        self.imu_pub = self.create_publisher(Imu, "/imu/data", SENSOR)
        self.wheel_pub = self.create_publisher(JointState, "/wheel/joint_states", 10)
        self.screen_pub = self.create_publisher(JointState, "/screen/joint_states", 10)
        self.truth_pub = self.create_publisher(Odometry, "/ground_truth/odom", 10)
        self.power_pub = self.create_publisher(String, "/power_mode", LATCHED)
        self.create_subscription(Twist, "/cmd_vel", self._on_cmd_vel, 10)
        self.create_subscription(Float64, "/screen/pan_cmd", self._on_pan_cmd, 10)

        # Wall-clock timers: the sim is the clock, whatever use_sim_time says.
        step_s = self.cfg.step_ns * 1e-9
        tick_s = max(step_s / self.cfg.real_time_factor, 0.002)
        # Timer jitter of up to 50 ms (wall) is made up; a longer stall is dropped.
        self.sim.clock.max_steps_per_call = max(
            10, math.ceil(0.05 * self.cfg.real_time_factor / step_s)
        )
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(tick_s, self._tick, clock=steady)
        self.create_timer(self.cfg.rtf_log_period_s, self._log_rtf, clock=steady)

        self.power_pub.publish(String(data=self.cfg.power_mode))
        if self.get_parameter("use_sim_time").value:
            # The sim is the clock: following its own /clock would only cost a subscription.
            self.set_parameters([Parameter("use_sim_time", Parameter.Type.BOOL, False)])
            self.get_logger().info("use_sim_time ignored: the sim is the clock (it steps on "
                                   "wall time and stamps with simulated time)")
        self.get_logger().warning(NOT_SIMULATED)
        self.get_logger().info(
            f"physics {self.cfg.physics_rate_hz:g} Hz at real-time factor "
            f"{self.cfg.real_time_factor:g}; robot at ({self.cfg.initial_x_m:g}, "
            f"{self.cfg.initial_y_m:g}, {self.cfg.initial_yaw_rad:g} rad) in '{WORLD_FRAME}'; "
            f"wheels {self.wheel_joint_names}, pan '{self.pan_joint_name}'"
        )

    # --- inputs ----------------------------------------------------------------------------

    def _on_cmd_vel(self, msg: Twist) -> None:
        lin, ang = msg.linear, msg.angular
        if not all_finite(lin.x, lin.y, lin.z, ang.x, ang.y, ang.z):
            self.rejected_cmd_count += 1
            self.get_logger().warning(
                f"rejected /cmd_vel with a NaN or Inf field ({self.rejected_cmd_count} so far)",
                throttle_duration_sec=1.0,
            )
            return
        self.watchdog.set(lin.x, ang.z, self.sim.t_ns)

    def _on_pan_cmd(self, msg: Float64) -> None:
        if not math.isfinite(msg.data):
            self.rejected_cmd_count += 1
            self.get_logger().warning(
                f"rejected /screen/pan_cmd {msg.data} ({self.rejected_cmd_count} so far)",
                throttle_duration_sec=1.0,
            )
            return
        target = self.sim.pan.command(msg.data)
        if target != msg.data:
            self.get_logger().warning(
                f"/screen/pan_cmd {msg.data:.3f} rad is beyond the pan travel: going to "
                f"{target:.3f} rad", throttle_duration_sec=1.0,
            )

    # --- stepping --------------------------------------------------------------------------

    def _tick(self) -> None:
        for _ in range(self.sim.clock.steps_due(time.monotonic_ns())):
            t_ns = self.sim.t_ns
            timed_out = self.watchdog.timed_out(t_ns)
            if timed_out and not self._stopped_for_timeout:
                self.get_logger().info(
                    f"/cmd_vel silent for {self.cfg.cmd_timeout_s:g} s: stopping"
                )
            self._stopped_for_timeout = timed_out
            out = self.sim.step(*self.watchdog.command(t_ns))
            self._publish(out)

    def _publish(self, out: StepOutputs) -> None:
        stamp = ns_to_stamp(out.t_ns)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        if out.imu is not None:
            self.imu_pub.publish(self._imu_msg(out.imu, stamp))
        if out.wheels is not None:
            self.wheel_pub.publish(self._wheel_msg(out.wheels, stamp))
        if out.pan is not None:
            self.screen_pub.publish(self._pan_msg(out.pan, stamp))
        if out.ground_truth is not None:
            self.truth_pub.publish(self._truth_msg(out.ground_truth, stamp))

    def _log_rtf(self) -> None:
        factor = self.sim.clock.achieved_factor(time.monotonic_ns())
        if factor is None:
            return
        text = (f"sim time {self.sim.t_ns * 1e-9:.1f} s, real-time factor {factor:.2f} "
                f"(target {self.cfg.real_time_factor:g})")
        if factor < 0.9 * self.cfg.real_time_factor:
            self.get_logger().warning(text + ": this machine cannot keep up")
        else:
            self.get_logger().info(text)

    # --- messages --------------------------------------------------------------------------

    def _imu_msg(self, s: ImuSample, stamp) -> Imu:
        msg = Imu()
        msg.header.stamp = stamp
        msg.header.frame_id = IMU_FRAME
        msg.orientation_covariance[0] = -1.0  # no orientation estimate
        msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = (
            float(v) for v in s.gyro_radps
        )
        acc = msg.linear_acceleration
        acc.x, acc.y, acc.z = (float(v) for v in s.accel_mps2)
        accel_var, gyro_var = self._imu_noise_var
        for i in (0, 4, 8):
            msg.linear_acceleration_covariance[i] = accel_var
            msg.angular_velocity_covariance[i] = gyro_var
        return msg

    def _wheel_msg(self, r: EncoderReading, stamp) -> JointState:
        msg = JointState()
        msg.header.stamp = stamp
        msg.name = list(self.wheel_joint_names)
        msg.position = list(r.positions_rad)
        msg.velocity = list(r.velocities_radps)
        return msg

    def _pan_msg(self, r: PanReading, stamp) -> JointState:
        msg = JointState()
        msg.header.stamp = stamp
        msg.name = [self.pan_joint_name]
        msg.position = [r.position_rad]
        msg.velocity = [r.velocity_radps]
        return msg

    def _truth_msg(self, s: DiffDriveState, stamp) -> Odometry:
        msg = Odometry()
        msg.header.stamp = stamp
        msg.header.frame_id = WORLD_FRAME
        msg.child_frame_id = BASE_FRAME
        msg.pose.pose.position.x = s.x_m
        msg.pose.pose.position.y = s.y_m
        msg.pose.pose.orientation = yaw_to_quaternion_msg(s.yaw_rad)
        msg.twist.twist.linear.x = s.v_mps
        msg.twist.twist.angular.z = s.w_radps
        return msg


def main(args=None):
    sys.exit(run_node(SimNode, "sim", args))
