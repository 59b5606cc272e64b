"""Migration ``0004_upload_sessions`` on SQLite, PostgreSQL and MariaDB: up, matches, down."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from opsml.backends.sql.migrate import alembic_config
from opsml_testing.databases import migration_database, schema_diff

TABLES = ("opsml_upload_sessions", "opsml_upload_files")


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0004_upload_sessions_up_down_up(kind: str, tmp_path: Path) -> None:
    from alembic import command

    with migration_database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0004_upload_sessions")
        engine = create_engine(url)
        try:
            assert schema_diff(engine, *TABLES) == []
            with engine.connect() as conn:
                for table in TABLES:
                    assert inspect(conn).has_table(table)
                keys = inspect(conn).get_foreign_keys("opsml_upload_files")
                assert [k["referred_table"] for k in keys] == ["opsml_upload_sessions"]
            command.downgrade(cfg, "0003_identity")
            with engine.connect() as conn:
                for table in TABLES:
                    assert not inspect(conn).has_table(table)
                assert inspect(conn).has_table("opsml_users")
            command.upgrade(cfg, "0004_upload_sessions")
            with engine.connect() as conn:
                assert inspect(conn).has_table("opsml_upload_files")
        finally:
            engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_session_store_on_each_database(kind: str, tmp_path: Path) -> None:
    import hashlib
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from opsml.backends.sql import SqlBackend
    from opsml.backends.sql.tables import UPLOAD_SESSIONS
    from opsml.errors import CardNotFoundError
    from opsml.schemas import ArtifactFile, CardCreate, CardQuery, UploadTicket

    data = b"payload"
    card = CardCreate(
        registry="run", name="n", repository="r", contact="me",
        files=[ArtifactFile(path="a/b.bin", size=len(data),
                            sha256=hashlib.sha256(data).hexdigest())],
    )  # fmt: skip
    with migration_database(kind, tmp_path) as url:
        backend = SqlBackend(url, str(tmp_path / "store"))
        sessions = backend.upload_sessions
        opened = sessions.open(card, "alice")
        with pytest.raises(CardNotFoundError):
            sessions.get(opened.id, "bob")
        sessions.receive(opened, "a/b.bin", iter([data[:3], data[3:]]))
        assert sessions.get(opened.id, "alice").missing() == []
        claimed = sessions.claim(opened.id, "alice")
        with pytest.raises(CardNotFoundError):  # one commit only
            sessions.claim(opened.id, "alice")
        sessions.release(opened.id)
        claimed = sessions.claim(opened.id, "alice")
        public = backend.commit_upload(UploadTicket(id=opened.id), claimed.settle({}))
        sessions.drop(opened.id)
        assert public.files == card.files
        assert [c.uid for c in backend.list_cards("run", CardQuery())] == [public.uid]
        stale = sessions.open(card, None)
        with backend.engine.begin() as conn:
            conn.execute(
                update(UPLOAD_SESSIONS)
                .where(UPLOAD_SESSIONS.c.id == stale.id)
                .values(touched_at=datetime.now(UTC) - timedelta(hours=2))
            )
        assert sessions.sweep(timedelta(hours=1)) == 1
        with pytest.raises(CardNotFoundError):
            sessions.get(stale.id, None)
        backend.close()
