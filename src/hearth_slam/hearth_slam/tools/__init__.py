"""Offline tools of hearth_slam (console scripts)."""
