"""The approval events (docs/design.md §19): ``opsml.approval.requested|approved|rejected``.

Emitted by the approval listener of :mod:`opsml_prefect.plugin`, in the
process that commits the request or the decision (the embedded client, or the
registry server), so each goes out exactly once. Automations match them to
notify approvers or requesters.

Resource::

    {"prefect.resource.id": "opsml.approval.<id>",
     "opsml.registry": "model", "opsml.name": "iris-classifier", "opsml.repository": "ds",
     "opsml.version": "1.2.0", "opsml.alias": "champion", "opsml.requested_by": "alice",
     "opsml.decided_by": "bob"}   # decided_by only on approved / rejected

The candidate card is a related resource (role ``card``).

Example:
    >>> event_name("approved")
    'opsml.approval.approved'

"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.events import Event

    from opsml.schemas_approvals import ApprovalPublic

__all__ = ["APPROVAL_EVENTS", "approval_resource", "emit_approval", "event_name"]

APPROVAL_EVENTS = {
    "pending": "opsml.approval.requested",
    "approved": "opsml.approval.approved",
    "rejected": "opsml.approval.rejected",
}
"""The event of each committed state of a request."""


def event_name(state: str) -> str:
    """The event name for a request in ``state`` (``pending`` is ``requested``).

    Example:
        >>> event_name("pending")
        'opsml.approval.requested'

    """
    return APPROVAL_EVENTS[state]


def approval_resource(item: ApprovalPublic) -> dict[str, str]:
    """The event resource of a request: id ``opsml.approval.<id>`` and its labels.

    Example:
        >>> approval_resource(request)["opsml.alias"]  # doctest: +SKIP
        'champion'

    """
    resource = {
        "prefect.resource.id": f"opsml.approval.{item.id}",
        "prefect.resource.name": f"{item.repository}/{item.name} {item.alias}",
        "opsml.registry": item.registry,
        "opsml.name": item.name,
        "opsml.repository": item.repository,
        "opsml.version": item.version,
        "opsml.alias": item.alias,
        "opsml.requested_by": item.requested_by,
    }
    if item.decided_by:
        resource["opsml.decided_by"] = item.decided_by
    return resource


def emit_approval(item: ApprovalPublic) -> Event | None:
    """Emit the event of ``item``'s state through :func:`prefect.events.emit_event`.

    Returns:
        The emitted event, or ``None`` when Prefect does not emit events here
        (or the state has no event: ``expired`` is never committed).

    Example:
        >>> emit_approval(request)  # doctest: +SKIP

    """
    if item.state not in APPROVAL_EVENTS:
        return None
    from prefect.events import emit_event

    card = {"prefect.resource.id": f"opsml.card.{item.uid}", "prefect.resource.role": "card"}
    return emit_event(
        event=event_name(item.state),
        resource=approval_resource(item),
        related=[card],
        payload=item.model_dump(mode="json"),
    )
