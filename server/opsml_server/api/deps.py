"""``Annotated`` dependencies: the backend, the settings, the caller and write access.

Routes read ``def read(backend: BackendDep, user: CurrentUser)`` and check the
role they need with ``require(user, Role.READER, card.repository)``; a write
passes ``actor=actor`` (``actor: Actor``) to the backend, the one rule of who
the audit log names (:func:`actor_of`).
Authentication (:mod:`opsml_server.auth`) and the production-token check are
wired here only. Every dependency is ``async``:
none of them blocks, and FastAPI would otherwise run each sync one in the
thread pool (a thread hop per dependency per request).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from opsml.auth.actor import ACTOR_HEADER, acting
from opsml.auth.roles import Principal, Role, require
from opsml.backends.base import RegistryBackend
from opsml.errors import BackendUnavailableError, CardNotFoundError, PermissionDeniedError
from opsml.schemas import CardPublic
from opsml_server.auth import Authenticator
from opsml_server.metrics import ServerMetrics
from opsml_server.settings import ServerSettings
from opsml_server.upload_service import UploadService

PROD_TOKEN_HEADER = "X-Opsml-Prod-Token"


async def get_server_settings(request: Request) -> ServerSettings:
    """The settings the app was built with."""
    settings: ServerSettings = request.app.state.settings
    return settings


async def get_backend(request: Request) -> RegistryBackend:
    """The app's backend (built in the lifespan); routes use only its interface."""
    backend: RegistryBackend | None = getattr(request.app.state, "backend", None)
    if backend is None:
        raise BackendUnavailableError("the registry server is starting or stopping; try again")
    return backend


async def get_uploads(request: Request) -> UploadService:
    """The app's upload service (limits and TTL over the backend's upload sessions)."""
    uploads: UploadService = request.app.state.uploads
    return uploads


async def get_metrics(request: Request) -> ServerMetrics:
    """The app's Prometheus metrics."""
    metrics: ServerMetrics = request.app.state.metrics
    return metrics


SettingsDep = Annotated[ServerSettings, Depends(get_server_settings)]
BackendDep = Annotated[RegistryBackend, Depends(get_backend)]
UploadsDep = Annotated[UploadService, Depends(get_uploads)]
MetricsDep = Annotated[ServerMetrics, Depends(get_metrics)]


async def current_user(request: Request) -> Principal | None:
    """The authenticated caller, or ``None`` when the server has no auth.

    A ``Principal`` is a ``str`` (its name, what the audit log records) with its grants.

    Raises:
        AuthenticationError: auth is on and the credentials are missing or wrong (401).
        TooManyAttemptsError: too many failed logins from this user or address (429).

    """
    return await _authenticate(request, fresh=False)


async def _authenticate(request: Request, *, fresh: bool) -> Principal | None:
    """``fresh``: check the credentials again rather than reuse the short cache."""
    auth: Authenticator = request.app.state.auth
    client = request.client.host if request.client else "unknown"
    principal = await auth.authenticate(
        request.headers.get("authorization"),
        client,
        request.headers.get(auth.settings.proxy_user_header) if auth.proxies else None,
        fresh=fresh,
    )
    if principal is not None:
        request.state.user = str(principal)
    return principal


CurrentUser = Annotated[Principal | None, Depends(current_user)]


async def write_access(
    request: Request, user: CurrentUser, settings: SettingsDep
) -> Principal | None:
    """The caller of a write; in production the request must carry the production token.

    Raises:
        PermissionDeniedError: production, and the token is missing or wrong (403).

    """
    if settings.write_token_required:
        assert settings.prod_token is not None
        given = request.headers.get(PROD_TOKEN_HEADER, "").encode("utf-8", "replace")
        if not secrets.compare_digest(given, settings.prod_token.get_secret_value().encode()):
            raise PermissionDeniedError(
                "this is the production registry: writes need the production token "
                f"(OPSML_PROD_TOKEN, sent as {PROD_TOKEN_HEADER}); reads do not"
            )
    return user


WriteAccess = Annotated[Principal | None, Depends(write_access)]


async def fresh_write_access(request: Request, user: WriteAccess) -> Principal | None:
    """The caller of a write, with credentials and grants read again (no cached answer).

    A commit uses it: a grant revoked since the upload was opened counts at once,
    whichever server process the commit reaches.
    """
    if user is None:
        return None
    return await _authenticate(request, fresh=True)


FreshWriteAccess = Annotated[Principal | None, Depends(fresh_write_access)]


def actor_of(request: Request, user: Principal | None) -> str | None:
    """Who a write is audited as (:func:`opsml.auth.actor.acting`, docs/security.md).

    The authenticated caller when auth is on (``X-Opsml-Actor`` is then ignored: a
    header never lets anyone act as someone else); on a server without auth the
    actor the client declares in ``X-Opsml-Actor``; else nobody.

    Raises:
        InvalidInputError: auth is off and the declared actor does not name a person
            (400, before anything is written).

    """
    return acting(None if user is None else str(user), request.headers.get(ACTOR_HEADER))


async def write_actor(request: Request, user: WriteAccess) -> str | None:
    """The actor of this write request (see :func:`actor_of`)."""
    return actor_of(request, user)


Actor = Annotated[str | None, Depends(write_actor)]


async def global_reader(user: CurrentUser) -> Principal | None:
    """A caller who may read every repository (the web UI's pages list them all).

    Raises:
        PermissionDeniedError: the caller has no global ``reader`` role (403).

    """
    require(user, Role.READER, None)
    return user


GlobalReader = Annotated[Principal | None, Depends(global_reader)]


def readable_repositories(user: str | None) -> list[str] | None:
    """The repositories ``user`` may read; ``None``: every one (a global reader, or no auth)."""
    if not isinstance(user, Principal) or user.allows(Role.READER, None):
        return None
    return sorted(repo for repo, role in user.grants.items() if repo and role.covers(Role.READER))


def visible_card(user: str | None, role: Role, card: CardPublic) -> CardPublic:
    """``card`` when ``user`` holds ``role`` on its repository.

    A card of a repository the caller may not read is answered as if it did not
    exist (404, the message of a missing uid), as lists, pages and counts hide
    it: a 403 would tell that the uid exists and name its repository.

    Raises:
        CardNotFoundError: the caller may not read the card's repository (404).
        PermissionDeniedError: it may read but lacks ``role`` there (403).

    """
    if isinstance(user, Principal) and not user.allows(Role.READER, card.repository):
        raise CardNotFoundError(f"no {card.registry} card with uid {card.uid}")
    require(user, role, card.repository)
    return card


async def admin_access(user: WriteAccess) -> Principal | None:
    """The caller of user and token management: a global ``admin`` (and, in production,
    the production token).

    Raises:
        PermissionDeniedError: the caller is not a global administrator (403).

    """
    require(user, Role.ADMIN, None)
    return user


AdminAccess = Annotated[Principal | None, Depends(admin_access)]


async def admin_actor(request: Request, caller: AdminAccess) -> str | None:
    """The actor of an identity change (users, grants, tokens): see :func:`actor_of`."""
    return actor_of(request, caller)


AdminActor = Annotated[str | None, Depends(admin_actor)]
"""Like :data:`Actor`, behind administrator access."""
