"""The ``opsml.card.registered`` Prefect event: one helper builds the resource and emits it.

The event is emitted by the commit listener of :mod:`opsml_prefect.plugin`,
i.e. in the process that commits the registration: the embedded client, or the
registry server when clients talk to one. It therefore goes out exactly once
per registration, whether the card was registered in a flow run or by direct
client use.

Resource (what automations match on)::

    {"prefect.resource.id": "opsml.card.<uid>",
     "opsml.registry": "model", "opsml.name": "iris-classifier",
     "opsml.repository": "ds-team", "opsml.version": "1.2.0"}

When the card was registered inside a flow run, the flow run is added as a
related resource (role ``flow-run``), so the event shows on the run's page.

Example:
    >>> from datetime import datetime, timezone
    >>> from opsml.schemas import CardPublic
    >>> card = CardPublic(registry="model", name="churn", repository="ds", contact="me",
    ...                   uid="a" * 32, version="1.0.0", created_at=datetime.now(timezone.utc))
    >>> card_resource(card)["prefect.resource.id"]
    'opsml.card.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect.events import Event

    from opsml.schemas import AliasPublic, CardPublic
    from opsml.schemas_deployments import DeploymentPublic

__all__ = [
    "CARD_ALIAS_SET",
    "CARD_DEPLOYED",
    "CARD_REGISTERED",
    "card_resource",
    "emit_alias_set",
    "emit_card_deployed",
    "emit_card_registered",
]

CARD_REGISTERED = "opsml.card.registered"
"""Name of the event emitted once per committed registration."""
CARD_ALIAS_SET = "opsml.card.alias_set"
"""Name of the event emitted once per committed alias move (docs/design.md §12)."""
CARD_DEPLOYED = "opsml.card.deployed"
"""Name of the event emitted once per committed deployment record (docs/design.md §17)."""


def card_resource(card: CardPublic | DeploymentPublic) -> dict[str, str]:
    """The event resource of a registered card: id ``opsml.card.<uid>`` and its labels.

    Args:
        card: the committed card.

    Returns:
        A Prefect resource dict (string values only).

    Example:
        >>> card_resource(card)["opsml.version"]  # doctest: +SKIP
        '1.0.0'

    """
    return {
        "prefect.resource.id": f"opsml.card.{card.uid}",
        "prefect.resource.name": f"{card.repository}/{card.name}",
        "opsml.registry": card.registry,
        "opsml.name": card.name,
        "opsml.repository": card.repository,
        "opsml.version": card.version,
    }


def _related(card: CardPublic) -> list[dict[str, str]]:
    lineage = card.metadata.get("lineage") or {}
    flow_run_id = lineage.get("flow_run_id") if isinstance(lineage, dict) else None
    if not flow_run_id:
        return []
    return [
        {
            "prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
            "prefect.resource.role": "flow-run",
        }
    ]


def emit_card_registered(card: CardPublic) -> Event | None:
    """Emit ``opsml.card.registered`` for ``card`` through :func:`prefect.events.emit_event`.

    Callers decide whether a Prefect API is configured; this only builds and sends.

    Args:
        card: the committed card.

    Returns:
        The emitted event, or ``None`` when Prefect does not emit events here.

    Example:
        >>> emit_card_registered(registered_public_card)  # doctest: +SKIP

    """
    from prefect.events import emit_event

    payload: dict[str, Any] = {
        "uid": card.uid,
        "registry": card.registry,
        "name": card.name,
        "repository": card.repository,
        "version": card.version,
        "created_by": card.created_by,
        "created_at": card.created_at.isoformat(),
    }
    return emit_event(
        event=CARD_REGISTERED,
        resource=card_resource(card),
        related=_related(card) or None,
        payload=payload,
    )


def emit_alias_set(card: CardPublic, alias: AliasPublic) -> Event | None:
    """Emit ``opsml.card.alias_set``: ``alias`` now points to ``card``.

    The resource is the card's (``opsml.card.<uid>``, as for
    ``opsml.card.registered``) plus the label ``opsml.alias``, so an automation
    matches ``{"opsml.name": "iris-classifier", "opsml.alias": "champion"}``. A
    move made by approving a request adds ``opsml.approved_by`` and
    ``opsml.requested_by``.

    Args:
        card: the card the alias points to now.
        alias: the committed alias.

    Returns:
        The emitted event, or ``None`` when Prefect does not emit events here.

    Example:
        >>> emit_alias_set(card, alias)  # doctest: +SKIP

    """
    from prefect.events import emit_event

    payload: dict[str, Any] = {
        "uid": card.uid,
        "alias": alias.alias,
        "version": card.version,
        "set_by": alias.set_by,
        "set_at": alias.set_at.isoformat(),
    }
    resource = {**card_resource(card), "opsml.alias": alias.alias}
    if alias.approved_by:  # moved by approving a request (docs/design.md §19)
        resource["opsml.approved_by"] = alias.approved_by
        resource["opsml.requested_by"] = alias.requested_by or ""
        payload.update(approval=alias.approval, requested_by=alias.requested_by,
                       approved_by=alias.approved_by)  # fmt: skip
    return emit_event(
        event=CARD_ALIAS_SET,
        resource=resource,
        related=_related(card) or None,
        payload=payload,
    )


def emit_card_deployed(record: DeploymentPublic) -> Event | None:
    """Emit ``opsml.card.deployed`` for one committed deployment record.

    The resource is the card's (``opsml.card.<uid>``, labels as for
    ``opsml.card.registered``) plus ``opsml.target``, ``opsml.environment`` and
    ``opsml.state``, so an automation matches ``{"opsml.name": "iris-classifier",
    "opsml.state": "packaged"}``. The flow run that recorded it is a related
    resource (role ``flow-run``).

    Args:
        record: the committed record.

    Returns:
        The emitted event, or ``None`` when Prefect does not emit events here.

    Example:
        >>> emit_card_deployed(record)  # doctest: +SKIP

    """
    from prefect.events import emit_event

    related = (
        [{"prefect.resource.id": f"prefect.flow-run.{record.flow_run_id}",
          "prefect.resource.role": "flow-run"}]
        if record.flow_run_id
        else None
    )  # fmt: skip
    return emit_event(
        event=CARD_DEPLOYED,
        resource={
            **card_resource(record),
            "opsml.target": record.target,
            "opsml.environment": record.environment,
            "opsml.state": record.state,
        },
        related=related,
        payload=record.model_dump(mode="json"),
    )
