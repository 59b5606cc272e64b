"""The authentication benchmark (benchmarks/auth_overhead.py) stays runnable: two
registrations per mode, one round."""

from __future__ import annotations

from benchmarks.auth_overhead import MODES, measure


def test_auth_overhead_benchmark_runs() -> None:
    result = measure(n=2, rounds=1)
    assert set(result["register_p50_ms"]) == set(MODES)
    assert all(value > 0 for value in result["register_p50_ms"].values())
