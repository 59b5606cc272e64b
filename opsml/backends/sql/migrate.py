"""Create and upgrade the registry database with Alembic (``opsml db upgrade``).

Example:
    >>> upgrade_database("sqlite:///:memory:")  # doctest: +SKIP

"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS.as_posix())
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this version."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, ``None`` when it has no registry tables."""
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def upgrade_engine(engine: Engine) -> str:
    """Upgrade the database behind ``engine`` to the newest revision; returns it."""
    from alembic import command

    from opsml.backends.sql.engine import WRITE

    cfg = alembic_config()
    # a write transaction from the start: on SQLite it takes the write lock first, so that
    # processes migrating a new database at once queue instead of failing
    with engine.connect().execution_options(**{WRITE: True}) as connection, connection.begin():
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    return head_revision()


def upgrade_database(url: str) -> str:
    """Create or upgrade the registry database at ``url``; returns the revision now in force."""
    from opsml.backends.sql.engine import create_registry_engine

    engine = create_registry_engine(url)
    try:
        return upgrade_engine(engine)
    finally:
        engine.dispose()
