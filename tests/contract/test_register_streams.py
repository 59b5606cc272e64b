"""``RegistryBackend.register_streams`` on every mode: bytes from a stream, checked as stored."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from opsml.backends.base import RegistryBackend
from opsml.errors import ArtifactIntegrityError
from opsml.schemas import ArtifactFile, CardCreate, CardQuery
from tests.conftest import RegistryEnv


def _backend(env: RegistryEnv) -> RegistryBackend:
    backend: RegistryBackend = env.registry("run").backend
    backend.list_cards("run", CardQuery())  # the schema exists before any snapshot
    return backend


def _card(files: dict[str, bytes]) -> CardCreate:
    records = [
        ArtifactFile(path=p, size=len(d), sha256=hashlib.sha256(d).hexdigest())
        for p, d in files.items()
    ]
    return CardCreate(registry="run", name="streamed", repository="ds-team", contact="me",
                      files=records)  # fmt: skip


def _chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_register_streams_stores_each_file(registry_env: RegistryEnv) -> None:
    backend = _backend(registry_env)
    files = {"a/weights.bin": bytes(range(256)) * 40_000, "b.txt": b"hello", "empty": b""}
    moved: list[int] = []
    public = backend.register_streams(
        _card(files), lambda item: _chunks(files[item.path]), progress=moved.append
    )
    assert sum(moved) == sum(len(d) for d in files.values())
    for path, data in files.items():
        assert b"".join(backend.iter_artifact(public, path)) == data
    assert backend.get_card("run", uid=public.uid).version == public.version


def test_register_streams_refuses_other_bytes(registry_env: RegistryEnv) -> None:
    backend = _backend(registry_env)
    files = {"a.bin": b"a" * 300_000, "b.bin": b"b" * 1000}
    card = _card(files)
    before = registry_env.snapshot()
    wrong = {"a.bin": files["a.bin"], "b.bin": b"c" * 1000}
    with pytest.raises(ArtifactIntegrityError):
        backend.register_streams(card, lambda item: _chunks(wrong[item.path]))
    assert registry_env.snapshot() == before
    too_long = {"a.bin": files["a.bin"] + b"!", "b.bin": files["b.bin"]}
    with pytest.raises(ArtifactIntegrityError):
        backend.register_streams(card, lambda item: _chunks(too_long[item.path]))
    assert registry_env.snapshot() == before


def test_register_streams_without_files(registry_env: RegistryEnv) -> None:
    backend = _backend(registry_env)
    public = backend.register_streams(_card({}), lambda item: iter(()))
    assert public.files == [] and backend.get_card("run", uid=public.uid).uid == public.uid
