"""Time a call ``n`` times and take the median (stdlib only).

Used by our workloads and by ``mlflow_worker.py``, which runs in MLflow's own
virtual environment and imports this module from its folder.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def p50_ms(samples: list[float]) -> float:
    """Median of samples in seconds, as milliseconds."""
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], Any], n: int, warmup: int = 2) -> list[float]:
    """Wall times of ``n`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out
