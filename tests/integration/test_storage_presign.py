"""Presigned direct transfers (S3), the server's check of what was uploaded, and the fallback."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsml import CardRegistry
from opsml.config import OpsmlSettings
from opsml.errors import ArtifactIntegrityError
from opsml.schemas import ArtifactFile, CardCreate
from tests._emulators import emulator_for
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card

MIB = 1024 * 1024


def _server(request: pytest.FixtureRequest, kind: str) -> tuple[Any, RegistryEnv]:
    emulator_for(request, kind)
    server, uri, options = request.getfixturevalue(f"live_server_{kind}")
    server.reset()
    env = RegistryEnv(
        mode=f"http-{kind}", settings=OpsmlSettings(tracking_uri=server.url),
        db_url=server.db_url, storage_root=server.storage_root, storage_uri=uri,
        storage_options=options,
    )  # fmt: skip
    env.clear_storage()
    return server, env


def _big(tmp_path: Path, size: int = 12 * MIB) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(hashlib.sha256(b"x").digest() * (size // 32))
    return path


def test_large_files_go_direct_on_s3(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    _, env = _server(request, "s3")
    reg = CardRegistry("run", settings=env.settings)
    card = run_card()
    card.log_artifact(_big(tmp_path))
    reg.register_card(card)
    backend: Any = reg.backend
    assert backend._presign_ok is True
    # nothing under the store's .uploads/: the bytes went straight to their place
    assert env.list_files() == ["run/ds-team/train/v1.0.0/artifacts/weights.bin"]
    reg.load_card(uid=card.uid).download_artifacts(tmp_path / "out")
    assert (tmp_path / "out/artifacts/weights.bin").read_bytes() == _big(tmp_path).read_bytes()


def test_server_rejects_bytes_that_differ_from_the_record(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    server, env = _server(request, "s3")
    data = b"a" * (9 * MIB)
    record = ArtifactFile(path="w.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest())
    card = CardCreate(registry="run", name="train", repository="ds", contact="me", files=[record])
    before = env.snapshot()
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as client:
        opened = client.post("/api/v1/presign/uploads", content=card.model_dump_json(),
                             headers={"Content-Type": "application/json"})  # fmt: skip
        assert opened.status_code == 201, opened.text
        session = opened.json()
        (target,) = session["files"]
        assert target["method"] == "PUT" and "w.bin" in target["url"]
        commit = f"/api/v1/presign/uploads/{session['id']}/commit"
        early = client.post(commit)  # nothing uploaded yet: refused before any version
        assert early.status_code == 400 and "not uploaded" in early.text
        with httpx.Client(trust_env=False, timeout=60) as direct:
            forged = b"b" * len(data)  # right size, wrong bytes
            assert direct.put(target["url"], content=forged).status_code == 200
        answer = client.post(commit)
        assert answer.status_code == ArtifactIntegrityError.status_code, answer.text
        assert "w.bin" in answer.json()["error"]["message"]
    rows, files = env.snapshot()
    assert [r for r in rows if r[-1] == "active"] == [r for r in before[0] if r[-1] == "active"]
    assert files == before[1]  # neither the card's copy nor the staging object is left


def test_stores_that_cannot_presign_fall_back_to_the_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    server, env = _server(request, "gcs")
    reg = CardRegistry("run", settings=env.settings)
    card = run_card()
    card.log_artifact(_big(tmp_path))
    reg.register_card(card)
    backend: Any = reg.backend
    assert backend._presign_ok is False  # 409 presign_unsupported, remembered: proxied now
    reg.load_card(uid=card.uid).download_artifacts(tmp_path / "out")
    assert (tmp_path / "out/artifacts/weights.bin").stat().st_size == 12 * MIB
    with httpx.Client(base_url=server.url, trust_env=False) as client:
        card_json = CardCreate(registry="run", name="x", repository="ds", contact="me")
        answer = client.post("/api/v1/presign/uploads", content=card_json.model_dump_json(),
                             headers={"Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "presign_unsupported"


@pytest.mark.parametrize(("kind", "supported"), [("s3", True), ("gcs", False)])
def test_the_server_says_whether_its_store_presigns(
    request: pytest.FixtureRequest, kind: str, supported: bool
) -> None:
    server, env = _server(request, kind)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as client:
        answer = client.get("/api/v1/presign/uploads")
    assert answer.status_code == 200 and answer.json() == {"supported": supported}
    backend = CardRegistry("run", settings=env.settings).backend
    assert backend.can_presign() is supported  # the HTTP backend asks the same route


def test_a_folder_store_does_not_presign(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from opsml_server.app import create_app
    from opsml_server.settings import ServerSettings

    settings = ServerSettings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}", storage_uri=(tmp_path / "a").as_posix()
    )
    with TestClient(create_app(settings)) as client:
        answer = client.get("/api/v1/presign/uploads")
        assert client.app.state.backend.can_presign() is False  # type: ignore[attr-defined]
    assert answer.status_code == 200 and answer.json() == {"supported": False}
