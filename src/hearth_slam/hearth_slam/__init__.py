"""V-SLAM for hearth (for now map->odom only). The core (map_odom) imports without rclpy."""
