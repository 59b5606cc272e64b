"""Issue 16: upload sessions across server processes that share one database and one store.

Two registry servers on one PostgreSQL database and one S3 store (moto), each
with its own empty folder: the create, the PUTs and the commit of one session
may reach either; a server killed mid-session loses nothing the other needs;
abandoned sessions and staging objects go after the TTL, live ones stay; a
writer revoked between create and commit is refused at commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsml.schemas import ArtifactFile, CardCreate
from opsml_testing.emulators import S3Emulator, unique_uri
from opsml_testing.live_server import LiveServer, start_server
from tests._emulators import emulator_for
from tests.integration.identity_helpers import PASSWORD, ROOT, add_user, admin

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    from opsml.backends.sql.migrate import upgrade_database
    from opsml_testing.databases import scratch_database

    with scratch_database("postgres") as url:
        upgrade_database(url)
        yield url


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> S3Emulator:
    emu = emulator_for(request, "s3")
    assert isinstance(emu, S3Emulator)
    return emu


class Pair:
    """Two servers on one database and one bucket prefix."""

    def __init__(self, servers: list[LiveServer], uri: str, s3: S3Emulator) -> None:
        self.a, self.b = servers
        self.uri = uri
        self.fs = s3.filesystem()

    def staged(self) -> list[str]:
        """Every object under the store's ``.uploads/``."""
        root = self.uri.removeprefix("s3://") + "/.uploads"
        with contextlib.suppress(FileNotFoundError):
            self.fs.invalidate_cache()
            return sorted(str(p) for p in self.fs.find(root))
        return []

    def cards(self) -> list[str]:
        """Every object under the store's run registry."""
        self.fs.invalidate_cache()
        root = self.uri.removeprefix("s3://") + "/run"
        return sorted(str(p) for p in self.fs.find(root)) if self.fs.exists(root) else []


@contextlib.contextmanager
def _pair(
    tmp_path: Path, database: str, s3: S3Emulator, env: dict[str, str] | None = None
) -> Iterator[Pair]:
    from opsml_testing.databases import clear_tables

    clear_tables(database)
    uri = unique_uri(s3)
    extra = {"OPSML_STORAGE_URI": uri, **s3.server_env(), **(env or {})}
    servers = [start_server(tmp_path / name, db_url=database, env=extra) for name in "ab"]
    try:
        yield Pair(servers, uri, s3)
    finally:
        for server in servers:
            server.stop()
    for name in "ab":  # each server had its own empty folder and wrote nothing there
        assert _local_files(tmp_path / name) == []


def _local_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith("server-")]


def _card(files: dict[str, bytes], name: str = "up", repository: str = "ds") -> CardCreate:
    return CardCreate(
        registry="run",
        name=name,
        repository=repository,
        contact="me",
        files=[
            ArtifactFile(path=p, size=len(d), sha256=hashlib.sha256(d).hexdigest())
            for p, d in files.items()
        ],
    )


