"""The UI's approval pages (issue 33): ``/ui/approvals`` lists requests, ``/ui/approvals/{id}``
shows the candidate beside the version the alias points to now (metrics, parameters,
signature, files and digests, lineage, deployment records) and, for a user who may decide,
the UI's first write forms: Approve and Reject.

The forms are plain POSTs (no script, under the UI's CSP) checked by
:mod:`opsml_server.ui.csrf` (Origin and a per-user token); on a production server they
also ask for the production token, as every write does. The decision itself goes through
the same backend call as ``POST /api/v1/approvals/{id}/approve``: the ``approver`` role,
never the requester, decided once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from opsml.auth.roles import Principal, Role
from opsml.backends.base import RegistryBackend
from opsml.errors import OpsmlError, PermissionDeniedError
from opsml.schemas import CardPublic, build
from opsml.schemas_approvals import (
    MAX_COMMENT,
    ApprovalDecision,
    ApprovalPublic,
    ApprovalQuery,
    ApprovalState,
    person_of,
)
from opsml.schemas_deployments import DeploymentPublic, DeploymentQuery
from opsml_server.api.deps import CurrentUser, GlobalReader, get_backend
from opsml_server.ui.compare import Comparison, compare
from opsml_server.ui.csrf import FIELD, csrf_token, require_form
from opsml_server.ui.lineage import STAGES, LineageNode, lineage
from opsml_server.ui.render import SECURITY_HEADERS, page
from opsml_server.ui.routes import UiRoute, _context

UiBackend = Annotated[RegistryBackend, Depends(get_backend)]
ApprovalId = Annotated[int, Path(ge=1, le=2**63 - 1)]
router = APIRouter(route_class=UiRoute, include_in_schema=False)
DEPLOYMENTS = 5


@dataclass(frozen=True)
class Row:
    """One request in the list, with the version its alias points to now."""

    item: ApprovalPublic
    current: str | None


@dataclass(frozen=True)
class ApprovalView:
    """Everything the request page shows."""

    item: ApprovalPublic
    candidate: CardPublic | None
    current: CardPublic | None
    """What the alias points to now."""
    baseline: CardPublic | None
    """What the candidate is compared with: the alias's version now while pending, the
    version it pointed to when asked once decided."""
    label: str
    cmp: Comparison | None
    signed: dict[str, dict[str, Any] | None]
    lineage: dict[str, list[LineageNode]]
    deployments: dict[str, list[DeploymentPublic]]
    decide: str | None
    """Why the caller sees no forms (``None``: it may decide)."""
    csrf: str | None
    prod_token: bool


def _current(backend: RegistryBackend, item: ApprovalPublic) -> CardPublic | None:
    try:
        return backend.get_card(item.registry, name=item.name, repository=item.repository,
                                alias=item.alias)  # fmt: skip
    except OpsmlError:
        return None


def _by_uid(backend: RegistryBackend, item: ApprovalPublic, uid: str | None) -> CardPublic | None:
    try:
        return backend.get_card(item.registry, uid=uid) if uid else None
    except OpsmlError:
        return None


def _candidate(backend: RegistryBackend, item: ApprovalPublic) -> CardPublic | None:
    return _by_uid(backend, item, item.uid)


def why_not(user: object, item: ApprovalPublic, authorization: str | None) -> str | None:
    """Why ``user`` gets no Approve/Reject forms for ``item`` (``None``: it gets them).

    Example:
        >>> from opsml.auth.roles import Principal, Role
        >>> from datetime import UTC, datetime
        >>> at = datetime(2099, 1, 1, tzinfo=UTC)
        >>> item = ApprovalPublic(id=1, registry="model", uid="0" * 32, name="m", repository="r",
        ...     version="1.0.0", alias="champion", reason="x", state="pending",
        ...     requested_by="alice", requested_at=at, expires_at=at)
        >>> why_not(Principal("bob", {"r": Role.APPROVER}), item, "Basic x") is None
        True
        >>> why_not(Principal("alice", {"r": Role.APPROVER}), item, "Basic x")
        'you asked for this move: another person with the approver role decides'

    """
    if item.state != "pending":
        return f"this request is {item.state}"
    if not isinstance(user, Principal):
        return "deciding in the UI needs a logged-in user (this server has no auth)"
    if person_of(str(user)) == person_of(item.requested_by):
        return "you asked for this move: another person with the approver role decides"
    if not user.allows(Role.APPROVER, item.repository):
        return f"deciding needs the 'approver' role on repository {item.repository!r}"
    if not authorization:
        return "the UI's forms need basic or bearer credentials (use the CLI or the API)"
    return None


def _deployments(backend: RegistryBackend, card: CardPublic | None) -> list[DeploymentPublic]:
    if card is None:
        return []
    query = DeploymentQuery(registry=card.registry, uid=card.uid, limit=DEPLOYMENTS)
    return backend.list_deployments(query).items


def approval_view(
    backend: RegistryBackend, item: ApprovalPublic, user: object, request: Request
) -> ApprovalView:
    """Load the request's cards and what a reviewer needs to compare them."""
    from opsml.signature_status import signature_status

    trusted = request.app.state.settings.trusted_key_list()
    candidate, current = _candidate(backend, item), _current(backend, item)
    baseline, label = current, "Now"
    if item.state != "pending":
        baseline, label = _by_uid(backend, item, item.from_uid), "Before"
    cmp = None
    if candidate is not None and baseline is not None and baseline.uid != candidate.uid:
        cmp = compare(backend, item.registry, baseline.uid, candidate.uid)
    authorization = request.headers.get("authorization")
    decide = why_not(user, item, authorization)
    return ApprovalView(
        item=item, candidate=candidate, current=current, baseline=baseline, label=label, cmp=cmp,
        signed={key: signature_status(card, trusted) if card else None
                for key, card in (("candidate", candidate), ("baseline", baseline))},
        lineage=lineage(backend, candidate) if candidate else {},
        deployments={"candidate": _deployments(backend, candidate),
                     "baseline": _deployments(backend, baseline)},
        decide=decide,
        csrf=csrf_token(str(user), authorization) if decide is None else None,
        prod_token=bool(request.app.state.settings.write_token_required),
    )  # fmt: skip


