"""The slam node's front end over real rclpy and DDS: recorded simulator stereo frames in,
/slam/visual_odometry and /slam/diagnostics out."""

import math

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import TwistWithCovarianceStamped
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from hearth_common.frames import FramePublisher, make_transform
from hearth_common.msg_conversions import ns_to_stamp
from hearth_common.qos import SENSOR
from hearth_common.testing import Spinner, ros_context
from hearth_slam import se3
from hearth_slam.slam_node import SlamNode

T0_NS = 1_000_000_000  # the recording's stamps, shifted off zero (a stamp of 0 is refused)


def _image(img: np.ndarray, stamp_ns: int, frame: str, encoding: str = "mono8") -> Image:
    msg = Image()
    msg.header.stamp = ns_to_stamp(stamp_ns)
    msg.header.frame_id = frame
    msg.height, msg.width = img.shape[:2]
    msg.encoding = encoding
    msg.step = img.shape[1] * (3 if encoding == "rgb8" else 1)
    msg.data = img.tobytes()
    return msg


def _info(fields: dict, stamp_ns: int) -> CameraInfo:
    msg = CameraInfo()
    msg.header.stamp = ns_to_stamp(stamp_ns)
    msg.header.frame_id = fields["frame_id"]
    msg.height, msg.width = fields["height"], fields["width"]
    msg.distortion_model = fields["distortion_model"]
    msg.d, msg.k, msg.r, msg.p = fields["d"], fields["k"], fields["r"], fields["p"]
    return msg


class Rig:
    """The probe: plays the robot (stereo driver, camera_info) and fusion (TF odom->base)."""

    def __init__(self, ctx):
        self.node = Node("probe", context=ctx)
        n = self.node
        self.pubs = {(side, kind): n.create_publisher(typ, f"/stereo/{side}/{kind}", SENSOR)
                     for side in ("left", "right")
                     for kind, typ in (("image_raw", Image), ("camera_info", CameraInfo))}
        self.frames = FramePublisher(n)
        self.twists: list[TwistWithCovarianceStamped] = []
        self.diagnostics: list[DiagnosticArray] = []
        n.create_subscription(TwistWithCovarianceStamped, "/slam/visual_odometry",
                              self.twists.append, 10)
        n.create_subscription(DiagnosticArray, "/slam/diagnostics", self.diagnostics.append, 10)

    def connected(self) -> bool:
        return all(p.get_subscription_count() > 0 for p in self.pubs.values())

    def send(self, left, right, stamp_ns, infos, T_odom_base=None, encoding="mono8"):
        if T_odom_base is not None:
            x, y, z = T_odom_base[:3, 3]
            self.frames.send(make_transform("odom", "base_link", ns_to_stamp(stamp_ns), x, y, z,
                                            quaternion=se3.to_quaternion(T_odom_base)))
        for side, fields in zip(("left", "right"), infos, strict=True):
            self.pubs[(side, "camera_info")].publish(_info(fields, stamp_ns))
        self.pubs[("left", "image_raw")].publish(
            _image(left, stamp_ns, infos[0]["frame_id"], encoding))
        self.pubs[("right", "image_raw")].publish(
            _image(right, stamp_ns, infos[1]["frame_id"], encoding))


def _play(spin, node, rig, frames, infos, poses=None, encoding="mono8"):
    """Send frames one at a time, each once the node is done with the previous one."""
    for k, (left, right, stamp_ns) in enumerate(frames):
        handled = node.counts["stereo_pairs"] + node.counts["stereo_rejected"]
        rig.send(left, right, stamp_ns, infos, None if poses is None else poses[k], encoding)
        assert spin.until(lambda h=handled: node.counts["stereo_pairs"]
                          + node.counts["stereo_rejected"] > h, timeout_s=10.0), k
        assert spin.until(lambda: node._vo_worker.processed + node._vo_worker.dropped
                          >= node.counts["stereo_pairs"], timeout_s=20.0), k


