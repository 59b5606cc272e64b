"""The list index of a card, written in the caller's transaction: its name and its links.

``opsml_card_names`` holds each (registry, repository, name) once, so that a
search matches a few hundred names instead of every version;
``opsml_card_links`` holds the uids a card's metadata references
(:func:`opsml.card_index.link_targets`), so that ``links_to`` is one index lookup.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy import update as sql_update

from opsml.backends.sql.tables import LINKS, NAMES, LinkRow
from opsml.card_index import link_targets

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_KEY = ("registry", "repository", "name")


@functools.cache
def _add_active_statement(dialect: str) -> Any:
    """Insert a name with one active card, or add one to it: one upsert, built once per dialect."""
    plus_one = {"active_cards": NAMES.c.active_cards + 1}
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(NAMES).on_conflict_do_update(index_elements=list(_KEY), set_=plus_one)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(NAMES).on_conflict_do_update(index_elements=list(_KEY), set_=plus_one)
    from sqlalchemy.dialects.mysql import insert as mysql_insert  # MySQL / MariaDB

    return mysql_insert(NAMES).on_duplicate_key_update(**plus_one)


def _add_active(conn: Connection, values: dict[str, Any]) -> None:
    """Count one more active card under a name (added with one when new)."""
    conn.execute(_add_active_statement(conn.dialect.name), {**values, "active_cards": 1})


def index_card(
    conn: Connection, row_id: int, registry: str, repository: str, name: str, meta: dict[str, Any]
) -> None:
    """Count a newly active card under its name (added once) and record its links."""
    _add_active(conn, {"registry": registry, "repository": repository, "name": name})
    write_links(conn, row_id, registry, meta)


def unindex_card(conn: Connection, registry: str, repository: str, name: str) -> None:
    """One active card fewer under its name (a delete); its link rows go with its row."""
    conn.execute(
        sql_update(NAMES)
        .where(NAMES.c.registry == registry, NAMES.c.repository == repository, NAMES.c.name == name)
        .values(active_cards=NAMES.c.active_cards - 1)
    )


def write_links(conn: Connection, row_id: int, registry: str, meta: dict[str, Any]) -> None:
    """Insert the link rows of a card (the caller removed the old ones)."""
    targets = link_targets(registry, meta)
    if targets:
        conn.execute(LINKS.insert(), [{"card_id": row_id, "target_uid": t} for t in targets])


def rewrite_links(conn: Connection, row_id: int, registry: str, meta: dict[str, Any]) -> None:
    """Replace the link rows of a card whose metadata changed."""
    conn.execute(delete(LinkRow).where(LinkRow.card_id == row_id))
    write_links(conn, row_id, registry, meta)
