"""An installed node as its own process, for the benchmarks that time a node over DDS."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path


def installed_node(package: str, executable: str, params_name: str) -> tuple[Path, Path]:
    """``(executable, params file)`` of a node as colcon installed it:
    ``<prefix>/lib/<package>/<executable>`` and ``<share>/config/<params_name>``."""
    from ament_index_python.packages import get_package_prefix, get_package_share_directory

    exe = Path(get_package_prefix(package)) / "lib" / package / executable
    params = Path(get_package_share_directory(package)) / "config" / params_name
    return exe, params


def stop_node(child: subprocess.Popen) -> None:
    """SIGINT (rclpy shuts down cleanly), then SIGKILL after 5 s."""
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=5.0)
