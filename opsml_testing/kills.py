"""SIGKILLs of the registry server at random points of registrations (issue 30).

Shared by ``tests/integration/test_kills.py`` (a few kills, in CI) and
``benchmarks/kills.py`` (100 per store, figures for ``docs/reliability.md``).

One trial: a client registers a card of ``FILES`` files, alternately in one multipart
request and through an upload session (presigned on S3); the server is killed with
SIGKILL after a delay drawn uniformly over the duration of an unkilled registration of
the same kind (measured first). The phase the kill hit is read from what it left behind
(rows and stored objects), not guessed from the delay. Then the server starts again on
the same database and store, ``opsml db gc --older-than 0s`` runs, and the trial checks:
no pending row, no upload session, no staged object, every visible card has every file
with its size and SHA-256, no stored object belongs to no card; then the same
registration again succeeds, and the checks hold again.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from opsml.backends.http import HttpBackend
from opsml.errors import OpsmlError
from opsml.schemas import ArtifactFile, CardCreate, CardQuery
from opsml_testing.live_server import LiveServer, start_server

FILES = 40
FILE_SIZE = 96 * 1024
MODES = ("single request", "upload session")
CALIBRATIONS = 4
"""Unkilled registrations per kind: the first warms up, the median of the rest is the span."""


@dataclass
class Store:
    """Where a server keeps its cards: the database, the store and how to list the store."""

    name: str
    db_url: str
    storage_uri: str
    server_env: dict[str, str]
    fs: Any  # an fsspec filesystem
    root: str  # the store's root in ``fs``

    def objects(self) -> dict[str, int]:
        """Every stored object, relative to the store's root, with its size."""
        try:
            found = self.fs.find(self.root, withdirs=False, detail=True)
        except FileNotFoundError:
            return {}
        return {str(p)[len(self.root) :].lstrip("/"): int(i["size"]) for p, i in found.items()}

    def read(self, key: str) -> bytes:
        """The bytes of ``key``."""
        return bytes(self.fs.cat_file(f"{self.root}/{key}"))


