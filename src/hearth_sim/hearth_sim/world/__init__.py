"""The MuJoCo world: procedural textures, the home as MJCF, the robot's MJCF, the assembled
model, and its lighting over a session."""
