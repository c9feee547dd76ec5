"""Reactive safety layer for hearth. The core (controller and its modules) imports without rclpy."""
