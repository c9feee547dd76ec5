"""Configuration of the state_publisher node (ROS-free): see ``config/state_publisher.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hearth_common.config import param


@dataclass(frozen=True)
class StatePublisherConfig:
    robot_params_file: str = param(
        "", "robot.yaml to build the URDF from (empty: the package's config/robot.yaml)"
    )
    xacro_file: str = param(
        "", "the xacro URDF (empty: the package's urdf/hearth.urdf.xacro)"
    )
