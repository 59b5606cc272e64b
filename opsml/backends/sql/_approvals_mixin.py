"""The approval methods of :class:`~opsml.backends.sql.SqlBackend` and the protected-alias
rule (see :class:`~opsml.backends._approvals_api.ApprovalsBackend` for the contract).

Identity: the registry server passes the actor it resolved (its authenticated
caller, or the declared ``X-Opsml-Actor`` of a server without auth) as ``actor``.
Without a server nothing authenticates anyone, so the backend's declared
``actor`` counts (``OPSML_ACTOR``, default the OS user; docs/security.md), as for
every other write (:class:`~opsml.backends.sql._actor.ActorMixin`): the
four-eyes rule then guards against mistakes, not against someone who holds the
database credentials.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from opsml.auth.actor import check_actor
from opsml.backends.sql import _approvals
from opsml.backends.sql._actor import ActorMixin
from opsml.errors import InvalidInputError, PermissionDeniedError
from opsml.schemas import build
from opsml.schemas_approvals import (
    ApprovalCreate,
    ApprovalDecision,
    ApprovalPage,
    ApprovalPublic,
    ApprovalQuery,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Connection

    from opsml.listeners import CommitListeners


class ApprovalsMixin(ActorMixin, abc.ABC):
    """``request_alias`` / ``list_approvals`` / ``get_approval`` / ``approve`` / ``reject``."""

    environment: str
    listeners: CommitListeners
    protected_aliases: frozenset[str] = frozenset()
    """Aliases that move only through an approved request (``OPSML_PROTECTED_ALIASES``)."""

    @abc.abstractmethod
    def _connect(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        """A connection in a transaction."""

    def refuse_protected(self, alias: str, verb: str = "move") -> None:
        """Raise 403 naming the rule when ``alias`` is protected (a direct move or delete).

        Example:
            >>> backend.refuse_protected("champion")  # doctest: +SKIP
            Traceback (most recent call last):
            PermissionDeniedError: alias 'champion' is protected ...

        """
        if alias in self.protected_aliases:
            raise PermissionDeniedError(
                f"alias {alias!r} is protected (OPSML_PROTECTED_ALIASES): nobody may {verb} it "
                "directly; request the move (`opsml approvals request`, "
                "registry.request_alias) and another person with the 'approver' role approves it"
            )

    def _who(self, actor: str | None) -> str:
        who = self._acting(actor)
        if not who:
            raise InvalidInputError(
                "approvals need to know who acts: log in to the registry server, or set "
                "OPSML_ACTOR where nothing authenticates you"
            )
        try:
            return check_actor(who)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None

    def request_alias(self, request: ApprovalCreate, *, actor: str | None = None) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.request_alias`."""
        request = build(ApprovalCreate, **request.model_dump())  # validated whoever built it
        if request.alias not in self.protected_aliases:
            protected = ", ".join(sorted(self.protected_aliases)) or "none"
            raise InvalidInputError(
                f"alias {request.alias!r} is not protected (OPSML_PROTECTED_ALIASES: "
                f"{protected}): move it directly with set_alias, no approval needed"
            )
        who = self._who(actor)
        with self._connect(write=True) as conn:
            created = _approvals.create(conn, self.environment, request, who)
        self.listeners.after_approval(created)
        return created

    def list_approvals(self, query: ApprovalQuery) -> ApprovalPage:
        """See :meth:`ApprovalsBackend.list_approvals`."""
        query = build(ApprovalQuery, **query.model_dump())
        with self._connect() as conn:
            return _approvals.listed(conn, query)

    def get_approval(self, approval_id: int) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.get_approval`."""
        with self._connect() as conn:
            return _approvals.by_id(conn, _checked_id(approval_id))

    def approve(
        self, approval_id: int, decision: ApprovalDecision, *, actor: str | None = None
    ) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.approve`."""
        return self._decide(approval_id, decision, actor, approve=True)

    def reject(
        self, approval_id: int, decision: ApprovalDecision, *, actor: str | None = None
    ) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.reject`."""
        return self._decide(approval_id, decision, actor, approve=False)

    def _decide(
        self, approval_id: int, decision: ApprovalDecision, actor: str | None, *, approve: bool
    ) -> ApprovalPublic:
        decision = build(ApprovalDecision, **decision.model_dump())
        approval_id, who = _checked_id(approval_id), self._who(actor)
        with self._connect(write=True) as conn:
            decided, moved, card = _approvals.decide(
                conn, self.environment, approval_id, approve=approve,
                comment=decision.comment, actor=who,
            )  # fmt: skip
        if moved is not None and card is not None:
            self.listeners.after_alias_set(card, moved)
        self.listeners.after_approval(decided)
        return decided


def _checked_id(approval_id: object) -> int:
    if (
        isinstance(approval_id, bool)
        or not isinstance(approval_id, int)
        or not (1 <= approval_id < 2**63)
    ):
        raise InvalidInputError(f"{approval_id!r} is not an approval request id (a number ≥ 1)")
    return approval_id
