"""Migration ``0006_version_index`` on SQLite, PostgreSQL and MariaDB, and the plan it buys:
the next version of a name is read from the index, not by sorting every version of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from opsml.backends.sql import SqlBackend
from opsml.backends.sql._rows import TOP_VERSIONS
from opsml.backends.sql.migrate import alembic_config
from opsml.schemas import CardCreate
from opsml_testing.databases import migration_database, schema_diff

INDEX = "ix_cards_versions"


def _indexes(engine: object) -> set[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return {i["name"] for i in inspect(conn).get_indexes("opsml_cards")}


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0006_adds_the_index_then_down_and_up(kind: str, tmp_path: Path) -> None:
    from alembic import command

    with migration_database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0005_listing")
        engine = create_engine(url)
        try:
            assert INDEX not in _indexes(engine)
            command.upgrade(cfg, "0006_version_index")
            assert INDEX in _indexes(engine)
            assert schema_diff(engine, INDEX) == []
            command.downgrade(cfg, "0005_listing")
            assert INDEX not in _indexes(engine)
            command.upgrade(cfg, "0006_version_index")
            assert INDEX in _indexes(engine)
        finally:
            engine.dispose()


def test_next_version_reads_the_index_without_sorting(tmp_path: Path) -> None:
    """SQLite's plan for the next version: no temporary sort over a name's versions."""
    backend = SqlBackend(f"sqlite:///{tmp_path / 'r.db'}", (tmp_path / "store").as_posix())
    try:
        for _ in range(3):
            card = CardCreate(registry="model", name="m", repository="r", contact="me")
            backend.register_card(card, tmp_path)
        compiled = TOP_VERSIONS.compile(dialect=backend.engine.dialect)
        params = {"registry": "model", "repository": "r", "name": "m"}
        sql = str(compiled)
        bound = compiled.construct_params(params)
        values = [bound[name] for name in compiled.positiontup or []]
        with backend.engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", tuple(values)).all()
        steps = " | ".join(str(row[-1]) for row in plan)
        assert "TEMP B-TREE" not in steps, steps
        assert INDEX in steps, steps
        with backend.engine.connect() as conn:
            versions = [row.version for row in conn.execute(TOP_VERSIONS, params)]
        assert versions == ["1.2.0", "1.1.0", "1.0.0"]
    finally:
        backend.close()
