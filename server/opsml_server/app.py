"""The app factory: ``create_app(settings)``; engine and storage are built in the lifespan.

Example:
    >>> from opsml_server.settings import ServerSettings
    >>> app = create_app(ServerSettings(database_url="sqlite:///:memory:", storage_uri="/tmp/a"))
    >>> app.title
    'OpsML registry'

"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response

import opsml
from opsml import hooks
from opsml.backends import build_database_backend
from opsml.backends.base import RegistryBackend
from opsml.errors import OpsmlError
from opsml.listeners import CommitListeners
from opsml_server import handlers, ui
from opsml_server.api.deps import CurrentUser
from opsml_server.api.routes import (
    aliases,
    approvals,
    cards,
    deployments,
    health,
    identity,
    listing,
    presign,
    uploads,
)
from opsml_server.auth import Authenticator
from opsml_server.metrics import MetricsMiddleware, ServerMetrics
from opsml_server.settings import ServerSettings, get_settings
from opsml_server.ui import approvals as ui_approvals
from opsml_server.upload_service import UploadService

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("opsml_server")


class BodyLimitMiddleware:
    """413 for bodies over ``limit`` (file uploads to a session are limited by their record)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse by Content-Length up front; count chunked bodies as they arrive."""
        if scope["type"] != "http" or (
            scope["method"] == "PUT" and scope["path"].startswith("/api/v1/uploads/")
        ):
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length":
                if not value.isdigit() or int(value) > self.limit:
                    await self._too_large()(scope, receive, send)
                    return
                break
        await self._counted(scope, receive, send)

    def _too_large(self) -> Response:
        return handlers.error_response(
            413,
            "payload_too_large",
            f"request bodies are limited to {self.limit} bytes; large "
            "registrations go through /api/v1/uploads",
        )

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A body without Content-Length: past the limit the app sees a disconnect, we 413."""
        received = 0
        over = started = False

        async def limited() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to the cut body is replaced by the 413
            started = True
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await self._too_large()(scope, receive, send)


async def _collect_garbage(
    backend: RegistryBackend, older_than: timedelta, uploads_older_than: timedelta
) -> None:
    """Remove registrations abandoned by a killed server, and upload sessions unused for
    longer than their TTL with their staging objects (logged, never fatal).
    """
    try:
        removed = await run_in_threadpool(
            functools.partial(
                backend.collect_garbage, older_than, uploads_older_than=uploads_older_than
            )
        )
    except Exception:
        logger.exception("removing abandoned registrations failed")
        return
    if removed:
        logger.warning("removed abandoned registrations and uploads", extra={"count": removed})


async def _sweep_forever(backend: RegistryBackend, pending_timeout: float, ttl: float) -> None:
    interval = max(1.0, min(ttl / 4, pending_timeout / 4, 300.0))
    while True:
        await asyncio.sleep(interval)
        await _collect_garbage(backend, timedelta(seconds=pending_timeout), timedelta(seconds=ttl))


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The schema, with request-validation errors documented as our error body (400)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = {
                        "description": handlers.ERROR_RESPONSES[422]["description"],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ErrorBody"}
                            }
                        },
                    }
        components = schema.get("components", {}).get("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
    return app.openapi_schema


def _lifespan(
    settings: ServerSettings, listeners: CommitListeners
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Build the backend and the upload sessions at startup; close them at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend = build_database_backend(
            settings, auto_migrate=settings.auto_migrate, listeners=listeners
        )
        sessions = UploadService(
            backend.upload_sessions,
            ttl=settings.upload_session_ttl,
            max_upload_size=settings.max_upload_size,
        )
        try:
            await run_in_threadpool(backend.ensure_schema)
        except OpsmlError as exc:  # /readyz reports it; requests fail with 503
            logger.warning("database not ready at startup", extra={"error": exc.message})
        app.state.backend = backend
        app.state.auth.store = backend.identity()
        app.state.uploads = sessions
        # load opsml plugins now (e.g. the Prefect one warms up its event client in the
        # background) rather than on the first registration's request path
        hooks.load_plugins()
        pending, ttl = settings.pending_timeout, settings.upload_session_ttl
        await _collect_garbage(backend, timedelta(seconds=pending), timedelta(seconds=ttl))
        sweeper = asyncio.create_task(_sweep_forever(backend, pending, ttl))
        from opsml_server.logs import log_ready

        auth_on = await run_in_threadpool(app.state.auth.auth_on)
        log_ready(logger, settings, auth=auth_on)  # where the database and artifacts are
        try:
            yield
        finally:
            sweeper.cancel()
            app.state.backend = None
            await run_in_threadpool(backend.close)

    return lifespan


def create_app(
    settings: ServerSettings | None = None, *, listeners: CommitListeners | None = None
) -> FastAPI:
    """Build the registry server app.

    Args:
        settings: the server's settings; default ``get_settings()`` (the environment).
        listeners: who the backend tells after each commit; default the process's
            :func:`opsml.hooks.commit_listeners`, which the ``opsml.plugins`` (the
            Prefect one: events) fill.

    Returns:
        The FastAPI app. Its lifespan builds the SQL backend (engine and store)
        and the upload service, and closes them at shutdown.

    """
    settings = settings or get_settings()
    if listeners is None:
        listeners = hooks.commit_listeners()
    metrics = ServerMetrics(replica=settings.replica_name, version=opsml.__version__)

    app = FastAPI(
        title="OpsML registry",
        version=opsml.__version__,
        description="Cards, versions and artifacts of the OpsML registry.",
        lifespan=_lifespan(settings, listeners),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.auth = Authenticator(settings)
    app.state.backend = None
    handlers.install(app)
    app.include_router(health.router)
    app.include_router(listing.router)  # before cards: /{registry}/page is not a uid
    app.include_router(cards.router)
    app.include_router(uploads.router)
    app.include_router(presign.router)
    app.include_router(identity.router)
    app.include_router(aliases.router)
    app.include_router(deployments.router)
    app.include_router(approvals.router)
    app.include_router(ui_approvals.router)  # before ui.router: /ui/approvals is no registry
    app.include_router(ui.router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(user: CurrentUser) -> JSONResponse:
        return JSONResponse(_openapi(app))

    @app.get("/docs", include_in_schema=False)
    def docs(user: CurrentUser, request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="openapi.json", title=app.title)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_inline_size)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
