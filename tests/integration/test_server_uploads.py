"""Uploads that are cut off or carry a wrong digest store nothing; Range downloads; sessions."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path

import httpx
import pytest
from opsml_server.upload_service import UploadService

from opsml.backends.http import HttpBackend
from opsml.errors import ArtifactIntegrityError
from opsml.schemas import ArtifactFile, CardCreate
from opsml_testing.live_server import LiveServer
from tests._live_server import http_env
from tests.conftest import RegistryEnv


@pytest.fixture
def env(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    return http_env(request, tmp_path)


def _server(env: RegistryEnv) -> LiveServer:
    return env.extra["server"]  # type: ignore[return-value]


def _card(data: bytes, path: str = "weights.bin") -> CardCreate:
    return CardCreate(
        registry="run",
        name="up",
        repository="ds",
        contact="me",
        files=[ArtifactFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())],
    )


def _cut_off(port: int, head: bytes, body_part: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body_part)
        time.sleep(0.2)  # closed with most of the announced body missing


def _wait_staging_empty(server: LiveServer) -> list[Path]:
    deadline = time.monotonic() + 5
    while True:
        left = [p for p in (server.storage_root / ".uploads").rglob("*") if p.is_file()]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_session_upload_cut_off_mid_stream_stores_nothing(env: RegistryEnv) -> None:
    server = _server(env)
    data = os.urandom(4 * 1024 * 1024)
    before = env.snapshot()
    session = httpx.post(
        f"{server.url}/api/v1/uploads",
        content=_card(data).model_dump_json(),
        headers={"Content-Type": "application/json"},
    ).json()
    head = (
        f"PUT /api/v1/uploads/{session['id']}/files/weights.bin HTTP/1.1\r\n"
        f"Host: x\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    _cut_off(server.port, head, data[: len(data) // 3])
    assert _wait_staging_empty(server) == []
    commit = httpx.post(f"{server.url}/api/v1/uploads/{session['id']}/commit")
    assert commit.status_code == 400 and "missing" in commit.json()["error"]["message"]
    assert env.snapshot() == before
    assert server.process.poll() is None


def test_single_request_upload_cut_off_mid_stream_stores_nothing(env: RegistryEnv) -> None:
    server = _server(env)
    data = os.urandom(2 * 1024 * 1024)
    before = env.snapshot()
    request = httpx.Request(
        "POST",
        f"{server.url}/api/v1/cards/run",
        data={"card": _card(data).model_dump_json()},
        files=[("files", ("weights.bin", data))],
    )
    body = request.read()
    head = (
        f"POST /api/v1/cards/run HTTP/1.1\r\nHost: x\r\nContent-Type: "
        f"{request.headers['content-type']}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    _cut_off(server.port, head, body[: len(body) // 2])
    assert _wait_staging_empty(server) == []
    assert env.snapshot() == before


@pytest.mark.parametrize("inline", [True, False])
def test_wrong_digest_stores_nothing(env: RegistryEnv, tmp_path: Path, inline: bool) -> None:
    data = os.urandom(256 * 1024)
    card = _card(data)
    (tmp_path / "weights.bin").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit off
    backend = HttpBackend(env.settings.tracking_uri or "", inline_limit=10**9 if inline else 0)
    before = env.snapshot()
    with pytest.raises(ArtifactIntegrityError, match="weights.bin"):
        backend.register_card(card, tmp_path)
    backend.close()
    assert env.snapshot() == before
    assert _wait_staging_empty(_server(env)) == []


def test_oversized_and_undersized_puts_are_refused(env: RegistryEnv) -> None:
    server = _server(env)
    data = b"0123456789"
    session = httpx.post(
        f"{server.url}/api/v1/uploads", json=json.loads(_card(data).model_dump_json())
    ).json()
    url = f"{server.url}/api/v1/uploads/{session['id']}/files/weights.bin"
    assert httpx.put(url, content=data + b"!").status_code == 422
    chunked = httpx.put(url, content=iter([data, b"more"]))  # no Content-Length
    assert chunked.status_code == 422
    assert httpx.put(url, content=data[:5]).status_code == 422
    assert httpx.put(url, content=data).status_code == 200
    assert httpx.post(f"{url.rsplit('/files/', 1)[0]}/commit").status_code == 201


def test_request_size_limit_is_413(env: RegistryEnv) -> None:
    server = _server(env)
    status, _ = _raw(server.port, "POST /api/v1/uploads", {"Content-Length": str(2**40)})
    assert status == 413


def _raw(port: int, line: str, headers: dict[str, str]) -> tuple[int, bytes]:
    text = f"{line} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    text += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(text.encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split()[1]), data


def test_range_downloads(env: RegistryEnv, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    (tmp_path / "weights.bin").write_bytes(data)
    backend = HttpBackend(env.settings.tracking_uri or "")
    public = backend.register_card(_card(data), tmp_path)
    url = f"{_server(env).url}/api/v1/cards/run/{public.uid}/files/weights.bin"
    full = httpx.get(url)
    assert full.status_code == 200 and full.content == data
    assert full.headers["x-opsml-sha256"] == public.files[0].sha256
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert httpx.get(url, headers={"Range": "bytes=-5"}).content == data[-5:]
    assert httpx.get(url, headers={"Range": "bytes=99990-"}).content == data[99990:]
    bad = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(data)}"
    assert b"".join(backend.iter_artifact(public, "weights.bin", start=1234)) == data[1234:]
    backend.close()


def test_abandoned_sessions_are_swept(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from opsml.backends.sql import SqlBackend
    from opsml.backends.sql.tables import UPLOAD_SESSIONS

    backend = SqlBackend(f"sqlite:///{tmp_path / 'r.db'}", str(tmp_path / "store"))
    service = UploadService(backend.upload_sessions, ttl=60, max_upload_size=10**9)
    data = b"abc"
    old = service.create(_card(data), None)
    live = service.create(_card(data), None)
    for session in (old, live):
        service.sessions.receive(session, "weights.bin", iter([data]))
    with backend.engine.begin() as conn:  # the first one was last used 2 minutes ago
        conn.execute(
            update(UPLOAD_SESSIONS)
            .where(UPLOAD_SESSIONS.c.id == old.id)
            .values(touched_at=datetime.now(UTC) - timedelta(seconds=120))
        )
    assert service.sweep() == 1
    assert not (tmp_path / "store" / ".uploads" / old.id).exists()
    assert (tmp_path / "store" / ".uploads" / live.id / "weights.bin").read_bytes() == data
    assert service.get(live.id, None).missing() == []
    backend.close()


def test_db_gc_sweeps_old_sessions_and_ownerless_staging_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from typer.testing import CliRunner

    from opsml.backends import clear_backend_cache
    from opsml.backends.sql import SqlBackend
    from opsml.cli import app
    from opsml.config import configure

    url, store = f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "store"
    backend = SqlBackend(url, str(store))
    sessions = backend.upload_sessions
    session = sessions.open(_card(b"abc"), None)
    sessions.receive(session, "weights.bin", iter([b"abc"]))
    old_orphan = store / ".uploads" / ("c" * 32) / "left.bin"  # an abandoned inline upload
    new_orphan = store / ".uploads" / ("d" * 32) / "busy.bin"  # one being written now
    for orphan in (old_orphan, new_orphan):
        orphan.parent.mkdir(parents=True)
        orphan.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(old_orphan, (two_hours_ago, two_hours_ago))
    assert backend.collect_garbage(timedelta(hours=1)) == 1  # the session is in use
    assert not old_orphan.exists() and new_orphan.exists()
    assert sessions.get(session.id, None).missing() == []
    backend.close()
    monkeypatch.setenv("OPSML_TRACKING_URI", url)
    monkeypatch.setenv("OPSML_STORAGE_URI", str(store))
    configure()  # the CLI reads the environment, not settings cached by earlier tests
    clear_backend_cache()
    try:
        result = CliRunner().invoke(app, ["db", "gc", "--older-than", "0"])
    finally:
        monkeypatch.undo()
        configure()
        clear_backend_cache()
    assert result.exit_code == 0, result.output
    assert "removed 2" in result.output  # the session and the other folder, both older than 0 s
    assert list((store / ".uploads").iterdir()) == []


def test_a_long_commit_keeps_its_session_alive(tmp_path: Path) -> None:
    from opsml.backends.sql import SqlBackend

    backend = SqlBackend(f"sqlite:///{tmp_path / 'r.db'}", str(tmp_path / "store"))
    service = UploadService(backend.upload_sessions, ttl=0.3, max_upload_size=10**9)
    session = service.create(_card(b"abc"), None)
    service.sessions.receive(session, "weights.bin", iter([b"abc"]))
    service.begin_commit(session.id, None)
    with service.keep_alive(session.id, every=0.05):
        for _ in range(10):  # a commit 1 s long, with a TTL of 0.3 s and sweeps meanwhile
            time.sleep(0.1)
            assert service.sweep() == 0
    time.sleep(0.4)
    assert service.sweep() == 1  # once the commit stopped marking it, the session goes
    backend.close()
