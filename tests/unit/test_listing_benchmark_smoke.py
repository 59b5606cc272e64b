"""The listing benchmark stays runnable: tiny seed, few repeats, its own checks."""

from __future__ import annotations

from pathlib import Path

from benchmarks import listing, run, workloads
from opsml_testing.seeding import seed_cards


def test_listing_workloads_measure_and_check_pages(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    seed_cards(url, 300, names=10)
    server = workloads.start_server(tmp_path, url)
    try:
        deep = listing.deep_pages(server.url, 3, 300, deep_page=4)  # checks where page 4 starts
        real = listing.real_cards(server.url, 3, versions=3, per_page=2)
    finally:
        server.stop()
    assert min(deep.values()) > 0 and min(real.values()) > 0
    table = listing.rows(real, deep, 300, run.Row)
    assert [r.budget for r in table] == [3, None, 3, 3, None]
