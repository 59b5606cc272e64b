"""Client load for the replica tests: writers (importable under spawn) and a mixed load loop."""

from __future__ import annotations

import hashlib
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def register_one(registry: Any, name: str, folder: Path, i: int) -> dict[str, str]:
    """Register one run card named ``name`` with its own small file; what was acknowledged."""
    import os

    from opsml import RunCard

    body = f"{os.getpid()} {i} {time.time_ns()}\n".encode() * 20
    path = folder / f"{os.getpid()}-{threading.get_ident()}-{i}.txt"
    path.write_bytes(body)
    card = RunCard(name=name, repository="replicas", contact="w@example.com", git_commit=None)
    card.log_artifact(path)
    registry.register_card(card, version_type="patch")
    assert card.version is not None and card.uid is not None
    digest = hashlib.sha256(body).hexdigest()
    return {"uid": card.uid, "version": card.version, "sha256": digest, "path": path.name}


def register_with_file(url: str, name: str, count: int, folder: str) -> list[dict[str, str]]:
    """Register ``count`` cards through ``url`` (a worker process); what was acknowledged."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    registry = CardRegistry("run", settings=OpsmlSettings(tracking_uri=url))
    return [register_one(registry, name, Path(folder), i) for i in range(count)]


def check_acknowledged(url: str, acked: list[dict[str, str]], out: Path) -> None:
    """Every acknowledged registration loads by uid and downloads with its digest."""
    from opsml import CardRegistry
    from opsml.config import OpsmlSettings

    registry = CardRegistry("run", settings=OpsmlSettings(tracking_uri=url))
    for item in acked:
        card = registry.load_card(uid=item["uid"])
        assert card.version == item["version"]
        target = out / item["uid"]
        card.download_artifacts(target)  # verifies size and SHA-256
        files = list(target.rglob(item["path"]))
        assert len(files) == 1, f"{item['path']} missing from {item['uid']}"
        assert hashlib.sha256(files[0].read_bytes()).hexdigest() == item["sha256"]


@dataclass
class MixedLoad:
    """Threads doing register / load / list / download through one URL until stopped.

    Every exception is a failed request (kept with its traceback); successful
    registrations are kept to check afterwards.
    """

    url: str
    folder: Path
    threads: int = 4
    name: str = "rolling"
    ops: int = 0
    failures: list[str] = field(default_factory=list)
    acked: list[dict[str, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _loop(self, index: int) -> None:
        from opsml import CardRegistry
        from opsml.config import OpsmlSettings

        registry = CardRegistry("run", settings=OpsmlSettings(tracking_uri=self.url))
        folder = self.folder / f"t{index}"
        folder.mkdir(parents=True, exist_ok=True)
        step = 0
        while not self._stop.is_set():
            step += 1
            try:
                self._one(registry, folder, index, step)
            except Exception:
                with self._lock:
                    self.failures.append(traceback.format_exc())
            with self._lock:
                self.ops += 1

    def _one(self, registry: Any, folder: Path, index: int, step: int) -> None:
        kind = step % 4
        if kind == 0 or not self.acked:
            made = register_one(registry, self.name, folder, step)
            with self._lock:
                self.acked.append(made)
        elif kind == 1:
            registry.load_card(name=self.name, repository="replicas")
        elif kind == 2:
            registry.list_cards(name=self.name, limit=20)
        else:
            item = self.acked[(index + step) % len(self.acked)]
            registry.load_card(uid=item["uid"]).download_artifacts(folder / f"d{step}")

    def __enter__(self) -> MixedLoad:
        for i in range(self.threads):
            worker = threading.Thread(target=self._loop, args=(i,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
