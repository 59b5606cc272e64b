"""A copy between two live servers killed half-way (issue 13): nothing visible, a retry works.

Also: the copy streams (no local copy of the card, Python memory bounded).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsml import CardRegistry, RunCard
from opsml.errors import CardNotFoundError
from opsml_testing.live_server import LiveServer, running_server
from opsml_testing.seeding import write_random_file
from tests._live_server import server_snapshot

MIB = 1024 * 1024

COPIER = textwrap.dedent(
    """
    import sys
    from opsml import CardRegistry
    source = CardRegistry("run", tracking_uri=sys.argv[1])
    target = CardRegistry("run", tracking_uri=sys.argv[2])
    card = source.load_card(uid=sys.argv[3])
    moved = 0
    def progress(n):
        global moved
        moved += n
        print(moved, flush=True)
    source.copy_card(card, to=target, progress=progress)
    print("done", flush=True)
    """
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    with (
        running_server(tmp_path_factory.mktemp("source")) as source,
        running_server(tmp_path_factory.mktemp("target")) as target,
    ):
        yield source, target


def _staged_bytes(server: LiveServer) -> int:
    """Bytes of uncommitted upload sessions: under the store's ``.uploads/`` prefix."""
    staged = server.storage_root / ".uploads"
    return sum(p.stat().st_size for p in staged.rglob("*") if p.is_file())


def _visible(snapshot: Any) -> Any:
    """A snapshot without staged bytes (an uncommitted session's, swept after its TTL)."""
    rows, files = snapshot
    return rows, [f for f in files if not f.startswith(".uploads/")]


def _register_large(tmp_path: Path, server: LiveServer, name: str, size: int) -> Any:
    blob = tmp_path / f"{name}.bin"
    write_random_file(blob, size)
    card = RunCard(name=name, repository="ds", contact="ds@example.com")
    card.log_artifact(blob)
    blob_card = CardRegistry("run", tracking_uri=server.url).register_card(card)
    blob.unlink()
    return blob_card


def _wait_for_bytes(server: LiveServer, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while (staged := _staged_bytes(server)) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    return staged


def test_a_copy_killed_half_way_leaves_nothing_and_can_be_retried(
    tmp_path: Path, servers: tuple[LiveServer, LiveServer]
) -> None:
    source_server, target_server = servers
    size = 128 * MIB
    card = _register_large(tmp_path, source_server, "killed-copy", size)
    before = server_snapshot(target_server)
    scratch = tmp_path / "client-tmp"  # the copier's temporary folder: it must stay empty
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("OPSML_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", COPIER, source_server.url, target_server.url, card.uid],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        moved = 0
        for line in proc.stdout:
            if line.strip() == "done":
                break
            moved = int(line)
            if moved >= size // 2:
                break
        staged = _wait_for_bytes(target_server)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert size // 2 <= moved < size and staged > 0  # killed half-way, the target had bytes
    assert [p for p in scratch.rglob("*") if p.is_file()] == []  # nothing spooled locally
    # the target: no card, no version, nothing stored
    target = CardRegistry("run", tracking_uri=target_server.url)
    assert _visible(server_snapshot(target_server)) == _visible(before)
    assert target.list_cards(name="killed-copy") == []
    with pytest.raises(CardNotFoundError):
        target.load_card(uid=card.uid)
    # a retry succeeds, with the source's digests
    copied = CardRegistry("run", tracking_uri=source_server.url).copy_card(card, to=target)
    source_files = [(f.path, f.size, f.sha256) for f in card._registered()[0].files]
    assert [(f.path, f.size, f.sha256) for f in copied._registered()[0].files] == source_files
    assert (copied.uid, copied.version) == (card.uid, card.version)


def test_a_copy_streams_in_bounded_memory(
    tmp_path: Path, servers: tuple[LiveServer, LiveServer]
) -> None:
    source_server, target_server = servers
    size = 64 * MIB
    card = _register_large(tmp_path, source_server, "bounded-copy", size)
    source = CardRegistry("run", tracking_uri=source_server.url)
    target = CardRegistry("run", tracking_uri=target_server.url)
    tracemalloc.start()
    try:
        copied = source.copy_card(card, to=target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert copied.uid == card.uid
    assert peak < 16 * MIB, f"the copy held {peak / MIB:.1f} MiB of a {size // MIB} MiB card"
