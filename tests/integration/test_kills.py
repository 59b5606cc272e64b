"""Issue 30: SIGKILLs of the server at random points of registrations, on SQLite with a
folder store and on PostgreSQL with S3 (moto). After a restart and ``opsml db gc``: no
visible card without its files, no orphan object, file or session, and every retry
succeeds. A few kills per store here (CI); ``benchmarks/kills.py`` runs 100 per store
and its phase histogram is in ``docs/reliability.md``.
"""

from __future__ import annotations

from pathlib import Path

import fsspec

from opsml_testing.databases import scratch_database
from opsml_testing.emulators import S3Emulator, unique_uri
from opsml_testing.kills import Report, Store, run_kills

KILLS = 4


def _check(report: Report) -> None:
    assert report.problems == []
    assert report.retries_ok == sum(report.phases.values()) == KILLS
    assert report.durations and all(seconds > 0 for seconds in report.durations.values())


def test_kills_on_sqlite_and_a_folder(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    store = Store(
        "SQLite + folder", f"sqlite:///{(tmp_path / 'registry.db').as_posix()}",
        storage.as_posix(), {}, fsspec.filesystem("file"), storage.as_posix(),
    )  # fmt: skip
    report = run_kills(store, tmp_path, KILLS)
    _check(report)


def test_kills_on_postgres_and_s3(tmp_path: Path, s3_emulator: S3Emulator) -> None:
    uri = unique_uri(s3_emulator)
    with scratch_database("postgres") as url:
        store = Store(
            "PostgreSQL + S3", url, uri, s3_emulator.server_env(), s3_emulator.filesystem(),
            uri.removeprefix("s3://"),
        )  # fmt: skip
        report = run_kills(store, tmp_path, KILLS)
    _check(report)
