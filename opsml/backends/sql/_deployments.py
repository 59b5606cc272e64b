"""Deployment records of the SQL backend: record, list, current, and the delete guard.

A record is one transaction: the card row is read (locked where the database
can, so a concurrent delete of the card waits), then the target's row in
``opsml_deployment_targets`` is locked (or inserted: concurrent first
recorders of a target lose one insert and retry), then the records are
appended and the target row points at its current ``deployed`` record.
Recorders of one target therefore serialize, and each ``deployed`` retires
the previous current one in the same transaction: exactly one current
deployment per target, whatever the interleaving. Records are never updated
or deleted.

State changes are checked per deployment (environment, target, card and
Prefect flow run): once retired, a deployment stays retired (a stale recorder
gets :class:`DeploymentStateError`); a rollback is a new deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy import update as sql_update

from opsml.backends.sql import _writes
from opsml.backends.sql._reserve import Connect, retrying
from opsml.backends.sql._rows import as_utc, locked_active, now
from opsml.backends.sql.tables import (
    DEPLOYMENTS,
    TARGETS,
    DeploymentRow,
    DeploymentTargetRow,
)
from opsml.errors import (
    BackendUnavailableError,
    CardNotFoundError,
    DeploymentInUseError,
    DeploymentStateError,
)
from opsml.schemas_deployments import DeploymentCreate, DeploymentPage, DeploymentPublic

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from opsml.schemas import CardPublic
    from opsml.schemas_deployments import DeploymentQuery

_NEXT: dict[str, set[str]] = {  # the states a deployment may go to from its latest one
    "packaged": {"packaged", "deployed", "failed"},
    "failed": {"packaged", "deployed", "failed"},
    "deployed": {"deployed"},  # the same run again: nothing changes; retiring is separate
    "retired": set(),
}
_COPIED = ("image", "image_digest", "manifests_sha256", "flow_run_id", "flow_run_url")

Recorded = tuple[DeploymentPublic, list[DeploymentPublic], "CardPublic"]
"""The record that holds (the new one, or the unchanged current one), every record
appended (a retirement first), and the card."""


def to_deployment(row: Any) -> DeploymentPublic:
    """A record row as its wire model."""
    return DeploymentPublic(
        id=row.id, registry=row.registry, uid=row.card_uid, name=row.name,
        repository=row.repository, version=row.version, environment=row.environment,
        target=row.target, state=row.state, image=row.image, image_digest=row.image_digest,
        manifests_sha256=row.manifests_sha256, flow_run_id=row.flow_run_id,
        flow_run_url=row.flow_run_url, detail=row.detail or {},
        recorded_at=as_utc(row.recorded_at), actor=row.actor,
    )  # fmt: skip


def record_retrying(
    connect: Connect, environment: str, new: DeploymentCreate, actor: str | None
) -> Recorded:
    """:func:`record` in its own transaction, again when a first recorder won the insert."""
    return retrying(
        connect,
        lambda conn: record(conn, environment, new, actor),
        on_conflict=lambda exc: None,  # the target row exists now: lock it
        exhausted=BackendUnavailableError(
            f"could not record a deployment on {new.target!r} under concurrent recorders; try again"
        ),
    )


def record(
    conn: Connection, environment: str, new: DeploymentCreate, actor: str | None
) -> Recorded:
    """Append ``new`` (and the retirement it implies), move the target's current; audit."""
    env = new.environment or environment
    card = locked_active(conn, new.registry, new.uid)
    if card is None:
        raise CardNotFoundError(f"no {new.registry} card with uid {new.uid}")
    slot = _lock_target(conn, env, new.target)
    current = _by_id(conn, slot.current_id) if slot.current_id is not None else None
    where = f"{env}/{new.target}"
    if new.state == "retired":
        if current is None or current.uid != card.uid:
            now_there = f"v{current.version}" if current is not None else "nothing"
            raise DeploymentStateError(
                f"cannot record 'retired' for {card.repository}/{card.name} v{card.version} "
                f"on {where}: it is not the current deployment there (current: {now_there})"
            )
        retired = _retire(conn, env, current, actor, {**new.detail, "retired_by": new.flow_run_id})
        _point(conn, slot.id, None)
        _audit(conn, environment, actor, card, retired)
        return retired, [retired], card
    last = _latest_of_run(conn, env, new.target, card.uid, new.flow_run_id)
    if last is not None and new.state not in _NEXT[last.state]:
        raise DeploymentStateError(
            f"illegal state change {last.state} -> {new.state} for {card.repository}/"
            f"{card.name} v{card.version} on {where} (flow run {new.flow_run_id}, record "
            f"{last.id}): a stale recorder? a new deployment needs a new flow run"
        )
    values = new.model_dump(include=set(_COPIED))
    if new.state == "deployed":
        if not values["image"] and not values["image_digest"]:
            values.update(_latest_image(conn, env, card.uid))
        if (
            current is not None
            and current.uid == card.uid
            and current.flow_run_id == new.flow_run_id
            and current.image_digest == values["image_digest"]
        ):
            return current, [], card  # the same deployment recorded again: nothing changes
    appended: list[DeploymentPublic] = []
    if new.state == "deployed" and current is not None:
        detail = {"superseded_by": f"{card.repository}/{card.name} v{card.version}"}
        appended.append(_retire(conn, env, current, actor, detail))
    row = _append(conn, card, env, new.target, new.state, values, new.detail, actor)
    appended.append(row)
    if new.state == "deployed":
        _point(conn, slot.id, row)
    for item in appended:
        _audit(conn, environment, actor, card if item.uid == card.uid else item, item)
    return row, appended, card


