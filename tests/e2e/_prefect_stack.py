"""The Prefect path as users run it, as processes: Prefect server, registry server, CLI, worker.

Used by ``test_prefect_deployments.py``. Everything runs in subprocesses with a
private ``PREFECT_HOME`` and a SQLite database for the Prefect server, so the
test touches neither ``~/.prefect`` nor the other tests' Prefect harness.
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
from typing import Any

from opsml_testing.proc import Server, start

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BLOCK_NAME = "opsml-registry"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``OPSML_*``/``PREFECT_*`` variable, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPSML_", "PREFECT_")) and k != "APP_ENV"
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update({"PYTHONUNBUFFERED": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    env.update(extra)
    return env


@dataclass
class PrefectStack:
    """A Prefect server process and the environment its clients need."""

    root: Path
    server: Server
    env: dict[str, str]
    processes: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"{self.server.url}/api"

    def run(self, *argv: str, cwd: Path, env: dict[str, str] | None = None) -> str:
        """Run a command to completion with the stack's environment; fail with its output."""
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                f"{done.stderr[-3000:]}"
            )
        return done.stdout

    def spawn(self, name: str, *argv: str, cwd: Path, env: dict[str, str]) -> Path:
        """Start a long-running process (a worker); its output goes to ``<root>/<name>.log``."""
        log_path = self.root / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                list(argv), cwd=cwd, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes.append((process, log_path))
        return log_path

    def client_settings(self) -> Any:
        """``temporary_settings`` pointing this process's Prefect client at the stack."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        return temporary_settings({PREFECT_API_URL: self.api_url})

    def stop(self) -> None:
        for process, _ in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        self.server.stop()


@contextmanager
def prefect_stack(root: Path) -> Iterator[PrefectStack]:
    """``prefect server start`` on a free loopback port, a temporary home and SQLite database."""
    home = root / "prefect-home"
    home.mkdir(parents=True)
    env = clean_env(
        PREFECT_HOME=str(home),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{root / 'prefect.db'}",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    server = start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", "{port}"],
        ready_path="/api/health",
        log_path=root / "prefect-server.log",
        env=env,
        base_env={},
        timeout=240,
    )
    stack = PrefectStack(root=root, server=server, env={**env, "PREFECT_API_URL": ""})
    stack.env["PREFECT_API_URL"] = stack.api_url
    try:
        yield stack
    finally:
        stack.stop()


def copy_project(dest: Path) -> Path:
    """The repository's ``flows/`` and ``deployments/`` as a user's checkout would hold them."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build")
    shutil.copytree(REPO_ROOT / "flows", dest / "flows", ignore=ignore)
    shutil.copytree(REPO_ROOT / "deployments", dest / "deployments", ignore=ignore)
    return dest
