"""Migration ``0009_first_admin`` on SQLite, PostgreSQL and MariaDB: up from 0008 with users
in place, the schema the models describe, the guard row made and gone with its user, down
(the users stay) and up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from opsml.auth.roles import Role
from opsml.backends.sql import SqlBackend
from opsml.backends.sql.migrate import alembic_config
from opsml_testing.databases import migration_database, schema_diff

TABLE = "opsml_first_admin"


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0009_adds_the_guard_then_down_and_up(kind: str, tmp_path: Path) -> None:
    from alembic import command

    with migration_database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0008_approvals")
        engine = create_engine(url)
        try:
            with engine.begin() as conn:  # a registry with users already: no guard row needed
                conn.execute(text("INSERT INTO opsml_users (name, created_at) "
                                  "VALUES ('old', CURRENT_TIMESTAMP)"))  # fmt: skip
            command.upgrade(cfg, "0009_first_admin")
            assert TABLE in inspect(engine).get_table_names()
            assert schema_diff(engine, TABLE) == []
            command.upgrade(cfg, "head")  # the backend of this code needs every later revision
            backend = SqlBackend(url, (tmp_path / "store").as_posix(), auto_migrate=False)
            try:
                store = backend.identity()
                assert store.add_user("bob", "bob-password-1").grants == []  # not the first
                store.remove_user("old")
                store.remove_user("bob")
                boss = store.add_user("boss", "boss-password-1")  # the first one again
                assert [g.role for g in boss.grants] == [Role.ADMIN]
                with engine.connect() as conn:
                    rows = conn.execute(text(f"SELECT id FROM {TABLE}")).scalars().all()
                assert rows == [1]
                store.add_user("alice", "alice-password-1")
                store.grant("alice", Role.ADMIN)
                store.remove_user("boss")  # alice administers: boss may go, and its guard row
                with engine.connect() as conn:
                    assert conn.execute(text(f"SELECT COUNT(*) FROM {TABLE}")).scalar() == 0
            finally:
                backend.close()
            command.downgrade(cfg, "0008_approvals")
            assert TABLE not in inspect(engine).get_table_names()
            with engine.connect() as conn:  # the users stay
                names = conn.execute(text("SELECT name FROM opsml_users")).scalars().all()
            assert names == ["alice"]
            command.upgrade(cfg, "head")
            assert TABLE in inspect(engine).get_table_names()
        finally:
            engine.dispose()
