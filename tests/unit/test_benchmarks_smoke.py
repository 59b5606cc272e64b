"""The benchmark harness (benchmarks/run.py) stays runnable: its cheapest workloads, tiny sizes.

No MLflow, no server: the machine limits, the SQL seeding, concurrent writers
straight on SQLite, and the table/JSON/chart output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import run, workloads
from opsml_testing.seeding import seed_cards, write_random_file


def test_machine_limits_on_a_small_file(tmp_path: Path) -> None:
    assert workloads.machine_sha256(1024 * 1024)["sha256_mb_s"] > 0
    src = tmp_path / "src.bin"
    sha = write_random_file(src, 3 * 1024 * 1024 + 5)
    assert src.stat().st_size == 3 * 1024 * 1024 + 5
    assert workloads.sha256_path(src) == sha
    assert workloads.machine_copy(src, tmp_path / "dst.bin")["copy_mb_s"] > 0
    assert not (tmp_path / "dst.bin").exists()


def test_seeding_and_concurrent_writers_check_their_results(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    seed_cards(url, 200, names=10)
    storage = (tmp_path / "storage").as_posix()
    result = workloads.concurrent_writers(url, url, storage, processes=2, per_process=3)
    assert result["registrations"] == 6
    assert result["distinct_versions"] == 6
    assert result["registrations_per_s"] > 0


def test_a_lost_version_fails_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    seed_cards(url, 10, names=1)
    monkeypatch.setattr(workloads, "_stored_versions", lambda *_: ["1.0.0"])
    with pytest.raises(workloads.BenchmarkError, match="stored"):
        workloads.concurrent_writers(
            url, url, (tmp_path / "s").as_posix(), processes=1, per_process=2
        )


def test_table_json_and_chart(tmp_path: Path) -> None:
    rows = [
        run.Row("register small sklearn model p50", "ms", 9.0, mlflow=180.0, budget=15),
        run.Row(
            "1 GiB download (digest verified)",
            "MB/s",
            500.0,
            mlflow=150.0,
            budget=600,
            higher_is_better=True,
        ),
        run.Row(
            "8 writers, PostgreSQL, via server",
            "reg/s",
            None,
            budget=200,
            higher_is_better=True,
            note="skipped",
        ),
    ]
    rows.append(
        run.Row(
            "256 MiB download (digest verified)",
            "MB/s",
            800.0,
            budget=600,
            higher_is_better=True,
            limit=2000.0,
            limit_name="bare download",
        )
    )
    assert rows[3].of_limit == pytest.approx(0.4)
    assert rows[0].passed and rows[0].ratio == pytest.approx(20.0)
    assert rows[1].passed is False and rows[1].ratio == pytest.approx(500 / 150)
    assert rows[2].passed is None
    text = run.table(rows, {"sha256_mb_s": 1000.0})
    assert "PASS" in text and "FAIL" in text and "20.0x better" in text
    assert "2,000 bare download (40%)" in text
    run.chart(rows, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 0
    json.dumps([{**vars(r), "ratio": r.ratio, "passed": r.passed} for r in rows])


def test_alias_move_benchmark_checks_its_result(tmp_path: Path) -> None:
    from benchmarks import aliases
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    settings = OpsmlSettings(
        tracking_uri=f"sqlite:///{(tmp_path / 'r.db').as_posix()}",
        storage_uri=(tmp_path / "s").as_posix(),
    )
    result = aliases.alias_moves(CardRegistry("run", settings=settings), 5)
    assert 0 < result["move_p50_ms"] <= result["move_p95_ms"]


@pytest.mark.timeout(300)
def test_replica_load_test_runs_and_reports(tmp_path: Path) -> None:
    """benchmarks/replicas.py, 8 s of Locust through HAProxy over one replica."""
    from benchmarks import replicas

    out = tmp_path / "out"
    assert not replicas.main(
        ["--duration", "8", "--replicas", "1", "--users", "2", "--out", str(out)]
    )
    [result] = json.loads((out / "replicas.json").read_text())["results"]
    assert result["replicas"] == 1 and result["ops"] > 0 and result["errors"] == 0, result
    assert {"register", "load", "list", "download 1 MiB"} >= set(result["operations"]) != set()
    assert result["http_requests"] >= result["ops"] and result["http_5xx"] == 0, result
    assert result["cpu_ms_per_op"]["replicas"] > 0 < result["replica_cpu_ms_per_http_request"]
    assert result["rss_mib_end"]["r1"] >= 50
    assert result["server_time_by_route"]["POST /api/v1/cards/{registry}"]["count"] > 0
    assert "replicas" in replicas.table([result])


def test_gib_download_rows_show_best_median_and_the_bare_limit() -> None:
    from benchmarks import downloads

    result = {
        "ours_mb_s": [700.0, 950.0, 800.0],
        "bare_mb_s": [1900.0, 2000.0, 1800.0],
        "server_rss_mib": [12.0, 17.0, 9.0],
        "runs": 3,
    }
    speed, rss = downloads.rows(result, run.Row)
    assert speed.ours == 800.0 and speed.limit == 1900.0
    assert speed.budget == pytest.approx(0.45 * 1900.0)  # under 900: the share of bare decides
    assert speed.passed is False and "best 950" in speed.note
    assert rss.ours == 17.0 and rss.passed


def test_repeated_body_streams_exactly_size_bytes_in_blocks() -> None:
    for size in (0, 1, workloads.BLOCK, workloads.BLOCK + 1, 3 * workloads.BLOCK - 5):
        pieces = list(workloads.repeated_body(size))
        assert b"".join(pieces) == b"\1" * size
        assert all(0 < len(piece) <= workloads.BLOCK for piece in pieces)


def test_packaging_image_rows_hold_the_budget_and_the_bare_install() -> None:
    from benchmarks import packaging_image
    from benchmarks.run import Row

    part = {"end_to_end_s": 47.4, "build_s": 42.8, "check_s": 3.4, "size_mb": 459.2}
    summary = {"cold layers": part, "warm layers": {**part, "end_to_end_s": 61.0}}
    summary["bare_install_s"] = 29.4
    cold, warm = packaging_image.rows(summary, Row)
    assert (cold.budget, cold.limit, cold.passed) == (60.0, 29.4, True)
    assert warm.passed is False and "459.2 MB" in warm.workload


def test_approval_benchmark_checks_its_result(tmp_path: Path) -> None:
    from benchmarks import approvals
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    base = {
        "tracking_uri": f"sqlite:///{(tmp_path / 'r.db').as_posix()}",
        "storage_uri": (tmp_path / "s").as_posix(),
        "protected_aliases": approvals.ALIAS,
    }
    alice = CardRegistry("run", settings=OpsmlSettings(**base, actor="alice"))
    bob = CardRegistry("run", settings=OpsmlSettings(**base, actor="bob"))
    result = approvals.approvals(alice, bob, 5)
    assert 0 < result["approve_p50_ms"] <= result["approve_p95_ms"]
    assert 0 < result["request_p50_ms"] <= result["request_p95_ms"]
