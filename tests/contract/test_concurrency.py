"""Many processes registering the same name: no duplicate, nothing lost (docs/design.md §5)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from opsml import versioning
from tests.conftest import RegistryEnv
from tests.contract._helpers import worker_settings
from tests.contract._workers import register_many

PROCESSES = 8
PER_PROCESS = 25


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_eight_processes_register_the_same_name(registry_env: RegistryEnv) -> None:
    if registry_env.storage_kind != "folder":
        pytest.skip("version allocation does not depend on the store: run on folder storage only")
    settings = worker_settings(registry_env)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        futures = [
            pool.submit(register_many, settings, PER_PROCESS, "shared") for _ in range(PROCESSES)
        ]
        results = [f.result() for f in futures]
    every = [v for versions in results for v in versions]
    total = PROCESSES * PER_PROCESS
    assert len(every) == total and len(set(every)) == total
    # each process saw its own versions strictly increase
    for versions in results:
        assert versions == versioning.sorted_versions(versions)
    listed = registry_env.registry("run").list_cards(name="shared", limit=1000)
    assert sorted(c.version for c in listed) == sorted(every)
    # patch bumps from 1.0.0 with no gaps: nothing lost, nothing skipped
    assert set(every) == {"1.0.0"} | {f"1.0.{i}" for i in range(1, total)}
