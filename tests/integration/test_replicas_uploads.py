"""One upload session across replicas behind HAProxy, and a replica killed in the middle of one.

Upload sessions live in the database and the store (docs/design.md §15), so
the create, each PUT and the commit of one session may land on different
replicas; a replica that dies mid-PUT costs the client one retried PUT (a PUT
of a whole file is idempotent: it replaces the staged object), nothing else.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opsml import CardRegistry, RunCard
from opsml.backends.http import HttpBackend, _transfers
from opsml_testing.balancer import REPLICA_HEADER, Cluster, cluster
from opsml_testing.emulators import S3Emulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, s3_emulator: S3Emulator
) -> Iterator[Cluster]:
    with cluster(tmp_path_factory.mktemp("replicas-up"), 3, s3=s3_emulator) as group:
        yield group


def _registry(url: str, served: list[tuple[str, str, str]]) -> CardRegistry:
    """A client that always uses upload sessions through the server, recording who served."""

    def record(response: httpx.Response) -> None:
        request = response.request
        if response.status_code < 400:  # HAProxy's own 502 for a dead replica is left out
            served.append((request.method, request.url.path, response.headers[REPLICA_HEADER]))

    client = httpx.Client(
        base_url=url, timeout=60, trust_env=False, event_hooks={"response": [record]}
    )
    backend = HttpBackend(url, client=client, inline_limit=0)
    backend.presign = False  # through the replicas, not straight to S3
    return CardRegistry("run", backend=backend)


def _card(folder: Path, sizes: list[int]) -> tuple[RunCard, dict[str, str]]:
    card = RunCard(name="session", repository="replicas", contact="u@example.com", git_commit=None)
    digests = {}
    for i, size in enumerate(sizes):
        path = folder / f"part-{i}.bin"
        path.write_bytes(os.urandom(size))
        digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        card.log_artifact(path)
    return card, digests


def _check_download(registry: CardRegistry, uid: str, digests: dict[str, str], out: Path) -> None:
    registry.load_card(uid=uid).download_artifacts(out)  # verifies every digest
    for name, digest in digests.items():
        [found] = list(out.rglob(name))
        assert hashlib.sha256(found.read_bytes()).hexdigest() == digest


def test_one_session_alternates_replicas(replicas: Cluster, tmp_path: Path) -> None:
    served: list[tuple[str, str, str]] = []
    registry = _registry(replicas.url, served)
    card, digests = _card(tmp_path, [3 * MIB, 2 * MIB, 1 * MIB, 512 * 1024])
    registry.register_card(card)
    steps = [(m, who) for m, path, who in served if path.startswith("/api/v1/uploads")]
    assert [m for m, _ in steps] == ["POST", "PUT", "PUT", "PUT", "PUT", "POST"]
    who = [w for _, w in steps]
    assert set(who) == {"r1", "r2", "r3"}, who
    assert all(a != b for a, b in itertools.pairwise(who)), who
    assert card.uid is not None
    _check_download(registry, card.uid, digests, tmp_path / "out")


def _slowed(monkeypatch: pytest.MonkeyPatch, started: threading.Event) -> None:
    """PUT bodies trickle (so that a replica can be killed mid-PUT)."""

    def trickle(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            for start in range(0, len(chunk), 256 * 1024):
                started.set()
                time.sleep(0.02)
                yield chunk[start : start + 256 * 1024]

    plain, hashed = _transfers.read_chunks, _transfers.hashed_chunks
    monkeypatch.setattr(_transfers, "read_chunks", lambda *a: trickle(plain(*a)))
    monkeypatch.setattr(_transfers, "hashed_chunks", lambda *a: trickle(hashed(*a)))


def test_a_replica_killed_mid_session_the_others_finish(
    replicas: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[str, str, str]] = []
    registry = _registry(replicas.url, served)
    card, digests = _card(tmp_path, [1 * MIB, 8 * MIB, 1 * MIB])
    started = threading.Event()
    _slowed(monkeypatch, started)
    outcome: list[BaseException | None] = []

    def upload() -> None:
        try:
            registry.register_card(card)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=upload)
    worker.start()
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        busy = [name for name, n in replicas.busy().items() if n > 0]
        puts = [s for s in served if s[0] == "PUT"]
        if started.is_set() and len(puts) == 1 and busy:  # in the second file's PUT
            time.sleep(0.3)
            victim = busy[0]
            replicas.kill(victim)
        time.sleep(0.01)
    worker.join(120)
    try:
        assert victim is not None, "no PUT was in flight to kill"
        assert outcome == [None], f"the upload failed after {victim} was killed: {outcome}"
        writes = [(m, p.rsplit("/", 1)[-1], who) for m, p, who in served if m != "GET"]
        assert [w[:2] for w in writes] == [
            ("POST", "uploads"), ("PUT", "part-0.bin"), ("PUT", "part-1.bin"),
            ("PUT", "part-2.bin"), ("POST", "commit"),
        ], writes  # fmt: skip
        assert victim not in [who for *_, who in writes[2:]], writes  # after the kill: the others
        assert card.uid is not None
        _check_download(registry, card.uid, digests, tmp_path / "out")
    finally:
        replicas.revive(victim or "r1")
