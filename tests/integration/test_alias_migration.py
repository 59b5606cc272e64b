"""Migration ``0002_aliases`` on SQLite, PostgreSQL and MariaDB: up, matches the tables, down."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from opsml.backends.sql.migrate import alembic_config
from opsml_testing.databases import migration_database, schema_diff


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0002_aliases_up_down_up(kind: str, tmp_path: Path) -> None:
    from alembic import command

    with migration_database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0002_aliases")
        engine = create_engine(url)
        try:
            assert schema_diff(engine, "opsml_card_aliases") == []
            with engine.connect() as conn:
                assert inspect(conn).has_table("opsml_card_aliases")
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
