"""Issue 18: processes starting together on a brand-new database all succeed.

Eight real processes (spawn) point at a database that has no tables yet and
register ten model cards each, patch bumps of one name. Every process runs the
automatic migration on its first use; the migration lock must make that safe
on every database, and version reservation must retry deadlocks.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from opsml import versioning
from opsml_testing.databases import scratch_database
from tests.contract._fresh_workers import register_models

PROCESSES = 8
PER_PROCESS = 10


@contextmanager
def _fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{(tmp_path / 'fresh' / 'registry.db').as_posix()}"
        return
    with scratch_database(kind) as url:  # never migrated: the workers race to create it
        yield url


def _collect(results: object, total: int) -> tuple[list[str], list[str]]:
    versions: list[str] = []
    failures: list[str] = []
    deadline = time.monotonic() + 600
    while len(versions) + len(failures) < total and time.monotonic() < deadline:
        try:
            status, value = results.get(timeout=5)  # type: ignore[attr-defined]
        except queue.Empty:
            continue
        (versions if status == "ok" else failures).append(value)
    return versions, failures


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_issue_18_eight_processes_on_a_brand_new_database(kind: str, tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    total = PROCESSES * PER_PROCESS
    storage = (tmp_path / "artifacts").as_posix()
    with _fresh_database(kind, tmp_path) as url:
        barrier = ctx.Barrier(PROCESSES)
        results = ctx.Queue()
        workers = [
            ctx.Process(
                target=register_models,
                args=(url, storage, PER_PROCESS, "fresh", barrier, results),
            )
            for _ in range(PROCESSES)
        ]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        versions, failures = _collect(results, total)
        for worker in workers:
            worker.join(timeout=60)
        elapsed = time.monotonic() - started
        print(
            f"\n[{kind}] failures={len(failures)} distinct={len(set(versions))} time={elapsed:.1f}s"
        )
        assert failures == [], f"{len(failures)} of {total} failed, first: {failures[:3]}"
        assert len(versions) == total and len(set(versions)) == total
        assert set(versions) == {"1.0.0"} | {f"1.0.{i}" for i in range(1, total)}
        assert versions != [] and versioning.sorted_versions(versions)[-1] == f"1.0.{total - 1}"
