"""The app behind ``opsml ui``: the UI pages over any ``RegistryBackend``, for one local user.

It serves the same pages as the registry server, plus a read-only copy of the
API's download endpoint (same path, so the pages' download links work), over
whatever backend ``OPSML_TRACKING_URI`` selects: embedded SQLite, a database,
or a registry server through the HTTP backend. It has no write endpoint and
listens on loopback only (see ``opsml ui``).

Example:
    >>> from opsml.backends.sql import SqlBackend
    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> app = create_ui_app(SqlBackend(f"sqlite:///{root}/r.db", f"{root}/store"))
    >>> app.title
    'OpsML UI'

"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Path, Response
from fastapi.concurrency import run_in_threadpool

import opsml
from opsml.backends.base import RegistryBackend
from opsml.schemas import RegistryType, check_relative_path
from opsml_server import handlers
from opsml_server.auth import Authenticator
from opsml_server.downloads import artifact_response
from opsml_server.settings import ServerSettings
from opsml_server.ui.approvals import router as approvals_router
from opsml_server.ui.routes import UiBackend
from opsml_server.ui.routes import router as ui_router

downloads = APIRouter(include_in_schema=False)


@downloads.get("/api/v1/cards/{registry}/{uid}/files/{path:path}")
def download_file(
    registry: RegistryType,
    uid: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    path: str,
    backend: UiBackend,
    range: Annotated[str | None, Header()] = None,
) -> Response:
    """Stream one artifact through the backend (``Range`` honoured), as the API does."""
    check_relative_path(path)
    card = backend.get_card(registry, uid=uid)
    return artifact_response(backend.open_artifact(card, path), range)


def create_ui_app(backend: RegistryBackend) -> FastAPI:
    """The UI over ``backend`` (closed when the app shuts down), without auth.

    Args:
        backend: the registry to browse.

    Returns:
        A FastAPI app with the UI pages and the read-only download endpoint.

    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(backend.close)

    app = FastAPI(
        title="OpsML UI",
        version=opsml.__version__,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    # one local user on loopback: no auth (the backend carries its own credentials)
    app.state.settings = ServerSettings.model_construct(username=None, password=None)
    app.state.auth = Authenticator(app.state.settings)  # no store: auth stays off
    app.state.backend = backend
    handlers.install(app)
    app.include_router(approvals_router)  # read-only here: nobody is logged in
    app.include_router(ui_router)
    app.include_router(downloads)
    return app
