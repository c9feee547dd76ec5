"""A short history of odometry, to know where base_link was when a depth frame was taken and
where it is now (ROS-free)."""

from __future__ import annotations

import bisect
import math
from collections import deque

Pose2 = tuple[float, float, float]


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class OdomHistory:
    """Poses of base_link in odom with their twist, by stamp (int ns), the last ``keep_s``."""

    def __init__(self, keep_s: float = 1.0, max_extrapolation_s: float = 0.25) -> None:
        self.keep_ns = round(keep_s * 1e9)
        self.max_extrapolation_ns = round(max_extrapolation_s * 1e9)
        self._t: deque[int] = deque()
        self._pose: deque[tuple[float, float, float, float, float]] = deque()

    def __len__(self) -> int:
        return len(self._t)

    def clear(self) -> None:
        self._t.clear()
        self._pose.clear()

    def add(self, stamp_ns: int, x_m: float, y_m: float, yaw_rad: float, v_mps: float,
            w_radps: float) -> bool:
        """Append a sample; False (not added) when it is not newer than the last one or not
        finite."""
        values = (x_m, y_m, yaw_rad, v_mps, w_radps)
        if not all(math.isfinite(v) for v in values):
            return False
        if self._t and stamp_ns <= self._t[-1]:
            return False
        self._t.append(int(stamp_ns))
        self._pose.append(tuple(float(v) for v in values))
        while self._t and self._t[0] < stamp_ns - self.keep_ns:
            self._t.popleft()
            self._pose.popleft()
        return True

    @property
    def latest_twist(self) -> tuple[float, float]:
        """(v_mps, w_radps) of the newest sample; (0, 0) when empty."""
        return (self._pose[-1][3], self._pose[-1][4]) if self._pose else (0.0, 0.0)

    def pose_at(self, t_ns: int) -> Pose2 | None:
        """base_link in odom at ``t_ns``: interpolated between samples, extrapolated with the
        newest twist (at most ``max_extrapolation_s``) after them, the oldest before them;
        None when empty."""
        if not self._t:
            return None
        if t_ns >= self._t[-1]:
            x, y, yaw, v, w = self._pose[-1]
            dt = min(t_ns - self._t[-1], self.max_extrapolation_ns) * 1e-9
            if abs(w) > 1e-9:  # exact unicycle arc
                yaw1 = yaw + w * dt
                return (x + v / w * (math.sin(yaw1) - math.sin(yaw)),
                        y - v / w * (math.cos(yaw1) - math.cos(yaw)), _wrap(yaw1))
            return x + v * dt * math.cos(yaw), y + v * dt * math.sin(yaw), yaw
        if t_ns <= self._t[0]:
            x, y, yaw = self._pose[0][:3]
            return x, y, yaw
        k = bisect.bisect_right(self._t, t_ns)
        t0, t1 = self._t[k - 1], self._t[k]
        a, b = self._pose[k - 1], self._pose[k]
        u = (t_ns - t0) / (t1 - t0)
        return (a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1]),
                _wrap(a[2] + u * _wrap(b[2] - a[2])))
