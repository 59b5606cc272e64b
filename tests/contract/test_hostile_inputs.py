"""Hostile inputs of issue 11 (items 5-9): a clear 4xx that names the problem, nothing stored.

Server-only items run on every server mode (``http``, ``http-s3``, ``http-gcs``);
the rest on every mode. The standalone UI's download endpoint (``opsml ui``) is
checked on every mode too: it serves the same download through the same code.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsml.errors import ArtifactNotFoundError, UnsafePathError
from opsml.schemas import CardCreate
from tests.conftest import CLOUD_HTTP_MODES, RegistryEnv, _make_env
from tests.contract._helpers import run_card

SERVER_MODES = ["http", *CLOUD_HTTP_MODES]
HUGE = "9" * 5000


@pytest.fixture(params=SERVER_MODES)
def server_env(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """An empty registry behind a live server (every server mode)."""
    env = _make_env(request.param, request, tmp_path)
    yield env
    from opsml.backends import clear_backend_cache

    clear_backend_cache()


def _card_with_file(env: RegistryEnv, tmp_path: Path, data: bytes = b"0123456789") -> Any:
    source = tmp_path / "notes.txt"
    source.write_bytes(data)
    card = run_card()
    card.log_artifact(source)
    env.registry("run").register_card(card)
    return card


def _card_create() -> CardCreate:
    return CardCreate(registry="run", name="train", repository="ds-team", contact="ds@x.org")


def _file_url(card: Any) -> str:
    return f"/api/v1/cards/run/{card.uid}/files/artifacts/notes.txt"


def _check_huge_ranges(get: Any) -> None:
    """Huge numbers in a Range header: 416 (start beyond the end) or the whole file."""
    response = get({"Range": f"bytes={HUGE}-"})
    assert response.status_code == 416, response.text
    assert "range" in response.json()["error"]["message"]
    assert response.headers["Content-Range"] == "bytes */10"
    for header in (f"bytes=0-{HUGE}", f"bytes=-{HUGE}"):
        response = get({"Range": header})
        assert response.status_code in (200, 206), response.text
        assert response.content == b"0123456789"


def test_item_5_range_with_huge_numbers(registry_env: RegistryEnv, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from opsml_server.ui.standalone import create_ui_app

    from opsml.backends import build_backend

    card = _card_with_file(registry_env, tmp_path)
    before = registry_env.snapshot()
    with TestClient(create_ui_app(build_backend(registry_env.settings))) as client:
        _check_huge_ranges(lambda headers: client.get(_file_url(card), headers=headers))
    if "server" in registry_env.extra:
        url = registry_env.extra["server"].url + _file_url(card)
        _check_huge_ranges(lambda headers: httpx.get(url, headers=headers, timeout=30))
    assert registry_env.snapshot() == before


def test_item_6_deeply_nested_tags_filter(server_env: RegistryEnv) -> None:
    server: Any = server_env.extra["server"]
    server_env.registry("run").register_card(run_card())
    before = server_env.snapshot()
    url = f"{server.url}/api/v1/cards/run"
    for tags in ("[" * 3000 + "]" * 3000, '{"a":' * 3000 + '"b"' + "}" * 3000):
        response = httpx.get(url, params={"tags": tags}, timeout=30)
        assert response.status_code in (400, 422), response.text
        assert "tags" in response.json()["error"]["message"]
    many = json.dumps({f"k{i}": "v" for i in range(200)})
    for tags in (many, json.dumps({"a": "x" * 20_000})):
        response = httpx.get(url, params={"tags": tags}, timeout=30)
        assert response.status_code in (400, 422), response.text
        assert "tags" in response.json()["error"]["message"]
    ok = httpx.get(url, params={"tags": '{"a": "b"}'}, timeout=30)
    assert ok.status_code == 200, ok.text
    assert server_env.snapshot() == before
    assert "unexpected error" not in server.log()


def _chunked(total: int, size: int = 1024 * 1024) -> Any:
    yield b'{"registry": "run", "name": "x", "description": "'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}'


def test_item_7_chunked_body_over_the_limit_is_413(server_env: RegistryEnv) -> None:
    server: Any = server_env.extra["server"]
    before = server_env.snapshot()
    response = httpx.post(
        f"{server.url}/api/v1/uploads",
        content=_chunked(80 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "bytes" in response.json()["error"]["message"]
    assert server_env.snapshot() == before


def test_item_7_multipart_cut_short_is_logged_as_client_abort(server_env: RegistryEnv) -> None:
    server: Any = server_env.extra["server"]
    before = server_env.snapshot()
    card = _card_create().model_dump_json()
    boundary = "opsmlboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="card"\r\n\r\n{card}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        'filename="artifacts/x.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/cards/run HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Content-Type: multipart/form-data; boundary={boundary}\r\n".encode()
            + b"Content-Length: 1000000\r\n\r\n"
            + head
            + b"x" * 1000
        )
        time.sleep(0.5)
    deadline = time.monotonic() + 15
    while "cut short by the client" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = server.log()
    assert "cut short by the client" in log, log[-2000:]
    assert "ClientDisconnect" not in log
    assert server_env.snapshot() == before


@pytest.mark.parametrize("path", [" ", "   ", " a.txt", "a.txt ", "dir /a.txt", "dir/ a.txt"])
def test_item_8_whitespace_artifact_paths_are_refused(
    registry_env: RegistryEnv, tmp_path: Path, path: str
) -> None:
    registry_env.registry("run").register_card(run_card())
    before = registry_env.snapshot()
    source = tmp_path / "f.txt"
    source.write_text("x")
    card = run_card()
    with pytest.raises(UnsafePathError, match="whitespace"):
        card.log_artifact(source, name=path)
    if "server" in registry_env.extra:
        server: Any = registry_env.extra["server"]
        body = _card_create().model_dump(mode="json")
        body["files"] = [{"path": path, "size": 1, "sha256": "a" * 64}]
        response = httpx.post(f"{server.url}/api/v1/uploads", json=body, timeout=30)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "unsafe_path"
        assert "whitespace" in response.json()["error"]["message"]
    assert registry_env.snapshot() == before


def test_item_9_missing_file_error_names_only_card_and_path(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    card = _card_with_file(registry_env, tmp_path)
    (stored,) = [p for p in registry_env.list_files() if p.endswith("notes.txt")]
    fs, root = registry_env._fs()
    fs.rm(f"{root}/{stored}")
    before = registry_env.snapshot()
    loaded = registry_env.registry("run").load_card(uid=card.uid)
    with pytest.raises(ArtifactNotFoundError) as info:
        loaded.download_artifacts(tmp_path / "out")
    message = str(info.value)
    assert "artifacts/notes.txt" in message
    assert "ds-team/train" in message and "1.0.0" in message
    for secret in (registry_env.storage_uri, str(registry_env.storage_root), root, "/tmp"):
        assert secret not in message, message
    assert registry_env.snapshot() == before