def test_recorded_sim_frames_give_visual_odometry_and_darkness_says_lost(sim_drive):
    infos = (sim_drive.left_info, sim_drive.right_info)
    truth = sim_drive.T_world_base
    poses = [se3.inverse(truth[0]) @ T for T in truth]  # odom starts where the robot does
    stamps = [T0_NS + t for t in sim_drive.t_ns]
    with ros_context() as ctx:
        node = SlamNode(context=ctx)
        rig = Rig(ctx)
        try:
            with Spinner([node, rig.node]) as spin:
                assert spin.until(rig.connected, timeout_s=10.0)
                frames = list(zip(sim_drive.left, sim_drive.right, stamps, strict=True))
                _play(spin, node, rig, frames, infos, poses)
                assert spin.until(lambda: len(rig.twists) >= len(frames) - 2, timeout_s=10.0)
                assert node.counts["vo_no_prior"] <= 1  # the odometry prior was used
                errors = []
                for msg in rig.twists:
                    assert msg.header.frame_id == "base_link"
                    k = stamps.index(msg.header.stamp.sec * 1_000_000_000
                                     + msg.header.stamp.nanosec)
                    dt = (stamps[k] - stamps[k - 1]) * 1e-9
                    true_v = se3.log(se3.inverse(truth[k - 1]) @ truth[k])[0] / dt
                    errors.append(msg.twist.twist.linear.x - true_v)
                    cov = np.array(msg.twist.covariance).reshape(6, 6)
                    assert np.allclose(cov, cov.T) and np.linalg.eigvalsh(cov)[0] > 0.0
                assert np.sqrt(np.mean(np.square(errors))) < 0.03  # m/s
                assert rig.diagnostics[-1].status[0].level == DiagnosticStatus.OK

                # lights out: three black pairs -> lost, no twist, following the prior
                n_twists = len(rig.twists)
                black = np.zeros_like(sim_drive.left[0])
                dark = [(black, black, stamps[-1] + (k + 1) * 100_000_000) for k in range(3)]
                _play(spin, node, rig, dark, infos, [poses[-1]] * 3)
                assert spin.until(lambda: "lost" in rig.diagnostics[-1].status[0].message,
                                  timeout_s=5.0)
                assert rig.diagnostics[-1].status[0].level == DiagnosticStatus.WARN
                assert len(rig.twists) == n_twists
                assert node.counts["vo_lost_frames"] == 3
        finally:
            node.destroy_node()
            rig.node.destroy_node()


def test_bad_calibration_and_images_are_refused_without_harm(sim_drive):
    left_info = dict(sim_drive.left_info, k=[math.nan] * 9)
    infos_bad = (left_info, sim_drive.right_info)
    infos = (sim_drive.left_info, sim_drive.right_info)
    img = sim_drive.left[0]
    with ros_context() as ctx:
        node = SlamNode(context=ctx)
        rig = Rig(ctx)
        try:
            with Spinner([node, rig.node]) as spin:
                assert spin.until(rig.connected, timeout_s=10.0)
                _play(spin, node, rig, [(img, img, T0_NS)], infos_bad)
                assert spin.until(lambda: node.counts["stereo_rejected"] >= 1, timeout_s=5.0)
                rgb = np.zeros((*img.shape, 3), np.uint8)
                _play(spin, node, rig, [(rgb, rgb, T0_NS + 10**8)], infos, encoding="rgb8")
                assert spin.until(lambda: node.counts["stereo_rejected"] >= 2, timeout_s=5.0)
                # and good frames after that still work
                _play(spin, node, rig, [(sim_drive.left[k], sim_drive.right[k],
                                         T0_NS + (k + 2) * 10**8) for k in range(3)], infos)
                assert spin.until(lambda: len(rig.twists) >= 1, timeout_s=10.0)
                assert node.counts["stereo_rejected"] == 2
                # a pair out of order is refused; the clock jumping back starts over
                _play(spin, node, rig, [(img, img, T0_NS + 3 * 10**8)], infos)
                assert node.counts["stereo_rejected"] == 3
                n = len(rig.twists)
                _play(spin, node, rig, [(sim_drive.left[k], sim_drive.right[k], 10**8 * (k + 1))
                                        for k in range(3)], infos)
                assert spin.until(lambda: len(rig.twists) >= n + 1, timeout_s=10.0)
                assert node.counts["stereo_rejected"] == 3
        finally:
            node.destroy_node()
            rig.node.destroy_node()


def test_the_front_end_can_be_switched_off():
    from rclpy.parameter import Parameter

    with ros_context() as ctx:
        node = SlamNode(context=ctx,
                        parameter_overrides=[Parameter("visual_odometry", value=False)])
        try:
            assert node._vo_worker is None
        finally:
            node.destroy_node()


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    import threading

    before = {t.name for t in threading.enumerate()}
    yield
    leaked = [t for t in threading.enumerate()
              if t.name == "slam-front-end" and t.name not in before and t.is_alive()]
    assert not leaked
