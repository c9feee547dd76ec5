"""hearth in Gazebo Harmonic, for users with ROS 2 Jazzy: the world of a home as SDF
(``sdf_world``). The robot's Gazebo systems and sensors are in hearth_description's
``urdf/hearth.gazebo.xacro``; the topic mapping in ``config/gz_bridge.yaml``; the launch file
is ``launch/gazebo.launch.xml``."""
