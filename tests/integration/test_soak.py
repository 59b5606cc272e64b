"""Issue 30: a 2-minute soak of the server on PostgreSQL, mixed load as fast as the machine
allows; the server's RSS, sampled every 10 s, may grow at most 1 MiB per 10,000 requests
after a 30 s warm-up, in both halves of the run (a leak grows in both; a one-off step of the
allocator, seen once as 1.9 MiB in the 30-minute soak, sits in one and is not a leak).
``benchmarks/soak.py`` runs it for 30 minutes (``docs/reliability.md``).
"""

from __future__ import annotations

from pathlib import Path

from opsml_testing.databases import scratch_database
from opsml_testing.live_server import running_server
from opsml_testing.soak import soak

SECONDS = 120.0
INTERVAL = 10.0
WARMUP = 30.0
LIMIT_MIB_PER_10K = 1.0


def test_server_memory_stays_flat_under_mixed_load(tmp_path: Path) -> None:
    with scratch_database("postgres") as url, running_server(tmp_path, db_url=url) as server:
        result = soak(server, SECONDS, INTERVAL, WARMUP)
    assert len(result.samples) >= SECONDS / INTERVAL
    answered = result.samples[-1][1]
    assert answered > 1000, result.statuses  # a load, not a trickle
    assert not [status for status in result.statuses if status >= 500], result.statuses
    # a 404 or 409 only where threads race (a card deleted, or aliased, under another)
    refused = sum(n for status, n in result.statuses.items() if status >= 400)
    assert refused <= answered / 1000, result.statuses
    assert set(result.operations) == {"register", "page", "count", "get", "resolve", "download",
                                      "alias", "delete"}  # fmt: skip
    slope, steady = result.slope_mib_per_10k(), result.steady_slope_mib_per_10k()
    print(f"{answered} requests, RSS {slope:+.3f} MiB per 10,000 after the warm-up, {steady:+.3f}"
          " in the flatter half")  # fmt: skip
    assert steady <= LIMIT_MIB_PER_10K, (
        f"RSS grows {steady:.3f} MiB per 10,000 requests in both halves (all: {slope:.3f})"
    )
