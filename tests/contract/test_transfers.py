"""The backend operations a registry server needs, on every mode (``RegistryBackend``).

Open an artifact (size, range, chunks); open / commit / abort an upload (staged
or presigned); presign a download where the store can (S3 only: elsewhere every
mode refuses the same way).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from opsml.backends.base import RegistryBackend
from opsml.errors import (
    ArtifactNotFoundError,
    InvalidInputError,
    PresignUnsupportedError,
)
from opsml.schemas import ArtifactFile, CardCreate, CardQuery
from tests.conftest import RegistryEnv

PRESIGNING = {"sqlite-s3", "http-s3"}


def _backend(env: RegistryEnv) -> RegistryBackend:
    backend: RegistryBackend = env.registry("run").backend
    backend.list_cards("run", CardQuery())  # the schema exists before any snapshot
    return backend


def _card(tmp_path: Path, files: dict[str, bytes], name: str = "xfer") -> tuple[CardCreate, Path]:
    src = tmp_path / "src"
    records = []
    for path, data in files.items():
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        (src / path).write_bytes(data)
        records.append(
            ArtifactFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        )
    card = CardCreate(registry="run", name=name, repository="ds-team", contact="me", files=records)
    return card, src


def test_open_artifact_gives_size_ranges_and_chunks(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    backend = _backend(registry_env)
    data = bytes(range(256)) * 4096  # 1 MiB
    card, src = _card(tmp_path, {"a/weights.bin": data})
    public = backend.register_card(card, src)
    artifact = backend.open_artifact(public, "a/weights.bin")
    assert artifact.item.path == "a/weights.bin" and artifact.size == len(data)
    assert b"".join(artifact.chunks()) == data
    assert b"".join(artifact.chunks(1000)) == data[1000:]
    assert b"".join(artifact.chunks(10, 5000)) == data[10:5000]
    assert b"".join(artifact.chunks(7, 7)) == b""
    assert b"".join(backend.iter_artifact(public, "a/weights.bin", start=99)) == data[99:]
    with pytest.raises(ArtifactNotFoundError):
        backend.open_artifact(public, "a/other.bin")


def test_staged_upload_commits_a_card(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend = _backend(registry_env)
    card, src = _card(tmp_path, {"one.txt": b"one", "two/three.bin": b"\x00" * 5000})
    ticket = backend.create_upload(card)
    assert not ticket.presigned and len(ticket.id) == 32
    public = backend.commit_upload(ticket, card, source_dir=src)
    out = backend.download_artifacts(public, tmp_path / "out")
    assert sorted(p.name for p in out) == ["one.txt", "three.bin"]
    assert backend.get_card("run", uid=public.uid).files == public.files


def test_staged_upload_refuses_a_missing_file(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend = _backend(registry_env)
    card, src = _card(tmp_path, {"w.bin": b"right bytes", "x.bin": b"x"})
    (src / "x.bin").unlink()
    before = registry_env.snapshot()
    ticket = backend.create_upload(card)
    with pytest.raises(InvalidInputError, match="x.bin"):
        backend.commit_upload(ticket, card, source_dir=src)
    backend.abort_upload(ticket)
    assert registry_env.snapshot() == before


def test_aborted_upload_registers_nothing(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend = _backend(registry_env)
    card, _ = _card(tmp_path, {"w.bin": b"abc"})
    before = registry_env.snapshot()
    backend.abort_upload(backend.create_upload(card))
    assert registry_env.snapshot() == before
    with pytest.raises(InvalidInputError, match="listed twice"):
        backend.create_upload(card.model_copy(update={"files": card.files * 2}))


def test_presigned_upload_and_download_where_the_store_can(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    backend = _backend(registry_env)
    data = b"p" * 300_000
    card, src = _card(tmp_path, {"m/model.bin": data})
    assert backend.can_presign() is (registry_env.mode in PRESIGNING)
    if registry_env.mode not in PRESIGNING:
        before = registry_env.snapshot()
        with pytest.raises(PresignUnsupportedError):
            backend.create_upload(card, presigned=True)
        public = backend.register_card(card, src)
        with pytest.raises(PresignUnsupportedError):
            backend.presign_download(public, "m/model.bin")
        assert registry_env.snapshot()[0][:-1] == before[0]
        return
    ticket = backend.create_upload(card, presigned=True)
    (target,) = ticket.files
    assert ticket.presigned and target.method == "PUT" and target.size == len(data)
    with pytest.raises(InvalidInputError, match="not uploaded"):
        backend.commit_upload(ticket, card)  # nothing PUT yet: refused, the upload stays open
    with httpx.Client(trust_env=False, timeout=60) as direct:
        assert direct.put(target.url, content=data).status_code == 200
    public = backend.commit_upload(ticket, card)
    link = backend.presign_download(public, "m/model.bin")
    assert link.method == "GET" and link.sha256 == hashlib.sha256(data).hexdigest()
    with httpx.Client(trust_env=False, timeout=60) as direct:
        assert direct.get(link.url).content == data
    assert not [f for f in registry_env.list_files() if f.startswith(".uploads")]
