"""Message rates per topic, measured from arrival times (ROS-free)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TopicRate:
    """Arrivals on one topic: count, first and last arrival (s, monotonic clock)."""

    topic: str
    type_name: str
    count: int = 0
    first_s: float | None = None
    last_s: float | None = None
    latched: bool = False  # transient local: a late subscriber gets the last message

    def add(self, t_s: float) -> None:
        if self.first_s is None:
            self.first_s = t_s
        self.last_s = t_s
        self.count += 1

    @property
    def rate_hz(self) -> float:
        """Mean rate over the arrivals seen; 0 with fewer than two."""
        if self.count < 2 or self.last_s is None or self.first_s is None:
            return 0.0
        span = self.last_s - self.first_s
        return (self.count - 1) / span if span > 0 else 0.0


@dataclass
class RateTable:
    rows: dict[str, TopicRate] = field(default_factory=dict)

    def add(self, topic: str, type_name: str, t_s: float) -> None:
        self.row(topic, type_name).add(t_s)

    def row(self, topic: str, type_name: str) -> TopicRate:
        if topic not in self.rows:
            self.rows[topic] = TopicRate(topic, type_name)
        return self.rows[topic]

    def as_dict(self) -> dict[str, dict]:
        return {
            t: {"type": r.type_name, "count": r.count, "rate_hz": round(r.rate_hz, 2),
                "latched": r.latched}
            for t, r in sorted(self.rows.items())
        }

    def format(self) -> str:
        """A fixed-width table, one topic per line, sorted by name."""
        lines = [f"{'topic':<36} {'type':<42} {'msgs':>7} {'rate Hz':>8}"]
        lines.append("-" * len(lines[0]))
        for t, r in sorted(self.rows.items()):
            rate = "latched" if r.latched and r.count <= 1 else f"{r.rate_hz:.1f}"
            lines.append(f"{t:<36} {r.type_name:<42} {r.count:>7} {rate:>8}")
        return "\n".join(lines)
