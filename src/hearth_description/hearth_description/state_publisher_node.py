"""state_publisher: the robot's URDF and its frames (a small robot_state_publisher).

Publishes the URDF on /robot_description (latched) and every fixed joint on /tf_static at
start; then, for each /wheel/joint_states and /screen/joint_states message, the moving
joints' transforms on /tf, stamped with the message's stamp.
"""

from __future__ import annotations

import math
import sys

from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from hearth_common.config import ConfigError
from hearth_common.node_config import declare_config, run_node
from hearth_common.qos import LATCHED
from hearth_description.config import StatePublisherConfig
from hearth_description.robot_model import (
    FrameTransform,
    expand_xacro,
    fixed_transforms,
    joint_transform,
    parse_urdf,
)

NODE_CONFIG = StatePublisherConfig

JOINT_STATE_TOPICS = ("/wheel/joint_states", "/screen/joint_states")


class StatePublisherNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("state_publisher", **node_kwargs)
        self.cfg: StatePublisherConfig = declare_config(self, StatePublisherConfig)
        try:
            self.urdf = expand_xacro(self.cfg.xacro_file or None,
                                     self.cfg.robot_params_file or None)
            joints = parse_urdf(self.urdf)
        except ConfigError:
            raise
        except ValueError as exc:  # a broken xacro file is a configuration error too
            raise ConfigError(str(exc)) from exc
        self.moving_joints = {j.name: j for j in joints if j.moves}
        self.rejected_count = 0
        self._unknown_joints: set[str] = set()

        # Imported here: the frames helper picks real tf2_ros or the CI underlay at import.
        from hearth_common import frames

        self._make_transform = frames.make_transform
        self.frames = frames.FramePublisher(self)
        self.description_pub = self.create_publisher(String, "/robot_description", LATCHED)
        self.description_pub.publish(String(data=self.urdf))
        self.static_transforms = [self._msg(t, None) for t in fixed_transforms(joints)]
        self.frames.send_static(self.static_transforms)
        for topic in JOINT_STATE_TOPICS:
            self.create_subscription(JointState, topic, self._on_joint_states, 10)
        self.get_logger().info(
            f"robot_description: {len(joints)} joints, {len(self.static_transforms)} fixed on "
            f"/tf_static; moving on /tf: {', '.join(sorted(self.moving_joints))}"
        )

    def _on_joint_states(self, msg: JointState) -> None:
        if len(msg.position) != len(msg.name):
            self._reject(f"JointState with {len(msg.name)} names and {len(msg.position)} "
                         "positions")
            return
        stamp = msg.header.stamp
        if stamp.sec == 0 and stamp.nanosec == 0:
            stamp = self.get_clock().now().to_msg()
        transforms = []
        for name, position in zip(msg.name, msg.position, strict=True):
            joint = self.moving_joints.get(name)
            if joint is None:
                if name not in self._unknown_joints:
                    self._unknown_joints.add(name)
                    self.get_logger().warning(f"joint '{name}' is not a moving joint of the "
                                              "URDF: ignored")
                continue
            if not math.isfinite(position):
                self._reject(f"joint '{name}' position {position}")
                continue
            transforms.append(self._msg(joint_transform(joint, position), stamp))
        if transforms:
            self.frames.send(transforms)

    def _msg(self, t: FrameTransform, stamp) -> TransformStamped:
        return self._make_transform(t.parent_frame, t.child_frame, stamp, *t.translation_m,
                                    quaternion=t.rotation_xyzw)

    def _reject(self, why: str) -> None:
        self.rejected_count += 1
        self.get_logger().warning(
            f"rejected joint state ({self.rejected_count} so far): {why}",
            throttle_duration_sec=1.0,
        )


def main(args=None):
    sys.exit(run_node(StatePublisherNode, "state_publisher", args))
