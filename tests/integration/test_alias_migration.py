"""Migration ``0002_aliases`` on SQLite, PostgreSQL and MariaDB: up, matches the tables, down."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from opsml.backends.sql.migrate import alembic_config
from opsml.backends.sql.tables import Base
from tests._databases import scratch_database


@contextmanager
def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'r.db'}"
        return
    with scratch_database(kind) as url:
        yield url


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0002_aliases_up_down_up(kind: str, tmp_path: Path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with _database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0002_aliases")
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert inspect(conn).has_table("opsml_card_aliases")
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
                alias_diff = [d for d in diff if "opsml_card_aliases" in repr(d)]
                assert alias_diff == []
                uniques = inspect(conn).get_unique_constraints("opsml_card_aliases")
                assert any(
                    u["column_names"] == ["registry", "repository", "name", "alias"]
                    for u in uniques
                )
            command.downgrade(cfg, "0001")
            with engine.connect() as conn:
                assert not inspect(conn).has_table("opsml_card_aliases")
                assert inspect(conn).has_table("opsml_cards")
            command.upgrade(cfg, "0002_aliases")
        finally:
            engine.dispose()
