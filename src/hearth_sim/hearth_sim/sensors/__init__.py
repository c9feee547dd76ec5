"""Rendered sensors of the MuJoCo world (ROS-free): pinhole cameras, stereo, ToF depth."""
