"""The obstacle tracker node over real rclpy and DDS: rendered ToF depth frames of a walking
person (and a mapped pillar) in, /obstacles/tracks and /obstacles/predictions out; bad input
rejected, a silent sensor letting the tracks die."""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import pytest
from nav_msgs.msg import OccupancyGrid
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import Marker, MarkerArray

from hearth_common.config import ConfigError
from hearth_common.frames import FramePublisher, make_transform
from hearth_common.qos import LATCHED, SENSOR
from hearth_common.testing import Spinner, ros_context
from hearth_msgs.msg import ObstacleTrackArray
from hearth_perception.obstacle_tracker_node import ObstacleTrackerNode

W, H, FX = 160, 120, 80.0  # the robot's ToF: 90 degrees across
CAM_Z_M = 0.3
PERSON_R_M, PILLAR_R_M = 0.25, 0.15
PILLAR_XY = (3.0, 0.9)
RATE_HZ = 15.0


def render_depth(person_xy, pillar: bool = True) -> np.ndarray:
    """Depth (optical z, m) of a camera at (0, 0, CAM_Z_M) looking along odom +x: the floor,
    a 1.7 m tall person (cylinder) and a 1 m pillar; NaN beyond 4 m."""
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    dx = np.ones((H, W))  # optical z -> odom x
    dy = -(u - (W - 1) / 2) / FX  # optical x (right) -> odom -y
    dz = -(v - (H - 1) / 2) / FX  # optical y (down) -> odom -z
    depth = np.full((H, W), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = np.where(dz < 0, -CAM_Z_M / dz, np.inf)
    depth = np.minimum(depth, floor)
    bodies = [(person_xy, PERSON_R_M, 1.7)] + ([(PILLAR_XY, PILLAR_R_M, 1.0)] if pillar else [])
    for (cx, cy), r, top in bodies:
        a = dx**2 + dy**2
        b = -2 * (dx * cx + dy * cy)
        c = cx**2 + cy**2 - r**2
        disc = b**2 - 4 * a * c
        with np.errstate(invalid="ignore"):
            t = (-b - np.sqrt(disc)) / (2 * a)
        z = CAM_Z_M + t * dz
        hit = (disc >= 0) & (t > 0) & (z >= 0) & (z <= top)
        depth = np.where(hit, np.minimum(depth, t), depth)
    depth[depth > 4.0] = np.nan
    return depth.astype(np.float32)


class Robot:
    """The probe: the ToF driver (depth + camera_info at 15 Hz), TF and /map."""

    def __init__(self, ctx, person_v=(0.0, 0.5), person_p0=(2.0, -0.6)) -> None:
        self.node = Node("probe", context=ctx)
        self.depth_pub = self.node.create_publisher(Image, "/tof/depth/image_raw", SENSOR)
        self.info_pub = self.node.create_publisher(CameraInfo, "/tof/camera_info", SENSOR)
        self.map_pub = self.node.create_publisher(OccupancyGrid, "/map", LATCHED)
        self.tf = FramePublisher(self.node)
        # base_link on the odom origin; the optical frame 0.3 m up, looking along +x
        half = 0.5
        self.tf.send_static([
            make_transform("base_link", "tof_optical", None, z=CAM_Z_M,
                           quaternion=(-half, half, -half, half)),
            make_transform("map", "odom", None),
        ])
        self.person_v, self.person_p0 = np.array(person_v), np.array(person_p0)
        self.tracks: list[ObstacleTrackArray] = []
        self.markers: list[MarkerArray] = []
        self.node.create_subscription(ObstacleTrackArray, "/obstacles/tracks",
                                      self.tracks.append, 10)
        self.node.create_subscription(MarkerArray, "/obstacles/predictions",
                                      self.markers.append, 10)
        self.sending = True
        self.mode = "scene"  # or nan_half, all_nan, wrong_encoding, short, unknown_frame
        self.frames = 0
        self.t0_ns: int | None = None
        self.rng = np.random.default_rng(0)
        self.node.create_timer(1.0 / RATE_HZ, self._tick)
        self.node.create_timer(0.02, self._tf_tick)

    def person_xy(self, t_ns: int) -> np.ndarray:
        return self.person_p0 + self.person_v * (t_ns - self.t0_ns) * 1e-9

    def publish_map(self) -> None:
        """A 10 x 10 m map (5 cm, origin at (-5, -5)) holding the pillar only."""
        msg = OccupancyGrid()
        msg.header.frame_id = "map"
        msg.info.resolution, msg.info.width, msg.info.height = 0.05, 200, 200
        msg.info.origin.position.x = msg.info.origin.position.y = -5.0
        msg.info.origin.orientation.w = 1.0
        x = -5.0 + (np.arange(200) + 0.5) * 0.05
        xx, yy = np.meshgrid(x, x)
        occ = np.hypot(xx - PILLAR_XY[0], yy - PILLAR_XY[1]) <= PILLAR_R_M + 0.03
        msg.data = np.where(occ, 100, 0).astype(np.int8).ravel().tolist()
        self.map_pub.publish(msg)

    def _tf_tick(self) -> None:
        stamp = self.node.get_clock().now().to_msg()
        self.tf.send(make_transform("odom", "base_link", stamp))

    def _tick(self) -> None:
        if not self.sending:
            return
        now = self.node.get_clock().now()
        if self.t0_ns is None:
            self.t0_ns = now.nanoseconds
        depth = render_depth(self.person_xy(now.nanoseconds))
        if self.mode == "nan_half":
            depth[self.rng.random(depth.shape) < 0.5] = np.nan
        elif self.mode == "all_nan":
            depth[:] = np.nan
        img = Image()
        img.header.stamp = now.to_msg()
        img.header.frame_id = "nowhere" if self.mode == "unknown_frame" else "tof_optical"
        img.height, img.width, img.step = H, W, W * 4
        img.encoding = "rgb8" if self.mode == "wrong_encoding" else "32FC1"
        img.is_bigendian = 0
        data = depth.astype("<f4").tobytes()
        img.data = data[:-40] if self.mode == "short" else data
        info = CameraInfo()
        info.header = img.header
        info.width, info.height = W, H
        info.k = [FX, 0.0, (W - 1) / 2, 0.0, FX, (H - 1) / 2, 0.0, 0.0, 1.0]
        self.info_pub.publish(info)
        self.depth_pub.publish(img)
        self.frames += 1

    def latest(self) -> ObstacleTrackArray | None:
        return self.tracks[-1] if self.tracks else None


@contextmanager
def tracker_and_robot(**overrides):
    with ros_context() as ctx:
        params = [Parameter(k, value=v) for k, v in overrides.items()]
        node = ObstacleTrackerNode(context=ctx, parameter_overrides=params)
        robot = Robot(ctx)
        try:
            with Spinner([node, robot.node]) as spin:
                yield node, robot, spin
        finally:
            robot.sending = False
            node.destroy_node()
            robot.node.destroy_node()


def _settled(robot: Robot, frames: int):
    """A condition: ``frames`` frames sent and the latest tracks message holds a track."""
    def ok() -> bool:
        msg = robot.latest()
        return robot.frames >= frames and msg is not None and len(msg.tracks) >= 1
    return ok


def test_a_walking_person_becomes_a_track_with_their_velocity_and_a_prediction():
    with tracker_and_robot() as (node, robot, spin):
        robot.publish_map()
        assert spin.until(_settled(robot, 30), 20.0), node.counts
        n = robot.frames
        assert spin.until(lambda: robot.frames >= n + 8, 5.0)
        msg = robot.latest()
        assert msg.header.frame_id == "odom"
        (track,) = msg.tracks  # the person; the pillar is on /map: not an obstacle
        t_ns = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        truth = robot.person_xy(t_ns)
        assert math.hypot(track.position.x - truth[0], track.position.y - truth[1]) < 0.12
        assert track.velocity.x == pytest.approx(0.0, abs=0.15)
        assert track.velocity.y == pytest.approx(0.5, abs=0.15)
        assert track.radius == pytest.approx(PERSON_R_M, abs=0.08)
        cov = np.array(track.covariance).reshape(4, 4)
        assert np.all(np.linalg.eigvalsh(cov) > 0.0) and track.hits >= 3
        markers = robot.markers[-1].markers
        assert markers[0].action == Marker.DELETEALL
        rings = [m for m in markers if m.ns == "prediction_sigma"]
        assert len(rings) == 6  # 3 s at 0.5 s
        sizes = [np.ptp([p.x for p in m.points]) for m in rings]
        assert np.all(np.diff(sizes) > 0.0)  # growing
    assert node.counts["depth_rejected"] == 0


def test_a_silent_sensor_lets_the_tracks_die():
    with tracker_and_robot(max_missing_s=0.5) as (node, robot, spin):
        assert spin.until(_settled(robot, 15), 20.0), node.counts
        robot.sending = False
        n = len(robot.tracks)
        assert spin.until(lambda: len(robot.tracks) > n and not robot.latest().tracks, 5.0)
        assert node.tracker.deaths >= 1


def test_half_the_pixels_nan_still_tracks_the_person():
    with tracker_and_robot() as (node, robot, spin):
        robot.mode = "nan_half"
        assert spin.until(_settled(robot, 20), 20.0), node.counts
        assert node.counts["depth_rejected"] == 0


def test_all_nan_frames_are_valid_and_show_nobody():
    with tracker_and_robot() as (node, robot, spin):
        robot.mode = "all_nan"
        assert spin.until(lambda: robot.frames >= 15 and len(robot.tracks) >= 5, 20.0)
        assert all(not m.tracks for m in robot.tracks)
        assert node.counts["depth_rejected"] == 0 and node.tracker.t_s is not None


@pytest.mark.parametrize(("mode", "count"), [("wrong_encoding", "depth_rejected"),
                                             ("short", "depth_rejected"),
                                             ("unknown_frame", "no_transform")])
def test_a_bad_image_is_rejected_and_counted(mode, count):
    with tracker_and_robot(tf_wait_s=0.1) as (node, robot, spin):
        robot.mode = mode
        assert spin.until(lambda: node.counts[count] >= 5, 20.0)
        assert node.tracker.t_s is None and all(not m.tracks for m in robot.tracks)


def test_an_out_of_range_parameter_stops_the_node_with_a_clear_error():
    with ros_context() as ctx:
        with pytest.raises(ConfigError, match="pixel_stride"):
            ObstacleTrackerNode(context=ctx,
                                parameter_overrides=[Parameter("pixel_stride", value=0)])
        with pytest.raises(ConfigError, match="prediction_step_s"):
            ObstacleTrackerNode(context=ctx, parameter_overrides=[
                Parameter("prediction_step_s", value=4.0)])
        with pytest.raises(ConfigError, match="cut_min_speed_mps"):
            ObstacleTrackerNode(context=ctx, parameter_overrides=[
                Parameter("cut_min_speed_mps", value=-1.0)])
