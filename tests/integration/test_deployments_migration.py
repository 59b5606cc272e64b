"""Migration ``0007_deployments`` on SQLite, PostgreSQL and MariaDB: up from 0006 with cards
in place, the schema the models describe, down (nothing else touched) and up again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from opsml.backends.sql import SqlBackend
from opsml.backends.sql.migrate import alembic_config
from opsml.schemas import CardCreate
from opsml.schemas_deployments import DeploymentCreate
from opsml_testing.databases import migration_database, schema_diff

TABLES = {"opsml_deployments", "opsml_deployment_targets"}


def _tables(engine: object) -> set[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return set(inspect(conn).get_table_names())


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0007_adds_the_tables_then_down_and_up(kind: str, tmp_path: Path) -> None:
    from alembic import command

    with migration_database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0006_version_index")
        engine = create_engine(url)
        try:
            assert not TABLES & _tables(engine)
            command.upgrade(cfg, "0007_deployments")
            assert _tables(engine) >= TABLES
            assert schema_diff(engine, *TABLES, "ix_deployments", "uq_deployment_target") == []
            command.upgrade(cfg, "head")  # the backend of this code needs every later revision
            backend = SqlBackend(url, (tmp_path / "store").as_posix(), auto_migrate=False)
            try:
                card = backend.register_card(
                    CardCreate(registry="model", name="m", repository="r", contact="me"), tmp_path
                )
                backend.record_deployment(
                    DeploymentCreate(uid=card.uid, target="k8s/p/api", state="deployed")
                )
                current = backend.current_deployment("k8s/p/api")
                assert current is not None and current.uid == card.uid
            finally:
                backend.close()
            command.downgrade(cfg, "0006_version_index")
            assert not TABLES & _tables(engine)
            with engine.connect() as conn:  # the cards stay
                count = conn.execute(text("SELECT COUNT(*) FROM opsml_cards")).scalar()
            assert count == 1
            command.upgrade(cfg, "head")
            assert _tables(engine) >= TABLES
        finally:
            engine.dispose()
