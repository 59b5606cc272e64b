"""Users, role grants and service tokens (global administrators only), and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from opsml.auth.models import (
    NAME_PATTERN,
    AuditPage,
    AuditQuery,
    GrantPublic,
    PasswordSet,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from opsml.auth.roles import Role, require
from opsml.auth.store import CredentialStore, IdentityStore
from opsml.errors import BackendUnavailableError, IdentityNotFoundError, InvalidInputError
from opsml_server.api.deps import AdminAccess, AdminActor, CurrentUser
from opsml_server.handlers import ERROR_RESPONSES, conflict

CONFLICT = conflict(
    "A user or token of that name exists already, another first user became the "
    "administrator at the same instant, or the change would remove the last administrator "
    "(code last_administrator)."
)
router = APIRouter(prefix="/api/v1", tags=["identity"], responses={**ERROR_RESPONSES, **CONFLICT})

Name = Annotated[str, Path(pattern=NAME_PATTERN)]


async def get_identity(request: Request) -> CredentialStore:
    """The server's identity store (attached in the lifespan); routes use its interface."""
    store: CredentialStore | None = request.app.state.auth.store
    if store is None:
        raise BackendUnavailableError("the registry server is starting or stopping; try again")
    return store


IdentityDep = Annotated[IdentityStore, Depends(get_identity)]
CredentialDep = Annotated[CredentialStore, Depends(get_identity)]


async def keep_admin(request: Request) -> bool:
    """Whether the last administrator of the database must stay: unless the server has a
    bootstrap administrator (``OPSML_USERNAME``), which always remains.
    """
    return not request.app.state.auth.settings.auth_enabled


KeepAdmin = Annotated[bool, Depends(keep_admin)]


@router.post("/users", operation_id="add_user", status_code=201, response_model=UserPublic)
def add_user(
    user: UserCreate,
    store: CredentialDep,
    caller: AdminAccess,
    actor: AdminActor,
    request: Request,
) -> UserPublic:
    """Add a user (its password is stored as an argon2 hash).

    On an open server (no users, no bootstrap administrator) the first user is the
    administrator: it needs a password (400 without one, nothing written), gets the global
    ``admin`` role in the same transaction (listed in the answer's ``grants``) and turns
    auth on, on this replica at once. A server with a bootstrap administrator makes no
    administrator by itself.
    """
    password = user.password.get_secret_value() if user.password else None
    open_server = caller is None
    added = store.add_user(user.name, password, actor=actor, admin_if_first=open_server,
                           first_needs_password=open_server)  # fmt: skip
    if open_server:
        request.app.state.auth.users_changed()
    return added


@router.get("/users", operation_id="list_users", response_model=list[UserPublic])
def list_users(store: IdentityDep, caller: AdminAccess) -> list[UserPublic]:
    """Every user with its grants."""
    return store.list_users()


@router.delete("/users/{name}", operation_id="remove_user", status_code=204)
def remove_user(name: Name, store: CredentialDep, actor: AdminActor, keep: KeepAdmin) -> Response:
    """Remove a user, its grants and its tokens.

    Not the last user holding the global ``admin`` role (409 ``last_administrator``, nothing
    written), unless the server has a bootstrap administrator.
    """
    store.remove_user(name, actor=actor, keep_admin=keep)
    return Response(status_code=204)


@router.put("/users/{name}/password", operation_id="set_password", status_code=204)
def set_password(name: Name, body: PasswordSet, store: IdentityDep, actor: AdminActor) -> Response:
    """Replace a user's password (argon2; none: the user can only use service tokens)."""
    store.set_password(name, body.password.get_secret_value() if body.password else None,
                       actor=actor)  # fmt: skip
    return Response(status_code=204)


@router.post("/users/{name}/grants", operation_id="grant_role", status_code=204)
def grant_role(name: Name, grant: GrantPublic, store: IdentityDep, actor: AdminActor) -> Response:
    """Give a user a role on a repository (no repository: on every repository)."""
    store.grant(name, grant.role, grant.repository, actor=actor)
    return Response(status_code=204)


@router.delete("/users/{name}/grants", operation_id="revoke_role", status_code=204)
def revoke_role(
    name: Name,
    store: CredentialDep,
    actor: AdminActor,
    keep: KeepAdmin,
    role: Role,
    repository: str | None = None,
) -> Response:
    """Take a role on a repository (no repository: the global one) from a user.

    Not the global ``admin`` of the last user holding it (409 ``last_administrator``,
    nothing written), unless the server has a bootstrap administrator.
    """
    store.revoke(name, role, repository, actor=actor, keep_admin=keep)
    return Response(status_code=204)


@router.post("/tokens", operation_id="create_token", status_code=201, response_model=TokenCreated)
def create_token(
    token: TokenCreate, store: IdentityDep, caller: AdminAccess, actor: AdminActor
) -> TokenCreated:
    """A new service token; the answer is the only time the token is shown."""
    owner = token.user or (str(caller).split("/")[0] if caller is not None else None)
    try:
        return store.create_token(token.name, owner, token.expires_at, actor=actor)
    except IdentityNotFoundError:
        if token.user is not None:
            raise
        raise InvalidInputError(  # the caller is no user row: a token needs one to act for
            f"{owner!r} is not a user in the registry's database (the bootstrap administrator, "
            "OPSML_USERNAME on the server, lives only in its environment): name the user the "
            'token acts for (--user; "user" in the request)'
        ) from None


@router.get("/tokens", operation_id="list_tokens", response_model=list[TokenPublic])
def list_tokens(
    store: IdentityDep, caller: AdminAccess, user: str | None = None
) -> list[TokenPublic]:
    """The service tokens (of one user), never the tokens themselves."""
    return store.list_tokens(user)


@router.delete("/tokens/{name}", operation_id="revoke_token", status_code=204)
def revoke_token(name: Name, store: IdentityDep, actor: AdminActor) -> Response:
    """Revoke a token: refused on every replica within the credential cache bound."""
    store.revoke_token(name, actor=actor)
    return Response(status_code=204)


@router.get("/audit", operation_id="list_audit", response_model=AuditPage)
def list_audit(
    store: IdentityDep, caller: CurrentUser, query: Annotated[AuditQuery, Query()]
) -> AuditPage:
    """The audit log, newest first; readers of a repository read its entries."""
    require(caller, Role.READER, query.repository)
    return store.list_audit(query)
