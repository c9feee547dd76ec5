"""The hearth robot's description: robot.yaml, the xacro URDF, and the state publisher."""
