"""The slam node over real rclpy and DDS: recorded simulator stereo frames (and /odom with
its TF) in; /slam/visual_odometry, /slam/diagnostics, TF map->odom, /slam/pose and the
keyframe graph out; the map saved by the service and found again after a restart."""

import math

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseWithCovarianceStamped, TwistWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from hearth_common.frames import FrameBuffer, FramePublisher, TransformError, make_transform
from hearth_common.msg_conversions import ns_to_stamp, stamp_to_ns
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
        self.tf = FrameBuffer(n)
        self.odom_pub = n.create_publisher(Odometry, "/odom", 10)
        self.twists: list[TwistWithCovarianceStamped] = []
        self.diagnostics: list[DiagnosticArray] = []
        self.poses: list[PoseWithCovarianceStamped] = []
        self.graphs: list[MarkerArray] = []
        n.create_subscription(TwistWithCovarianceStamped, "/slam/visual_odometry",
                              self.twists.append, 10)
        n.create_subscription(DiagnosticArray, "/slam/diagnostics", self.diagnostics.append, 10)
        n.create_subscription(PoseWithCovarianceStamped, "/slam/pose", self.poses.append, 10)
        n.create_subscription(MarkerArray, "/slam/keyframes", self.graphs.append, 10)

    def map_odom(self):
        """(x, y, yaw) of TF map->odom, or None while there is none."""
        try:
            return self.tf.lookup_pose2d("map", "odom")
        except TransformError:
            return None

    def map_status(self) -> dict:
        """The values of the latest "slam: map" diagnostics."""
        for msg in reversed(self.diagnostics):
            for st in msg.status:
                if st.name == "slam: map":
                    return {kv.key: kv.value for kv in st.values}
        return {}

    def connected(self) -> bool:
        return all(p.get_subscription_count() > 0 for p in self.pubs.values())

    def send(self, left, right, stamp_ns, infos, T_odom_base=None, encoding="mono8"):
        if T_odom_base is not None:
            x, y, z = T_odom_base[:3, 3]
            q = se3.to_quaternion(T_odom_base)
            self.frames.send(make_transform("odom", "base_link", ns_to_stamp(stamp_ns), x, y, z,
                                            quaternion=q))
            odom = Odometry()
            odom.header.stamp = ns_to_stamp(stamp_ns)
            odom.header.frame_id, odom.child_frame_id = "odom", "base_link"
            p = odom.pose.pose
            p.position.x, p.position.y, p.position.z = float(x), float(y), float(z)
            p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = (
                float(v) for v in q)
            odom.pose.covariance = list(np.diag([1e-4, 1e-4, 1e-6, 1e-6, 1e-6, 1e-4]).ravel())
            self.odom_pub.publish(odom)
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


def test_recorded_sim_frames_give_visual_odometry_map_to_odom_and_slam_pose_and_darkness_says_lost(
        sim_drive):
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

                # the back end: keyframes in the graph, TF map->odom, /slam/pose in the map
                assert spin.until(lambda: rig.map_odom() is not None and rig.graphs,
                                  timeout_s=10.0)
                assert int(rig.map_status()["keyframes_in_graph"]) >= 2
                assert rig.map_status()["localized"] == "true"
                x, y, yaw = rig.map_odom()  # a fresh map's frame is the odometry's start
                assert abs(x) < 0.05 and abs(y) < 0.05 and abs(yaw) < 0.02
                assert rig.poses and rig.poses[-1].header.frame_id == "map"
                last = rig.poses[-1].pose
                k = stamps.index(stamp_to_ns(rig.poses[-1].header.stamp))
                assert np.hypot(last.pose.position.x - poses[k][0, 3],
                                last.pose.position.y - poses[k][1, 3]) < 0.05
                cov = np.array(last.covariance).reshape(6, 6)
                assert 0.0 < cov[0, 0] < 0.01 and np.allclose(cov, cov.T)

                # lights out: three black pairs -> lost, no twist, following the prior
                assert spin.until(lambda: len(rig.twists) >= node.counts["vo_published"],
                                  timeout_s=5.0)
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
            rig.tf.close()
            rig.node.destroy_node()


