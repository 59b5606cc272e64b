"""``Annotated`` dependencies: the backend, the settings, the caller and write access.

Routes read ``def read(backend: BackendDep, user: CurrentUser)``. Authentication
and the production-token check live here only. Every dependency is ``async``:
none of them blocks, and FastAPI would otherwise run each sync one in the
thread pool (a thread hop per dependency per request).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Annotated

from fastapi import Depends, Request

from opsml.backends.base import RegistryBackend
from opsml.errors import AuthenticationError, BackendUnavailableError, PermissionDeniedError
from opsml_server.metrics import ServerMetrics
from opsml_server.settings import ServerSettings
from opsml_server.staging import UploadSessions

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


async def get_uploads(request: Request) -> UploadSessions:
    """The app's upload staging."""
    uploads: UploadSessions = request.app.state.uploads
    return uploads


async def get_metrics(request: Request) -> ServerMetrics:
    """The app's Prometheus metrics."""
    metrics: ServerMetrics = request.app.state.metrics
    return metrics


SettingsDep = Annotated[ServerSettings, Depends(get_server_settings)]
BackendDep = Annotated[RegistryBackend, Depends(get_backend)]
UploadsDep = Annotated[UploadSessions, Depends(get_uploads)]
MetricsDep = Annotated[ServerMetrics, Depends(get_metrics)]


def _basic_credentials(header: str | None) -> tuple[bytes, bytes] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    return (user, password) if sep else None


async def current_user(request: Request, settings: SettingsDep) -> str | None:
    """The authenticated user name, or ``None`` when the server has no auth.

    Raises:
        AuthenticationError: auth is on and the credentials are missing or wrong (401).

    """
    if not settings.auth_enabled:
        return None
    assert settings.username is not None and settings.password is not None
    given = _basic_credentials(request.headers.get("authorization"))
    user, password = given or (b"", b"")
    # Both comparisons always run, in constant time, whatever matched.
    user_ok = secrets.compare_digest(user, settings.username.encode())
    password_ok = secrets.compare_digest(password, settings.password.get_secret_value().encode())
    if not (given and user_ok and password_ok):
        raise AuthenticationError(
            "this registry needs a user name and password: set OPSML_USERNAME and "
            "OPSML_PASSWORD (missing or wrong)"
        )
    name = user.decode("utf-8", "replace")
    request.state.user = name
    return name


CurrentUser = Annotated[str | None, Depends(current_user)]


async def write_access(request: Request, user: CurrentUser, settings: SettingsDep) -> str | None:
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


WriteAccess = Annotated[str | None, Depends(write_access)]
