"""Aliases: list, move, delete, and load the card an alias points to (docs/design.md §12).

Reading needs the ``reader`` role on the card's repository; moving and
deleting need ``writer`` there and are writes (``WriteAccess``: the production
token in production); the backend audits them and makes a move atomic.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from opsml.auth.roles import Role, require
from opsml.schemas import AliasPage, AliasPublic, AliasSet, CardPublic, RegistryType
from opsml_server.api.deps import Actor, BackendDep, CurrentUser, WriteAccess, visible_card
from opsml_server.api.params import AliasPath, NameQuery, NewAliasPath, RepositoryQuery
from opsml_server.handlers import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/aliases", tags=["aliases"], responses=ERROR_RESPONSES)


def _json(model: AliasPublic | AliasPage | CardPublic) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/{registry}", operation_id="list_aliases", response_model=AliasPage)
def list_aliases(
    registry: RegistryType,
    name: NameQuery,
    repository: RepositoryQuery,
    backend: BackendDep,
    user: CurrentUser,
) -> Response:
    """The aliases of one card name and the version each points to."""
    require(user, Role.READER, repository)
    return _json(AliasPage(items=backend.list_aliases(registry, name, repository)))


@router.get("/{registry}/{alias}", operation_id="find_card_by_alias", response_model=CardPublic)
def find_card_by_alias(
    registry: RegistryType,
    alias: AliasPath,
    name: NameQuery,
    repository: RepositoryQuery,
    backend: BackendDep,
    user: CurrentUser,
) -> Response:
    """The card an alias of ``repository/name`` points to."""
    require(user, Role.READER, repository)
    return _json(backend.get_card(registry, name=name, repository=repository, alias=alias))


@router.put("/{registry}/{alias}", operation_id="set_alias", response_model=AliasPublic)
def set_alias(
    registry: RegistryType,
    alias: NewAliasPath,
    body: AliasSet,
    backend: BackendDep,
    user: WriteAccess,
    actor: Actor,
) -> Response:
    """Point the alias of the card's name at the card ``body.uid`` (create or move it)."""
    visible_card(user, Role.WRITER, backend.get_card(registry, uid=body.uid))
    return _json(backend.set_alias(registry, body.uid, alias, actor=actor))


@router.delete("/{registry}/{alias}", operation_id="delete_alias", status_code=204)
def delete_alias(
    registry: RegistryType,
    alias: AliasPath,
    name: NameQuery,
    repository: RepositoryQuery,
    backend: BackendDep,
    user: WriteAccess,
    actor: Actor,
) -> Response:
    """Remove an alias of ``repository/name``."""
    require(user, Role.WRITER, repository)
    backend.delete_alias(registry, name, repository, alias, actor=actor)
    return Response(status_code=204)
