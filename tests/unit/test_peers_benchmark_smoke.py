"""benchmarks/peers.py stays runnable: our side of its workloads at tiny sizes, in fresh
processes against a live server, and the ratio table over made-up rounds (no peer venvs).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from benchmarks import peers, workloads
from opsml_testing.seeding import write_random_file


def test_our_workloads_run_in_fresh_processes(tmp_path: Path) -> None:
    blob = tmp_path / "w.bin"
    sha = write_random_file(blob, 9 * 1024 * 1024)  # above the inline limit
    server = workloads.start_server(tmp_path / "srv")
    try:
        up = peers.work(sys.executable, "upload", server.url, path=str(blob), sha=sha, n=2)
        listed = peers.work(sys.executable, "listing", server.url, n=2, versions=3)
    finally:
        server.stop()
    assert len(up["upload_s"]) == 2
    assert up["cold_mb_s"] > 0 and up["warm_mb_s"] > 0 and up["download_mb_s"] > 0
    assert up["cold_with_import_mb_s"] <= up["cold_mb_s"]
    assert listed["warm_p50_ms"] > 0


def _round(scale: float) -> dict[str, object]:
    side = {
        "upload": {"upload_s": [1.2, 1.0, 1.0], "cold_mb_s": 100 * scale,
                   "cold_with_import_mb_s": 90 * scale, "warm_mb_s": 120 * scale,
                   "download_mb_s": 300 * scale},
        "register": {"cold_ms": 50 / scale, "cold_with_import_ms": 80 / scale,
                     "warm_p50_ms": 5 / scale},
        "listing": {"cold_ms": 10 / scale, "warm_p50_ms": 4 / scale},
    }  # fmt: skip
    machine = {"http_up_mb_s": 200.0, "http_up_verified_mb_s": 125.0,
               "http_up_stored_mb_s": 150.0, "http_down_mb_s": 400.0,
               "sha256_mb_s": 1000.0,
               "python_ref_ms": 1.0}  # fmt: skip
    return {"ours": side, "opsml224": _halved(side), "machine_before": machine,
            "machine_after": machine}  # fmt: skip


def _halved(side: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for workload, values in side.items():
        out[workload] = {
            k: (v / 2 if k.endswith("mb_s") else v * 2) if isinstance(v, float) else v
            for k, v in values.items()
        }
    return out


def test_ratios_are_ranges_over_rounds_and_budgets_are_judged() -> None:
    rounds = [_round(1.0), _round(1.0)]
    summary = peers.summarize(rounds)
    by_row = {r["row"]: r for r in summary["rows"]}
    assert by_row["download + verify, MB/s"]["vs_opsml224"] == [2.0, 2.0]
    assert by_row["register small sklearn model p50, ms"]["vs_opsml224"] == [2.0, 2.0]
    assert by_row["register small sklearn model p50, ms"]["vs_mlflow"] is None
    assert summary["upload_cold_of_bare"] == [0.5, 0.5]
    assert summary["upload_cold_of_verified_bare"] == [0.8, 0.8]
    assert [round(x, 3) for x in summary["upload_cold_of_stored_bare"]] == [0.667, 0.667]
    text = peers.render(summary, rounds)
    assert ">= 1.2x OpsML 2.2.4" in text and "PASS" in text and "FAIL" in text


def test_the_bare_references_include_a_verified_stored_upload(tmp_path: Path) -> None:
    blob = tmp_path / "w.bin"
    sha = write_random_file(blob, 5 * 1024 * 1024)
    bare = workloads.start_bare_server(tmp_path / "bare")
    try:
        got = workloads.machine_http(bare.url, 3, 1024 * 1024, blob)
    finally:
        bare.stop()
    assert got["http_up_stored_mb_s"] > 0 and got["http_up_verified_mb_s"] > 0
    stored = list((tmp_path / "bare" / "store").iterdir())
    assert len(stored) == 1
    assert hashlib.sha256(stored[0].read_bytes()).hexdigest() == sha
