"""Path traversal on every route that takes a path or file name: 400, nothing touched.

Literal ``..`` segments are sent over a raw socket (httpx normalizes them away);
encoded forms are sent with httpx, the URL built by hand.
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import httpx
import pytest

from opsml.backends.http import HttpBackend
from opsml.schemas import ArtifactFile, CardCreate
from opsml_testing.live_server import LiveServer
from tests._live_server import http_env
from tests.conftest import RegistryEnv

SECRET = b"top secret, outside every card folder"

ENCODED = [
    "%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
    "..%2f..%2f..%2fsecret.txt",
    "%2E%2E/%2E%2E/secret.txt",
    "%2fetc%2fpasswd",
    "/etc/passwd",
    "..%5c..%5csecret.txt",
    "a%5cb.txt",
    "C:%5cwindows%5cwin.ini",
    "blob.bin%00.png",
    "%00",
    "%252e%252e/secret.txt",
    "",
]
LITERAL = [
    "../../../secret.txt",
    "../blob.bin",
    "a/../../secret.txt",
    "..",
    "./blob.bin",
    ".",
    "a/./blob.bin",
    "a//blob.bin",
    "..\\..\\secret.txt",
]


def raw_request(
    port: int, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Send ``target`` exactly as given (no normalization) and return status and body."""
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


@pytest.fixture
def env(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    return http_env(request, tmp_path)


def _files_outside(env: RegistryEnv) -> dict[str, bytes]:
    server: LiveServer = env.extra["server"]  # type: ignore[assignment]
    root = server.storage_root.parent
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(".log")
    }


def _setup(env: RegistryEnv, tmp_path: Path) -> tuple[HttpBackend, str]:
    (env.storage_root / "secret.txt").write_bytes(SECRET)
    (env.storage_root.parent / "secret.txt").write_bytes(SECRET)
    data = b"model bytes"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "blob.bin").write_bytes(data)
    card = CardCreate(
        registry="model",
        name="m",
        repository="ds",
        contact="me",
        files=[
            ArtifactFile(path="blob.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest())
        ],
    )
    backend = HttpBackend(env.settings.tracking_uri or "")
    public = backend.register_card(card, tmp_path / "src")
    return backend, public.uid


def _assert_refused(status: int, body: bytes, target: str) -> None:
    assert status == 400, (target, status, body[:200])
    code = json.loads(body)["error"]["code"]
    assert code in ("unsafe_path", "invalid_input"), (target, body)
    assert SECRET not in body


def test_download_refuses_every_escaping_path(env: RegistryEnv, tmp_path: Path) -> None:
    backend, uid = _setup(env, tmp_path)
    server: LiveServer = env.extra["server"]  # type: ignore[assignment]
    base = f"/api/v1/cards/model/{uid}/files/"
    before = (_files_outside(env), env.snapshot())
    with httpx.Client(base_url=server.url) as client:
        for suffix in ENCODED:
            url = httpx.URL(server.url).copy_with(raw_path=(base + suffix).encode())
            response = client.get(url)
            _assert_refused(response.status_code, response.content, suffix)
    for suffix in LITERAL + ENCODED:
        _assert_refused(*raw_request(server.port, "GET", base + suffix), suffix)
    assert (_files_outside(env), env.snapshot()) == before
    # the legitimate path still works
    assert httpx.get(f"{server.url}{base}blob.bin").content == b"model bytes"
    backend.close()


def test_upload_put_refuses_every_escaping_path(env: RegistryEnv, tmp_path: Path) -> None:
    backend, _ = _setup(env, tmp_path)
    server: LiveServer = env.extra["server"]  # type: ignore[assignment]
    card = CardCreate(
        registry="run",
        name="r",
        repository="ds",
        contact="me",
        files=[ArtifactFile(path="x.bin", size=4, sha256="0" * 64)],
    )
    session = httpx.post(
        f"{server.url}/api/v1/uploads",
        content=card.model_dump_json(),
        headers={"Content-Type": "application/json"},
    ).json()
    base = f"/api/v1/uploads/{session['id']}/files/"
    before = (_files_outside(env), env.snapshot())
    for suffix in LITERAL + ENCODED:
        _assert_refused(*raw_request(server.port, "PUT", base + suffix, b"evil"), suffix)
    after = _files_outside(env)
    assert (after, env.snapshot()) == before
    assert not any(v == b"evil" for v in after.values())
    backend.close()


@pytest.mark.parametrize(
    "bad",
    ["../evil.txt", "/etc/evil", "a\\evil.txt", "a/../../evil", "evil\x00.txt", "%2e%2e/evil"],
)
def test_card_records_and_multipart_names_refuse_escaping_paths(
    env: RegistryEnv, tmp_path: Path, bad: str
) -> None:
    server: LiveServer = env.extra["server"]  # type: ignore[assignment]
    before = (_files_outside(env), env.snapshot())
    record = {"path": bad, "size": 4, "sha256": hashlib.sha256(b"evil").hexdigest()}
    card = {"registry": "run", "name": "r", "repository": "ds", "contact": "me", "files": [record]}
    # as a record, in the single-request registration and in an upload session
    response = httpx.post(
        f"{server.url}/api/v1/cards/run",
        data={"card": json.dumps(card)},
        files=[("files", (bad, b"evil"))],
    )
    _assert_refused(response.status_code, response.content, bad)
    response = httpx.post(f"{server.url}/api/v1/uploads", json=card)
    _assert_refused(response.status_code, response.content, bad)
    # as a multipart file name only (the record is fine)
    card["files"] = [dict(record, path="ok.txt")]
    response = httpx.post(
        f"{server.url}/api/v1/cards/run",
        data={"card": json.dumps(card)},
        files=[("files", (bad, b"evil"))],
    )
    assert response.status_code == 400, response.text
    assert (_files_outside(env), env.snapshot()) == before
