"""Global planning for hearth. The cores (map_io, grid_astar, paths) import without rclpy."""
