"""Write statements of the SQL backend: activation, tags, audit entries, updates, deletes.

Each function runs inside the caller's transaction (``conn``); none commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy import update as sql_update

from opsml.backends.sql._index import index_card, rewrite_links, unindex_card
from opsml.backends.sql._rows import now
from opsml.backends.sql.tables import AUDIT, CARDS, TAGS, CardRow, TagRow
from opsml.card_index import summary_of
from opsml.errors import CardNotFoundError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from opsml.schemas import AliasPublic, CardCreate, CardPublic, CardUpdate
    from opsml.schemas_approvals import ApprovalPublic
    from opsml.schemas_deployments import DeploymentPublic


# built once (building costs more than running them): the statements of every registration
_MARK_ACTIVE = (
    sql_update(CardRow)
    .where(CardRow.id == bindparam("row_id"))
    .values(status="active", created_at=bindparam("at"))
)
_ROW_BY_ID = select(CARDS).where(CardRow.id == bindparam("row_id"))


def audit(
    conn: Connection,
    environment: str,
    action: str,
    actor: str | None,
    card: CardCreate | CardPublic | AliasPublic | DeploymentPublic | ApprovalPublic,
    uid: str | None,
    version: str | None,
    detail: dict[str, Any],
) -> None:
    """Record one write in the audit log."""
    conn.execute(
        AUDIT.insert(),
        {
            "at": now(), "actor": actor, "environment": environment, "action": action,
            "registry": card.registry, "card_uid": uid, "name": card.name,
            "repository": card.repository, "version": version, "detail": detail,
        },
    )  # fmt: skip


def write_tags(conn: Connection, row_id: int, tags: dict[str, str]) -> None:
    """Insert the tag rows of a card (the caller removed the old ones)."""
    if tags:
        conn.execute(
            TAGS.insert(), [{"card_id": row_id, "key": k, "value": v} for k, v in tags.items()]
        )


def activate(
    conn: Connection,
    environment: str,
    card: CardCreate,
    actor: str | None,
    reserved: tuple[int, str, str],
    *,
    update: bool,
    row: Any = None,
) -> Any:
    """Mark the row ``reserved`` (id, uid, version) active, write tags and audit; return it.

    ``update`` marks a pending row active; ``row`` is the stored row when the
    caller has it already (``INSERT … RETURNING``).
    """
    row_id, uid, version = reserved
    if update:
        conn.execute(_MARK_ACTIVE, {"row_id": row_id, "at": now()})
    write_tags(conn, row_id, card.tags)
    index_card(conn, row_id, card.registry, card.repository, card.name, card.metadata)
    detail = {"files": len(card.files)}
    audit(conn, environment, "register", actor or card.created_by, card, uid, version, detail)
    if row is not None:
        return row
    # read back in the same transaction: no extra connection checkout
    return conn.execute(_ROW_BY_ID, {"row_id": row_id}).one()


def update_card(
    conn: Connection, environment: str, card: CardPublic, update: CardUpdate, actor: str | None
) -> None:
    """Change tags, description or metadata of ``card``, with an audit entry."""
    values: dict[str, Any] = {"updated_at": now()}
    if update.tags is not None:
        values["tags"] = update.tags
    if update.description is not None:
        values["description"] = update.description
    if update.metadata is not None:
        values["card_metadata"] = {**card.metadata, **update.metadata}
        values["summary"] = summary_of(card.registry, values["card_metadata"])
    row_id = conn.execute(select(CardRow.id).where(CardRow.uid == card.uid)).scalar_one()
    conn.execute(sql_update(CardRow).where(CardRow.id == row_id).values(**values))
    if update.metadata is not None:
        rewrite_links(conn, row_id, card.registry, values["card_metadata"])
    if update.tags is not None:
        conn.execute(delete(TagRow).where(TagRow.card_id == row_id))
        write_tags(conn, row_id, update.tags)
    detail = {"fields": sorted(update.model_dump(exclude_none=True))}
    audit(conn, environment, "update", actor, card, card.uid, card.version, detail)


def mark_deleted(conn: Connection, environment: str, card: CardPublic, actor: str | None) -> None:
    """Mark ``card`` deleted (its version is never given again), with an audit entry."""
    changed = conn.execute(
        sql_update(CardRow)
        .where(CardRow.uid == card.uid, CardRow.status == "active")
        .values(status="deleted", updated_at=now())
    ).rowcount
    if not changed:
        raise CardNotFoundError(f"no {card.registry} card with uid {card.uid}")
    unindex_card(conn, card.registry, card.repository, card.name)
    audit(conn, environment, "delete", actor, card, card.uid, card.version, {})


def drop_pending(conn: Connection, row_id: int) -> None:
    """Remove a reserved row that never became active."""
    conn.execute(delete(CardRow).where(CardRow.id == row_id, CardRow.status == "pending"))
