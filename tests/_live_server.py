"""Live registry servers for tests: a session-wide one on PostgreSQL, and extra ones on demand.

Register with ``pytest_plugins = ["tests._live_server"]`` in ``tests/conftest.py``.

- ``live_server`` (session fixture): ``python -m opsml_server`` on a free
  loopback port, over a scratch PostgreSQL database and a session-wide storage
  folder; ``http_env`` empties both before each test.
- :func:`running_server`: a context manager that starts another server with
  the environment you give it (auth on, production...), on SQLite by default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from benchmarks._proc import Server, start

if TYPE_CHECKING:
    from tests.conftest import RegistryEnv

READY_TIMEOUT = 60.0


@dataclass
class LiveServer:
    """A registry server subprocess, with the database and folders it uses."""

    proc: Server
    db_url: str
    storage_root: Path
    staging_root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def port(self) -> int:
        return self.proc.port

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.proc.process

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.proc.log_path

    @property
    def started_in(self) -> float:
        return self.proc.started_in

    def log(self) -> str:
        return self.proc.log()

    def stop(self) -> None:
        self.proc.stop()

    def reset(self) -> None:
        """Empty the database tables, the storage folder and the staging folder."""
        from tests._databases import clear_tables

        clear_tables(self.db_url)
        for root in (self.storage_root, self.staging_root):
            if root.exists():
                for child in root.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
        for sub in ("sessions", "inline", "committing"):
            (self.staging_root / sub).mkdir(parents=True, exist_ok=True)


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_") and k != "APP_ENV"}
    env.update({"PYTHONUNBUFFERED": "1", "OPSML_LOG_LEVEL": "WARNING"})
    env.update(extra)
    return env


def start_server(
    root: Path,
    *,
    db_url: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = READY_TIMEOUT,
    ready_path: str = "/readyz",
) -> LiveServer:
    """Start ``python -m opsml_server`` with ``env`` and wait until ``/readyz`` answers 200.

    Args:
        root: folder for the storage, staging and log (and SQLite database by default).
        db_url: the server's database; default a SQLite file under ``root``.
        env: extra environment (``OPSML_USERNAME``, ``APP_ENV``...).
        timeout: seconds to wait for readiness.
        ready_path: the probe to wait for (``/healthz``: only alive).

    Raises:
        RuntimeError: the server did not become ready; the message has its stderr.
    """
    root.mkdir(parents=True, exist_ok=True)
    storage = root / "storage"
    staging = root / "staging"
    storage.mkdir(exist_ok=True)
    db_url = db_url or f"sqlite:///{(root / 'registry.db').as_posix()}"
    extra = {
        "OPSML_TRACKING_URI": db_url,
        "OPSML_STORAGE_URI": storage.as_posix(),
        **(env or {}),
    }
    try:
        proc = start(
            [
                sys.executable,
                "-m",
                "opsml_server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
            ],
            ready_path=ready_path,
            log_path=root / "server-{port}.log",
            env=_server_env(extra),
            base_env={},
            timeout=timeout,
        )
    except RuntimeError as exc:
        raise RuntimeError(f"the registry server did not become ready: {exc}") from None
    return LiveServer(proc, db_url=db_url, storage_root=storage, staging_root=staging, env=extra)


@contextmanager
def running_server(
    root: Path, *, db_url: str | None = None, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """A server for the duration of a ``with`` block (see :func:`start_server`)."""
    server = start_server(root, db_url=db_url, env=env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The session's registry server, on its own scratch PostgreSQL database."""
    from opsml.backends.sql.migrate import upgrade_database
    from tests._databases import scratch_database

    with scratch_database("postgres") as url:
        upgrade_database(url)
        from tests.conftest import PROTECTED_ALIASES

        server = start_server(
            tmp_path_factory.mktemp("live-server"), db_url=url,
            env={"OPSML_PROTECTED_ALIASES": PROTECTED_ALIASES},
        )  # fmt: skip
        try:
            yield server
        finally:
            server.stop()
            server.log_path.unlink(missing_ok=True)


PROD_TOKEN = "prod-token-0123456789abcdef"
"""The production token of the ``prod_server`` fixture (tests/integration/conftest.py)."""


def server_snapshot(server: LiveServer) -> object:
    """Every card row and stored file of a live server: to check that nothing changed."""
    from opsml.config import OpsmlSettings
    from tests.conftest import RegistryEnv

    return RegistryEnv(
        "http", OpsmlSettings(tracking_uri=server.url), server.db_url, server.storage_root
    ).snapshot()


def http_env(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    """An empty registry behind the session's live server (mode ``http``)."""
    from opsml.config import OpsmlSettings
    from tests.conftest import RegistryEnv

    server: LiveServer = request.getfixturevalue("live_server")
    if server.process.poll() is not None:
        pytest.fail(f"the live registry server died:\n{server.log()[-4000:]}")
    server.reset()
    settings = OpsmlSettings(tracking_uri=server.url)
    return RegistryEnv(
        mode="http",
        settings=settings,
        db_url=server.db_url,
        storage_root=server.storage_root,
        extra={"server": server},
    )
