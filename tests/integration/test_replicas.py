"""Replicas behind a real HAProxy on PostgreSQL and S3 (docs/design.md §15, docs/replicas.md).

Each replica is its own ``python -m opsml_server`` process with its own empty
temporary folder; HAProxy round-robins over them with health checks on
``/readyz``. The writers and the load go through the balancer only.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import pytest

from opsml import CardRegistry
from opsml.config import OpsmlSettings
from opsml_testing.balancer import REPLICA_HEADER, Cluster, cluster
from opsml_testing.emulators import S3Emulator
from tests.integration._replica_load import MixedLoad, check_acknowledged, register_with_file

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WRITERS = 8
PER_WRITER = 12


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, s3_emulator: S3Emulator
) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("replicas"), 3, s3=s3_emulator) as group:
        yield group


def test_the_balancer_round_robins_over_every_replica(replicas: Cluster) -> None:
    with httpx.Client(trust_env=False) as client:
        served = [client.get(f"{replicas.url}/readyz").headers[REPLICA_HEADER] for _ in range(6)]
    assert sorted(set(served)) == ["r1", "r2", "r3"]
    # one keep-alive connection, yet each request goes to the next replica
    assert all(a != b for a, b in itertools.pairwise(served)), served


def test_eight_writers_one_name_no_duplicate_and_nothing_lost(
    replicas: Cluster, tmp_path: Path
) -> None:
    before = replicas.balancer.answered() if replicas.balancer else {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WRITERS, mp_context=ctx) as pool:
        futures = [
            pool.submit(register_with_file, replicas.url, "eight", PER_WRITER, str(tmp_path))
            for _ in range(WRITERS)
        ]
        acked = [item for f in futures for item in f.result()]
    total = WRITERS * PER_WRITER
    versions = [item["version"] for item in acked]
    assert len(versions) == total and len(set(versions)) == total
    assert set(versions) == {"1.0.0"} | {f"1.0.{i}" for i in range(1, total)}
    registry = CardRegistry("run", settings=OpsmlSettings(tracking_uri=replicas.url))
    listed = registry.list_cards(name="eight", limit=1000)
    assert sorted(c.version for c in listed) == sorted(versions)
    check_acknowledged(replicas.url, acked, tmp_path / "check")
    assert replicas.balancer is not None
    after = replicas.balancer.answered()
    assert all(after[name] - before.get(name, 0) >= total // 3 for name in after), after


def test_rolling_restart_of_every_replica_under_load_fails_no_request(
    replicas: Cluster, tmp_path: Path
) -> None:
    assert replicas.balancer is not None
    with MixedLoad(replicas.url, tmp_path, threads=4) as load:
        while load.ops < 20:  # the load is running before the first restart
            time.sleep(0.05)
        took = [replicas.roll(name) for name in sorted(replicas.replicas)]
        ops_during = load.ops
    assert load.failures == [], (
        f"{len(load.failures)} failed of {load.ops}:\n"
        + "\n".join(load.failures[:3])
        + replicas.balancer.log()
    )
    assert ops_during > 40, f"too little load to mean anything: {ops_during} ops in {took}"
    versions = [item["version"] for item in load.acked]
    assert len(versions) == len(set(versions))
    check_acknowledged(replicas.url, load.acked, tmp_path / "check")
    assert sorted(replicas.balancer.states().values()) == ["UP", "UP", "UP"]
    moved = sum(int(v or 0) for v in replicas.balancer.stat("wredis").values())
    print(f"rolling restart: {load.ops} requests, restarts {took}, redispatched {moved}")
