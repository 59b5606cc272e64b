"""Approval statements of the SQL backend: request, read, list, approve, reject (design §19).

A decision is one transaction: the request row is locked (``FOR UPDATE`` where
the database has it; SQLite write transactions are ``IMMEDIATE``), checked
(pending, not expired, another person), then, on approval, the card row and
the alias row are locked in the same order as a direct move, the request is
checked for staleness, marked decided with a compare-and-set on its state, and
the alias moves through :func:`opsml.backends.sql._aliases.move`. Concurrent
deciders of one request therefore serialize: exactly one wins, the others get
:class:`ApprovalStateError` naming who decided. Each function runs inside the
caller's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy import update as sql_update

from opsml.backends.sql import _aliases, _writes
from opsml.backends.sql._rows import active, as_utc, locked_active, now, to_public
from opsml.backends.sql.tables import APPROVALS, AliasRow, ApprovalRow, CardRow
from opsml.errors import (
    ApprovalNotFoundError,
    ApprovalStateError,
    CardNotFoundError,
    PermissionDeniedError,
)
from opsml.schemas_approvals import ApprovalPage, ApprovalPublic, ApprovalState, person_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from opsml.schemas import AliasPublic, CardPublic
    from opsml.schemas_approvals import ApprovalCreate, ApprovalQuery

Decided = tuple[ApprovalPublic, "AliasPublic | None", "CardPublic | None"]
"""The decided request, and on approval the moved alias and its card."""


def to_approval(row: Any, at: datetime | None = None) -> ApprovalPublic:
    """A request row as its wire model; a pending one past its expiry reads ``expired``."""
    expires = as_utc(row.expires_at)
    expired = row.state == "pending" and expires <= (at or now())
    state: ApprovalState = "expired" if expired else row.state
    return ApprovalPublic(
        id=row.id, registry=row.registry, uid=row.card_uid, name=row.name,
        repository=row.repository, version=row.version, alias=row.alias,
        from_uid=row.from_uid, from_version=row.from_version, from_any=bool(row.from_any),
        reason=row.reason, state=state, requested_by=row.requested_by,
        requested_at=as_utc(row.requested_at), expires_at=expires, decided_by=row.decided_by,
        decided_at=as_utc(row.decided_at), comment=row.comment,
    )  # fmt: skip


def _alias_now(conn: Connection, card: CardPublic, alias: str, *, lock: bool) -> Any:
    """The alias row of the card's name (``card_uid``, ``version``), or ``None``."""
    stmt = select(AliasRow.card_uid, AliasRow.version).where(
        AliasRow.registry_type == card.registry,
        AliasRow.repository == card.repository,
        AliasRow.name == card.name,
        AliasRow.alias == alias,
    )
    return conn.execute(stmt.with_for_update() if lock else stmt).first()


def _audit(conn: Connection, env: str, action: str, actor: str, item: ApprovalPublic) -> None:
    detail = {"approval": item.id, "alias": item.alias, "requested_by": item.requested_by,
              "from_version": item.from_version, "comment": item.comment}  # fmt: skip
    if action == "approval_request":
        detail.update(reason=item.reason, expires_at=item.expires_at.isoformat())
    _writes.audit(conn, env, action, actor, item, item.uid, item.version, detail)


def create(
    conn: Connection, environment: str, request: ApprovalCreate, actor: str
) -> ApprovalPublic:
    """Insert a pending request for the active card ``request.uid``; audit it."""
    row = conn.execute(active(request.registry).where(CardRow.uid == request.uid)).first()
    if row is None:
        raise CardNotFoundError(f"no {request.registry} card with uid {request.uid}")
    card = to_public(row)
    current = _alias_now(conn, card, request.alias, lock=False)
    if current is not None and current.card_uid == card.uid:
        raise ApprovalStateError(
            f"alias {request.alias!r} of {card.repository}/{card.name} points to "
            f"v{card.version} already: there is nothing to approve"
        )
    at = now()
    result = conn.execute(
        APPROVALS.insert(),
        {"registry": card.registry, "card_uid": card.uid, "repository": card.repository,
         "name": card.name, "version": card.version, "alias": request.alias,
         "from_uid": current.card_uid if current else None,
         "from_version": current.version if current else None, "from_any": request.from_any,
         "reason": request.reason, "state": "pending", "requested_by": actor,
         "requested_at": at, "expires_at": at + timedelta(seconds=request.expires_in)},
    )  # fmt: skip
    assert result.inserted_primary_key is not None
    created = by_id(conn, int(result.inserted_primary_key[0]))
    _audit(conn, environment, "approval_request", actor, created)
    return created


def by_id(conn: Connection, approval_id: int, *, lock: bool = False) -> ApprovalPublic:
    """The request ``approval_id`` (locked for the transaction with ``lock``)."""
    stmt = select(APPROVALS).where(ApprovalRow.id == approval_id)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise ApprovalNotFoundError(f"no approval request #{approval_id}")
    return to_approval(row)


