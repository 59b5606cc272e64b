"""Registrations abandoned by a killed process are swept (issue 11, item 10).

A pending reservation older than the timeout goes, with its stored files; a
younger one (a registration still in progress) stays. The server sweeps at
start and periodically; operators run ``opsml db gc``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from opsml import OpsmlError
from opsml.schemas import ArtifactFile, CardCreate
from opsml_testing.live_server import start_server
from tests.conftest import CLOUD_SQL_MODES, SQL_MODES, RegistryEnv, _make_env
from tests.contract._helpers import run_card


@pytest.fixture(params=[*SQL_MODES, *CLOUD_SQL_MODES])
def db_env(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """An empty registry on every mode that holds its own database."""
    env = _make_env(request.param, request, tmp_path)
    yield env
    from opsml.backends import clear_backend_cache

    clear_backend_cache()


def _abandon_a_registration(backend: Any, env: RegistryEnv) -> None:
    """What a process killed mid-commit leaves: a pending row and part of the files."""
    card = CardCreate(registry="run", name="train", repository="ds-team", contact="ds@x.org")
    _, version, _, _ = backend._reserve_version(card, None)
    rel = f"run/ds-team/train/v{version}/artifacts/half.bin"
    if env.storage_kind == "folder":
        (env.storage_root / rel).parent.mkdir(parents=True, exist_ok=True)
    env.write_file(rel, b"half")


def test_item_10_collect_garbage_removes_old_pending_only(db_env: RegistryEnv) -> None:
    from opsml.backends import build_backend

    db_env.registry("run").register_card(run_card())
    before = db_env.snapshot()
    backend = build_backend(db_env.settings)
    try:
        _abandon_a_registration(backend, db_env)
        in_progress = db_env.snapshot()
        assert in_progress != before
        assert backend.collect_garbage(timedelta(hours=1)) == 0  # still in progress
        assert db_env.snapshot() == in_progress
        time.sleep(0.05)
        assert backend.collect_garbage(timedelta(seconds=0.01)) == 1
        assert db_env.snapshot() == before
        assert [c.version for c in db_env.registry("run").list_cards()] == ["1.0.0"]
    finally:
        backend.close()


def test_item_10_opsml_db_gc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from typer.testing import CliRunner

    from opsml.backends import build_backend, clear_backend_cache
    from opsml.cli import app
    from opsml.config import configure

    env = _make_env("sqlite", request, tmp_path)
    env.registry("run").register_card(run_card())
    before = env.snapshot()
    backend = build_backend(env.settings)
    _abandon_a_registration(backend, env)
    backend.close()
    monkeypatch.setenv("OPSML_TRACKING_URI", env.db_url)
    monkeypatch.setenv("OPSML_STORAGE_URI", env.storage_uri)
    configure()  # the CLI reads the environment, not settings cached by earlier tests
    clear_backend_cache()
    try:
        # durations as tokens create --expires takes them (issue 30 item 9); bare seconds too
        for age in ("3600", "1h", "90d", "2w"):
            result = CliRunner().invoke(app, ["db", "gc", "--older-than", age])
            assert result.exit_code == 0, result.output
            assert "removed 0 abandoned" in result.output
        for bad in ("soon", "-5s", "1y"):
            result = CliRunner().invoke(app, ["db", "gc", "--older-than", bad])
            assert result.exit_code == 1 and "--older-than must be a number with a unit" in (
                result.output
            )
        time.sleep(0.05)
        result = CliRunner().invoke(app, ["db", "gc", "--older-than", "0s"])
        assert result.exit_code == 0, result.output
        assert "removed 1 abandoned" in result.output
        assert env.snapshot() == before
    finally:
        monkeypatch.delenv("OPSML_TRACKING_URI")
        monkeypatch.delenv("OPSML_STORAGE_URI")
        configure()
    clear_backend_cache()


def test_item_10_http_backend_refuses_gc(http_env_fixture: RegistryEnv) -> None:
    from opsml.backends import build_backend

    backend = build_backend(http_env_fixture.settings)
    with pytest.raises(OpsmlError, match="opsml db gc"):
        backend.collect_garbage(timedelta(0))


@pytest.fixture
def http_env_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    return _make_env("http", request, tmp_path)


def _multipart(count: int) -> tuple[dict[str, str], list[tuple[str, Any]]]:
    files, records = [], []
    for i in range(count):
        data = f"file {i}\n".encode() * 20
        path = f"artifacts/f{i:05d}.txt"
        records.append(
            ArtifactFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        )
        files.append(("files", (path, data, "application/octet-stream")))
    card = CardCreate(
        registry="run", name="train", repository="ds-team", contact="ds@x.org", files=records
    )
    return {"card": card.model_dump_json()}, files


def _rows(db_url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT version, status FROM opsml_cards"))]
    finally:
        engine.dispose()


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_item_10_server_killed_mid_commit_is_swept_at_restart(tmp_path: Path) -> None:
    root = tmp_path / "server"
    server = start_server(root, env={"OPSML_MAX_INLINE_SIZE": str(64 * 1024 * 1024)})
    fields, files = _multipart(3000)
    target = server.storage_root / "run" / "ds-team" / "train" / "v1.0.0" / "artifacts"

    def post() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            httpx.post(f"{server.url}/api/v1/cards/run", data=fields, files=files, timeout=120)

    sender = threading.Thread(target=post)
    sender.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            if os.listdir(target):
                break
        time.sleep(0.002)
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait(10)
    sender.join(30)
    assert _rows(server.db_url) == [("1.0.0", "pending")]
    assert _stored(server.storage_root), "the kill came after the commit: nothing to sweep"
    time.sleep(1.5)
    restarted = start_server(
        root,
        db_url=server.db_url,
        env={"OPSML_PENDING_TIMEOUT": "1", "OPSML_UPLOAD_SESSION_TTL": "1"},
    )
    try:
        assert _rows(server.db_url) == []
        assert _stored(server.storage_root) == []  # the store's .uploads/ too
        assert "removed abandoned registrations" in restarted.log()
        answer = httpx.get(f"{restarted.url}/api/v1/cards/run", timeout=30)
        assert answer.json() == {"items": []}
    finally:
        restarted.stop()
