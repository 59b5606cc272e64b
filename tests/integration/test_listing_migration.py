"""Migration ``0005_listing`` on SQLite, PostgreSQL and MariaDB: up (backfilled), matches the
tables, down, up again."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, MetaData, Table, create_engine, inspect, text

from opsml.backends.sql import SqlBackend
from opsml.backends.sql._rows import insert_values
from opsml.backends.sql.migrate import alembic_config
from opsml.schemas import CardCreate, CardQuery
from opsml_testing.databases import migration_database, schema_diff

NEW_TABLES = ("opsml_card_links", "opsml_card_names")


def _old_row(registry: str, name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    card = CardCreate(
        registry=registry, name=name, repository="ds", contact="me", metadata=metadata
    )  # type: ignore[arg-type]
    values = insert_values(card, uuid.uuid4().hex, "1.0.0", status="active", actor="old")
    del values["summary"]  # the column 0005 adds
    return values


def _seed_before_0005(engine: Any) -> tuple[str, str]:
    data = _old_row("data", "iris", {"data": {"kind": "pandas", "row_count": 150}})
    meta = {"datacard_uid": data["uid"], "model": {"framework": "sklearn"}}
    model = _old_row("model", "churn", meta)
    cards = Table("opsml_cards", MetaData(), autoload_with=engine)  # the 0003 columns
    plain = {c.name for c in cards.c if not isinstance(c.type, JSON)}  # MariaDB: LONGTEXT
    rows = [
        {k: json.dumps(v) if k in plain and isinstance(v, dict | list) else v for k, v in r.items()}
        for r in (data, model)
    ]
    with engine.begin() as conn:
        conn.execute(cards.insert(), rows)
    return data["uid"], model["uid"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_0005_listing_backfills_then_down_and_up(kind: str, tmp_path: Path) -> None:
    from alembic import command

    with migration_database(kind, tmp_path) as url:
        cfg = alembic_config(url)
        command.upgrade(cfg, "0004_upload_sessions")
        engine = create_engine(url)
        try:
            data_uid, model_uid = _seed_before_0005(engine)
            command.upgrade(cfg, "head")  # 0005 and what follows it: the backend wants head
            assert schema_diff(engine, *NEW_TABLES, "summary") == []
            with engine.connect() as conn:
                names = conn.execute(
                    text("SELECT registry, name, active_cards FROM opsml_card_names")
                ).all()
                assert sorted(tuple(n) for n in names) == [
                    ("data", "iris", 1),
                    ("model", "churn", 1),
                ]
            backend = SqlBackend(url, (tmp_path / "store").as_posix(), auto_migrate=False)
            try:
                (row,) = backend.list_page("model", CardQuery(links_to=data_uid)).items
                assert (row.uid, row.summary) == (model_uid, {"framework": "sklearn"})
                assert backend.count_cards("data", CardQuery(search="IRI")) == 1
                data_row = backend.list_page("data", CardQuery()).items[0]
                assert data_row.summary == {"kind": "pandas", "row_count": 150}
            finally:
                backend.close()
            command.downgrade(cfg, "0004_upload_sessions")
            with engine.connect() as conn:
                inspector = inspect(conn)
                assert not any(inspector.has_table(t) for t in NEW_TABLES)
                assert "summary" not in {c["name"] for c in inspector.get_columns("opsml_cards")}
                count = text("SELECT count(*) FROM opsml_cards")
                assert conn.execute(count).scalar_one() == 2
            command.upgrade(cfg, "0005_listing")
            with engine.connect() as conn:
                links = (
                    conn.execute(text("SELECT target_uid FROM opsml_card_links")).scalars().all()
                )
                assert links == [data_uid]
        finally:
            engine.dispose()
