"""The approval methods of :class:`~opsml.registry.CardRegistry` (docs/design.md §19).

A protected alias (``OPSML_PROTECTED_ALIASES``, e.g. ``champion``) never moves
directly: :meth:`~ApprovalsMixin.request_alias` asks for the move, another
person with the ``approver`` role calls :meth:`~ApprovalsMixin.approve` (the
alias moves in the same transaction) or :meth:`~ApprovalsMixin.reject`.

Example:
    >>> from opsml import CardRegistry
    >>> {"request_alias", "approve", "reject", "list_approvals"} <= set(dir(CardRegistry))
    True

"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from opsml.schemas import build, check_uid
from opsml.schemas_approvals import (
    DEFAULT_EXPIRY,
    ApprovalCreate,
    ApprovalDecision,
    ApprovalPage,
    ApprovalPublic,
    ApprovalQuery,
    ApprovalState,
)

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.cards.base import Card
    from opsml.schemas import RegistryType


class ApprovalsMixin:
    """``request_alias``, ``list_approvals``, ``get_approval``, ``approve`` and ``reject``."""

    registry_type: RegistryType

    if TYPE_CHECKING:

        @property
        def backend(self) -> RegistryBackend:
            """The backend (see :class:`~opsml.registry.CardRegistry`)."""

        def _owned(self, card: Card) -> tuple[Any, RegistryBackend]:
            """The card's public record and the backend, or an error."""

    def request_alias(
        self,
        card: Card | str,
        alias: str,
        *,
        reason: str,
        from_any: bool = False,
        expires_in: timedelta | float = DEFAULT_EXPIRY,
    ) -> ApprovalPublic:
        """Ask for the protected ``alias`` to point at ``card``; another person approves it.

        A write (``writer`` on the card's repository, the production token in
        production); audited; emits ``opsml.approval.requested``. The request
        remembers where the alias points now: if it moves before the decision,
        approving is refused as stale, unless ``from_any``.

        Args:
            card: a registered card of this registry, or its uid.
            alias: a protected alias (``OPSML_PROTECTED_ALIASES``).
            reason: why (1-2000 characters; stored as text, shown escaped).
            from_any: approve whatever version the alias points to by then.
            expires_in: how long the request stays decidable (default 7 days).

        Returns:
            The pending request, with its ``id``.

        Raises:
            InvalidInputError: the alias is not protected, or a field is malformed.
            CardNotFoundError: the card is not registered (or was deleted).
            ApprovalStateError: the alias points to that card already.

        Example:
            >>> req = registry.request_alias(card, "champion",  # doctest: +SKIP
            ...                              reason="AUC 0.91 -> 0.93 on the holdout")
            >>> req.id, req.state  # doctest: +SKIP
            (1, 'pending')

        """
        uid = check_uid(card) if isinstance(card, str) else self._owned(card)[0].uid
        seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
        request = build(
            ApprovalCreate, registry=self.registry_type, uid=uid, alias=alias, reason=reason,
            from_any=from_any, expires_in=int(seconds),
        )  # fmt: skip
        return self.backend.request_alias(request)

    def list_approvals(
        self,
        *,
        state: ApprovalState | None = None,
        name: str | None = None,
        repository: str | None = None,
        alias: str | None = None,
        requested_by: str | None = None,
        cursor: int | None = None,
        limit: int = 50,
    ) -> ApprovalPage:
        """Approval requests of this registry's cards, newest first, one page at a time.

        ``state`` is ``pending``, ``approved``, ``rejected`` or ``expired`` (a
        pending request past its expiry).

        Example:
            >>> page = registry.list_approvals(state="pending")  # doctest: +SKIP
            >>> registry.list_approvals(cursor=page.next_cursor)  # doctest: +SKIP

        """
        query = build(
            ApprovalQuery, registry=self.registry_type, state=state, name=name,
            repository=repository, alias=alias, requested_by=requested_by, cursor=cursor,
            limit=limit,
        )  # fmt: skip
        return self.backend.list_approvals(query)

    def get_approval(self, approval_id: int) -> ApprovalPublic:
        """One approval request by id.

        Example:
            >>> registry.get_approval(1).state  # doctest: +SKIP
            'pending'

        """
        return self.backend.get_approval(approval_id)

    def approve(self, approval_id: int, *, comment: str | None = None) -> ApprovalPublic:
        """Approve request ``approval_id``: the alias moves now, in the same transaction.

        Needs the ``approver`` role on the card's repository (``admin`` includes
        it) and the production token in production; the requester never may.
        The alias move's audit entry and its ``opsml.card.alias_set`` event name
        the approver (``opsml.approved_by``); ``opsml.approval.approved`` is emitted.

        Raises:
            ApprovalNotFoundError: no such request.
            PermissionDeniedError: you asked for it yourself (or lack the role).
            ApprovalStateError: decided already, expired, or stale (the card was
                deleted, or the alias moved since the request).

        Example:
            >>> registry.approve(1, comment="metrics and signature checked")  # doctest: +SKIP

        """
        decision = build(ApprovalDecision, comment=comment)
        return self.backend.approve(approval_id, decision)

    def reject(self, approval_id: int, *, comment: str | None = None) -> ApprovalPublic:
        """Reject request ``approval_id``; the alias stays. Same rules as :meth:`approve`.

        Example:
            >>> registry.reject(1, comment="holdout set too small")  # doctest: +SKIP

        """
        decision = build(ApprovalDecision, comment=comment)
        return self.backend.reject(approval_id, decision)