def _open(server: LiveServer, card: CardCreate, **kwargs: Any) -> str:
    answer = httpx.post(
        f"{server.url}/api/v1/uploads",
        content=card.model_dump_json(),
        headers={"Content-Type": "application/json"},
        timeout=30,
        **kwargs,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _put(server: LiveServer, sid: str, path: str, data: bytes, **kwargs: Any) -> httpx.Response:
    return httpx.put(
        f"{server.url}/api/v1/uploads/{sid}/files/{path}", content=data, timeout=60, **kwargs
    )


def _commit(server: LiveServer, sid: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/uploads/{sid}/commit", timeout=60, **kwargs)


def _download(server: LiveServer, uid: str, path: str) -> bytes:
    return httpx.get(f"{server.url}/api/v1/cards/run/{uid}/files/{path}", timeout=60).content


def test_one_session_alternates_between_two_servers(
    tmp_path: Path, database: str, s3: S3Emulator
) -> None:
    files = {"a.bin": os.urandom(3 * MIB), "b.bin": os.urandom(20 * MIB + 7), "c.txt": b"c"}
    with _pair(tmp_path, database, s3) as pair:
        sid = _open(pair.a, _card(files))
        assert _put(pair.b, sid, "a.bin", files["a.bin"]).status_code == 200
        assert _put(pair.a, sid, "b.bin", files["b.bin"]).status_code == 200
        early = _commit(pair.a, sid)  # one file still missing: refused, the session stays
        assert early.status_code == 400 and "c.txt" in early.json()["error"]["message"]
        assert _put(pair.b, sid, "c.txt", files["c.txt"]).status_code == 200
        committed = _commit(pair.b, sid)
        assert committed.status_code == 201, committed.text
        card = committed.json()
        for path, data in files.items():
            assert _download(pair.a, card["uid"], path) == data
        assert pair.staged() == []
        assert _commit(pair.a, sid).status_code == 404  # committed once, on either server


def _slow_put(
    server: LiveServer, sid: str, path: str, data: bytes, started: threading.Event
) -> None:
    def body() -> Iterator[bytes]:
        for start in range(0, len(data), MIB):
            yield data[start : start + MIB]
            started.set()
            time.sleep(0.05)

    with contextlib.suppress(httpx.HTTPError):  # the server dies under it
        httpx.put(
            f"{server.url}/api/v1/uploads/{sid}/files/{path}",
            content=body(),
            headers={"Content-Length": str(len(data))},
            timeout=60,
        )


def test_a_server_killed_mid_session_the_other_finishes(
    tmp_path: Path, database: str, s3: S3Emulator
) -> None:
    files = {"first.bin": os.urandom(2 * MIB), "second.bin": os.urandom(40 * MIB)}
    with _pair(tmp_path, database, s3) as pair:
        sid = _open(pair.a, _card(files))
        assert _put(pair.a, sid, "first.bin", files["first.bin"]).status_code == 200
        started = threading.Event()
        sender = threading.Thread(
            target=_slow_put, args=(pair.a, sid, "second.bin", files["second.bin"], started)
        )
        sender.start()
        assert started.wait(30)
        time.sleep(0.3)
        os.kill(pair.a.pid, signal.SIGKILL)  # mid-PUT of the second file
        pair.a.process.wait(10)
        sender.join(60)
        assert _put(pair.b, sid, "second.bin", files["second.bin"]).status_code == 200
        committed = _commit(pair.b, sid)
        assert committed.status_code == 201, committed.text
        uid = committed.json()["uid"]
        for path, data in files.items():
            assert _download(pair.b, uid, path) == data
        assert pair.staged() == []


def test_abandoned_sessions_and_staging_objects_are_swept_live_ones_kept(
    tmp_path: Path, database: str, s3: S3Emulator
) -> None:
    files = {"x.bin": os.urandom(1000), "y.bin": os.urandom(1000)}
    env = {"OPSML_UPLOAD_SESSION_TTL": "2"}
    with _pair(tmp_path, database, s3, env) as pair:
        abandoned = _open(pair.a, _card(files))
        assert _put(pair.a, abandoned, "x.bin", files["x.bin"]).status_code == 200
        # a presigned upload's leftover: an object under .uploads/ that no session owns
        orphan = pair.uri.removeprefix("s3://") + "/.uploads/" + "e" * 32 + "/left.bin"
        pair.fs.pipe(orphan, b"left over")
        # and a PUT cut short by a killed server: an open multipart upload under .uploads/
        bucket, _, key = (orphan + ".part").partition("/")
        pair.fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)
        live = _open(pair.b, _card(files, name="live"))
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:  # in use: each PUT marks it as used
            assert _put(pair.a, live, "x.bin", files["x.bin"]).status_code == 200
            time.sleep(0.5)
        assert _commit(pair.b, abandoned).status_code == 404
        assert [p for p in pair.staged() if abandoned in p or "e" * 32 in p] == []
        open_parts = pair.fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=key)
        assert open_parts.get("Uploads", []) == []
        assert _put(pair.b, live, "y.bin", files["y.bin"]).status_code == 200
        committed = _commit(pair.a, live)
        assert committed.status_code == 201, committed.text
        assert pair.staged() == []


def test_writer_revoked_between_create_and_commit_is_refused(
    tmp_path: Path, database: str, s3: S3Emulator
) -> None:
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1]}
    files = {"w.bin": os.urandom(5000)}
    with _pair(tmp_path, database, s3, env) as pair:
        add_user(pair.a, "bob", [{"role": "writer", "repository": "ds"}])
        bob = ("bob", PASSWORD)
        sid = _open(pair.a, _card(files), auth=bob)
        assert _put(pair.b, sid, "w.bin", files["w.bin"], auth=bob).status_code == 200
        with admin(pair.a) as client:
            revoked = client.request(
                "DELETE", "/api/v1/users/bob/grants", params={"role": "writer", "repository": "ds"}
            )
            assert revoked.status_code in (200, 204), revoked.text
        refused = _commit(pair.b, sid, auth=bob)
        assert refused.status_code == 403, refused.text
        assert pair.cards() == []
        assert httpx.get(f"{pair.a.url}/api/v1/cards/run", auth=ROOT).json() == {"items": []}
        assert pair.staged() == []


def _cut_off(port: int, head: bytes, body_part: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body_part)
        time.sleep(0.2)


def _wait_empty(pair: Pair) -> list[str]:
    deadline = time.monotonic() + 5
    while (left := pair.staged()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_truncated_and_oversized_puts_keep_nothing(
    tmp_path: Path, database: str, s3: S3Emulator
) -> None:
    data = os.urandom(20 * MIB)
    with _pair(tmp_path, database, s3) as pair:
        sid = _open(pair.a, _card({"big.bin": data}))
        head = (
            f"PUT /api/v1/uploads/{sid}/files/big.bin HTTP/1.1\r\n"
            f"Host: x\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        _cut_off(pair.b.port, head, data[: len(data) // 2])
        assert _wait_empty(pair) == []
        chunked = httpx.put(  # no Content-Length: refused once past the record
            f"{pair.a.url}/api/v1/uploads/{sid}/files/big.bin",
            content=iter([data, b"more"]),
            timeout=60,
        )
        assert chunked.status_code == 422
        assert _put(pair.a, sid, "big.bin", data + b"!").status_code == 422
        assert _put(pair.b, sid, "big.bin", data[:-1] + b"?").status_code == 422  # wrong digest
        assert _wait_empty(pair) == []
        missing = _commit(pair.b, sid)
        assert missing.status_code == 400 and "big.bin" in missing.json()["error"]["message"]
        assert pair.cards() == []
        assert _put(pair.b, sid, "big.bin", data).status_code == 200
        assert _commit(pair.a, sid).status_code == 201
