"""Version reservation: insert the card's row at the next free version, retrying on races.

The unique constraint on (registry, repository, name, version) makes
concurrent writers that picked the same version fail; they retry with the next
one, each attempt in a fresh transaction. Which database errors are worth a
retry is decided in one place: :func:`should_retry`.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from opsml import versioning
from opsml.backends.sql import _writes
from opsml.backends.sql._db_errors import is_transient
from opsml.backends.sql._rows import insert_values, lock_name, next_version
from opsml.backends.sql.tables import CARDS, CardRow
from opsml.errors import BackendUnavailableError, InvalidInputError, VersionConflictError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from opsml.schemas import CardCreate

T = TypeVar("T")
MAX_VERSION_ATTEMPTS = 50
Connect = Callable[[], AbstractContextManager["Connection"]]
"""Opens one write transaction (``SqlBackend._connect(write=True)``)."""


def should_retry(exc: DBAPIError | BackendUnavailableError) -> bool:
    """Whether a failed reservation attempt may run again.

    Deadlocks, lock-wait timeouts and serialization failures (see
    :func:`opsml.backends.sql._db_errors.is_transient`, which follows a
    translated error back to the driver's) and invalidated connections.
    """
    return is_transient(exc) or bool(getattr(exc, "connection_invalidated", False))


def reserve_version(
    connect: Connect,
    environment: str,
    card: CardCreate,
    actor: str | None,
    *,
    activate: bool = False,
) -> tuple[int, str, str, Any]:
    """Insert the card's row at the next free version; return (row id, version, uid, row).

    With ``activate`` (a card without files: nothing to upload between the
    two steps) the row is inserted ``active`` and its tags and audit entry
    are written in the same transaction; the stored row is returned too.

    Raises:
        VersionConflictError: the explicit version is taken, or no version
            could be allocated after :data:`MAX_VERSION_ATTEMPTS` attempts.
        InvalidInputError: the card's explicit uid is taken.

    """
    uid = card.uid or uuid.uuid4().hex
    if card.version is not None:
        versioning.parse_version(card.version)
    return retrying(
        connect,
        lambda conn: _insert(conn, environment, card, actor, uid, activate=activate),
        on_conflict=lambda exc: _refuse_taken(connect, card, exc),
        exhausted=VersionConflictError(
            f"could not allocate a version for {card.repository}/{card.name} after "
            f"{MAX_VERSION_ATTEMPTS} attempts under concurrent registration; try again"
        ),
    )


def activate(
    connect: Connect,
    environment: str,
    card: CardCreate,
    actor: str | None,
    reserved: tuple[int, str, str],
) -> Any:
    """Mark the reserved row active (tags, names index, links, audit), retrying deadlocks.

    Concurrent first registrations of one name all add it to the names index;
    MariaDB may answer one of those upserts with a deadlock, which a fresh
    transaction resolves (the rolled-back one changed nothing).
    """

    def refuse(exc: IntegrityError) -> None:
        raise exc

    return retrying(
        connect,
        lambda conn: _writes.activate(conn, environment, card, actor, reserved, update=True),
        on_conflict=refuse,
        exhausted=BackendUnavailableError(
            f"could not activate {card.repository}/{card.name} under concurrent registration; "
            "try again"
        ),
    )


def retrying(
    connect: Connect,
    step: Callable[[Connection], T],
    *,
    on_conflict: Callable[[IntegrityError], None],
    exhausted: Exception,
    attempts: int = MAX_VERSION_ATTEMPTS,
) -> T:
    """Run ``step`` in a fresh write transaction until it commits.

    A unique-constraint conflict calls ``on_conflict`` (which raises when a
    retry cannot help); a deadlock or serialization failure retries; after
    ``attempts`` tries, ``exhausted`` is raised.
    """
    for attempt in range(attempts):
        try:
            with connect() as conn:
                return step(conn)
        except IntegrityError as exc:
            on_conflict(exc)
        except (DBAPIError, BackendUnavailableError) as exc:  # deadlock, lock wait timeout...
            if not should_retry(exc):
                raise
        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
    raise exhausted


def _insert(
    conn: Connection,
    environment: str,
    card: CardCreate,
    actor: str | None,
    uid: str,
    *,
    activate: bool,
) -> tuple[int, str, str, Any]:
    """One attempt, inside one transaction."""
    if card.version is None:
        lock_name(conn, card)
    version = card.version or next_version(conn, card)
    insert = CARDS.insert()
    returning = activate and conn.dialect.insert_returning
    if returning:  # the stored row comes back with the insert
        insert = insert.returning(*CARDS.c)
    status = "active" if activate else "pending"
    result = conn.execute(insert, insert_values(card, uid, version, status=status, actor=actor))
    stored = result.one() if returning else None
    if stored is not None:
        row_id = int(stored.id)
    else:
        assert result.inserted_primary_key is not None
        row_id = int(result.inserted_primary_key[0])
    row = None
    if activate:
        reserved = (row_id, uid, version)
        row = _writes.activate(conn, environment, card, actor, reserved, update=False, row=stored)
    return row_id, version, uid, row


def _refuse_taken(connect: Connect, card: CardCreate, exc: IntegrityError) -> None:
    """Raise when the conflict cannot go away by retrying (explicit version or uid)."""
    if card.version is not None:
        raise VersionConflictError(
            f"{card.registry} card {card.repository}/{card.name} already has "
            f"version {card.version} (versions are never reused): leave version "
            "unset to bump, or pick another"
        ) from exc
    if card.uid is not None:
        with connect() as conn:
            taken = conn.execute(select(CardRow.id).where(CardRow.uid == card.uid)).first()
        if taken is not None:
            raise InvalidInputError(f"card uid {card.uid} is already registered") from exc
