"""Identity changes racing each other on one database (SQLite, PostgreSQL, MariaDB), each
from its own backend (as two servers or two ``opsml users`` runs would), started together
at a barrier and repeated.

Before: two first users added at the same instant on PostgreSQL or MariaDB could both see
no user and both become administrators; and nothing kept the last administrator (two
removals of the last two could both succeed, or one alone).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import text

from opsml.auth.roles import Role
from opsml.backends.sql import SqlBackend
from opsml.backends.sql.migrate import upgrade_database
from opsml.errors import OpsmlError
from opsml_testing.databases import migration_database

ROUNDS = 12
FIRST_USER_ROUNDS = 30
"""Each first user hashes its password (argon2) in the race: about one round in five had
both transactions overlap on this machine, and before the fix each overlap made two
administrators; 30 rounds leave that failure unseen about once in a thousand runs."""
PASSWORD = "race-password-1"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def backends(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[SqlBackend]]:
    """Two backends on one migrated database, each with a connection open already."""
    with ExitStack() as stack:
        url = stack.enter_context(migration_database(request.param, tmp_path))
        upgrade_database(url)
        pair = []
        for side in ("a", "b"):
            backend = SqlBackend(url, (tmp_path / side).as_posix(), auto_migrate=False)
            stack.callback(backend.close)
            backend.identity().has_users()  # warm: connect before the race, not in it
            pair.append(backend)
        yield pair


def _empty(backend: SqlBackend) -> None:
    """No user, grant, token or audit entry (rows that hang on a user go with it)."""
    with backend.engine.begin() as conn:
        for table in ("opsml_tokens", "opsml_grants", "opsml_users", "opsml_audit_log"):
            conn.execute(text(f"DELETE FROM {table}"))


def _race(*calls: Callable[[], object]) -> list[OpsmlError | None]:
    """Run ``calls`` in threads released together; what each raised (``None``: succeeded)."""
    barrier = threading.Barrier(len(calls))
    raised: list[OpsmlError | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            calls[index]()
        except OpsmlError as exc:
            raised[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return raised


def _admins(backend: SqlBackend) -> list[str]:
    """The users holding the global ``admin`` role."""
    return sorted(
        user.name
        for user in backend.identity().list_users()
        if any(g.role is Role.ADMIN and g.repository is None for g in user.grants)
    )


def test_two_first_users_at_once_make_one_administrator(backends: list[SqlBackend]) -> None:
    for attempt in range(FIRST_USER_ROUNDS):
        _empty(backends[0])
        names = [f"first{attempt}a", f"first{attempt}b"]
        raised = _race(*(
            partial(backend.identity().add_user, name, PASSWORD)
            for backend, name in zip(backends, names, strict=True)
        ))  # fmt: skip
        admins = _admins(backends[0])
        assert len(admins) == 1, (attempt, admins, raised)
        users = {user.name for user in backends[0].identity().list_users()}
        for name, error in zip(names, raised, strict=True):
            if error is None:  # made, as the administrator or (not first) with no role
                assert name in users, (attempt, users)
                continue
            # the one that lost the race to be first is refused and wrote nothing
            assert error.code == "identity_conflict", (attempt, error)
            assert "first administrator" in str(error) and name in str(error), error
            assert name not in users, (attempt, users)


def test_the_last_two_administrators_cannot_both_go(backends: list[SqlBackend]) -> None:
    one, other = (backend.identity() for backend in backends)
    for attempt in range(ROUNDS):
        _empty(backends[0])
        one.add_user("alice", PASSWORD)  # the first user: an administrator
        one.add_user("bob", PASSWORD)
        one.grant("bob", Role.ADMIN)
        if attempt % 2:
            raised = _race(lambda: one.remove_user("alice"), lambda: other.remove_user("bob"))
        else:
            raised = _race(
                lambda: one.remove_user("alice"), lambda: other.revoke("bob", Role.ADMIN)
            )
        assert len(_admins(backends[0])) == 1, (attempt, raised)
        refused = [error for error in raised if error is not None]
        assert len(refused) == 1, (attempt, raised)
        assert refused[0].code == "last_administrator", (attempt, refused)
        assert refused[0].status_code == 409
