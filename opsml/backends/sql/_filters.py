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
from opsml.backends.sql.tables import CARDS, LINKS, NAMES, TAGS
from opsml.schemas import CardQuery, RegistryType

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

NAME_MATCHES = 200
"""Most matching names a search looks up by name; more, and it scans the cards instead."""
SORT_AT_MOST = 20_000
"""Most cards of several matching names that a search sorts rather than walks in id order."""


def names_matching(needle: str) -> ColumnElement[bool]:
    """Rows of the names index whose name or repository contains ``needle``, any case."""
    return or_(
        NAMES.c.name.icontains(needle, autoescape=True),
        NAMES.c.repository.icontains(needle, autoescape=True),
    )


def _search(
    conn: Connection, registry: RegistryType, needle: str
) -> tuple[ColumnElement[bool], bool]:
    """Cards whose name or repository contains ``needle``, any case; and whether to sort
    them rather than walk the newest cards in id order (few matches, on several names).
    """
    pairs = conn.execute(
        select(NAMES.c.repository, NAMES.c.name, NAMES.c.active_cards)
        .where(NAMES.c.registry == registry, NAMES.c.active_cards > 0, names_matching(needle))
        .limit(NAME_MATCHES + 1)
    ).all()
    if len(pairs) > NAME_MATCHES:
        matches = or_(
            CARDS.c.name.icontains(needle, autoescape=True),
            CARDS.c.repository.icontains(needle, autoescape=True),
        )
        return matches, False
    if not pairs:
        return false(), False
    if len(pairs) == 1:  # one name: ix_cards_name serves it in id order
        return and_(CARDS.c.name == pairs[0].name, CARDS.c.repository == pairs[0].repository), False
    # the names seek ix_cards_name; the pairs keep a name of another repository out
    pair = tuple_(CARDS.c.repository, CARDS.c.name)
    matches = and_(
        CARDS.c.name.in_(sorted({p.name for p in pairs})),
        pair.in_([(p.repository, p.name) for p in pairs]),
    )
    return matches, sum(p.active_cards for p in pairs) <= SORT_AT_MOST


def apply_filters(
    conn: Connection,
    registry: RegistryType,
    query: CardQuery,
    stmt: Select[Any],
    *,
    ordered: bool = False,
) -> tuple[Select[Any], str | None]:
    """``stmt`` (over the cards table) narrowed to active ``registry`` cards matching ``query``,
    newest first when ``ordered``.

    Returns:
        The statement, and the version range left to check row by row (``None``:
        the statement is exact).

    """
    stmt = stmt.where(CARDS.c.registry == registry, CARDS.c.status == "active")
    if query.name:
        stmt = stmt.where(CARDS.c.name == query.name)
    if query.repository:
        stmt = stmt.where(CARDS.c.repository == query.repository)
    if query.repositories is not None:
        allowed = query.repositories
        stmt = stmt.where(CARDS.c.repository.in_(allowed) if allowed else false())
    for key, value in (query.tags or {}).items():
        stmt = stmt.where(
            exists().where(TAGS.c.card_id == CARDS.c.id, TAGS.c.key == key, TAGS.c.value == value)
        )
    if query.links_to:
        linked = select(LINKS.c.card_id).where(LINKS.c.target_uid == query.links_to)
        stmt = stmt.where(CARDS.c.id.in_(linked))
    sort = False
    if query.search:
        matches, sort = _search(conn, registry, query.search)
        stmt = stmt.where(matches)
    if ordered:
        # ``id + 0`` is the same order but no index's: the planner seeks each matching
        # name and sorts the few rows, instead of walking every card newest first
        stmt = stmt.order_by((CARDS.c.id + 0).desc() if sort else CARDS.c.id.desc())
    spec = query.version
    if spec is not None:
        versioning.validate_spec(spec)
        if versioning.is_exact(spec):
            stmt = stmt.where(CARDS.c.version == spec)
            spec = None
    return stmt, spec


def is_latest(spec: str) -> bool:
    """Whether a version spec asks for the highest version of each name."""
    return spec.strip().lower() == "latest"
