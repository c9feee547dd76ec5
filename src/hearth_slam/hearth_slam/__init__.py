"""Stereo V-SLAM for hearth. The core (slam_system and what it uses) imports without rclpy."""
