"""Reading the audit log back: filters and cursor paging (newest first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from opsml.auth.models import AuditEntry, AuditPage, AuditQuery
from opsml.backends.sql.tables import AUDIT

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_FILTERS = {
    "registry": AUDIT.c.registry,
    "repository": AUDIT.c.repository,
    "name": AUDIT.c.name,
    "user": AUDIT.c.actor,
    "action": AUDIT.c.action,
    "card_uid": AUDIT.c.card_uid,
}


def read_audit(conn: Connection, query: AuditQuery) -> AuditPage:
    """One page of the audit log matching ``query``; ``next_cursor`` continues it."""
    statement = select(AUDIT)
    for field, column in _FILTERS.items():
        value = getattr(query, field)
        if value is not None:
            statement = statement.where(column == value)
    if query.since is not None:
        statement = statement.where(AUDIT.c.at >= query.since)
    if query.cursor is not None:
        statement = statement.where(AUDIT.c.id < query.cursor)
    rows = conn.execute(statement.order_by(AUDIT.c.id.desc()).limit(query.limit + 1)).all()
    items = [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            environment=row.environment,
            action=row.action,
            registry=row.registry,
            card_uid=row.card_uid,
            name=row.name,
            repository=row.repository,
            version=row.version,
            detail=row.detail or {},
        )
        for row in rows[: query.limit]
    ]
    more = len(rows) > query.limit
    return AuditPage(items=items, next_cursor=items[-1].id if more else None)