def listed(conn: Connection, query: ApprovalQuery) -> ApprovalPage:
    """One page of requests matching ``query``, newest first (``expired`` is read as such)."""
    stmt = select(APPROVALS)
    for field, column in (
        ("registry", ApprovalRow.registry_type),
        ("name", ApprovalRow.name),
        ("repository", ApprovalRow.repository),
        ("uid", ApprovalRow.card_uid),
        ("alias", ApprovalRow.alias),
        ("requested_by", ApprovalRow.requested_by),
    ):
        value = getattr(query, field)
        if value is not None:
            stmt = stmt.where(column == value)
    at = now()
    if query.state in ("pending", "expired"):
        stmt = stmt.where(ApprovalRow.state == "pending")
        live = ApprovalRow.expires_at > at
        stmt = stmt.where(live if query.state == "pending" else ~live)
    elif query.state is not None:
        stmt = stmt.where(ApprovalRow.state == query.state)
    if query.repositories is not None:
        stmt = stmt.where(ApprovalRow.repository.in_(query.repositories))
    if query.cursor is not None:
        stmt = stmt.where(ApprovalRow.id < query.cursor)
    rows = conn.execute(stmt.order_by(ApprovalRow.id.desc()).limit(query.limit + 1)).all()
    items = [to_approval(r, at) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    return ApprovalPage(items=items, next_cursor=items[-1].id if more else None)


def _decidable(item: ApprovalPublic, actor: str, verb: str) -> None:
    """Refuse a decided or expired request, and a decider who is the requester."""
    what = f"approval request #{item.id} ({item.alias!r} -> {item.repository}/{item.name} " \
        f"v{item.version})"  # fmt: skip
    if item.state in ("approved", "rejected"):
        raise ApprovalStateError(
            f"{what} was {item.state} already by {item.decided_by} at "
            f"{item.decided_at.isoformat() if item.decided_at else '?'}: a request is decided once"
        )
    if person_of(actor) == person_of(item.requested_by):
        raise PermissionDeniedError(
            f"{actor!r} asked for {what}: the requester cannot {verb} it; another person "
            "with the 'approver' role decides (four eyes)"
        )
    if item.state == "expired":
        raise ApprovalStateError(
            f"{what} expired at {item.expires_at.isoformat()}: request the move again"
        )


def _fresh_card(conn: Connection, item: ApprovalPublic) -> CardPublic:
    """The candidate card, locked; a deleted one makes the request stale."""
    card = locked_active(conn, item.registry, item.uid)
    if card is None:
        raise ApprovalStateError(
            f"approval request #{item.id} is stale: {item.repository}/{item.name} "
            f"v{item.version} was deleted since it was requested"
        )
    return card


def decide(
    conn: Connection,
    environment: str,
    approval_id: int,
    *,
    approve: bool,
    comment: str | None,
    actor: str,
) -> Decided:
    """Approve (and move the alias) or reject the pending request ``approval_id``."""
    item = by_id(conn, approval_id, lock=True)
    _decidable(item, actor, "approve" if approve else "reject")
    card = None
    if approve:
        card = _fresh_card(conn, item)
        current = _alias_now(conn, card, item.alias, lock=True)
        now_uid = current.card_uid if current else None
        if not item.from_any and now_uid != item.from_uid:
            was = f"v{item.from_version}" if item.from_version else "unset"
            is_now = f"v{current.version}" if current else "unset"
            raise ApprovalStateError(
                f"approval request #{item.id} is stale: alias {item.alias!r} of "
                f"{item.repository}/{item.name} moved since it was requested (was {was}, "
                f"now {is_now}); request again, or with from_any"
            )
    state = "approved" if approve else "rejected"
    done = conn.execute(
        sql_update(ApprovalRow)
        .where(ApprovalRow.id == approval_id, ApprovalRow.state == "pending")
        .values(state=state, decided_by=actor, decided_at=now(), comment=comment)
    )
    if done.rowcount != 1:  # a concurrent decider won (where no row lock held it back)
        _decidable(by_id(conn, approval_id), actor, state)
        raise ApprovalStateError(f"approval request #{approval_id} was decided already")
    decided = by_id(conn, approval_id)
    _audit(conn, environment, "approval_approve" if approve else "approval_reject", actor, decided)
    if not approve:
        return decided, None, None
    detail = {"approval": item.id, "requested_by": item.requested_by, "approved_by": actor}
    moved, card = _aliases.move(
        conn, environment, item.registry, item.uid, item.alias, actor, detail
    )
    moved = moved.model_copy(
        update={"approval": item.id, "requested_by": item.requested_by, "approved_by": actor}
    )
    return decided, moved, card