@router.get("/ui/approvals")
def approvals_page(
    request: Request,
    backend: UiBackend,
    user: GlobalReader,
    state: ApprovalState | Literal["all"] = "pending",
) -> Response:
    """Approval requests (pending by default), each beside its alias's current version."""
    query = ApprovalQuery(state=None if state == "all" else state, limit=100)
    items = backend.list_approvals(query).items
    rows = [Row(item, c.version if (c := _current(backend, item)) else None) for item in items]
    context = _context(section="approvals", rows=rows, state=state, user=user)
    return page(request, "approvals.html", context)


@router.get("/ui/approvals/{approval_id}")
def approval_page(
    request: Request, approval_id: ApprovalId, backend: UiBackend, user: GlobalReader
) -> Response:
    """One request: candidate and current version side by side, and the decision forms."""
    view = approval_view(backend, backend.get_approval(approval_id), user, request)
    context = _context(section="approvals", view=view, user=user, stages=STAGES, field=FIELD,
                       max_comment=MAX_COMMENT)  # fmt: skip
    return page(request, "approval.html", context)


@router.post("/ui/approvals/{approval_id}/{verb}")
def decide(
    request: Request,
    approval_id: ApprovalId,
    verb: Literal["approve", "reject"],
    backend: UiBackend,
    user: CurrentUser,
    csrf: Annotated[str | None, Form(max_length=128)] = None,
    comment: Annotated[str | None, Form(max_length=MAX_COMMENT * 4)] = None,
    prod_token: Annotated[str | None, Form(max_length=1024)] = None,
) -> Response:
    """Approve or reject from the request page's form; back to the page (303)."""
    if not isinstance(user, Principal):
        raise PermissionDeniedError("deciding in the UI needs a logged-in user")
    headers = request.headers
    require_form(
        origin=headers.get("origin"), referer=headers.get("referer"), host=headers.get("host"),
        given=csrf, user=str(user), authorization=headers.get("authorization"),
    )  # fmt: skip
    settings = request.app.state.settings
    if settings.write_token_required:
        given = (prod_token or "").encode("utf-8", "replace")
        if not secrets.compare_digest(given, settings.prod_token.get_secret_value().encode()):
            raise PermissionDeniedError(
                "this is the production registry: deciding needs the production token"
            )
    item = backend.get_approval(approval_id)
    user.require(Role.APPROVER, item.repository)
    text = comment.strip() if comment and comment.strip() else None
    decision = build(ApprovalDecision, comment=text)  # over the bound: 400 naming it
    act = backend.approve if verb == "approve" else backend.reject
    act(approval_id, decision, actor=str(user))
    return RedirectResponse(f"/ui/approvals/{approval_id}", status_code=303,
                            headers=SECURITY_HEADERS)  # fmt: skip
