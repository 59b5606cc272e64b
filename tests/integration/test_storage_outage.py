"""A storage outage mid-upload: a clear StorageError, no card, and recovery after restart."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from opsml.config import OpsmlSettings
from opsml.errors import StorageError
from opsml_testing.emulators import S3_KEY, S3_SECRET, Emulator, GcsEmulator, S3Emulator, unique_uri
from tests.contract._helpers import run_card

MIB = 1024 * 1024


@pytest.fixture(params=["s3", "gcs"])
def emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator of its own: these tests kill it."""
    emu: Emulator = S3Emulator() if request.param == "s3" else GcsEmulator(tmp_path / "gcs")
    emu.start()
    emu.create_bucket()
    yield emu
    emu.stop()


def _blob(tmp_path: Path, size: int) -> Path:
    path = tmp_path / f"weights-{size}.bin"
    with open(path, "wb") as out:
        block = hashlib.sha256(str(size).encode()).digest() * (MIB // 32)
        for _ in range(size // MIB):
            out.write(block)
    return path


def _killer(emu: Emulator, after: int) -> object:
    moved = 0

    def progress(n: int) -> None:
        nonlocal moved
        moved += n
        if moved >= after and emu._proc is not None:
            emu.kill()

    return progress


def _rows(db_url: str) -> list[tuple[str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [
                (r[0], r[1])
                for r in conn.execute(text("SELECT version, status FROM opsml_cards ORDER BY id"))
            ]
    finally:
        engine.dispose()


def _assert_clear(exc: StorageError, uri: str) -> None:
    message = str(exc)
    bucket = uri.split("://", 1)[1].split("/", 1)[0]
    assert bucket in message, message
    assert S3_KEY not in message and S3_SECRET not in message, message


def _restart(emu: Emulator) -> None:
    emu.restart()
    emu.create_bucket()  # moto keeps nothing across a restart; fake-gcs keeps its folder


@pytest.mark.slow
def test_embedded_outage_mid_upload(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsml import CardRegistry

    for key, value in emulator.server_env().items():
        monkeypatch.setenv(key, value)
    uri = unique_uri(emulator)
    db_url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    reg = CardRegistry("run", settings=OpsmlSettings(tracking_uri=db_url, storage_uri=uri))
    reg.register_card(run_card())
    fs = emulator.filesystem()
    root = uri.split("://", 1)[1]
    before = sorted(fs.find(root))

    card = run_card()
    card.log_artifact(_blob(tmp_path, 72 * MIB))
    with pytest.raises(StorageError) as info:
        reg.register_card(card, progress=_killer(emulator, 40 * MIB))  # type: ignore[arg-type]
    _assert_clear(info.value, uri)
    assert [c.version for c in reg.list_cards()] == ["1.0.0"]
    assert [s for _, s in _rows(db_url)].count("active") == 1  # no card row for the failure

    _restart(emulator)
    if isinstance(emulator, GcsEmulator):  # its objects survive: nothing half-written is there
        assert sorted(emulator.filesystem().find(root)) == before
    again = run_card()
    again.log_artifact(_blob(tmp_path, 3 * MIB))
    registered = reg.register_card(again)
    reg.load_card(uid=registered.uid).download_artifacts(tmp_path / "out")
    assert (tmp_path / "out" / "artifacts" / "weights-3145728.bin").stat().st_size == 3 * MIB


@pytest.mark.slow
def test_outage_behind_the_server(emulator: Emulator, tmp_path: Path) -> None:
    from opsml import CardRegistry
    from opsml_testing.live_server import running_server

    uri = unique_uri(emulator)
    env = {"OPSML_STORAGE_URI": uri, **emulator.server_env()}
    with running_server(tmp_path / "server", env=env) as server:
        reg = CardRegistry("run", settings=OpsmlSettings(tracking_uri=server.url))
        reg.register_card(run_card())
        card = run_card()
        card.log_artifact(_blob(tmp_path, 24 * MIB))
        # the client's upload reaches the server's staging; the store is gone at commit
        with pytest.raises(StorageError) as info:
            reg.register_card(card, progress=_killer(emulator, 24 * MIB))  # type: ignore[arg-type]
        _assert_clear(info.value, uri)
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert S3_SECRET not in ready.text
        assert [c.version for c in reg.list_cards()] == ["1.0.0"]  # still serving
        assert [s for _, s in _rows(server.db_url)].count("active") == 1

        _restart(emulator)
        with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
            assert client.get("/readyz").status_code == 200
        again = run_card()
        again.log_artifact(_blob(tmp_path, 10 * MIB))
        registered = reg.register_card(again)
        reg.load_card(uid=registered.uid).download_artifacts(tmp_path / "out")
        assert (tmp_path / "out" / "artifacts" / "weights-10485760.bin").stat().st_size == 10 * MIB
