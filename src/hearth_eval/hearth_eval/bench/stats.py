"""Summary statistics for benchmark samples."""

from __future__ import annotations

import numpy as np


def summarize_ms(samples_s: list[float] | np.ndarray) -> dict[str, float]:
    """Median, p95, min and max of durations given in seconds, reported in milliseconds."""
    a = np.asarray(samples_s, dtype=float) * 1e3
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "median_ms": round(float(np.median(a)), 4),
        "p95_ms": round(float(np.percentile(a, 95)), 4),
        "min_ms": round(float(a.min()), 4),
        "max_ms": round(float(a.max()), 4),
    }
