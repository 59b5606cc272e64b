"""Migration ``0008_approvals`` on SQLite, PostgreSQL and MariaDB: up from 0007 with cards in
place, the schema the models describe, requests work, down (nothing else touched) and up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from opsml.backends.sql import SqlBackend
from opsml.backends.sql.migrate import alembic_config
from opsml.schemas import CardCreate
from opsml.schemas_approvals import ApprovalCreate, ApprovalDecision
from opsml_testing.databases import migration_database, schema_diff

TABLE = "opsml_approvals"


def _tables(engine: object) -> set[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return set(inspect(conn).get_table_names())


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0008_adds_the_table_then_down_and_up(kind: str, tmp_path: Path) -> None:
    from alembic import command

    with migration_database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0007_deployments")
        engine = create_engine(url)
        try:
            assert TABLE not in _tables(engine)
            command.upgrade(cfg, "0008_approvals")
            assert TABLE in _tables(engine)
            assert schema_diff(engine, TABLE, "ix_approvals") == []
            command.upgrade(cfg, "head")  # the backend of this code needs every later revision
            backend = SqlBackend(url, (tmp_path / "store").as_posix(), auto_migrate=False,
                                 protected_aliases="champion")  # fmt: skip
            try:
                card = backend.register_card(
                    CardCreate(registry="model", name="m", repository="r", contact="me"), tmp_path
                )
                asked = backend.request_alias(
                    ApprovalCreate(uid=card.uid, alias="champion", reason="first"), actor="alice"
                )
                done = backend.approve(asked.id, ApprovalDecision(comment="ok"), actor="bob")
                assert (done.state, done.decided_by) == ("approved", "bob")
                assert [a.uid for a in backend.list_aliases("model", "m", "r")] == [card.uid]
            finally:
                backend.close()
            command.downgrade(cfg, "0007_deployments")
            assert TABLE not in _tables(engine)
            with engine.connect() as conn:  # the cards and aliases stay
                count = conn.execute(text("SELECT COUNT(*) FROM opsml_card_aliases")).scalar()
            assert count == 1
            command.upgrade(cfg, "head")
            assert TABLE in _tables(engine)
        finally:
            engine.dispose()