def test_the_map_saved_by_the_service_is_loaded_after_a_restart_and_localized_in(
        sim_drive, tmp_path):
    infos = (sim_drive.left_info, sim_drive.right_info)
    truth = sim_drive.T_world_base
    poses = [se3.inverse(truth[0]) @ T for T in truth]
    stamps = [T0_NS + t for t in sim_drive.t_ns]
    frames = list(zip(sim_drive.left, sim_drive.right, stamps, strict=True))
    params = [Parameter("map_dir", value=str(tmp_path)), Parameter("home_name", value="flat")]
    with ros_context() as ctx:
        rig = Rig(ctx)
        client = rig.node.create_client(Trigger, "/slam/save_map")
        node = SlamNode(context=ctx, parameter_overrides=params)
        try:
            with Spinner([node, rig.node]) as spin:
                assert spin.until(rig.connected, timeout_s=10.0)
                _play(spin, node, rig, frames, infos, poses)
                assert spin.until(client.service_is_ready, timeout_s=10.0)
                future = client.call_async(Trigger.Request())
                assert spin.until(future.done, timeout_s=30.0)
                assert future.result().success, future.result().message
                assert (tmp_path / "flat.map.npz").is_file()
        finally:
            node.destroy_node()
        # the next session: the same home, odometry from zero again, the robot where it began
        node = SlamNode(context=ctx, parameter_overrides=params)
        rig.diagnostics.clear()
        try:
            with Spinner([node, rig.node]) as spin:
                later = [(a, b, t + 10**10) for a, b, t in frames]
                _play(spin, node, rig, later, infos, poses)
                assert spin.until(lambda: rig.map_status().get("localized") == "true",
                                  timeout_s=10.0), rig.map_status()
                status = rig.map_status()
                assert status["map_loaded"] == "true" and int(status["relocalizations"]) >= 1
                x, y, yaw = rig.map_odom()  # the same odometry, the same map: no offset
                assert abs(x) < 0.05 and abs(y) < 0.05 and abs(yaw) < 0.03
        finally:
            node.destroy_node()
            rig.tf.close()
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

                # a ToF image before its camera_info, then one in the wrong encoding: refused
                tof = rig.node.create_publisher(Image, "/tof/depth/image_raw", SENSOR)
                tof_info = rig.node.create_publisher(CameraInfo, "/tof/camera_info", SENSOR)
                depth = np.full((12, 16), 1.5, np.float32)
                msg = _image(depth.view(np.uint8), T0_NS, "tof_optical", encoding="mono8")
                tof.publish(msg)
                assert spin.until(lambda: node.counts["tof_rejected"] >= 1, timeout_s=5.0)
                info = dict(infos[0], frame_id="tof_optical", width=16, height=12)
                for _ in range(3):
                    tof_info.publish(_info(info, T0_NS))
                    spin.until(lambda: node._tof_info is not None, timeout_s=1.0)
                tof.publish(msg)  # 'mono8': not metres
                assert spin.until(lambda: node.counts["tof_rejected"] >= 2, timeout_s=5.0)

                # fusion says the robot was lifted: one request per lift, however often it
                # repeats the flag
                diag_pub = rig.node.create_publisher(DiagnosticArray, "/fusion/diagnostics", 10)
                lifted = DiagnosticArray()
                lifted.status = [DiagnosticStatus(name="fusion: odometry", values=[
                    KeyValue(key="needs_relocalization", value="true"),
                    KeyValue(key="needs_relocalization_since_s", value="12.500")])]
                before = node.system.status()["relocalization_requests"]  # the clock jump's
                for _ in range(3):
                    diag_pub.publish(lifted)
                assert spin.until(lambda: node.system.status()["relocalization_requests"]
                                  > before, timeout_s=5.0)
                spin.until(lambda: False, timeout_s=0.3)
                assert node.system.status()["relocalization_requests"] == before + 1
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
    leaked = [t for t in threading.enumerate() if t.name in ("slam-front-end", "slam-backend")
              and t.name not in before and t.is_alive()]
    assert not leaked
