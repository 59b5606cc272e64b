"""The list index of a card, written in the caller's transaction: its name and its links.

``opsml_card_names`` holds each (registry, repository, name) once, so that a
search matches a few hundred names instead of every version;
``opsml_card_links`` holds the uids a card's metadata references
(:func:`opsml.card_index.link_targets`), so that ``links_to`` is one index lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete

from opsml.backends.sql.tables import LINKS, NAMES, LinkRow
from opsml.card_index import link_targets

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def _insert_ignoring_duplicates(conn: Connection, values: dict[str, Any]) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(NAMES).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(NAMES).values(**values).on_conflict_do_nothing())
    else:  # MySQL / MariaDB
        conn.execute(NAMES.insert().values(**values).prefix_with("IGNORE"))


def index_card(
    conn: Connection, row_id: int, registry: str, repository: str, name: str, meta: dict[str, Any]
) -> None:
    """Record a newly active card's name (once) and its links."""
    values = {"registry": registry, "repository": repository, "name": name}
    _insert_ignoring_duplicates(conn, values)
    write_links(conn, row_id, registry, meta)


def write_links(conn: Connection, row_id: int, registry: str, meta: dict[str, Any]) -> None:
    """Insert the link rows of a card (the caller removed the old ones)."""
    targets = link_targets(registry, meta)
    if targets:
        conn.execute(LINKS.insert(), [{"card_id": row_id, "target_uid": t} for t in targets])


def rewrite_links(conn: Connection, row_id: int, registry: str, meta: dict[str, Any]) -> None:
    """Replace the link rows of a card whose metadata changed."""
    conn.execute(delete(LinkRow).where(LinkRow.card_id == row_id))
    write_links(conn, row_id, registry, meta)
