"""Prefect tasks of protected aliases (docs/design.md §19): ``request_alias`` asks for the move,
``wait_for_approval`` waits for another person's decision; ``arequest_alias`` and
``await_for_approval`` are their async twins.

Waiting polls the registry (``get_approval``) until the request is decided or
``timeout`` passes: it works the same against every registry, with or
without a Prefect server. Approved: the task returns the request (the alias has
moved, ``opsml.card.alias_set`` went out). Rejected or expired: it raises
:class:`~opsml.errors.ApprovalStateError` with the decision and the comment,
so the flow run fails with the reason. Still pending at ``timeout``:
:class:`TimeoutError`.

Example:
    >>> from prefect import flow
    >>> from opsml_prefect.approval_tasks import request_alias, wait_for_approval
    >>> @flow
    ... def promote(card):
    ...     asked = request_alias(card, "champion", reason="AUC +2% on the holdout")
    ...     return wait_for_approval(asked.id, timeout=3600)

"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

import anyio
from prefect import task

from opsml.errors import ApprovalStateError
from opsml.schemas_approvals import DEFAULT_EXPIRY
from opsml_prefect._names import APPROVAL_TASKS
from opsml_prefect.tasks import _TASK_OPTIONS, _in_thread, _registry

if TYPE_CHECKING:
    from opsml.cards.base import Card
    from opsml.schemas_approvals import ApprovalPublic
    from opsml_prefect.credentials import OpsmlCredentials

__all__ = list(APPROVAL_TASKS)

DEFAULT_WAIT = 24 * 3600.0
"""Seconds ``wait_for_approval`` waits by default (a day)."""


def _request(
    card: Card | str,
    alias: str,
    reason: str,
    registry_type: str,
    from_any: bool,
    expires_in: float | timedelta,
    credentials: OpsmlCredentials | None,
) -> ApprovalPublic:
    """The one implementation of the request."""
    registry = _registry(registry_type, credentials)
    return registry.request_alias(
        card, alias, reason=reason, from_any=from_any, expires_in=expires_in
    )


def _check(
    approval_id: int, registry_type: str, credentials: OpsmlCredentials | None
) -> ApprovalPublic | None:
    """The decided request (approved), ``None`` while pending; rejected or expired: raise."""
    item = _registry(registry_type, credentials).get_approval(approval_id)
    if item.state == "approved":
        return item
    if item.state == "pending":
        return None
    why = f" by {item.decided_by}" if item.decided_by else ""
    said = f": {item.comment}" if item.comment else ""
    raise ApprovalStateError(
        f"approval request #{item.id} ({item.alias!r} -> {item.repository}/{item.name} "
        f"v{item.version}) was {item.state}{why}{said}"
    )


def _timed_out(approval_id: int, timeout: float) -> TimeoutError:
    return TimeoutError(
        f"approval request #{approval_id} is still pending after {timeout:g} s; it stays "
        "open until it expires: wait again, or ask an approver (opsml approvals show)"
    )


def _next_pause(approval_id: int, timeout: float, deadline: float, poll_interval: float) -> float:
    if time.monotonic() >= deadline:
        raise _timed_out(approval_id, timeout)
    return min(poll_interval, max(0.0, deadline - time.monotonic()))


@task(task_run_name="request-{alias}", **_TASK_OPTIONS)
def request_alias(
    card: Card | str,
    alias: str,
    reason: str,
    *,
    registry_type: str = "model",
    from_any: bool = False,
    expires_in: float | timedelta = DEFAULT_EXPIRY,
    credentials: OpsmlCredentials | None = None,
) -> ApprovalPublic:
    """Ask for the protected ``alias`` to point at ``card``; another person approves it.

    See :meth:`opsml.CardRegistry.request_alias`. The registry emits
    ``opsml.approval.requested``.

    Args:
        card: a registered card (or its uid).
        alias: a protected alias, e.g. ``champion``.
        reason: why (shown to the approver).
        registry_type: the card's registry (``model``).
        from_any: stay valid even if the alias moves before the decision.
        expires_in: how long the request stays decidable (default 7 days).
        credentials: registry credentials; default the environment.

    Returns:
        The pending request, with its ``id``.

    Example:
        >>> request_alias(card, "champion", reason="AUC +2%").id  # doctest: +SKIP
        1

    """
    return _request(card, alias, reason, registry_type, from_any, expires_in, credentials)


@task(task_run_name="request-{alias}", **_TASK_OPTIONS)
async def arequest_alias(
    card: Card | str,
    alias: str,
    reason: str,
    *,
    registry_type: str = "model",
    from_any: bool = False,
    expires_in: float | timedelta = DEFAULT_EXPIRY,
    credentials: OpsmlCredentials | None = None,
) -> ApprovalPublic:
    """Async twin of :func:`request_alias` (same implementation, in a worker thread).

    Example:
        >>> await arequest_alias(card, "champion", reason="AUC +2%")  # doctest: +SKIP

    """
    return await _in_thread(
        _request, card, alias, reason, registry_type, from_any, expires_in, credentials
    )


@task(task_run_name="wait-for-approval-{approval_id}", **_TASK_OPTIONS)
def wait_for_approval(
    approval_id: int,
    *,
    timeout: float = DEFAULT_WAIT,
    poll_interval: float = 10.0,
    registry_type: str = "model",
    credentials: OpsmlCredentials | None = None,
) -> ApprovalPublic:
    """Wait until request ``approval_id`` is decided; return it when approved.

    Args:
        approval_id: the request's id (``request_alias(...).id``).
        timeout: seconds to wait at most.
        poll_interval: seconds between two looks at the request.
        registry_type: the registry to ask (any kind reads any request).
        credentials: registry credentials; default the environment.

    Returns:
        The approved request (the alias has moved).

    Raises:
        ApprovalStateError: the request was rejected or expired (the message
            says by whom and why).
        TimeoutError: still pending after ``timeout``.

    Example:
        >>> wait_for_approval(asked.id, timeout=3600).decided_by  # doctest: +SKIP
        'bob'

    """
    deadline = time.monotonic() + timeout
    while (done := _check(approval_id, registry_type, credentials)) is None:
        time.sleep(_next_pause(approval_id, timeout, deadline, poll_interval))
    return done


@task(task_run_name="wait-for-approval-{approval_id}", **_TASK_OPTIONS)
async def await_for_approval(
    approval_id: int,
    *,
    timeout: float = DEFAULT_WAIT,
    poll_interval: float = 10.0,
    registry_type: str = "model",
    credentials: OpsmlCredentials | None = None,
) -> ApprovalPublic:
    """Async twin of :func:`wait_for_approval` (the event loop stays free while it waits).

    Example:
        >>> await await_for_approval(asked.id, timeout=3600)  # doctest: +SKIP

    """
    deadline = time.monotonic() + timeout
    while (done := await _in_thread(_check, approval_id, registry_type, credentials)) is None:
        await anyio.sleep(_next_pause(approval_id, timeout, deadline, poll_interval))
    return done