@dataclass
class Report:
    """What the kills hit and what the checks found."""

    phases: Counter[str] = field(default_factory=Counter)
    by_mode: Counter[tuple[str, str]] = field(default_factory=Counter)
    fractions: list[tuple[float, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    retries_ok: int = 0
    verified: set[str] = field(default_factory=set)
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def commit_hits(self) -> int:
        """Kills that landed inside a commit (a version reserved, not yet active)."""
        return sum(n for phase, n in self.phases.items() if phase.startswith("commit"))


def make_card(source: Path, name: str = "killed") -> CardCreate:
    """A run card of ``FILES`` random files written under ``source``."""
    source.mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(FILES):
        data = os.urandom(FILE_SIZE)
        path = f"part-{index:03d}.bin"
        (source / path).write_bytes(data)
        records.append(
            ArtifactFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        )
    return CardCreate(registry="run", name=name, repository="ds", contact="me", files=records)


def _client(url: str, mode: str) -> HttpBackend:
    inline = 1 << 40 if mode == "single request" else 0  # all in one request, or a session
    return HttpBackend(url, retries=0, timeout=60, inline_limit=inline)


class Registrar:
    """A child process that registers the card each time it is told to, and says how long
    it took: its CPU work never delays the parent's timer (no shared GIL).
    """

    def __init__(self, mode: str, card: CardCreate, source: Path) -> None:
        (source.parent / "card.json").write_text(card.model_dump_json())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsml_testing.kills", mode, str(source)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n")
        self.proc.stdin.flush()

    def prepare(self, url: str) -> None:
        """Build the client of ``url`` (not part of the registration's span)."""
        self._send(url)
        assert self._line() == "prepared"

    def go(self) -> float:
        """Start the registration (returns at once); the time it started."""
        self._send("go")
        return time.perf_counter()

    def result(self) -> bool:
        """Whether the registration succeeded."""
        return self._line() == "ok"

    def close(self) -> None:
        """End the child."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def _registrar_main(mode: str, source: Path) -> None:
    card = CardCreate.model_validate_json((source.parent / "card.json").read_text())
    print("ready", flush=True)
    lines = iter(sys.stdin)
    for url in lines:
        client = _client(url.strip(), mode)
        client.transport.client.get(f"{url.strip()}/healthz")  # connected, TLS context built
        print("prepared", flush=True)
        next(lines)  # go
        try:
            client.register_card(card, source)
            outcome = "ok"
        except (OpsmlError, OSError):  # the server died under it
            outcome = "failed"
        finally:
            client.close()
        print(outcome, flush=True)


def _rows(store: Store, query: str) -> list[Any]:
    engine = create_engine(store.db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query)))
    finally:
        engine.dispose()


def active_count(store: Store) -> int:
    """How many versions of the card are active."""
    query = "SELECT count(*) FROM opsml_cards WHERE name = 'killed' AND status = 'active'"
    return int(_rows(store, query)[0][0])


def phase_of(store: Store, active_before: int) -> str:
    """The phase a killed registration was in, read from the rows and objects it left."""
    cards = _rows(store, "SELECT version, status FROM opsml_cards WHERE name = 'killed'")
    sessions = _rows(store, "SELECT id, state FROM opsml_upload_sessions")
    arrived = _rows(store, "SELECT count(*) FROM opsml_upload_files")[0][0]
    objects = store.objects()
    staged = [o for o in objects if o.startswith(".uploads/")]
    pending = [c for c in cards if c.status == "pending"]
    if pending:
        prefix = f"run/ds/killed/v{pending[0].version}/"
        placed = sum(1 for o in objects if o.startswith(prefix))
        if placed == 0:
            return "commit: version reserved, no file in place"
        if placed < FILES:
            return "commit: copying files into place"
        return "commit: every file in place, not yet active"
    newest_active = len([c for c in cards if c.status == "active"]) > active_before
    if sessions:
        if any(s.state == "committing" for s in sessions):
            return "commit: session locked, version not yet reserved"
        if newest_active and (staged or arrived):
            return "after commit: session not yet cleared"
        return (
            "upload: files arriving" if arrived < FILES else "upload: every file staged, no commit"
        )
    if staged:
        return "upload: request body arriving" if not newest_active else "after commit: staging"
    return (
        "request on its way: nothing stored"
        if not newest_active
        else "after commit: answer on its way"
    )


def check(server: LiveServer, store: Store, report: Report, trial: int) -> None:
    """After a restart and a sweep: nothing half-registered, nothing orphaned."""
    problems = []
    if _rows(store, "SELECT count(*) FROM opsml_cards WHERE status <> 'active'")[0][0]:
        problems.append("a pending card row survived the sweep")
    if _rows(store, "SELECT count(*) FROM opsml_upload_sessions")[0][0]:
        problems.append("an upload session survived the sweep")
    objects = store.objects()
    expected: set[str] = set()
    client = HttpBackend(server.url)
    try:
        visible = client.list_cards("run", CardQuery(name="killed", limit=1000))
    finally:
        client.close()
    for card in visible:
        prefix = f"run/ds/{card.name}/v{card.version}/"
        for item in card.files:
            key = prefix + item.path
            expected.add(key)
            if objects.get(key) != item.size:
                problems.append(f"card {card.version} is visible without its file {item.path}")
            elif card.uid not in report.verified and (
                hashlib.sha256(store.read(key)).hexdigest() != item.sha256
            ):
                problems.append(f"card {card.version}: {item.path} has other bytes")
        report.verified.add(card.uid)  # artifacts never change: hashed once, sized each time
    orphans = sorted(set(objects) - expected)
    if orphans:
        problems.append(f"{len(orphans)} stored object(s) of no card, e.g. {orphans[0]}")
    report.problems += [f"trial {trial}: {p}" for p in problems]


def gc(store: Store) -> None:
    """``opsml db gc --older-than 0s`` against the store, in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSML_")}
    env.update(store.server_env)
    env.update({"OPSML_TRACKING_URI": store.db_url, "OPSML_STORAGE_URI": store.storage_uri})
    done = subprocess.run(
        [sys.executable, "-m", "opsml.cli", "db", "gc", "--older-than", "0s"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"opsml db gc failed: {done.stdout}{done.stderr}")


def _start(root: Path, store: Store) -> LiveServer:
    env = {"OPSML_STORAGE_URI": store.storage_uri, **store.server_env}
    return start_server(root, db_url=store.db_url, env=env)


def run_kills(store: Store, root: Path, kills: int, seed: int = 30) -> Report:
    """``kills`` trials on ``store``; the report of phases hit and problems found."""
    rng = random.Random(seed)
    report = Report()
    card = make_card(root / "source")
    registrars = {mode: Registrar(mode, card, root / "source") for mode in MODES}
    server = _start(root, store)
    try:
        for mode, registrar in registrars.items():  # an unkilled registration's span, warm
            times = []
            for _ in range(CALIBRATIONS):
                registrar.prepare(server.url)
                start = registrar.go()
                assert registrar.result(), f"an unkilled {mode} registration failed"
                times.append(time.perf_counter() - start)
            report.durations[mode] = statistics.median(times[1:])
        for trial in range(kills):
            mode = MODES[trial % 2]
            fraction = rng.random()
            active_before = active_count(store)
            registrars[mode].prepare(server.url)
            start = registrars[mode].go()
            time.sleep(max(0.0, start + fraction * report.durations[mode] - time.perf_counter()))
            os.kill(server.pid, signal.SIGKILL)
            server.process.wait(30)
            registrars[mode].result()
            phase = phase_of(store, active_before)
            report.phases[phase] += 1
            report.by_mode[(mode, phase)] += 1
            report.fractions.append((fraction, phase))
            server = _start(root, store)
            gc(store)
            check(server, store, report, trial)
            registrars[mode].prepare(server.url)  # the same registration again
            registrars[mode].go()
            if registrars[mode].result():
                report.retries_ok += 1
            else:
                report.problems.append(f"trial {trial}: the retry failed")
            check(server, store, report, trial)
    finally:
        server.stop()
        for registrar in registrars.values():
            registrar.close()
    return report


if __name__ == "__main__":
    _registrar_main(sys.argv[1], Path(sys.argv[2]))
