"""Local planning for hearth. The cores (path_follower, rollout) import without rclpy."""
