"""Issue 14: migration 0003_identity and the identity store on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect

from opsml.auth.models import AuditQuery
from opsml.auth.roles import GLOBAL, Role
from opsml.backends.sql import SqlBackend
from opsml.backends.sql.identity import SqlIdentityStore
from opsml.backends.sql.migrate import alembic_config, upgrade_database
from opsml.errors import IdentityConflictError, IdentityNotFoundError, InvalidInputError
from opsml.schemas import CardCreate
from opsml_testing.databases import scratch_database


@contextmanager
def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{(tmp_path / 'r.db').as_posix()}"
    else:
        with scratch_database(kind) as url:
            yield url


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def sql(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlBackend]:
    with _database(request.param, tmp_path) as url:
        upgrade_database(url)
        backend = SqlBackend(url, (tmp_path / "store").as_posix())
        try:
            yield backend
        finally:
            backend.close()


@pytest.fixture
def store(sql: SqlBackend) -> SqlIdentityStore:
    return sql.identity()


def test_migration_0003_identity_up_and_down(sql: SqlBackend) -> None:
    from alembic import command

    engine = sql.engine
    tables = set(inspect(engine).get_table_names())
    assert {"opsml_users", "opsml_tokens", "opsml_grants"} <= tables
    with engine.begin() as connection:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0001")
    assert not {"opsml_users", "opsml_tokens", "opsml_grants"} & set(
        inspect(engine).get_table_names()
    )


def test_users_grants_and_passwords(store: SqlIdentityStore) -> None:
    assert not store.has_users()
    # not the administrator a first user is made (test_identity_bootstrap.py): only its grants
    store.add_user("alice", "pw-alice-1", actor="root", admin_if_first=False)
    store.add_user("svc", None)
    with pytest.raises(IdentityConflictError, match="alice"):
        store.add_user("alice", "again")
    store.grant("alice", Role.WRITER, "vision")
    store.grant("alice", Role.WRITER, "vision")  # idempotent
    store.grant("alice", Role.READER)
    alice = store.principal_for_password("alice", "pw-alice-1")
    assert alice is not None and alice.grants == {"vision": Role.WRITER, GLOBAL: Role.READER}
    assert store.principal_for_password("alice", "wrong") is None
    assert store.principal_for_password("svc", "") is None  # no password: tokens only
    listed = {user.name: user for user in store.list_users()}
    assert listed["alice"].has_password and not listed["svc"].has_password
    assert "$argon2" not in repr(listed) and listed["alice"].created_by == "root"
    store.revoke("alice", Role.WRITER, "vision")
    alice = store.principal_for_password("alice", "pw-alice-1")
    assert alice is not None and alice.grants == {GLOBAL: Role.READER}
    store.remove_user("alice")  # argon2 said yes before: the removal still counts at once
    assert store.principal_for_password("alice", "pw-alice-1") is None
    with pytest.raises(IdentityNotFoundError, match="alice"):
        store.grant("alice", Role.ADMIN)


def test_tokens_digest_expiry_and_revocation(store: SqlIdentityStore) -> None:
    store.add_user("ci", None)
    store.grant("ci", Role.WRITER, "vision")
    created = store.create_token("ci-main", "ci", None)
    principal = store.principal_for_token(created.token)
    assert principal == "ci/ci-main" and principal.allows(Role.WRITER, "vision")
    [listed] = store.list_tokens("ci")
    assert listed.last_used_at is not None and not hasattr(listed, "token")
    with pytest.raises(IdentityConflictError):
        store.create_token("ci-main", "ci", None)
    expired = store.create_token("ci-old", "ci", datetime.now(UTC) + timedelta(seconds=0.5))
    time.sleep(0.6)
    assert store.principal_for_token(expired.token) is None
    store.revoke_token("ci-main")
    assert store.principal_for_token(created.token) is None
    with pytest.raises(IdentityNotFoundError):
        store.revoke_token("ci-main")
    store.remove_user("ci")  # takes its tokens along
    assert store.list_tokens() == []


def test_refused_identity_inputs_change_nothing(store: SqlIdentityStore) -> None:
    """Issue 30 items 5 and 6: a token made already expired, and an empty password (which
    made a user without one, listed as having one), are refused; nothing is written.
    """
    store.add_user("ci", None)
    before = (store.list_users(), store.list_tokens(), store.list_audit(AuditQuery()))
    for past in (datetime.now(UTC) - timedelta(seconds=1), datetime(2020, 1, 1)):  # naive: UTC
        with pytest.raises(InvalidInputError, match="not in the future"):
            store.create_token("dead", "ci", past)
    with pytest.raises(InvalidInputError, match="password is empty"):
        store.add_user("nopw", "")
    with pytest.raises(InvalidInputError, match="password is empty"):
        store.set_password("ci", "")
    assert (store.list_users(), store.list_tokens(), store.list_audit(AuditQuery())) == before
    store.add_user("bot", None)  # no password at all stays a choice
    [bot] = [user for user in store.list_users() if user.name == "bot"]
    assert not bot.has_password


def test_identity_times_carry_their_zone(
    sql: SqlBackend, store: SqlIdentityStore, tmp_path: Path
) -> None:
    """Issue 30 item 4: on SQLite the audit log's ``at`` came back without a zone, unlike
    the cards' times; every time of users, tokens and the audit log is UTC with its zone.
    """
    store.add_user("ci", None, actor="root")
    store.create_token("ci-main", "ci", datetime.now(UTC) + timedelta(days=1))
    card = CardCreate(registry="run", name="n", repository="r", contact="me")
    sql.register_card(card, tmp_path, actor="root")
    [token] = store.list_tokens()
    entries = store.list_audit(AuditQuery()).items
    times = [user.created_at for user in store.list_users()] + [entry.at for entry in entries]
    times += [token.created_at, token.expires_at]
    assert len(times) >= 4
    for value in times:
        assert value is not None and value.utcoffset() == timedelta(0), value
    for entry in entries:  # on the wire as the cards' times are: ...Z
        assert entry.model_dump(mode="json")["at"].endswith("Z")


def test_audit_filters_and_cursor_paging(
    sql: SqlBackend, store: SqlIdentityStore, tmp_path: Path
) -> None:
    for index in range(5):
        card = CardCreate(registry="run", name=f"n{index % 2}", repository="r", contact="me")
        sql.register_card(card, tmp_path, actor=f"user{index % 2}")
    first = store.list_audit(AuditQuery(user="user0", limit=2))
    assert [entry.actor for entry in first.items] == ["user0", "user0"]
    assert first.next_cursor is not None
    rest = store.list_audit(AuditQuery(user="user0", limit=2, cursor=first.next_cursor))
    assert len(rest.items) == 1 and rest.next_cursor is None
    ids = [entry.id for entry in first.items + rest.items]
    assert ids == sorted(ids, reverse=True)
    assert len(store.list_audit(AuditQuery(name="n1", action="register")).items) == 2
    future = datetime.now(UTC) + timedelta(hours=1)
    assert store.list_audit(AuditQuery(since=future)).items == []


def test_audit_since_with_another_zone_is_the_same_instant(store: SqlIdentityStore) -> None:
    """``--since 16:00+02:00`` is 14:00 UTC: the entries after it are found on every
    database (SQLite and MariaDB keep times without a zone, in UTC)."""
    store.add_user("dora", "pw-dora-1", actor="root", admin_if_first=False)  # one entry
    before = datetime.now(UTC) - timedelta(minutes=5)
    ahead = timezone(timedelta(hours=2))
    assert len(store.list_audit(AuditQuery(since=before.astimezone(ahead))).items) == 1
    behind = timezone(timedelta(hours=-5))
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert store.list_audit(AuditQuery(since=later.astimezone(behind))).items == []


def test_identity_changes_are_audited(store: SqlIdentityStore) -> None:
    """Users, passwords, grants and tokens: each change is one audit entry, never a secret."""
    store.add_user("carol", "pw-carol-1", actor="root", admin_if_first=False)  # no admin
    store.set_password("carol", "pw-carol-2", actor="root")
    store.grant("carol", Role.WRITER, "vision", actor="root")
    store.grant("carol", Role.WRITER, "vision", actor="root")  # held already: no change
    store.revoke("carol", Role.WRITER, "vision", actor="root")
    store.revoke("carol", Role.WRITER, "vision", actor="root")  # not held: no change
    created = store.create_token("carol-ci", "carol", None, actor="root")
    store.revoke_token("carol-ci", actor="root")
    store.remove_user("carol", actor="root")
    page = store.list_audit(AuditQuery(registry="identity"))
    entries = [(e.action, e.name, e.repository, e.actor) for e in reversed(page.items)]
    assert entries == [
        ("user_add", "carol", None, "root"),
        ("password_set", "carol", None, "root"),
        ("grant", "carol", "vision", "root"),
        ("revoke", "carol", "vision", "root"),
        ("token_create", "carol-ci", None, "root"),
        ("token_revoke", "carol-ci", None, "root"),
        ("user_remove", "carol", None, "root"),
    ]
    assert page.items[1].detail == {"user": "carol"}  # the revoked token's owner
    assert {e.environment for e in page.items} == {store.environment}
    text = page.model_dump_json()
    assert "pw-carol" not in text and created.token not in text and "$argon2" not in text
    assert store.principal_for_password("carol", "pw-carol-2") is None  # removed
    with pytest.raises(IdentityNotFoundError):
        store.set_password("nobody", "x", actor="root")
