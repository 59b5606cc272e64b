"""Create and upgrade the registry database with Alembic (``opsml db upgrade``).

Processes that start together on a new database all try to migrate it. They
take turns under a database-level lock (MySQL/MariaDB ``GET_LOCK``, a
PostgreSQL advisory lock, SQLite's write lock taken by ``BEGIN IMMEDIATE``)
and re-read the revision once they hold it, so only the first one migrates.
A process that waits longer than :data:`MIGRATION_LOCK_WAIT` goes ahead
without the lock (and says so in the log) rather than hang for ever.

Example:
    >>> upgrade_database("sqlite:///:memory:")  # doctest: +SKIP

"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger("opsml.sql")

MIGRATIONS = Path(__file__).with_name("migrations")

MIGRATION_LOCK_WAIT = 120.0
"""Seconds a process waits for another one's migration before going ahead without the lock."""

MIGRATION_LOCK_NAME = "opsml.migrate"
"""The MySQL/MariaDB ``GET_LOCK`` name (suffixed with the database: such locks are server-wide)."""

MIGRATION_LOCK_KEY = 0x6F70736D6C6D6967
"""The PostgreSQL advisory lock key (``b"opsmlmig"``; advisory locks are per database)."""


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


def _try_lock(connection: Connection, wait: float) -> bool:
    """Take the migration lock on ``connection``'s session, waiting at most ``wait`` seconds."""
    from sqlalchemy import text

    dialect = connection.dialect.name
    if dialect == "postgresql":
        deadline = time.monotonic() + wait
        while True:
            stmt = text("SELECT pg_try_advisory_lock(:key)")
            if connection.execute(stmt, {"key": MIGRATION_LOCK_KEY}).scalar():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
    name = f"{MIGRATION_LOCK_NAME}.{connection.engine.url.database}"[:64]
    stmt = text("SELECT GET_LOCK(:name, :wait)")
    return connection.execute(stmt, {"name": name, "wait": max(1, round(wait))}).scalar() == 1


def _unlock(connection: Connection) -> None:
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    else:
        name = f"{MIGRATION_LOCK_NAME}.{connection.engine.url.database}"[:64]
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    connection.commit()


@contextmanager
def migration_lock(connection: Connection, wait: float = MIGRATION_LOCK_WAIT) -> Iterator[bool]:
    """Hold the database-level migration lock on ``connection``; yields whether it was taken.

    On SQLite nothing is taken here: the migration's ``BEGIN IMMEDIATE`` takes
    the database's write lock, which queues the others (busy timeout 60 s).
    The lock belongs to the connection's session, not to a transaction, so it
    survives MySQL's implicit commits after DDL; it is released on exit.

    Example:
        >>> from sqlalchemy import create_engine
        >>> with create_engine("sqlite://").connect() as conn, migration_lock(conn) as held:
        ...     held
        True

    """
    if connection.dialect.name not in ("postgresql", "mysql", "mariadb"):
        yield True
        return
    acquired = _try_lock(connection, wait)
    connection.commit()  # end the statement's transaction; the session keeps the lock
    if not acquired:
        logger.warning(
            "waited %.0f s for another process's migration of the registry database; "
            "going ahead without the lock",
            wait,
        )
    try:
        yield acquired
    finally:
        if acquired:
            try:
                _unlock(connection)
            except Exception:  # the session (and with it the lock) must not live on
                logger.warning("could not release the migration lock; dropping the connection")
                connection.invalidate()


def upgrade_engine(engine: Engine, *, wait: float = MIGRATION_LOCK_WAIT) -> str:
    """Upgrade the database behind ``engine`` to the newest revision; returns it.

    Holds the migration lock (see :func:`migration_lock`) and re-reads the
    revision under it: a database another process migrated meanwhile is left
    alone. A failure raises :class:`~opsml.errors.BackendUnavailableError`
    (cannot connect) or :class:`~opsml.errors.RegistryDatabaseError` (the
    migration itself failed), naming the database without credentials.
    """
    from alembic import command
    from sqlalchemy.exc import DBAPIError

    from opsml.backends.sql._db_errors import translate
    from opsml.backends.sql.engine import WRITE

    head = head_revision()
    cfg = alembic_config()
    try:
        # a write transaction: on SQLite it takes the write lock first, so that
        # processes migrating a new database at once queue instead of failing
        with (
            engine.connect().execution_options(**{WRITE: True}) as connection,
            migration_lock(connection, wait),
            connection.begin(),
        ):
            if current_revision(connection) != head:
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
    except DBAPIError as exc:
        raise translate(engine.url, exc, "the registry schema migration") from exc
    return head


def upgrade_database(url: str) -> str:
    """Create or upgrade the registry database at ``url``; returns the revision now in force."""
    from opsml.backends.sql.engine import create_registry_engine

    engine = create_registry_engine(url)
    try:
        return upgrade_engine(engine)
    finally:
        engine.dispose()
