"""Migrations run once, by ``opsml db upgrade`` (the Kubernetes Job), never by replicas racing.

Replicas run with ``OPSML_AUTO_MIGRATE=false`` (as in deployments/k8s): on a
database behind the code they stay alive (``/healthz`` 200) but not ready
(``/readyz`` 503, so no Service or balancer sends them traffic) and create
nothing; once the Job has upgraded the schema they become ready by themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from opsml.backends.sql.migrate import head_revision
from opsml_testing.databases import scratch_database
from opsml_testing.live_server import LiveServer, start_server

pytestmark = pytest.mark.timeout(180)


def _status(client: httpx.Client, server: LiveServer, path: str) -> int:
    return client.get(f"{server.url}{path}").status_code


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_replicas_wait_not_ready_until_the_migration_job_ran(tmp_path: Path) -> None:
    env = {"OPSML_AUTO_MIGRATE": "false"}
    with scratch_database("postgres") as url:
        servers = [
            start_server(tmp_path / f"r{i}", db_url=url, env=env, ready_path="/healthz")
            for i in range(3)
        ]
        try:
            with httpx.Client(trust_env=False) as client:
                for server in servers:
                    assert _status(client, server, "/healthz") == 200
                    answer = client.get(f"{server.url}/readyz")
                    assert answer.status_code == 503
                    assert answer.json()["error"]["code"] == "not_ready"
                    listing = client.get(f"{server.url}/api/v1/cards/run")
                    assert listing.status_code == 503, listing.text
                    assert "opsml db upgrade" in listing.json()["error"]["message"]
                assert _tables(url) == [], "a replica must not migrate"

                job = subprocess.run(
                    [sys.executable, "-m", "opsml.cli", "db", "upgrade"],
                    env={**os.environ, "OPSML_TRACKING_URI": url},
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                assert job.returncode == 0, job.stderr
                assert head_revision() in job.stdout

                deadline = time.monotonic() + 20
                while any(_status(client, s, "/readyz") != 200 for s in servers):
                    assert time.monotonic() < deadline, "replicas did not become ready"
                    time.sleep(0.1)
        finally:
            for server in servers:
                server.stop()
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        engine.dispose()
        assert [r[0] for r in rows] == [head_revision()]
