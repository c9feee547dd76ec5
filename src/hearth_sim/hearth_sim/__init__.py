"""The embedded simulator: a kinematic stand-in for the robot (the MuJoCo world comes later)."""
