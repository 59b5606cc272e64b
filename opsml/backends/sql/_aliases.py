"""Alias statements of the SQL backend: move, delete, list, resolve (docs/design.md §12).

A move is one transaction: the card row is read (locked where the database
can), the alias row is updated in place or inserted, and the audit entry is
written after the alias row is locked, so audit order is commit order. The
unique constraint on (registry, repository, name, alias) means one version per
alias; concurrent first moves that both insert lose one insert and retry as an
update. Each function runs inside the caller's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy import update as sql_update

from opsml.backends.sql import _writes
from opsml.backends.sql._reserve import Connect, retrying
from opsml.backends.sql._rows import active, as_utc, locked_active, now, to_public
from opsml.backends.sql.tables import ALIASES, AliasRow, CardRow
from opsml.errors import AliasInUseError, BackendUnavailableError, CardNotFoundError
from opsml.schemas import AliasPublic, CardPublic, RegistryType

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def _key(registry: str, name: str, repository: str, alias: str) -> tuple[Any, ...]:
    return (
        AliasRow.registry_type == registry,
        AliasRow.repository == repository,
        AliasRow.name == name,
        AliasRow.alias == alias,
    )


def to_alias(row: Any) -> AliasPublic:
    """An alias row as its wire model."""
    return AliasPublic(
        registry=row.registry, name=row.name, repository=row.repository, alias=row.alias,
        version=row.version, uid=row.card_uid, set_at=as_utc(row.set_at), set_by=row.set_by,
    )  # fmt: skip


def move_retrying(
    connect: Connect,
    environment: str,
    registry: RegistryType,
    uid: str,
    alias: str,
    actor: str | None,
) -> tuple[AliasPublic, CardPublic]:
    """:func:`move` in its own transaction, again when a concurrent first move won the insert."""
    return retrying(
        connect,
        lambda conn: move(conn, environment, registry, uid, alias, actor),
        on_conflict=lambda exc: None,  # another mover inserted the row first: update it now
        exhausted=BackendUnavailableError(
            f"could not move alias {alias!r} under concurrent moves; try again"
        ),
    )


def move(
    conn: Connection,
    environment: str,
    registry: RegistryType,
    uid: str,
    alias: str,
    actor: str | None,
    detail: dict[str, Any] | None = None,
) -> tuple[AliasPublic, CardPublic]:
    """Point ``alias`` of the card's name at the active card ``uid``; audit the move
    (``detail`` added to the audit entry: an approved move names its approval).
    """
    card = locked_active(conn, registry, uid)
    if card is None:
        raise CardNotFoundError(f"no {registry} card with uid {uid}")
    values = {"card_uid": uid, "version": card.version, "set_at": now(), "set_by": actor}
    key = _key(registry, card.name, card.repository, alias)
    previous = conn.execute(select(AliasRow.version).where(*key).with_for_update()).scalar()
    if previous is None:
        conn.execute(
            ALIASES.insert(),
            {"registry": registry, "repository": card.repository, "name": card.name,
             "alias": alias, **values},
        )  # fmt: skip
    else:
        conn.execute(sql_update(AliasRow).where(*key).values(**values))
    audited = {"alias": alias, "previous": previous, **(detail or {})}
    _writes.audit(conn, environment, "alias_set", actor, card, uid, card.version, audited)
    stored = conn.execute(select(ALIASES).where(*key)).one()
    return to_alias(stored), card


def remove(
    conn: Connection,
    environment: str,
    registry: RegistryType,
    name: str,
    repository: str,
    alias: str,
    actor: str | None,
) -> None:
    """Delete ``alias`` of ``repository/name``; audited. Unknown: :class:`CardNotFoundError`."""
    key = _key(registry, name, repository, alias)
    row = conn.execute(select(ALIASES).where(*key).with_for_update()).first()
    if row is None:
        raise CardNotFoundError(f"{registry} card {repository}/{name} has no alias {alias!r}")
    conn.execute(ALIASES.delete().where(*key))
    public = to_alias(row)
    detail = {"alias": alias}
    _writes.audit(
        conn, environment, "alias_delete", actor, public, row.card_uid, row.version, detail
    )


def listed(
    conn: Connection, registry: RegistryType, name: str, repository: str
) -> list[AliasPublic]:
    """The aliases of ``repository/name``, by alias name."""
    rows = conn.execute(
        select(ALIASES)
        .where(
            AliasRow.registry_type == registry,
            AliasRow.repository == repository,
            AliasRow.name == name,
        )
        .order_by(AliasRow.alias)
    ).all()
    return [to_alias(r) for r in rows]


def resolve(
    conn: Connection, registry: RegistryType, name: str, repository: str, alias: str
) -> CardPublic:
    """The card ``alias`` of ``repository/name`` points to."""
    stmt = active(registry).join(AliasRow, AliasRow.card_uid == CardRow.uid)
    row = conn.execute(stmt.where(*_key(registry, name, repository, alias))).first()
    if row is None:
        raise CardNotFoundError(f"{registry} card {repository}/{name} has no alias {alias!r}")
    return to_public(row)


def refuse_aliased(conn: Connection, card: CardPublic) -> None:
    """Raise :class:`AliasInUseError` naming the aliases that point to ``card``."""
    names = (
        conn.execute(
            select(AliasRow.alias).where(AliasRow.card_uid == card.uid).order_by(AliasRow.alias)
        )
        .scalars()
        .all()
    )
    if names:
        raise AliasInUseError(
            f"{card.registry} card {card.repository}/{card.name} v{card.version} carries the "
            f"alias(es) {', '.join(repr(n) for n in names)}: move or delete them before "
            "deleting this version"
        )
