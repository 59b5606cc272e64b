"""Throw-away databases on the machine's PostgreSQL and MariaDB servers (docs/design.md §10)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "OPSML_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_ADMIN_URL = os.environ.get(
    "OPSML_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)


def _swap_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


@contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """Create a fresh database on ``kind`` (postgres|mariadb), yield its URL, drop it."""
    admin_url = PG_ADMIN_URL if kind == "postgres" else MARIADB_ADMIN_URL
    name = f"opsml_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield _swap_database(admin_url, name)
    finally:
        with admin.connect() as conn:
            if kind == "postgres":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@contextmanager
def migration_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty database to migrate: a SQLite file under ``tmp_path``, or a scratch database."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'r.db'}"
        return
    with scratch_database(kind) as url:
        yield url


def schema_diff(engine: Any, *names: str) -> list[Any]:
    """What Alembic finds between ``engine``'s schema and the models, about any of ``names``."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from opsml.backends.sql.tables import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in diff if any(name in repr(d) for name in names)]


def clear_tables(url: str) -> None:
    """Empty the registry tables (between tests sharing one database)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in (
                "opsml_approvals",
                "opsml_deployment_targets",
                "opsml_deployments",
                "opsml_upload_files",
                "opsml_upload_sessions",
                "opsml_card_aliases",
                "opsml_card_tags",
                "opsml_card_links",
                "opsml_card_names",
                "opsml_audit_log",
                "opsml_cards",
                "opsml_grants",
                "opsml_first_admin",
                "opsml_tokens",
                "opsml_users",
            ):
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
