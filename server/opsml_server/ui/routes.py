"""The UI's pages under ``/ui/``: home, a registry's list, a card, a comparison, deployments.

Every page reads through the ``RegistryBackend`` interface (the server's
backend dependency), needs the same auth as the API, and answers with the
security headers of :mod:`opsml_server.ui.render`. The UI adds no write endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from opsml.backends.base import RegistryBackend
from opsml.errors import OpsmlError
from opsml.schemas import REGISTRY_TYPES, RegistryType
from opsml_server.api.deps import GlobalReader, get_backend
from opsml_server.ui import cardview, deployview, listing
from opsml_server.ui.compare import compare
from opsml_server.ui.lineage import STAGES
from opsml_server.ui.render import SECURITY_HEADERS, page, static_files

logger = logging.getLogger("opsml_server.ui")
UiBackend = Annotated[RegistryBackend, Depends(get_backend)]
Uid = Annotated[str, Query(pattern=r"^[0-9a-f]{32}$")]


def _error_page(request: Request, status: int, message: str) -> Response:
    response = page(
        request,
        "error.html",
        {"status": status, "message": message, "registries": REGISTRY_TYPES},
        status=status,
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="opsml"'
    return response


class UiRoute(APIRoute):
    """A route whose errors are HTML pages carrying the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler: ``OpsmlError`` and bad parameters become error pages."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                where = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return _error_page(request, 404 if "registry" in where else 400, where)
            except OpsmlError as exc:
                if exc.status_code >= 500 and exc.status_code != 503:
                    logger.warning("UI page failed", extra={"error": exc.message})
                    return _error_page(request, exc.status_code, "the registry failed to answer")
                return _error_page(request, exc.status_code, exc.message)

        return guarded


router = APIRouter(route_class=UiRoute, include_in_schema=False)


def _context(**values: Any) -> dict[str, Any]:
    return {"registries": REGISTRY_TYPES, "stages": STAGES, **values}


@router.get("/")
@router.get("/ui")
async def to_ui(user: GlobalReader) -> Response:
    """Send the browser to the UI's home page."""
    return RedirectResponse("/ui/", status_code=307, headers=SECURITY_HEADERS)


@router.get("/ui/static/{name}")
async def static(request: Request, name: str, user: GlobalReader) -> Response:
    """The UI's CSS and JavaScript (an unknown name: the UI's HTML 404)."""
    if name not in static_files.files:
        return _error_page(request, 404, f"no static file {name!r}")
    return static_files.response(name)


@router.get("/ui/")
def home(request: Request, backend: UiBackend, user: GlobalReader) -> Response:
    """Each registry with its count and newest cards."""
    return page(request, "home.html", _context(summaries=listing.home(backend), user=user))


@router.get("/ui/deployments")
def deployments(request: Request, backend: UiBackend, user: GlobalReader) -> Response:
    """What each environment's targets serve now, and the newest deployment records."""
    view = deployview.overview(backend, user)
    return page(request, "deployments.html", _context(section="deployments", view=view, user=user))


@router.get("/ui/{registry}")
def registry_list(
    request: Request,
    registry: RegistryType,
    backend: UiBackend,
    user: GlobalReader,
    q: str | None = None,
    tag: Annotated[list[str] | None, Query()] = None,
    version: str | None = None,
    page_number: Annotated[str | None, Query(alias="page")] = None,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """One registry's cards: search, tag and version filters, SemVer order, cursor paging."""
    filters = listing.ListFilters.parse(
        q=q, tag=tag, version=version, page=page_number, cursor=cursor
    )
    result = listing.list_page(backend, registry, filters)
    serving = deployview.serving(backend, result.cards, user)
    return page(
        request,
        "list.html",
        _context(registry=registry, result=result, serving=serving, user=user),
    )


@router.get("/ui/{registry}/compare")
def compare_page(
    request: Request, registry: RegistryType, a: Uid, b: Uid, backend: UiBackend, user: GlobalReader
) -> Response:
    """Two versions side by side."""
    result = compare(backend, registry, a, b)
    return page(request, "compare.html", _context(registry=registry, cmp=result, user=user))


@router.get("/ui/{registry}/{uid}")
def card(
    request: Request, registry: RegistryType, uid: str, backend: UiBackend, user: GlobalReader
) -> Response:
    """One card and everything around it."""
    from opsml.config import get_settings

    # OPSML_TRUSTED_KEYS: the server's settings, else (``opsml ui``) the client's
    trusted = request.app.state.settings.trusted_key_list() or get_settings().trusted_key_list()
    view = cardview.card_page(backend, registry, uid, trusted=trusted)
    deploys = deployview.for_card(backend, view.card, user)
    return page(
        request,
        "card.html",
        _context(
            registry=registry,
            view=view,
            deploys=deploys,
            download_url=cardview.download_url,
            user=user,
        ),
    )


@router.get("/ui/{path:path}")
async def no_such_page(request: Request, path: str, user: GlobalReader) -> Response:
    """Any other path under ``/ui/``: the UI's HTML 404, with the security headers (last route)."""
    return _error_page(request, 404, f"no page /ui/{path}")
