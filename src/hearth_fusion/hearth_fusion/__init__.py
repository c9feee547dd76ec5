"""Odometry fusion for hearth. The core (wheel_odometry) imports without rclpy."""
