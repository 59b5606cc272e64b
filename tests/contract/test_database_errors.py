"""Database failures say what failed and where, never the password (issue 18, issue 11 item 14).

A refused connection and a missing database are "cannot be reached" / "does
not exist" and name dialect, host, port and database; a migration that fails
on a reachable database says so; deadlocks and lock-wait timeouts during
version reservation are retried a bounded number of times.
"""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg.errors
import pymysql.err
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from opsml.backends.sql import _reserve as sql_backend
from opsml.backends.sql._db_errors import classify, is_transient
from opsml.backends.sql._reserve import MAX_VERSION_ATTEMPTS
from opsml.backends.sql.backend import SqlBackend
from opsml.backends.sql.migrate import upgrade_database
from opsml.errors import BackendUnavailableError, RegistryDatabaseError, VersionConflictError
from opsml_testing.databases import (
    MARIADB_ADMIN_URL,
    PG_ADMIN_URL,
    migration_database,
    scratch_database,
)
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card

PASSWORD = "Sekr3t-pw-" + uuid.uuid4().hex[:8]
SERVERS = ["postgres", "mariadb"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _login_with_password(kind: str) -> Iterator[str]:
    """The admin URL with a password in it (PostgreSQL trusts; MariaDB gets a user of its own)."""
    admin = PG_ADMIN_URL if kind == "postgres" else MARIADB_ADMIN_URL
    if kind == "postgres":
        yield make_url(admin).set(password=PASSWORD).render_as_string(hide_password=False)
        return
    user = f"opsml_pw_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'"))
        conn.execute(text(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'"))
    try:
        yield (
            make_url(admin)
            .set(username=user, password=PASSWORD)
            .render_as_string(hide_password=False)
        )
    finally:
        with engine.connect() as conn:
            conn.execute(text(f"DROP USER '{user}'@'%'"))
        engine.dispose()


def _failure(url: str, tmp_path: Path) -> BackendUnavailableError:
    backend = SqlBackend(url, (tmp_path / "artifacts").as_posix())
    try:
        with pytest.raises(BackendUnavailableError) as info:
            backend.check()
    finally:
        backend.close()
    return info.value


@pytest.mark.parametrize("kind", SERVERS)
def test_item_14_closed_port_names_host_port_and_database(kind: str, tmp_path: Path) -> None:
    with _login_with_password(kind) as login:
        port = _closed_port()
        url = make_url(login).set(port=port, database="registry_db")
        error = _failure(url.render_as_string(hide_password=False), tmp_path)
    message = str(error)
    assert type(error) is BackendUnavailableError
    assert "cannot be reached" in message
    assert f"127.0.0.1:{port}" in message and "'registry_db'" in message
    assert PASSWORD not in message and PASSWORD not in repr(error)


@pytest.mark.parametrize("kind", SERVERS)
def test_item_14_missing_database_names_host_port_and_database(kind: str, tmp_path: Path) -> None:
    missing = f"opsml_missing_{uuid.uuid4().hex[:8]}"
    with _login_with_password(kind) as login:
        url = make_url(login).set(database=missing)
        error = _failure(url.render_as_string(hide_password=False), tmp_path)
        port = url.port
    message = str(error)
    assert type(error) is BackendUnavailableError
    assert "does not exist" in message and "cannot be reached" not in message
    assert f"'{missing}'" in message and f"127.0.0.1:{port}" in message
    assert PASSWORD not in message and PASSWORD not in repr(error)


def test_item_14_wrong_password_is_a_login_failure_without_the_password(tmp_path: Path) -> None:
    url = make_url(MARIADB_ADMIN_URL).set(password=PASSWORD)
    error = _failure(url.render_as_string(hide_password=False), tmp_path)
    assert "refused the login" in str(error) and "cannot be reached" not in str(error)
    assert PASSWORD not in str(error)


@pytest.mark.parametrize("kind", ["sqlite", *SERVERS])
def test_issue_18_failed_migration_says_migration_not_unreachable(
    kind: str, tmp_path: Path
) -> None:
    with migration_database(kind, tmp_path) as url:
        engine = create_engine(url)
        with engine.begin() as conn:  # a table in the way of the first migration
            conn.execute(text("CREATE TABLE opsml_cards (x INTEGER)"))
        engine.dispose()
        error = _failure(url, tmp_path)
        with pytest.raises(RegistryDatabaseError) as upgrade:
            upgrade_database(url)
    message = str(error)
    assert type(error) is RegistryDatabaseError and "cannot be reached" not in message
    assert "schema migration failed" in message and "schema error" in message
    assert "opsml_cards" in message
    if kind != "sqlite":
        parsed = make_url(url)
        assert f"'{parsed.database}' on 127.0.0.1:{parsed.port}" in message
    assert "schema migration failed" in str(upgrade.value)


def _deadlock(dialect: str) -> OperationalError:
    """The error each driver raises for a deadlock (its own exception class and code)."""
    orig: Exception
    if dialect == "postgresql":
        orig = psycopg.errors.DeadlockDetected("deadlock detected")
    elif dialect == "sqlite":
        orig = sqlite3.OperationalError("database is locked")
    else:
        orig = pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
    return OperationalError("INSERT INTO opsml_cards ...", {}, orig)


def test_issue_18_deadlock_during_reservation_is_retried(
    sql_env: RegistryEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = sql_env.registry("run")
    registry.register_card(run_card())  # 1.0.0, and the schema exists
    dialect = create_engine(sql_env.db_url).dialect.name
    real_next_version = sql_backend.next_version
    calls = {"n": 0}

    def flaky(conn, card):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] <= 3:
            raise _deadlock(dialect)
        return real_next_version(conn, card)

    monkeypatch.setattr(sql_backend, "next_version", flaky)
    card = run_card()
    registry.register_card(card, version_type="patch")
    assert card.version == "1.0.1" and calls["n"] == 4

    def always(conn, card):  # type: ignore[no-untyped-def]
        raise _deadlock(dialect)

    monkeypatch.setattr(sql_backend, "next_version", always)
    with pytest.raises(VersionConflictError, match="after 50 attempts"):
        registry.register_card(run_card(), version_type="patch")
    assert MAX_VERSION_ATTEMPTS == 50
    assert [c.version for c in registry.list_cards(name="train")] == ["1.0.1", "1.0.0"]


@pytest.mark.parametrize(
    ("orig", "kind"),
    [
        (pymysql.err.OperationalError(1213, "Deadlock found"), "deadlock"),
        (pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"), "lock_timeout"),
        (psycopg.errors.DeadlockDetected("deadlock detected"), "deadlock"),
        (psycopg.errors.SerializationFailure("could not serialize access"), "serialization"),
        (psycopg.errors.LockNotAvailable("canceling statement"), "lock_timeout"),
    ],
)
def test_issue_18_transient_errors_are_recognised(orig: Exception, kind: str) -> None:
    exc = OperationalError("UPDATE", {}, orig)
    assert classify(exc) == kind and is_transient(exc)
    wrapped = RegistryDatabaseError("deadlock")
    wrapped.__cause__ = exc
    assert is_transient(wrapped)
    refused = OperationalError("SELECT 1", {}, pymysql.err.OperationalError(2003, "refused"))
    assert classify(refused) == "unreachable" and not is_transient(refused)


@pytest.mark.parametrize("kind", SERVERS)
def test_issue_18_db_upgrade_waits_for_the_migration_lock(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    import threading

    from opsml.backends.sql.engine import create_registry_engine
    from opsml.backends.sql.migrate import (
        current_revision,
        head_revision,
        migration_lock,
        upgrade_engine,
    )

    with scratch_database(kind) as url:
        engine = create_registry_engine(url)
        try:
            with engine.connect() as holder, migration_lock(holder) as held:
                assert held
                waiter = threading.Thread(target=upgrade_database, args=(url,))
                waiter.start()  # what `opsml db upgrade` runs
                waiter.join(timeout=2)
                assert waiter.is_alive()  # queued behind the lock: nothing migrated yet
                with engine.connect() as conn:
                    assert current_revision(conn) is None
                # bounded: another process gives up waiting after `wait` and goes ahead
                assert upgrade_engine(engine, wait=1) == head_revision()
                assert "going ahead without the lock" in caplog.text
            waiter.join(timeout=60)
            assert not waiter.is_alive()
            with engine.connect() as conn:
                assert current_revision(conn) == head_revision()
        finally:
            engine.dispose()


def test_item_14_db_upgrade_command_names_the_database_not_the_password() -> None:
    from typer.testing import CliRunner

    from opsml.cli import app

    port = _closed_port()
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:{port}/registry_db"
    result = CliRunner().invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 1
    assert "cannot be reached" in result.output and f"127.0.0.1:{port}" in result.output
    assert "'registry_db'" in result.output and PASSWORD not in result.output


def test_item_14_server_clients_see_no_database_location() -> None:
    from sqlalchemy.exc import OperationalError as SqlOperationalError

    from opsml.backends.sql._db_errors import translate

    url = f"postgresql+psycopg://opsml:{PASSWORD}@db.internal:5433/registry_db"
    refused = SqlOperationalError("SELECT 1", {}, pymysql.err.OperationalError(2003, "refused"))
    error = translate(url, refused)
    assert "db.internal:5433" in error.message and "'registry_db'" in error.message
    assert error.public_message == "the registry postgresql database cannot be reached"
    assert PASSWORD not in error.message
