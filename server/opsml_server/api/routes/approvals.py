"""Approval requests of protected aliases (design §19): request, list, read, approve, reject.

Requesting needs ``writer`` on the card's repository; deciding needs
``approver`` there (``admin`` includes it), and the backend refuses the
requester. Both are writes (``WriteAccess``: the production token in
production); reading needs ``reader``. The actor is that of every write
(:func:`~opsml_server.api.deps.actor_of`): the authenticated caller, or on a
server without authentication the declared ``X-Opsml-Actor`` (docs/security.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from opsml.auth.roles import Principal, Role, require
from opsml.schemas import RegistryType
from opsml.schemas_aliases import ALIAS_PATTERN
from opsml.schemas_approvals import (
    ApprovalCreate,
    ApprovalDecision,
    ApprovalPage,
    ApprovalPublic,
    ApprovalQuery,
    ApprovalState,
)
from opsml.schemas_rules import UID_PATTERN
from opsml_server.api.deps import Actor, BackendDep, CurrentUser, WriteAccess
from opsml_server.handlers import ERROR_RESPONSES, conflict

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend

CONFLICT = conflict("Decided already, expired, or stale.")
router = APIRouter(
    prefix="/api/v1/approvals", tags=["approvals"], responses={**ERROR_RESPONSES, **CONFLICT}
)

ApprovalId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The request's id.")]


async def approval_query(
    registry: RegistryType | None = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
    repository: Annotated[str | None, Query(max_length=128)] = None,
    uid: Annotated[str | None, Query(json_schema_extra={"pattern": UID_PATTERN})] = None,
    alias: Annotated[str | None, Query(json_schema_extra={"pattern": ALIAS_PATTERN})] = None,
    state: ApprovalState | None = None,
    requested_by: Annotated[str | None, Query(max_length=256)] = None,
    repositories: Annotated[list[str] | None, Query()] = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="next_cursor of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> ApprovalQuery:
    """The listing filters of the query string, validated (bad ones: 400 naming the field)."""
    return ApprovalQuery(
        registry=registry, name=name, repository=repository, uid=uid, alias=alias, state=state,
        requested_by=requested_by, repositories=repositories, cursor=cursor, limit=limit,
    )  # fmt: skip


def readable(user: Principal | None, query: ApprovalQuery) -> ApprovalQuery:
    """``query`` restricted to what ``user`` may read (403 for a named repository it may not)."""
    if query.repository is not None:
        require(user, Role.READER, query.repository)
        return query
    if not isinstance(user, Principal) or user.allows(Role.READER, None):
        return query
    allowed = sorted(repo for repo in user.roles if repo and user.allows(Role.READER, repo))
    if query.repositories is not None:
        allowed = [repo for repo in allowed if repo in query.repositories]
    return query.model_copy(update={"repositories": allowed})


def _json(model: ApprovalPublic | ApprovalPage, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post("", operation_id="request_alias", status_code=201, response_model=ApprovalPublic)
def request_alias(
    body: ApprovalCreate, backend: BackendDep, user: WriteAccess, actor: Actor
) -> Response:
    """Ask for a protected alias to move to a card; another person approves or rejects it."""
    require(user, Role.WRITER, backend.get_card(body.registry, uid=body.uid).repository)
    return _json(backend.request_alias(body, actor=actor), 201)


@router.get("", operation_id="list_approvals", response_model=ApprovalPage)
def list_approvals(
    query: Annotated[ApprovalQuery, Depends(approval_query)],
    backend: BackendDep,
    user: CurrentUser,
) -> Response:
    """Requests matching the filters, newest first; pass ``next_cursor`` back as ``cursor``."""
    query = readable(user, query)
    if query.repositories == []:
        return _json(ApprovalPage(items=[]))
    return _json(backend.list_approvals(query))


@router.get("/{approval_id}", operation_id="get_approval", response_model=ApprovalPublic)
def get_approval(approval_id: ApprovalId, backend: BackendDep, user: CurrentUser) -> Response:
    """One request."""
    found = backend.get_approval(approval_id)
    require(user, Role.READER, found.repository)
    return _json(found)


Decision = Annotated[ApprovalDecision | None, Body()]


def _decide(
    verdict: Literal["approve", "reject"],
    approval_id: int,
    backend: RegistryBackend,
    user: Principal | None,
    actor: str | None,
    body: ApprovalDecision | None,
) -> Response:
    require(user, Role.APPROVER, backend.get_approval(approval_id).repository)
    decide = backend.approve if verdict == "approve" else backend.reject
    return _json(decide(approval_id, body or ApprovalDecision(), actor=actor))


@router.post("/{approval_id}/approve", operation_id="approve", response_model=ApprovalPublic)
def approve(
    approval_id: ApprovalId,
    backend: BackendDep,
    user: WriteAccess,
    actor: Actor,
    body: Decision = None,
) -> Response:
    """Approve a pending request: the alias moves in the same transaction."""
    return _decide("approve", approval_id, backend, user, actor, body)


@router.post("/{approval_id}/reject", operation_id="reject", response_model=ApprovalPublic)
def reject(
    approval_id: ApprovalId,
    backend: BackendDep,
    user: WriteAccess,
    actor: Actor,
    body: Decision = None,
) -> Response:
    """Reject a pending request; the alias stays where it is."""
    return _decide("reject", approval_id, backend, user, actor, body)
