"""Read queries of the SQL backend: list cards by filters and version spec, find one card.

Each function runs inside the caller's transaction and returns
:class:`~opsml.schemas.CardPublic` objects: rows never leave the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, select

from opsml import versioning
from opsml.backends.sql._filters import apply_filters, is_latest
from opsml.backends.sql._rows import PUBLIC_COLUMNS, active, resolve, to_public
from opsml.backends.sql.tables import CARDS, CardRow
from opsml.card_index import decode_cursor
from opsml.errors import CardNotFoundError, InvalidInputError
from opsml.schemas import REGISTRY_TYPES, CardPublic, CardQuery, RegistryType, check_uid

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def check_registry(registry: str) -> RegistryType:
    """``registry`` when it is a registry type, else :class:`InvalidInputError`.

    Example:
        >>> check_registry("model")
        'model'

    """
    if registry not in REGISTRY_TYPES:
        raise InvalidInputError(
            f"unknown registry type {registry!r}: use one of {', '.join(REGISTRY_TYPES)}"
        )
    return registry  # type: ignore[return-value]


def list_cards(conn: Connection, registry: RegistryType, query: CardQuery) -> list[CardPublic]:
    """Cards matching every filter of ``query``, newest first, at most ``query.limit``."""
    rows = matching(conn, registry, query, (CARDS.c.id, *PUBLIC_COLUMNS))
    return [to_public(r) for r in rows]


def matching(
    conn: Connection, registry: RegistryType, query: CardQuery, columns: Sequence[Any]
) -> list[Any]:
    """The rows (of ``columns``) of the cards matching every filter of ``query``, newest
    first, after its cursor, at most ``query.limit``: the rows of every full listing.

    ``columns`` must give ``id``, ``repository``, ``name`` and ``version`` (the cursor
    and the version spec read them).
    """
    stmt, spec = apply_filters(conn, registry, query, select(*columns), ordered=True)
    return matching_rows(conn, stmt, spec, query.limit, decode_cursor(registry, query))


def matching_rows(
    conn: Connection, stmt: Select[Any], spec: str | None, limit: int, after: int | None
) -> list[Any]:
    """The first ``limit`` rows of ``stmt`` (newest first), older than row ``after``,
    whose version matches ``spec``.
    """
    if spec is not None and is_latest(spec):  # the highest of each name, wherever it sits
        rows = latest_of_each(conn, stmt)
        return [r for r in rows if after is None or r.id < after][:limit]
    if after is not None:
        stmt = stmt.where(CARDS.c.id < after)
    if spec is None:
        return list(conn.execute(stmt.limit(limit)).all())
    out: list[Any] = []
    for row in conn.execute(stmt.execution_options(yield_per=500)):
        if versioning.resolve_version(spec, [row.version]) == row.version:
            out.append(row)
            if len(out) >= limit:
                break
    return out


def latest_of_each(conn: Connection, stmt: Select[Any]) -> list[Any]:
    """The rows of the highest version of each (repository, name), newest first."""
    best: dict[tuple[str, str], Any] = {}
    for row in conn.execute(stmt).all():
        ident = (row.repository, row.name)
        known = [best[ident].version] if ident in best else []
        if versioning.resolve_version(None, [row.version, *known]) == row.version:
            best[ident] = row
    return sorted(best.values(), key=lambda r: r.id, reverse=True)


def card_by_uid(conn: Connection, registry: RegistryType, uid: str) -> CardPublic:
    """The active card ``uid`` of ``registry``."""
    row = conn.execute(active(registry).where(CardRow.uid == check_uid(uid))).first()
    if row is None:
        raise CardNotFoundError(f"no {registry} card with uid {uid}")
    return to_public(row)


def find_card(
    conn: Connection,
    registry: RegistryType,
    name: str,
    repository: str | None,
    version: str | None,
    repositories: Sequence[str] | None = None,
) -> CardPublic:
    """The highest version of ``name`` matching ``version`` (the caller validated both).

    Without ``repository``, only the cards of ``repositories`` (when given) count.
    """
    stmt = active(registry).where(CardRow.name == name)
    if repository:
        stmt = stmt.where(CardRow.repository == repository)
    else:
        if repositories is not None:
            stmt = stmt.where(CardRow.repository.in_(repositories) if repositories else false())
        _refuse_ambiguous(conn, registry, name, repositories)
    row = resolve(conn, stmt, version)
    if row is None:
        where = f"{repository}/{name}" if repository else name
        wanted = "any version" if version in (None, "latest") else f"version {version!r}"
        raise CardNotFoundError(f"no {registry} card {where} with {wanted}")
    return to_public(row)


NAMED_REPOSITORIES = 10
"""Repositories an ambiguous-name error names (then ``…``)."""


def _refuse_ambiguous(
    conn: Connection, registry: RegistryType, name: str, among: Sequence[str] | None
) -> None:
    """Without a repository, a name must belong to one repository only (of ``among``)."""
    stmt = select(CardRow.repository).where(
        CardRow.registry_type == registry, CardRow.name == name, CardRow.status == "active"
    )
    if among is not None:
        stmt = stmt.where(CardRow.repository.in_(among) if among else false())
    repos = conn.execute(stmt.distinct().limit(NAMED_REPOSITORIES + 1)).scalars().all()
    if len(repos) > 1:
        named = ", ".join(sorted(repos)[:NAMED_REPOSITORIES])
        more = ", …" if len(repos) > NAMED_REPOSITORIES else ""
        raise InvalidInputError(
            f"{registry} card name {name!r} exists in several repositories "
            f"({named}{more}): pass repository="
        )
