"""The embedded simulator: the robot in a home of maps/, in MuJoCo (and the same homes for
Gazebo). The cores import without rclpy; ``sim_node`` is the ROS node."""
