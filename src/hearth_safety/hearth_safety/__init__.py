"""Reactive safety layer for hearth. The core (command_guard) imports without rclpy."""
