"""Light listing of the SQL backend: pages of summaries by cursor, and exact counts.

A page reads only the columns a list row shows (never the metadata), newest
first, continuing after the cursor's row id (keyset: ``id < :after`` on an
index ending in ``id``), so that page 2,000 costs what page 1 costs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import false, func, select

from opsml import versioning
from opsml.backends.sql._filters import apply_filters, is_latest, names_matching
from opsml.backends.sql._queries import latest_of_each, matching_rows
from opsml.backends.sql._rows import as_utc
from opsml.backends.sql.tables import CARDS, NAMES
from opsml.card_index import decode_cursor, encode_cursor
from opsml.schemas import CardPage, CardQuery, RegistryType

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_COLUMNS = (
    CARDS.c.id,
    CARDS.c.registry,
    CARDS.c.name,
    CARDS.c.repository,
    CARDS.c.version,
    CARDS.c.uid,
    CARDS.c.created_at,
    CARDS.c.created_by,
    CARDS.c.tags,
    CARDS.c.summary,
)


def _summary(row: Any) -> dict[str, Any]:
    return {
        "registry": row.registry,
        "name": row.name,
        "repository": row.repository,
        "version": row.version,
        "uid": row.uid,
        "created_at": as_utc(row.created_at),
        "created_by": row.created_by,
        "tags": row.tags or {},
        "summary": row.summary or {},
    }


def list_page(conn: Connection, registry: RegistryType, query: CardQuery) -> CardPage:
    """One page of summaries matching ``query``, and the cursor of the next page."""
    after = decode_cursor(registry, query)
    stmt, spec = apply_filters(conn, registry, query, select(*_COLUMNS), ordered=True)
    rows = matching_rows(conn, stmt, spec, query.limit + 1, after)
    items = rows[: query.limit]
    more = len(rows) > query.limit
    cursor = encode_cursor(registry, query, items[-1].id) if more else None
    # one validation of the whole page (pydantic-core) costs a third of 50 model_construct calls
    return CardPage.model_validate({"items": [_summary(r) for r in items], "next_cursor": cursor})


def _count_by_names(conn: Connection, registry: RegistryType, query: CardQuery) -> int:
    """The count of a query on names only: the active cards of the matching names, added up."""
    stmt = select(func.coalesce(func.sum(NAMES.c.active_cards), 0)).where(
        NAMES.c.registry == registry
    )
    if query.name:
        stmt = stmt.where(NAMES.c.name == query.name)
    if query.repository:
        stmt = stmt.where(NAMES.c.repository == query.repository)
    if query.repositories is not None:
        allowed = query.repositories
        stmt = stmt.where(NAMES.c.repository.in_(allowed) if allowed else false())
    if query.search:
        stmt = stmt.where(names_matching(query.search))
    return int(conn.execute(stmt).scalar_one())


def count_cards(conn: Connection, registry: RegistryType, query: CardQuery) -> int:
    """How many cards match ``query`` (every filter; the cursor and limit are ignored)."""
    if not query.tags and query.version is None and query.links_to is None:
        return _count_by_names(conn, registry, query)
    if query.version is None or versioning.is_exact(query.version):
        stmt, _ = apply_filters(conn, registry, query, select(func.count()).select_from(CARDS))
        return int(conn.execute(stmt).scalar_one())
    columns: tuple[Any, ...] = (CARDS.c.id, CARDS.c.name, CARDS.c.repository, CARDS.c.version)
    stmt, spec = apply_filters(conn, registry, query, select(*columns))
    assert spec is not None
    if is_latest(spec):
        return len(latest_of_each(conn, stmt))
    rows = conn.execute(stmt.execution_options(yield_per=2000))
    return sum(1 for r in rows if versioning.resolve_version(spec, [r.version]) == r.version)
