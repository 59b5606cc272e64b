"""Locust users for benchmarks/replicas.py: the registry's own client, through the balancer.

Each user is one data scientist's client (its own ``CardRegistry`` over HTTP,
so its own connection pool) doing, with no pause between operations:
register a small run card (a metric, a param and a 1 KiB file), load the
latest version by name, list the newest 20, and download a 1 MiB artifact
with its digest verified. Every operation is reported to Locust as one
request named after it (``register``, ``load``, ``list``, ``download 1 MiB``).

Run by benchmarks/replicas.py (``--host`` is the balancer; the uid of the
1 MiB card comes in ``OPSML_BENCH_DOWNLOAD_UID``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from locust import User, constant, task

from opsml import CardRegistry, RunCard  # imported before the clock starts
from opsml.config import OpsmlSettings

NAME = "load"
REPOSITORY = "bench"


class RegistryUser(User):
    """One registry client doing the mixed workload."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.registry = CardRegistry("run", settings=OpsmlSettings(tracking_uri=self.host))
        self.folder = Path(tempfile.mkdtemp(prefix="locust-"))
        self.small = self.folder / "notes.txt"
        self.small.write_bytes(os.urandom(512).hex().encode())
        self.download_uid = os.environ["OPSML_BENCH_DOWNLOAD_UID"]
        self.step = 0

    def on_stop(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _timed(self, name: str, action: Callable[[], Any]) -> None:
        start = time.perf_counter()
        error: BaseException | None = None
        try:
            action()
        except Exception as exc:
            error = exc
        self.environment.events.request.fire(
            request_type="opsml",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def _register(self) -> None:
        self.step += 1
        card = RunCard(
            name=NAME, repository=REPOSITORY, contact="bench@example.com", git_commit=None
        )
        card.log_metric("loss", 1.0 / self.step)
        card.log_params(step=self.step)
        card.log_artifact(self.small)
        self.registry.register_card(card, version_type="patch")

    def _download(self) -> None:
        target = self.folder / f"d{self.step}"
        self.registry.load_card(uid=self.download_uid).download_artifacts(target)
        shutil.rmtree(target, ignore_errors=True)

    @task(1)
    def register(self) -> None:
        self._timed("register", self._register)

    @task(3)
    def load(self) -> None:
        self._timed("load", lambda: self.registry.load_card(name=NAME, repository=REPOSITORY))

    @task(2)
    def list_newest(self) -> None:
        self._timed("list", lambda: self.registry.list_cards(name=NAME, limit=20))

    @task(1)
    def download(self) -> None:
        self._timed("download 1 MiB", self._download)
