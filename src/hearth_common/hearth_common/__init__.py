"""Shared pieces of the hearth nodes. The ROS-free parts import without rclpy."""
