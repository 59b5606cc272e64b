"""Prometheus metrics with several worker processes per pod (docs/design.md §15).

``opsml server start --workers 2`` runs two uvicorn worker processes behind one
socket; whichever one answers ``/metrics`` must report the counts of both
(prometheus_client's multiprocess mode), not its own share.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opsml_testing.live_server import running_server

REQUESTS = 40


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    raise AssertionError(f"no {name} {labels} in:\n{text[:2000]}")


def _counting_pids(folder: Path) -> set[str]:
    return {re.sub(r"\D", "", p.name) for p in folder.glob("counter_*.db")}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("own_dir", [True, False], ids=["dir-given", "dir-made-by-server"])
def test_two_workers_report_summed_counts(tmp_path: Path, own_dir: bool) -> None:
    metrics_dir = tmp_path / "prom"
    env = {"OPSML_SERVER_WORKERS": "2", "OPSML_REPLICA_NAME": "replica-a"}
    if own_dir:
        metrics_dir.mkdir()
        (metrics_dir / "counter_999999.db").write_bytes(b"left by a previous container")
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    sent = 0
    with running_server(tmp_path / "server", env=env) as server:
        assert not (metrics_dir / "counter_999999.db").exists(), "an earlier run's files go"
        # new connections from 8 threads at once: the kernel spreads them over both
        # workers (the second may still be starting: go on until both have counted)
        closing = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(limits=closing, trust_env=False) as client:
            url = f"{server.url}/healthz"
            deadline = time.monotonic() + 30
            with ThreadPoolExecutor(8) as pool:
                while not sent or (own_dir and len(_counting_pids(metrics_dir)) < 2):
                    codes = list(pool.map(lambda _: client.get(url).status_code, range(REQUESTS)))
                    assert codes == [200] * REQUESTS
                    sent += REQUESTS
                    assert time.monotonic() < deadline, "the second worker never answered"
            scrapes = [client.get(f"{server.url}/metrics").text for _ in range(6)]
    for text in scrapes:
        count = _sample(
            text, "opsml_http_requests_total", method="GET", route="/healthz", status="200"
        )
        assert count == sent
        seen = _sample(
            text, "opsml_http_request_duration_seconds_count", method="GET", route="/healthz"
        )
        assert seen == sent
        assert _sample(text, "opsml_server_info", replica="replica-a") == 1
