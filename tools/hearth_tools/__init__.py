"""Workspace tools for hearth that need no ROS install (launch-file runner, test summary)."""
