"""The simulation clock (ROS-free): integer nanoseconds, stepped, paced to wall time.

Simulated time advances only by whole physics steps. ``steps_due(wall_ns)`` says how many
steps to take now so that simulated time keeps up with ``real_time_factor`` × wall time and
never gets ahead of it. When the machine cannot keep up, the steps it could not take are
dropped rather than caught up in a burst: the simulation then runs slower than requested
(``achieved_factor`` reports it) but is never faster.
"""

from __future__ import annotations


class SimClock:
    def __init__(self, step_ns: int, real_time_factor: float = 1.0,
                 max_steps_per_call: int = 10, start_ns: int = 0):
        if step_ns <= 0:
            raise ValueError(f"step_ns must be positive, got {step_ns}")
        if not real_time_factor > 0.0:
            raise ValueError(f"real_time_factor must be positive, got {real_time_factor}")
        if max_steps_per_call < 1:
            raise ValueError(f"max_steps_per_call must be >= 1, got {max_steps_per_call}")
        self.step_ns = step_ns
        self.real_time_factor = real_time_factor
        self.max_steps_per_call = max_steps_per_call
        self.now_ns = start_ns
        self._origin: tuple[int, int] | None = None  # (wall_ns, sim_ns) pacing origin
        self._window: tuple[int, int] | None = None  # (wall_ns, sim_ns) at last report

    def start(self, wall_ns: int) -> None:
        """Pace from this wall time on (the first ``steps_due`` call does it by itself)."""
        self._origin = (wall_ns, self.now_ns)
        self._window = (wall_ns, self.now_ns)

    def steps_due(self, wall_ns: int) -> int:
        """Steps to take now to keep pace, at most ``max_steps_per_call``."""
        if self._origin is None:
            self.start(wall_ns)
        wall0, sim0 = self._origin
        allowed_ns = sim0 + int((wall_ns - wall0) * self.real_time_factor)
        due = max(0, (allowed_ns - self.now_ns) // self.step_ns)
        if due > self.max_steps_per_call:
            due = self.max_steps_per_call
            # Behind: forget the debt, pace on from where these steps leave us.
            self._origin = (wall_ns, self.now_ns + due * self.step_ns)
        return due

    def advance(self) -> int:
        """One physics step; returns the new simulated time."""
        self.now_ns += self.step_ns
        return self.now_ns

    def achieved_factor(self, wall_ns: int) -> float | None:
        """Simulated over wall time since the last call (or start); None if no wall time."""
        if self._window is None:
            self.start(wall_ns)
            return None
        wall0, sim0 = self._window
        if wall_ns <= wall0:
            return None
        self._window = (wall_ns, self.now_ns)
        return (self.now_ns - sim0) / (wall_ns - wall0)
