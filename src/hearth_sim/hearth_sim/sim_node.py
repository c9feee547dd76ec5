"""sim: the robot in its home, simulated in MuJoCo; it is the graph's clock.

A wall-clock timer steps ``hearth_sim.mujoco_sim.MujocoSim`` at ``physics_rate_hz`` x
``real_time_factor`` (never faster; slower, and said so, when the machine cannot keep up:
rendering the cameras is the cost). /clock goes out at ``clock_rate_hz``, every sensor at its
own rate, stamped with simulated time; images and camera_info carry the URDF's optical
frames. Ground truth (the robot's pose and twist, the people, the robot's contacts) is in the
``world`` frame, the frame of the home file (and of its exported map). The sim runs on wall
time itself (use_sim_time does not apply to it) and publishes no TF: the robot's frames come
from state_publisher and odometry from fusion.

Disturbances on request: ``/sim/lift`` (std_srvs/Trigger: pick the robot up, hold it, put it
down ``lift_offset`` away), ``/sim/lift_to`` (geometry_msgs/PoseStamped in ``world``: put it
down there), ``/sim/power_mode`` (std_msgs/String normal|low), ``/sim/darkness``
(std_srvs/SetBool); and on schedule (``disturbance_schedule``).

At start it says where it set the robot down on /initialpose (latched), as an operator does
with rviz's "2D Pose Estimate", so that localization can start from the right place.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
from geometry_msgs.msg import PoseStamped, PoseWithCovarianceStamped, Twist
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import CameraInfo, Image, Imu, JointState
from std_msgs.msg import Float64, String
from std_srvs.srv import SetBool, Trigger

from hearth_common.config import ConfigError
from hearth_common.msg_conversions import all_finite, ns_to_stamp, quaternion_msg_to_yaw
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED, SENSOR
from hearth_description.robot_model import expand_xacro, load_robot_params
from hearth_msgs.msg import PersonState, PersonStateArray, RobotContact, RobotContactArray
from hearth_sim.config import SimConfig
from hearth_sim.home.loader import apply_changes, load_changes, resolve_home
from hearth_sim.mujoco_sim import (
    CameraFrame,
    Contact,
    MujocoSim,
    PanSample,
    PeopleTruth,
    RobotTruth,
    StepOutputs,
    WheelSample,
    make_crowd,
)
from hearth_sim.sensors.cameras import MuJoCoCamera, camera_info_fields
from hearth_sim.sim_clock import SimClock
from hearth_sim.sim_drive import CommandWatchdog
from hearth_sim.sim_imu import ImuSample

NODE_CONFIG = SimConfig

WORLD_FRAME = "world"
MAP_FRAME = "map"
BASE_FRAME = "base_link"
IMU_FRAME = "imu_link"

NOT_SIMULATED = (
    "hearth_sim (MuJoCo) does not simulate: lens distortion, exposure control, motion blur "
    "and sensor noise other than white (images are ideal rectified pinholes with read "
    "noise); the stereo pair sees visible light, not IR, except in darkness; ToF noise, "
    "multipath and flying pixels (its depth is exact); wheel slip other than each rug's "
    "configured fraction and the tyres' creep; batteries (low power only turns the cameras "
    "off); people are kinematic capsules (they push the robot, never the reverse)."
)


def _image(frame_id: str, img: np.ndarray, encoding: str, stamp) -> Image:
    msg = Image()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(img.shape[0]), int(img.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 1 if sys.byteorder == "big" else 0
    msg.step = int(img.strides[0])
    msg.data = np.ascontiguousarray(img).tobytes()
    return msg


def _camera_info(camera: MuJoCoCamera, frame_id: str, baseline_m: float | None = None,
                 right: bool = False) -> CameraInfo:
    fields = camera_info_fields(camera.intrinsics, frame_id, baseline_m, right)
    msg = CameraInfo()
    msg.header.frame_id = fields.pop("frame_id")
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


class SimNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("sim", **node_kwargs)
        cfg: SimConfig = declare_config(self, SimConfig)
        self.cfg = cfg
        robot_yaml = cfg.robot_params_file or None
        try:
            params = load_robot_params(robot_yaml)
            urdf = expand_xacro(robot_yaml=robot_yaml)
            home = resolve_home(cfg.home_file)
            if cfg.changes_file:
                home = apply_changes(home, load_changes(cfg.changes_file), cfg.changes_file)
            people = make_crowd(home, cfg, params)
            self.sim = MujocoSim(home, params, cfg, people, cfg.seed, urdf_xml=urdf)
        except ConfigError:
            raise
        except ValueError as exc:  # a bad home, changes or URDF file: one line naming it
            raise ConfigError(str(exc)) from exc
        sim = self.sim
        self.wheel_joint_names = list(sim.robot.wheel_joints)
        self.pan_joint_name = sim.robot.pan_joint
        self.clock = SimClock(cfg.step_ns, cfg.real_time_factor)
        self.watchdog = CommandWatchdog(round(cfg.cmd_timeout_s * 1e9))
        self.rejected_cmd_count = 0
        self._stopped_for_timeout = True  # nothing commanded yet
        self._imu_noise_var = (sim.imu.accel_noise_std_mps2 ** 2,
                               sim.imu.gyro_noise_std_radps ** 2)

        cams, frames = sim.cameras, sim.cameras.frames
        baseline = params.stereo.baseline_m
        self._info = {
            "left": _camera_info(cams.stereo_left, frames[cams.stereo_left.name]),
            "right": _camera_info(cams.stereo_right, frames[cams.stereo_right.name], baseline,
                                  right=True),
            "tof": _camera_info(cams.tof, frames[cams.tof.name]),
            "screen": _camera_info(cams.screen, frames[cams.screen.name]),
        }

        self.clock_pub = self.create_publisher(ClockMsg, "/clock", 10)
        self.imu_pub = self.create_publisher(Imu, "/imu/data", SENSOR)
        self.wheel_pub = self.create_publisher(JointState, "/wheel/joint_states", 10)
        self.screen_pub = self.create_publisher(JointState, "/screen/joint_states", 10)
        self.image_pubs = {
            "left": self.create_publisher(Image, "/stereo/left/image_raw", SENSOR),
            "right": self.create_publisher(Image, "/stereo/right/image_raw", SENSOR),
            "tof": self.create_publisher(Image, "/tof/depth/image_raw", SENSOR),
            "screen": self.create_publisher(Image, "/screen/camera/image_raw", SENSOR),
        }
        self.info_pubs = {
            "left": self.create_publisher(CameraInfo, "/stereo/left/camera_info", SENSOR),
            "right": self.create_publisher(CameraInfo, "/stereo/right/camera_info", SENSOR),
            "tof": self.create_publisher(CameraInfo, "/tof/camera_info", SENSOR),
            "screen": self.create_publisher(CameraInfo, "/screen/camera/camera_info", SENSOR),
        }
        self.power_pub = self.create_publisher(String, "/power_mode", LATCHED)
        self.truth_pub = self.create_publisher(Odometry, "/ground_truth/odom", 10)
        self.people_pub = self.create_publisher(PersonStateArray, "/ground_truth/people", 10)
        self.contacts_pub = self.create_publisher(RobotContactArray, "/ground_truth/contacts",
                                                  10)
        self.initial_pose_pub = self.create_publisher(PoseWithCovarianceStamped, "/initialpose",
                                                      LATCHED)
        self.create_subscription(Twist, "/cmd_vel", self._on_cmd_vel, 10)
        self.create_subscription(Float64, "/screen/pan_cmd", self._on_pan_cmd, 10)
        self.create_subscription(String, "/sim/power_mode", self._on_power_mode, 10)
        self.create_subscription(PoseStamped, "/sim/lift_to", self._on_lift_to, 10)
        self.create_service(Trigger, "/sim/lift", self._on_lift)
        self.create_service(SetBool, "/sim/darkness", self._on_darkness)

        # Wall-clock timers: the sim is the clock, whatever use_sim_time says.
        step_s = cfg.step_ns * 1e-9
        tick_s = max(step_s / cfg.real_time_factor, 0.002)
        # Timer jitter of up to 50 ms (wall) is made up; a longer stall is dropped.
        self.clock.max_steps_per_call = max(10, math.ceil(0.05 * cfg.real_time_factor / step_s))
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(tick_s, self._tick, clock=steady)
        self.create_timer(cfg.rtf_log_period_s, self._log_rtf, clock=steady)

        if self.get_parameter("use_sim_time").value:
            # The sim is the clock: following its own /clock would only cost a subscription.
            self.set_parameters([Parameter("use_sim_time", Parameter.Type.BOOL, False)])
            self.get_logger().info("use_sim_time ignored: the sim is the clock (it steps on "
                                   "wall time and stamps with simulated time)")
        self.get_logger().warning(NOT_SIMULATED)
        truth = sim.robot_truth()
        self.initial_pose_pub.publish(self._initial_pose_msg(truth))
        rates = sim.camera_rates_hz
        self.get_logger().info(
            f"home '{home.name}'" + (f" + changes {cfg.changes_file}" if cfg.changes_file else "")
            + f", {len(people) if people is not None else 0} people; physics "
            f"{cfg.physics_rate_hz:g} Hz at real-time factor {cfg.real_time_factor:g}; robot "
            f"at ({truth.position_m[0]:.2f}, {truth.position_m[1]:.2f}, "
            f"{truth.yaw_rad:.2f} rad) in '{WORLD_FRAME}'; cameras "
            + ("off" if not cfg.render_cameras else
               f"stereo {rates['stereo']:g} Hz, ToF {rates['tof']:g} Hz, screen "
               f"{rates['screen_camera']:g} Hz"))

    # --- inputs ----------------------------------------------------------------------------

    def _reject(self, what: str) -> None:
        self.rejected_cmd_count += 1
        self.get_logger().warning(f"rejected {what} ({self.rejected_cmd_count} so far)",
                                  throttle_duration_sec=1.0)

    def _on_cmd_vel(self, msg: Twist) -> None:
        lin, ang = msg.linear, msg.angular
        if not all_finite(lin.x, lin.y, lin.z, ang.x, ang.y, ang.z):
            self._reject("/cmd_vel with a NaN or Inf field")
            return
        self.watchdog.set(lin.x, ang.z, self.sim.t_ns)

    def _on_pan_cmd(self, msg: Float64) -> None:
        if not math.isfinite(msg.data):
            self._reject(f"/screen/pan_cmd {msg.data}")
            return
        target = self.sim.command_pan(msg.data)
        if target != msg.data:
            self.get_logger().warning(
                f"/screen/pan_cmd {msg.data:.3f} rad is beyond the pan travel: going to "
                f"{target:.3f} rad", throttle_duration_sec=1.0)

    def _on_power_mode(self, msg: String) -> None:
        if msg.data not in ("normal", "low"):
            self._reject(f"/sim/power_mode {msg.data!r} (normal or low)")
            return
        self.sim.set_power_mode(msg.data)
        self.get_logger().info(f"power mode {msg.data}")

    def _lift(self, x_m: float, y_m: float, yaw_rad: float) -> str | None:
        try:
            self.sim.lift(x_m, y_m, yaw_rad)
        except (RuntimeError, ValueError) as exc:
            return str(exc)
        self.get_logger().info(f"lift: the robot is picked up, to be put down at "
                               f"({x_m:.2f}, {y_m:.2f}, {yaw_rad:.2f} rad)")
        return None

    def _on_lift(self, _request, response):
        p = self.sim.robot_truth()
        dx, dy, dyaw = self.cfg.lift_offset
        error = self._lift(p.position_m[0] + dx, p.position_m[1] + dy, p.yaw_rad + dyaw)
        response.success = error is None
        response.message = error or "lifted"
        return response

    def _on_lift_to(self, msg: PoseStamped) -> None:
        pos, q = msg.pose.position, msg.pose.orientation
        if msg.header.frame_id not in ("", WORLD_FRAME) or not all_finite(
                pos.x, pos.y, q.x, q.y, q.z, q.w):
            self._reject(f"/sim/lift_to (frame '{msg.header.frame_id}', must be finite and "
                         f"in '{WORLD_FRAME}')")
            return
        error = self._lift(pos.x, pos.y, quaternion_msg_to_yaw(q))
        if error:
            self.get_logger().warning(f"/sim/lift_to ignored: {error}")

    def _on_darkness(self, request, response):
        self.sim.set_darkness(bool(request.data))
        response.success = True
        response.message = "dark" if request.data else "lights as scheduled"
        return response

    # --- stepping --------------------------------------------------------------------------

    def _tick(self) -> None:
        for _ in range(self.clock.steps_due(time.monotonic_ns())):
            t_ns = self.sim.t_ns
            timed_out = self.watchdog.timed_out(t_ns)
            if timed_out and not self._stopped_for_timeout:
                self.get_logger().info(f"/cmd_vel silent for {self.cfg.cmd_timeout_s:g} s: "
                                       "stopping")
            self._stopped_for_timeout = timed_out
            out = self.sim.step(*self.watchdog.command(t_ns))
            self.clock.advance()
            self._publish(out)

    def _publish(self, out: StepOutputs) -> None:
        for line in out.log:
            self.get_logger().info(line)
        if out.power_mode is not None:
            self.power_pub.publish(String(data=out.power_mode))
        for s in out.imu:
            self.imu_pub.publish(self._imu_msg(s))
        for w in out.wheels:
            self.wheel_pub.publish(self._wheel_msg(w))
        if out.pan is not None:
            self.screen_pub.publish(self._pan_msg(out.pan))
        for f in out.stereo:
            self._publish_camera(("left", "right"), f, "mono8")
        for f in out.tof:
            self._publish_camera(("tof",), f, "32FC1")
        for f in out.screen_camera:
            self._publish_camera(("screen",), f, "rgb8")
        stamp = ns_to_stamp(out.t_ns)
        if out.truth is not None:
            self.truth_pub.publish(self._truth_msg(out.truth, stamp))
        if out.people is not None:
            self.people_pub.publish(self._people_msg(out.people, stamp))
        if out.contacts is not None:
            self.contacts_pub.publish(self._contacts_msg(out.contacts, stamp))
        if out.clock:  # last: every message of this instant is out when /clock says so
            self.clock_pub.publish(ClockMsg(clock=stamp))

    def _publish_camera(self, keys: tuple[str, ...], frame: CameraFrame, encoding: str) -> None:
        stamp = ns_to_stamp(frame.t_ns)
        for key, img in zip(keys, frame.images, strict=True):
            info = self._info[key]
            info.header.stamp = stamp
            self.image_pubs[key].publish(_image(info.header.frame_id, img, encoding, stamp))
            self.info_pubs[key].publish(info)

    def _log_rtf(self) -> None:
        factor = self.clock.achieved_factor(time.monotonic_ns())
        if factor is None:
            return
        text = (f"sim time {self.sim.t_ns * 1e-9:.1f} s, real-time factor {factor:.2f} "
                f"(target {self.cfg.real_time_factor:g})")
        if factor < 0.9 * self.cfg.real_time_factor:
            self.get_logger().warning(text + ": this machine cannot keep up")
        else:
            self.get_logger().info(text)

    # --- messages --------------------------------------------------------------------------

    def _imu_msg(self, s: ImuSample) -> Imu:
        msg = Imu()
        msg.header.stamp = ns_to_stamp(s.t_ns)
        msg.header.frame_id = IMU_FRAME
        msg.orientation_covariance[0] = -1.0  # no orientation estimate
        g, a = msg.angular_velocity, msg.linear_acceleration
        g.x, g.y, g.z = (float(v) for v in s.gyro_radps)
        a.x, a.y, a.z = (float(v) for v in s.accel_mps2)
        accel_var, gyro_var = self._imu_noise_var
        for i in (0, 4, 8):
            msg.linear_acceleration_covariance[i] = accel_var
            msg.angular_velocity_covariance[i] = gyro_var
        return msg

    def _wheel_msg(self, w: WheelSample) -> JointState:
        msg = JointState()
        msg.header.stamp = ns_to_stamp(w.t_ns)
        msg.name = list(self.wheel_joint_names)
        msg.position = [float(v) for v in w.reading.positions_rad]
        msg.velocity = [float(v) for v in w.reading.velocities_radps]
        return msg

    def _pan_msg(self, p: PanSample) -> JointState:
        msg = JointState()
        msg.header.stamp = ns_to_stamp(p.t_ns)
        msg.name = [self.pan_joint_name]
        msg.position = [p.position_rad]
        msg.velocity = [p.velocity_radps]
        return msg

    def _truth_msg(self, s: RobotTruth, stamp) -> Odometry:
        msg = Odometry()
        msg.header.stamp = stamp
        msg.header.frame_id = WORLD_FRAME
        msg.child_frame_id = BASE_FRAME
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        p.x, p.y, p.z = (float(v) for v in s.position_m)
        q.w, q.x, q.y, q.z = (float(v) for v in s.quat_wxyz)
        lin, ang = msg.twist.twist.linear, msg.twist.twist.angular
        lin.x, lin.y, lin.z = (float(v) for v in s.linear_mps)
        ang.x, ang.y, ang.z = (float(v) for v in s.angular_radps)
        return msg

    def _initial_pose_msg(self, s: RobotTruth) -> PoseWithCovarianceStamped:
        """Where the robot was set down, as an operator gives it (rviz's 2D Pose Estimate):
        in ``map``, which is ``world`` at the start of a run."""
        msg = PoseWithCovarianceStamped()
        msg.header.stamp = ns_to_stamp(s.t_ns)
        msg.header.frame_id = MAP_FRAME
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        p.x, p.y = float(s.position_m[0]), float(s.position_m[1])
        q.z, q.w = math.sin(0.5 * s.yaw_rad), math.cos(0.5 * s.yaw_rad)
        for i, var in ((0, 0.01 ** 2), (7, 0.01 ** 2), (35, 0.01 ** 2)):  # x, y, yaw
            msg.pose.covariance[i] = var
        return msg

    def _people_msg(self, people: PeopleTruth, stamp) -> PersonStateArray:
        msg = PersonStateArray()
        msg.header.stamp = stamp
        msg.header.frame_id = WORLD_FRAME
        for i, (x, y), (vx, vy), r in zip(people.ids, people.positions_m,
                                          people.velocities_mps, people.radius_m, strict=True):
            p = PersonState()
            p.id = int(i)
            p.position.x, p.position.y = float(x), float(y)
            p.velocity.x, p.velocity.y = float(vx), float(vy)
            p.radius = float(r)
            msg.people.append(p)
        return msg

    def _contacts_msg(self, contacts: list[Contact], stamp) -> RobotContactArray:
        msg = RobotContactArray()
        msg.header.stamp = stamp
        msg.header.frame_id = WORLD_FRAME
        for c in contacts:
            m = RobotContact()
            m.start = ns_to_stamp(c.start_ns)
            m.ongoing = c.end_ns is None
            if c.end_ns is not None:
                m.end = ns_to_stamp(c.end_ns)
            m.robot_link, m.other, m.other_kind = c.robot_link, c.other, c.other_kind
            m.position.x, m.position.y, m.position.z = (float(v) for v in c.position_m)
            m.max_normal_force = float(c.max_normal_force_n)
            msg.contacts.append(m)
        return msg

    def destroy_node(self) -> None:
        self.sim.close()
        super().destroy_node()


def main(args=None):
    sys.exit(run_node(SimNode, "sim", args))