def _lock_target(conn: Connection, environment: str, target: str) -> Any:
    """The target's row, locked; inserted when new (a concurrent insert: ``IntegrityError``)."""
    key = (DeploymentTargetRow.environment == environment, DeploymentTargetRow.target == target)
    slot = conn.execute(select(TARGETS).where(*key).with_for_update()).first()
    if slot is None:
        conn.execute(
            TARGETS.insert(),
            {"environment": environment, "target": target, "current_id": None,
             "card_uid": None, "updated_at": now()},
        )  # fmt: skip
        slot = conn.execute(select(TARGETS).where(*key).with_for_update()).one()
    return slot


def _by_id(conn: Connection, record_id: int) -> DeploymentPublic:
    return to_deployment(
        conn.execute(select(DEPLOYMENTS).where(DeploymentRow.id == record_id)).one()
    )


def _latest_of_run(
    conn: Connection, environment: str, target: str, uid: str, flow_run_id: str | None
) -> DeploymentPublic | None:
    """The latest record of one deployment (target, card, flow run); none without a run."""
    if flow_run_id is None:
        return None  # a record without a flow run starts its own deployment
    row = conn.execute(
        select(DEPLOYMENTS)
        .where(
            DeploymentRow.environment == environment,
            DeploymentRow.target == target,
            DeploymentRow.card_uid == uid,
            DeploymentRow.flow_run_id == flow_run_id,
        )
        .order_by(DeploymentRow.id.desc())
        .limit(1)
    ).first()
    return None if row is None else to_deployment(row)


def _latest_image(conn: Connection, environment: str, uid: str) -> dict[str, Any]:
    """The image of the card's latest record in ``environment`` that names one (a rollback)."""
    row = conn.execute(
        select(DeploymentRow.image, DeploymentRow.image_digest)
        .where(
            DeploymentRow.card_uid == uid,
            DeploymentRow.environment == environment,
            DeploymentRow.image_digest.is_not(None),
        )
        .order_by(DeploymentRow.id.desc())
        .limit(1)
    ).first()
    return {} if row is None else {"image": row.image, "image_digest": row.image_digest}


def _retire(
    conn: Connection,
    environment: str,
    current: DeploymentPublic,
    actor: str | None,
    detail: dict[str, Any],
) -> DeploymentPublic:
    """Append ``retired`` for the current deployment (its image and flow run kept)."""
    values = current.model_dump(include=set(_COPIED))
    detail = {k: v for k, v in {"retires": current.id, **detail}.items() if v is not None}
    return _append(conn, current, environment, current.target, "retired", values, detail, actor)


