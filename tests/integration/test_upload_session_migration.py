"""Migration ``0004_upload_sessions`` on SQLite, PostgreSQL and MariaDB: up, matches, down."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from opsml.backends.sql.migrate import alembic_config
from opsml.backends.sql.tables import Base
from tests.integration.test_alias_migration import _database

TABLES = ("opsml_upload_sessions", "opsml_upload_files")


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0004_upload_sessions_up_down_up(kind: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with _database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0004_upload_sessions")
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                for table in TABLES:
                    assert inspect(conn).has_table(table)
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
                assert [d for d in diff if any(t in repr(d) for t in TABLES)] == []
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
