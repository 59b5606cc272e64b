"""Approval requests over a registry server (``/api/v1/approvals``, docs/design.md §19).

See :class:`~opsml.backends._approvals_api.ApprovalsBackend` for the contract;
the server validates, checks roles (``writer`` to request, ``approver`` to
decide), decides and audits. The declared actor (``OPSML_ACTOR``, default the OS
user) travels as ``X-Opsml-Actor`` with every write (the :class:`Transport` adds
it): a server without authentication records it, one with authentication ignores
it and records the logged-in user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsml.errors import InvalidInputError
from opsml.schemas import build
from opsml.schemas_approvals import (
    ApprovalCreate,
    ApprovalDecision,
    ApprovalPage,
    ApprovalPublic,
    ApprovalQuery,
)

if TYPE_CHECKING:
    import httpx
    from pydantic import BaseModel

    from opsml.backends.http._transport import Transport

_FILTERS = ("registry", "name", "repository", "uid", "alias", "state", "requested_by", "cursor")


class HttpApprovalsMixin:
    """``request_alias`` / ``list_approvals`` / ``get_approval`` / ``approve`` / ``reject``."""

    transport: Transport

    def request_alias(self, request: ApprovalCreate, *, actor: str | None = None) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.request_alias` (the server knows the actor)."""
        request = build(ApprovalCreate, **request.model_dump())  # refused before any request
        return self._post(self.transport.api("approvals"), request)

    def list_approvals(self, query: ApprovalQuery) -> ApprovalPage:
        """See :meth:`ApprovalsBackend.list_approvals`."""
        query = build(ApprovalQuery, **query.model_dump())
        if query.repositories == []:
            return ApprovalPage(items=[])
        params: list[tuple[str, str | int]] = [("limit", query.limit)]
        params += [(k, getattr(query, k)) for k in _FILTERS if getattr(query, k) is not None]
        params += [("repositories", repo) for repo in query.repositories or []]
        return self.transport.get_model(
            ApprovalPage, self.transport.api("approvals"), params=params
        )

    def get_approval(self, approval_id: int) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.get_approval`."""
        url = self.transport.api("approvals", str(_checked(approval_id)))
        return self.transport.get_model(ApprovalPublic, url)

    def approve(
        self, approval_id: int, decision: ApprovalDecision, *, actor: str | None = None
    ) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.approve`."""
        return self._decide(approval_id, "approve", decision)

    def reject(
        self, approval_id: int, decision: ApprovalDecision, *, actor: str | None = None
    ) -> ApprovalPublic:
        """See :meth:`ApprovalsBackend.reject`."""
        return self._decide(approval_id, "reject", decision)

    def _decide(self, approval_id: int, verb: str, decision: ApprovalDecision) -> ApprovalPublic:
        decision = build(ApprovalDecision, **decision.model_dump())
        url = self.transport.api("approvals", str(_checked(approval_id)), verb)
        return self._post(url, decision)

    def _post(self, url: httpx.URL, body: BaseModel) -> ApprovalPublic:
        """POST ``body`` as JSON (the transport adds the declared actor); answer a request."""
        return self.transport.parse(ApprovalPublic, self.transport.send_json("POST", url, body))


def _checked(approval_id: object) -> int:
    if isinstance(approval_id, bool) or not isinstance(approval_id, int) or approval_id < 1:
        raise InvalidInputError(f"{approval_id!r} is not an approval request id (a number ≥ 1)")
    return approval_id
