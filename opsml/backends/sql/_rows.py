"""Card rows of the SQL backend: queries, version allocation helpers, conversion.

Rows never leave the backend: :func:`to_public` turns them into
:class:`~opsml.schemas.CardPublic`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, overload

from sqlalchemy import Select, bindparam, select, text

from opsml import versioning
from opsml.backends.sql.tables import CARDS, CardRow
from opsml.card_index import summary_of
from opsml.errors import InvalidInputError
from opsml.schemas import ArtifactFile, CardCreate, CardPublic

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.engine import Connection

PG_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


TOP_ROWS = 20
"""Rows read from the top of a name's versions; more are read only when all share one triple."""

_SAME_CARD = (
    CardRow.registry_type == bindparam("registry"),
    CardRow.repository == bindparam("repository"),
    CardRow.name == bindparam("name"),
)
# Built once with bound parameters (building a statement costs more than SQLite needs to
# answer it), and plain enough that every planner reads ix_cards_versions backwards: a join
# on the top triple made PostgreSQL loop over every version of the name.
TOP_VERSIONS = (
    select(CardRow.major, CardRow.minor, CardRow.patch, CardRow.version)
    .where(*_SAME_CARD)
    .order_by(CardRow.major.desc(), CardRow.minor.desc(), CardRow.patch.desc())
    .limit(TOP_ROWS)
)
TRIPLE_VERSIONS = select(CardRow.version).where(
    *_SAME_CARD,
    CardRow.major == bindparam("major"),
    CardRow.minor == bindparam("minor"),
    CardRow.patch == bindparam("patch"),
)


def now() -> datetime:
    """The current UTC time (what every timestamp column stores)."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware one: SQLite and MariaDB hand back naive datetimes, in UTC.

    An aware ``value`` (PostgreSQL's) and ``None`` pass through unchanged.

    Example:
        >>> as_utc(datetime(2024, 5, 1, 12, 0)).isoformat()
        '2024-05-01T12:00:00+00:00'

    """
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def insert_values(
    card: CardCreate, uid: str, version: str, *, status: str, actor: str | None
) -> dict[str, Any]:
    """The parameters of a new card row (passed as parameters so the statement is cached)."""
    parsed = versioning.parse_version(version)
    return {
        "uid": uid,
        "registry": card.registry,
        "repository": card.repository,
        "name": card.name,
        "version": version,
        "major": parsed.major,
        "minor": parsed.minor,
        "patch": parsed.patch,
        "prerelease": ".".join(parsed.prerelease),
        "build": ".".join(parsed.build),
        "status": status,
        "contact": card.contact,
        "description": card.description,
        "tags": card.tags,
        "metadata": card.metadata,
        "summary": summary_of(card.registry, card.metadata),
        "files": [f.model_dump() for f in card.files],
        "created_at": now(),
        "created_by": actor or card.created_by,
        "updated_at": None,
    }


def check_sources(card: CardCreate, source_dir: Path | None) -> None:
    """Refuse a file listed twice, or missing from ``source_dir`` (when given)."""
    seen: set[str] = set()
    for item in card.files:
        if item.path in seen:
            raise InvalidInputError(f"artifact {item.path!r} is listed twice")
        seen.add(item.path)
        if source_dir is not None and not (source_dir / item.path).is_file():
            raise InvalidInputError(f"artifact {item.path!r} is listed but missing from the upload")


def next_version(conn: Connection, card: CardCreate) -> str:
    """The bump of the highest version (deleted and pending rows included).

    Only the versions sharing the highest (major, minor, patch) can decide a
    bump (``pre`` and ``build`` number within that triple; a higher triple
    would be the highest), so only those are read and parsed: the cost does
    not grow with the number of versions a name has.
    """
    same_card = {"registry": card.registry, "repository": card.repository, "name": card.name}
    rows = conn.execute(TOP_VERSIONS, same_card).all()
    top = tuple(rows[0][:3]) if rows else ()
    if len(rows) == TOP_ROWS and tuple(rows[-1][:3]) == top:  # the triple may have more
        triple = dict(zip(("major", "minor", "patch"), top, strict=True))
        existing = list(conn.execute(TRIPLE_VERSIONS, {**same_card, **triple}).scalars())
    else:
        existing = [row.version for row in rows if tuple(row[:3]) == top]
    return versioning.next_version(existing, card.version_type)


def lock_name(conn: Connection, card: CardCreate) -> None:
    """On PostgreSQL, queue writers of the same name on a transaction-scoped advisory lock.

    Without it, concurrent writers all read the same highest version, all but
    one hit the unique constraint, and retry in a storm. The unique
    constraint and the retry stay the guarantee; the lock only makes the
    retry rare. Other databases: SQLite's ``BEGIN IMMEDIATE`` already
    serializes writers; MariaDB relies on the retry.
    """
    if conn.dialect.name != "postgresql":
        return
    ident = f"{card.registry}\0{card.repository}\0{card.name}".encode()
    key = int.from_bytes(hashlib.blake2b(ident, digest_size=8).digest(), "big", signed=True)
    conn.execute(PG_LOCK, {"key": key})


def resolve(conn: Connection, stmt: Select[Any], spec: str | None) -> Any:
    """The row of ``stmt`` whose version best matches ``spec`` (see ``opsml.versioning``)."""
    if spec is not None and versioning.is_exact(spec):
        return conn.execute(stmt.where(CardRow.version == spec)).first()
    if spec is None or spec.strip().lower() == "latest":
        top = conn.execute(
            stmt.where(CardRow.prerelease == "")
            .order_by(CardRow.major.desc(), CardRow.minor.desc(), CardRow.patch.desc())
            .limit(1)
        ).first()
        if top is not None:
            candidates = conn.execute(
                stmt.where(
                    CardRow.prerelease == "",
                    CardRow.major == top.major,
                    CardRow.minor == top.minor,
                    CardRow.patch == top.patch,
                )
            ).all()
            return max(candidates, key=lambda r: versioning.version_key(r.version))
    rows = {r.version: r for r in conn.execute(stmt).all()}
    pick = versioning.resolve_version(spec, rows)
    return None if pick is None else rows[pick]


def active(registry: str) -> Select[Any]:
    return select(CARDS).where(CardRow.registry_type == registry, CardRow.status == "active")


def locked_active(conn: Connection, registry: str, uid: str) -> CardPublic | None:
    """The active card ``uid``, row-locked for the transaction (not on SQLite); else ``None``."""
    stmt = active(registry).where(CardRow.uid == uid)
    if conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else to_public(row)


PUBLIC_COLUMNS = (
    CARDS.c.registry,
    CARDS.c.name,
    CARDS.c.repository,
    CARDS.c.contact,
    CARDS.c.tags,
    CARDS.c.description,
    CARDS.c.metadata,
    CARDS.c.uid,
    CARDS.c.version,
    CARDS.c.created_at,
    CARDS.c.created_by,
    CARDS.c.updated_at,
    CARDS.c.files,
)
"""The columns :func:`to_public` reads: a listing selects these, not the whole row
(never the ``summary``, nor the version parts); change both together."""


def to_public(row: Any) -> CardPublic:
    """The card of a row that has (at least) the :data:`PUBLIC_COLUMNS`."""
    return CardPublic.model_construct(
        registry=row.registry,
        name=row.name,
        repository=row.repository,
        contact=row.contact,
        tags=row.tags or {},
        description=row.description,
        metadata=row.metadata or {},
        uid=row.uid,
        version=row.version,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        updated_at=as_utc(row.updated_at),
        files=[ArtifactFile.model_construct(**f) for f in row.files or []],
    )
