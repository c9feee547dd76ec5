"""Homes described as readable data (``maps/<home>/home.yaml``): the simulator builds its
world from them, and the planners get their floor plan as a map_server map."""