def _append(
    conn: Connection,
    card: CardPublic | DeploymentPublic,
    environment: str,
    target: str,
    state: str,
    values: dict[str, Any],
    detail: dict[str, Any],
    actor: str | None,
) -> DeploymentPublic:
    result = conn.execute(
        DEPLOYMENTS.insert(),
        {"registry": card.registry, "card_uid": card.uid, "repository": card.repository,
         "name": card.name, "version": card.version, "environment": environment,
         "target": target, "state": state, **values, "actor": actor, "recorded_at": now(),
         "detail": detail},
    )  # fmt: skip
    assert result.inserted_primary_key is not None
    return _by_id(conn, int(result.inserted_primary_key[0]))


def _point(conn: Connection, slot_id: int, row: DeploymentPublic | None) -> None:
    conn.execute(
        sql_update(DeploymentTargetRow)
        .where(DeploymentTargetRow.id == slot_id)
        .values(
            current_id=row.id if row else None,
            card_uid=row.uid if row else None,
            updated_at=now(),
        )
    )


def _audit(
    conn: Connection,
    environment: str,
    actor: str | None,
    card: CardPublic | DeploymentPublic,
    item: DeploymentPublic,
) -> None:
    detail = {"deployment": item.id, "state": item.state, "target": item.target,
              "environment": item.environment, "image_digest": item.image_digest}  # fmt: skip
    _writes.audit(conn, environment, "deployment", actor, card, item.uid, item.version, detail)


def current(conn: Connection, environment: str, target: str) -> DeploymentPublic | None:
    """The current ``deployed`` record of ``environment/target``, or ``None``."""
    current_id = conn.execute(
        select(DeploymentTargetRow.current_id).where(
            DeploymentTargetRow.environment == environment, DeploymentTargetRow.target == target
        )
    ).scalar()
    return None if current_id is None else _by_id(conn, current_id)


def listed(conn: Connection, query: DeploymentQuery) -> DeploymentPage:
    """One page of records matching ``query``, newest first."""
    stmt = select(DEPLOYMENTS)
    for field, column in (
        ("registry", DeploymentRow.registry_type),
        ("name", DeploymentRow.name),
        ("repository", DeploymentRow.repository),
        ("uid", DeploymentRow.card_uid),
        ("environment", DeploymentRow.environment),
        ("target", DeploymentRow.target),
        ("state", DeploymentRow.state),
    ):
        value = getattr(query, field)
        if value is not None:
            stmt = stmt.where(column == value)
    if query.repositories is not None:
        stmt = stmt.where(DeploymentRow.repository.in_(query.repositories))
    if query.uids is not None:
        stmt = stmt.where(DeploymentRow.card_uid.in_(query.uids))
    if query.current:  # one row per target: the targets table names each current record
        currents = select(DeploymentTargetRow.current_id).where(
            DeploymentTargetRow.current_id.is_not(None)
        )
        stmt = stmt.where(DeploymentRow.id.in_(currents))
    if query.cursor is not None:
        stmt = stmt.where(DeploymentRow.id < query.cursor)
    rows = conn.execute(stmt.order_by(DeploymentRow.id.desc()).limit(query.limit + 1)).all()
    items = [to_deployment(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    return DeploymentPage(items=items, next_cursor=items[-1].id if more else None)


def refuse_current(conn: Connection, card: CardPublic) -> None:
    """Raise :class:`DeploymentInUseError` naming the targets ``card`` currently serves."""
    rows = conn.execute(
        select(DeploymentTargetRow.environment, DeploymentTargetRow.target)
        .where(DeploymentTargetRow.card_uid == card.uid)
        .order_by(DeploymentTargetRow.environment, DeploymentTargetRow.target)
    ).all()
    if rows:
        where = ", ".join(f"{r.environment}/{r.target}" for r in rows)
        raise DeploymentInUseError(
            f"{card.registry} card {card.repository}/{card.name} v{card.version} is the current "
            f"deployment of {where}: deploy another version there (or record it 'retired') "
            "before deleting this version"
        )
