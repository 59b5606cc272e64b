"""The WHERE clause of a card listing: every filter of a ``CardQuery`` but a version range.

A search (part of a name or repository, any case) first matches the names
index (``opsml_card_names``, one row per name, not per version); when at most
:data:`NAME_MATCHES` names match, the cards are found by name on
``ix_cards_name``, else the search is dense enough that scanning the newest
cards for it stops early.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, tuple_
from sqlalchemy.sql.expression import exists

from opsml import versioning
from opsml.backends.sql.tables import NAMES, CardRow, LinkRow, TagRow
from opsml.schemas import CardQuery, RegistryType

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

NAME_MATCHES = 200
"""Most matching names a search looks up by name; more, and it scans the cards instead."""


def names_matching(needle: str) -> ColumnElement[bool]:
    """Rows of the names index whose name or repository contains ``needle``, any case."""
    return or_(
        NAMES.c.name.icontains(needle, autoescape=True),
        NAMES.c.repository.icontains(needle, autoescape=True),
    )


def _search(conn: Connection, registry: RegistryType, needle: str) -> ColumnElement[bool]:
    """Cards whose name or repository contains ``needle``, any case."""
    pairs = conn.execute(
        select(NAMES.c.repository, NAMES.c.name)
        .where(NAMES.c.registry == registry, NAMES.c.active_cards > 0, names_matching(needle))
        .limit(NAME_MATCHES + 1)
    ).all()
    if len(pairs) > NAME_MATCHES:
        return or_(
            CardRow.name.icontains(needle, autoescape=True),
            CardRow.repository.icontains(needle, autoescape=True),
        )
    if not pairs:
        return false()
    return and_(
        CardRow.name.in_({p.name for p in pairs}),
        CardRow.repository.in_({p.repository for p in pairs}),
        tuple_(CardRow.repository, CardRow.name).in_([tuple(p) for p in pairs]),
    )


def apply_filters(
    conn: Connection, registry: RegistryType, query: CardQuery, stmt: Select[Any]
) -> tuple[Select[Any], str | None]:
    """``stmt`` (over the cards table) narrowed to active ``registry`` cards matching ``query``.

    Returns:
        The statement, and the version range left to check row by row (``None``:
        the statement is exact).

    """
    stmt = stmt.where(CardRow.registry_type == registry, CardRow.status == "active")
    if query.name:
        stmt = stmt.where(CardRow.name == query.name)
    if query.repository:
        stmt = stmt.where(CardRow.repository == query.repository)
    if query.repositories is not None:
        allowed = query.repositories
        stmt = stmt.where(CardRow.repository.in_(allowed) if allowed else false())
    for key, value in (query.tags or {}).items():
        stmt = stmt.where(
            exists().where(TagRow.card_id == CardRow.id, TagRow.key == key, TagRow.value == value)
        )
    if query.links_to:
        linked = select(LinkRow.card_id).where(LinkRow.target_uid == query.links_to)
        stmt = stmt.where(CardRow.id.in_(linked))
    if query.search:
        stmt = stmt.where(_search(conn, registry, query.search))
    spec = query.version
    if spec is not None:
        versioning.validate_spec(spec)
        if versioning.is_exact(spec):
            stmt = stmt.where(CardRow.version == spec)
            spec = None
    return stmt, spec


def is_latest(spec: str) -> bool:
    """Whether a version spec asks for the highest version of each name."""
    return spec.strip().lower() == "latest"
