"""Deployment records: record, list, and a target's current deployment (docs/design.md §17).

Reading needs ``reader`` on the card's repository (a listing without a
repository shows only the repositories the caller may read); recording needs
``writer`` there and is a write (``WriteAccess``: the production token in
production). The backend appends, audits and keeps one current deployment
per target.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from opsml.auth.roles import Principal, Role, require
from opsml.errors import DeploymentNotFoundError
from opsml.schemas import RegistryType
from opsml.schemas_deployments import (
    MAX_ENVIRONMENT,
    MAX_TARGET,
    MAX_UIDS,
    VISIBLE_PATTERN,
    DeploymentCreate,
    DeploymentPage,
    DeploymentPublic,
    DeploymentQuery,
    DeploymentState,
)
from opsml.schemas_rules import UID_PATTERN
from opsml_server.api.deps import Actor, BackendDep, CurrentUser, WriteAccess
from opsml_server.handlers import ERROR_RESPONSES, conflict

CONFLICT = conflict("An illegal state change (a stale recorder).")
router = APIRouter(
    prefix="/api/v1/deployments", tags=["deployments"], responses={**ERROR_RESPONSES, **CONFLICT}
)

_VISIBLE = {"pattern": VISIBLE_PATTERN}
_UID = {"pattern": UID_PATTERN}
TargetQuery = Annotated[
    str, Query(max_length=MAX_TARGET, description="The target.", json_schema_extra=_VISIBLE)
]
EnvironmentQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_ENVIRONMENT,
        description="Default: the registry's environment.",
        json_schema_extra=_VISIBLE,
    ),
]


async def deployment_query(
    registry: RegistryType | None = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
    repository: Annotated[str | None, Query(max_length=128)] = None,
    uid: Annotated[
        str | None, Query(description="Only records of this card.", json_schema_extra=_UID)
    ] = None,
    uids: Annotated[
        list[str] | None,
        Query(
            max_length=MAX_UIDS,
            description="Only records of these cards (at most 100).",
            json_schema_extra={"items": _UID},
        ),
    ] = None,
    environment: EnvironmentQuery = None,
    target: Annotated[str | None, Query(max_length=MAX_TARGET, json_schema_extra=_VISIBLE)] = None,
    state: DeploymentState | None = None,
    current: Annotated[bool, Query(description="Only each target's current deployment.")] = False,
    repositories: Annotated[list[str] | None, Query()] = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="next_cursor of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> DeploymentQuery:
    """The listing filters of the query string, validated (bad ones: 400 naming the field)."""
    return DeploymentQuery(
        registry=registry, name=name, repository=repository, uid=uid, uids=uids,
        environment=environment, target=target, state=state, current=current,
        repositories=repositories, cursor=cursor, limit=limit,
    )  # fmt: skip


def readable(user: str | None, query: DeploymentQuery) -> DeploymentQuery:
    """``query`` restricted to what ``user`` may read (403 for a named repository it may not)."""
    if query.repository is not None:
        require(user, Role.READER, query.repository)
        return query
    if not isinstance(user, Principal) or user.allows(Role.READER, None):
        return query
    allowed = sorted(
        repo for repo, role in user.grants.items() if repo and role.covers(Role.READER)
    )
    if query.repositories is not None:
        allowed = [repo for repo in allowed if repo in query.repositories]
    return query.model_copy(update={"repositories": allowed})


def _json(model: DeploymentPublic | DeploymentPage, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post("", operation_id="record_deployment", status_code=201, response_model=DeploymentPublic)
def record_deployment(
    body: DeploymentCreate, backend: BackendDep, user: WriteAccess, actor: Actor
) -> Response:
    """Append a record about one card version on one target (``deployed`` moves the current)."""
    require(user, Role.WRITER, backend.get_card(body.registry, uid=body.uid).repository)
    return _json(backend.record_deployment(body, actor=actor), 201)


@router.get("", operation_id="list_deployments", response_model=DeploymentPage)
def list_deployments(
    query: Annotated[DeploymentQuery, Depends(deployment_query)],
    backend: BackendDep,
    user: CurrentUser,
) -> Response:
    """Records matching the filters, newest first; pass ``next_cursor`` back as ``cursor``."""
    query = readable(user, query)
    if query.repositories == []:
        return _json(DeploymentPage(items=[]))
    return _json(backend.list_deployments(query))


@router.get("/current", operation_id="current_deployment", response_model=DeploymentPublic)
def current_deployment(
    target: TargetQuery,
    backend: BackendDep,
    user: CurrentUser,
    environment: EnvironmentQuery = None,
) -> Response:
    """The current ``deployed`` record of a target (404 when nothing is deployed there)."""
    found = backend.current_deployment(target, environment)
    if found is None:
        where = f"{environment}/{target}" if environment else repr(target)
        raise DeploymentNotFoundError(f"nothing is deployed on {where}")
    require(user, Role.READER, found.repository)
    return _json(found)
