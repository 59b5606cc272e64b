"""The UI benchmark workload stays runnable: tiny seed, few repeats, its own checks."""

from __future__ import annotations

from pathlib import Path

from benchmarks import run, ui_workloads, workloads
from opsml_testing.seeding import seed_cards


def test_ui_workload_measures_and_checks_pages(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    seed_cards(url, 300, names=10)
    server = workloads.start_server(tmp_path, url)
    try:
        result = ui_workloads.ui_pages(server.url, 3, 300)
    finally:
        server.stop()
    assert result["list_p50_ms"] > 0 and result["card_p50_ms"] > 0
    assert 5 < result["card_weight_kb"] < 150 and 5 < result["list_weight_kb"] < 150
    table = ui_workloads.rows(result, 300, run.Row)
    assert [r.budget for r in table] == [20, 20, 20, 20, 150, 300]
