"""hearth_perception: the local costmap, depth points, obstacle tracking and prediction."""
