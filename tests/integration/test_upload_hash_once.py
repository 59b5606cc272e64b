"""Issue 17 (uploads): the client reads each uploaded byte once, hashing while it sends.

Large files go through an upload session announced without digests; each PUT
streams the file while a worker thread hashes it, and the digests go with the
commit. The server's own hash of what arrived decides: a client digest that
differs fails the commit naming the file, and nothing is kept.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest

from opsml import CardRegistry, RunCard
from opsml.backends.http import HttpBackend
from opsml.schemas import ArtifactFile, CardCreate
from opsml_testing.live_server import LiveServer
from tests._live_server import http_env
from tests.conftest import RegistryEnv

MIB = 1024 * 1024


@pytest.fixture
def env(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    return http_env(request, tmp_path)


def _server(env: RegistryEnv) -> LiveServer:
    return env.extra["server"]  # type: ignore[return-value]


def _no_upfront_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    import opsml.storage.digest

    def refuse(path: Path) -> tuple[str, int]:
        raise AssertionError(f"{path} was hashed before it was sent")

    monkeypatch.setattr(opsml.storage.digest, "sha256_file", refuse)


def test_registry_sends_large_files_read_once(
    env: RegistryEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(9 * MIB + 3)  # more than two read chunks, not a multiple of one
    (tmp_path / "weights.bin").write_bytes(data)
    backend = HttpBackend(_server(env).url, inline_limit=MIB)
    backend.presign = False
    _no_upfront_hashing(monkeypatch)
    opened: list[str] = []
    real_open = open

    def counting_open(file: object, *args: object, **kwargs: object) -> object:
        if str(file).endswith("weights.bin") and "r" in str(args[:1] or kwargs.get("mode", "r")):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("opsml.backends.http._transfers.open", counting_open, raising=False)
    card = RunCard(name="once", repository="ds", contact="me")
    card.log_artifact(tmp_path / "weights.bin")
    CardRegistry("run", backend=backend).register_card(card)
    public = card._registered()[0]
    assert [f.sha256 for f in public.files] == [hashlib.sha256(data).hexdigest()]
    assert len(opened) == 1  # the staged copy, opened once: read while sent
    assert env.list_files() == [f"run/ds/once/v1.0.0/{public.files[0].path}"]
    out = card.download_artifact("weights.bin", tmp_path / "out")
    assert out.read_bytes() == data
    backend.close()


def _announce(server: LiveServer, size: int) -> str:
    body = {
        "registry": "run",
        "name": "deferred",
        "repository": "ds",
        "contact": "me",
        "files": [{"path": "w.bin", "size": size}],
    }
    answer = httpx.post(f"{server.url}/api/v1/uploads", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_client_digest_that_differs_from_what_arrived_fails_the_commit(
    env: RegistryEnv,
) -> None:
    server = _server(env)
    data = os.urandom(3 * MIB)
    before = env.snapshot()
    sid = _announce(server, len(data))
    assert (
        httpx.put(f"{server.url}/api/v1/uploads/{sid}/files/w.bin", content=data).status_code == 200
    )
    wrong = hashlib.sha256(data + b"x").hexdigest()
    commit = httpx.post(
        f"{server.url}/api/v1/uploads/{sid}/commit", json={"files": {"w.bin": wrong}}
    )
    assert commit.status_code == 422, commit.text
    assert "w.bin" in commit.json()["error"]["message"]
    assert env.snapshot() == before  # no card, no stored file, no staging object
    assert httpx.post(f"{server.url}/api/v1/uploads/{sid}/commit").status_code == 404


def test_deferred_digest_missing_from_the_commit_is_refused(env: RegistryEnv) -> None:
    server = _server(env)
    sid = _announce(server, 5)
    assert (
        httpx.put(f"{server.url}/api/v1/uploads/{sid}/files/w.bin", content=b"12345").status_code
        == 200
    )
    commit = httpx.post(f"{server.url}/api/v1/uploads/{sid}/commit")
    assert commit.status_code == 400 and "w.bin" in commit.json()["error"]["message"]


def test_deferred_upload_still_checks_the_size(env: RegistryEnv) -> None:
    server = _server(env)
    sid = _announce(server, 5)
    url = f"{server.url}/api/v1/uploads/{sid}/files/w.bin"
    assert httpx.put(url, content=b"123456").status_code == 422
    assert httpx.put(url, content=iter([b"123", b"456"])).status_code == 422
    assert env.list_files() == []
    digest = hashlib.sha256(b"12345").hexdigest()
    assert httpx.put(url, content=b"12345").status_code == 200
    commit = httpx.post(
        f"{server.url}/api/v1/uploads/{sid}/commit", json={"files": {"w.bin": digest}}
    )
    assert commit.status_code == 201, commit.text
    assert commit.json()["files"][0]["sha256"] == digest


def test_files_with_digests_keep_the_old_protocol(env: RegistryEnv, tmp_path: Path) -> None:
    data = os.urandom(2 * MIB)
    (tmp_path / "w.bin").write_bytes(data)
    card = CardCreate(
        registry="run",
        name="old",
        repository="ds",
        contact="me",
        files=[ArtifactFile(path="w.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest())],
    )
    backend = HttpBackend(_server(env).url, inline_limit=0)
    backend.presign = False
    public = backend.register_card(card, tmp_path)
    assert public.files == card.files
    backend.close()
