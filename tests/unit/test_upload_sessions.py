"""The backend hands out its upload sessions once; opening one is a single call."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opsml.backends.http import HttpBackend
from opsml.backends.sql import SqlBackend
from opsml.backends.sql.tables import UPLOAD_SESSIONS
from opsml.backends.uploads import UploadSession
from opsml.errors import InvalidInputError, OpsmlError, PresignUnsupportedError
from opsml.schemas import ArtifactFile, CardCreate


def _card(*paths: str) -> CardCreate:
    digest = hashlib.sha256(b"abc").hexdigest()
    files = [ArtifactFile(path=p, size=3, sha256=digest) for p in paths]
    return CardCreate(registry="run", name="n", repository="r", contact="me", files=files)


@pytest.fixture
def backend(tmp_path: Path) -> SqlBackend:
    return SqlBackend(f"sqlite:///{tmp_path / 'r.db'}", str(tmp_path / "store"))


def test_sessions_are_built_once_per_backend(backend: SqlBackend, tmp_path: Path) -> None:
    assert backend.upload_sessions is backend.upload_sessions
    other = SqlBackend(f"sqlite:///{tmp_path / 'r.db'}", str(tmp_path / "store"))
    assert other.upload_sessions is not backend.upload_sessions
    opened = backend.upload_sessions.open(_card("a.bin"), "alice")
    assert other.upload_sessions.get(opened.id, "alice").missing() == ["a.bin"]  # shared rows


def test_open_runs_the_backend_checks_and_records_the_session(backend: SqlBackend) -> None:
    sessions = backend.upload_sessions
    opened = sessions.open(_card("a.bin", "b.bin"), "alice")
    assert isinstance(opened, UploadSession)
    assert (opened.ticket.id, opened.ticket.presigned, opened.urls) == (opened.id, False, ())
    sessions.receive(opened, "a.bin", iter([b"a", b"bc"]))
    assert sessions.get(opened.id, "alice").missing() == ["b.bin"]
    with pytest.raises(InvalidInputError, match="listed twice"):
        sessions.open(_card("a.bin", "a.bin"), "alice")
    with pytest.raises(PresignUnsupportedError):  # a folder store cannot presign
        sessions.open(_card("a.bin"), "alice", presigned=True)
    with backend.engine.connect() as conn:  # the refused opens recorded nothing
        assert conn.execute(select(func.count()).select_from(UPLOAD_SESSIONS)).scalar() == 1


def test_a_backend_without_a_database_refuses() -> None:
    with pytest.raises(OpsmlError, match="keeps no upload sessions"):
        HttpBackend("http://127.0.0.1:9").upload_sessions  # noqa: B018
