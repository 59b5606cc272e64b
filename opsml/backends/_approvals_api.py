"""The approval part of the backend interface (docs/design.md §19): protected aliases.

:class:`~opsml.backends.base.RegistryBackend` inherits it, so every backend
(SQL, HTTP) requests, lists and decides alias moves the same way. ``actor`` is
who acts: the server passes the authenticated caller; without one, a backend
uses its declared actor (``OPSML_ACTOR``, default the OS user).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsml.schemas_approvals import (
        ApprovalCreate,
        ApprovalDecision,
        ApprovalPage,
        ApprovalPublic,
        ApprovalQuery,
    )


class ApprovalsBackend(abc.ABC):
    """Ask for a protected alias move; let another person approve or reject it."""

    @abc.abstractmethod
    def request_alias(self, request: ApprovalCreate, *, actor: str | None = None) -> ApprovalPublic:
        """Create a pending request to point ``request.alias`` at the card ``request.uid``.

        Audited (``approval_request``); the backend's approval listeners
        (:meth:`opsml.listeners.CommitListeners.after_approval`) hear it.

        Raises:
            InvalidInputError: the alias is not protected, a field is malformed, or
                nobody is named as requester.
            CardNotFoundError: no active card ``request.uid``.
            ApprovalStateError: the alias already points to that card.

        Example:
            >>> asked = ApprovalCreate(uid=uid, alias="champion", reason="AUC")  # doctest: +SKIP
            >>> backend.request_alias(asked).state  # doctest: +SKIP
            'pending'

        """

    @abc.abstractmethod
    def list_approvals(self, query: ApprovalQuery) -> ApprovalPage:
        """Requests matching every filter of ``query``, newest first, with a cursor.

        Example:
            >>> backend.list_approvals(ApprovalQuery(state="pending")).items  # doctest: +SKIP

        """

    @abc.abstractmethod
    def get_approval(self, approval_id: int) -> ApprovalPublic:
        """One request by id.

        Raises:
            ApprovalNotFoundError: no request ``approval_id``.

        Example:
            >>> backend.get_approval(3).state  # doctest: +SKIP
            'approved'

        """

    @abc.abstractmethod
    def approve(
        self, approval_id: int, decision: ApprovalDecision, *, actor: str | None = None
    ) -> ApprovalPublic:
        """Approve a pending request and move the alias, in one transaction.

        The alias move's audit entry (``alias_set``) names the requester and the
        approver; the alias listeners hear the move (its ``approved_by`` set) and
        the approval listeners the decision. Of concurrent deciders exactly one wins.

        Raises:
            ApprovalNotFoundError: no request ``approval_id``.
            PermissionDeniedError: the approver is the requester.
            ApprovalStateError: decided already, expired, or stale (the card was
                deleted, or the alias moved since the request and it did not say
                ``from_any``).

        Example:
            >>> ok = ApprovalDecision(comment="checked")  # doctest: +SKIP
            >>> backend.approve(3, ok, actor="bob")  # doctest: +SKIP

        """

    @abc.abstractmethod
    def reject(
        self, approval_id: int, decision: ApprovalDecision, *, actor: str | None = None
    ) -> ApprovalPublic:
        """Reject a pending request; the alias stays where it is.

        Raises:
            ApprovalNotFoundError: no request ``approval_id``.
            PermissionDeniedError: the decider is the requester.
            ApprovalStateError: decided already, or expired.

        Example:
            >>> backend.reject(3, ApprovalDecision(comment="no"), actor="bob")  # doctest: +SKIP

        """
