"""Simulated people (ROS-free): sources behind one interface, ``crowd.Crowd``.

- ``social_force.SocialForceCrowd``: people walking between the rooms of a home, driven by
  the social-force model (pysocialforce); they avoid each other, the walls and the robot.
- ``replay.ReplayCrowd``: recorded pedestrians (ETH/UCY files) replayed in a room.
- ``crowd.EmptyCrowd``: nobody.

``SocialForceCrowd`` is imported on first use (pysocialforce brings numba with it).
"""

from typing import Any

from hearth_sim.people.crowd import BODY_RADIUS_M, Crowd, EmptyCrowd, check_crowd_state
from hearth_sim.people.replay import ReplayCrowd, ReplayFormatError

__all__ = ["BODY_RADIUS_M", "Crowd", "EmptyCrowd", "ReplayCrowd", "ReplayFormatError",
           "SocialForceCrowd", "SocialForceParams", "check_crowd_state"]


def __getattr__(name: str) -> Any:
    if name in ("SocialForceCrowd", "SocialForceParams"):
        from hearth_sim.people import social_force

        return getattr(social_force, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
