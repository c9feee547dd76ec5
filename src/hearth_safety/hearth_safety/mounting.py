"""Where a sensor frame sits in base_link, from the URDF (what /tf_static carries).

The URDF is built from robot.yaml (``hearth_description.robot_model.expand_xacro``); the chain
of fixed joints from base_link to the frame is composed here, exactly as the state publisher
does for /tf_static, so the safety node needs no TF at start and sees the same numbers.
"""

from __future__ import annotations

import numpy as np

from hearth_description.robot_model import joint_transform, parse_urdf
from hearth_safety.depth_projection import Mounting


def _matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def frame_in_base(urdf_xml: str, frame: str, base_frame: str = "base_link") -> Mounting:
    """The pose of ``frame`` in ``base_frame`` through the URDF's joints (moving joints at
    zero). Raises ValueError if the frame is not below ``base_frame`` or a joint on the way
    moves (the sensor would not be rigidly mounted)."""
    parents = {j.child: j for j in parse_urdf(urdf_xml)}
    chain = []
    link = frame
    while link != base_frame:
        if link not in parents:
            raise ValueError(f"URDF: frame '{frame}' is not below '{base_frame}'")
        joint = parents[link]
        if joint.moves:
            raise ValueError(f"URDF: '{frame}' hangs on the moving joint '{joint.name}'")
        chain.append(joint)
        link = joint.parent
    rotation, translation = np.eye(3), np.zeros(3)
    for joint in reversed(chain):
        tf = joint_transform(joint)
        translation = translation + rotation @ np.asarray(tf.translation_m)
        rotation = rotation @ _matrix(tf.rotation_xyzw)
    return Mounting(rotation, translation)
