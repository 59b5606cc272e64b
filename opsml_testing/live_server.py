"""Registry servers in subprocesses: the one command that starts ``python -m opsml_server``
on a free loopback port, and :class:`LiveServer`, a server with its database and folders.

- :func:`start_registry`: the server command with the environment you give it
  (benchmarks build their own environment).
- :func:`start_server` / :func:`running_server`: a server over SQLite under a folder
  by default, with a clean environment (no ``OPSML_*`` of this process) and ``reset()``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from opsml_testing.proc import Server, start

READY_TIMEOUT = 60.0


def server_command(workers: int | None = None) -> list[str]:
    """The command of a registry server on ``127.0.0.1``, port ``{port}`` (see :func:`start`).

    Example:
        >>> server_command(workers=2)[2:]
        ['opsml_server', 'start', '--host', '127.0.0.1', '--port', '{port}', '--workers', '2']

    """
    argv = [sys.executable, "-m", "opsml_server", "start", "--host", "127.0.0.1",
            "--port", "{port}"]  # fmt: skip
    return argv if workers is None else [*argv, "--workers", str(workers)]


def start_registry(
    env: dict[str, str],
    *,
    log_path: Path,
    workers: int | None = None,
    base_env: Mapping[str, str] | None = None,
    ready_path: str = "/readyz",
    timeout: float = 120.0,
) -> Server:
    """Start :func:`server_command` with ``env`` and wait until ``ready_path`` answers 200.

    Args:
        env: variables added to ``base_env`` (``OPSML_TRACKING_URI``...).
        log_path: where its output goes (``{port}`` in the name becomes the port).
        workers: ``--workers``; default: the command's own default.
        base_env: the environment to start from (default: this process's).
        ready_path: the probe to wait for (``/healthz``: only alive).
        timeout: seconds to wait for readiness.

    Raises:
        RuntimeError: the server did not become ready; the message has its log.

    """
    return start(
        server_command(workers), ready_path=ready_path, log_path=log_path, env=env,
        base_env=base_env, timeout=timeout,
    )  # fmt: skip


@dataclass
class LiveServer:
    """A registry server subprocess, with the database and folders it uses."""

    proc: Server
    db_url: str
    storage_root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Its base URL."""
        return self.proc.url

    @property
    def port(self) -> int:
        """Its loopback port."""
        return self.proc.port

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """Its process."""
        return self.proc.process

    @property
    def pid(self) -> int:
        """Its process id."""
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        """The file of its output."""
        return self.proc.log_path

    @property
    def started_in(self) -> float:
        """Seconds from start to ready."""
        return self.proc.started_in

    def log(self) -> str:
        """The end of its output."""
        return self.proc.log()

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        self.proc.stop()

    def reset(self) -> None:
        """Empty the database tables and the storage folder (upload sessions' ``.uploads/`` too)."""
        from opsml_testing.databases import clear_tables

        clear_tables(self.db_url)
        if self.storage_root.exists():
            for child in self.storage_root.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)


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
        root: folder for the storage and log (and SQLite database by default).
        db_url: the server's database; default a SQLite file under ``root``.
        env: extra environment (``OPSML_USERNAME``, ``APP_ENV``...).
        timeout: seconds to wait for readiness.
        ready_path: the probe to wait for (``/healthz``: only alive).

    Raises:
        RuntimeError: the server did not become ready; the message has its stderr.

    """
    root.mkdir(parents=True, exist_ok=True)
    storage = root / "storage"
    storage.mkdir(exist_ok=True)
    db_url = db_url or f"sqlite:///{(root / 'registry.db').as_posix()}"
    extra = {
        "OPSML_TRACKING_URI": db_url,
        "OPSML_STORAGE_URI": storage.as_posix(),
        **(env or {}),
    }
    try:
        proc = start_registry(
            _server_env(extra), log_path=root / "server-{port}.log", base_env={},
            ready_path=ready_path, timeout=timeout,
        )  # fmt: skip
    except RuntimeError as exc:
        raise RuntimeError(f"the registry server did not become ready: {exc}") from None
    return LiveServer(proc, db_url=db_url, storage_root=storage, env=extra)


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
