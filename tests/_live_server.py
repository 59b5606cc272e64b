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
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from tests.conftest import RegistryEnv

READY_TIMEOUT = 60.0


@dataclass
class LiveServer:
    """A registry server subprocess."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    db_url: str
    storage_root: Path
    staging_root: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    started_in: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

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


def free_port() -> int:
    """A free loopback TCP port (bind to port 0 and read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
) -> LiveServer:
    """Start ``python -m opsml_server`` with ``env`` and wait until ``/readyz`` answers 200.

    Args:
        root: folder for the storage, staging and log (and SQLite database by default).
        db_url: the server's database; default a SQLite file under ``root``.
        env: extra environment (``OPSML_USERNAME``, ``APP_ENV``...).
        timeout: seconds to wait for readiness.

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
        "OPSML_STAGING_DIR": staging.as_posix(),
        **(env or {}),
    }
    last_error = ""
    for _ in range(3):  # another process may grab the free port first
        port = free_port()
        log_path = root / f"server-{port}.log"
        started = time.perf_counter()
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "opsml_server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env=_server_env(extra),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = LiveServer(
            url=f"http://127.0.0.1:{port}",
            port=port,
            process=process,
            db_url=db_url,
            storage_root=storage,
            staging_root=staging,
            log_path=log_path,
            env=extra,
        )
        if _wait_ready(server, timeout):
            server.started_in = time.perf_counter() - started
            return server
        server.stop()
        last_error = server.log()
        if "address already in use" not in last_error.lower():
            break
    raise RuntimeError(f"the registry server did not become ready:\n{last_error[-4000:]}")


def _wait_ready(server: LiveServer, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                if client.get(f"{server.url}/readyz").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    return False


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
        server = start_server(tmp_path_factory.mktemp("live-server"), db_url=url)
        try:
            yield server
        finally:
            server.stop()
            server.log_path.unlink(missing_ok=True)


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
