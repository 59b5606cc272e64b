"""Client side of presigned transfers (see ``opsml_server.api.routes.presign``).

The HTTP backend asks the server for presigned URLs for large files; the bytes
then go straight between this process and the object store, with neither the
registry credentials (never sent to the store) nor any cloud credential (the URL
is the permission). When the server answers 409 ``presign_unsupported`` (a
store that cannot presign) or has no presign route (an older server), the
backend proxies through the server instead, and remembers not to ask again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from opsml.errors import StorageError
from opsml.schemas import ArtifactFile, CardCreate, CardPublic

if TYPE_CHECKING:
    from opsml.backends.base import ProgressCallback
    from opsml.backends.http import HttpBackend

ROUTE_MISSING = frozenset({404, 405, 501})
"""Statuses of a server without the presign routes (an older one)."""
CHUNK = 1024 * 1024
ATTEMPTS = 3


def _where(url: str) -> str:
    """The URL without its query (the signature) for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _direct_client(backend: HttpBackend) -> httpx.Client:
    timeout = httpx.Timeout(backend.timeout, connect=min(backend.timeout, 10.0),
                            write=max(backend.timeout, 60.0))  # fmt: skip
    return httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False)


def _ask(backend: HttpBackend, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
    """A presign call to the server; ``None`` (and remembered) when it cannot presign."""
    headers = {**backend._headers, **kwargs.pop("headers", {})}
    try:
        response = backend._client.request(
            method, url, headers=headers, auth=backend._auth or httpx.USE_CLIENT_DEFAULT, **kwargs
        )
    except httpx.TransportError as exc:
        raise backend._unavailable(exc) from None
    if _unsupported(response):
        backend._presign_ok = False
        return None
    if response.status_code >= 400:
        raise backend._error(response)
    backend._presign_ok = True
    return response


def _unsupported(response: httpx.Response) -> bool:
    """409 ``presign_unsupported``, or no presign route at all (not a missing card)."""
    if response.status_code not in (409, *ROUTE_MISSING):
        return False
    try:
        code = response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        code = None
    if response.status_code == 409:
        return bool(code == "presign_unsupported")
    return code not in ("card_not_found", "artifact_not_found", "invalid_input")


def register(
    backend: HttpBackend, card: CardCreate, source_dir: Path, progress: ProgressCallback | None
) -> CardPublic | None:
    """Register ``card`` with direct uploads; ``None`` when the server cannot presign."""
    from opsml.backends.http import _read_chunks

    response = _ask(
        backend,
        "POST",
        f"{backend._api}/presign/uploads",
        content=card.model_dump_json(),
        headers={"Content-Type": "application/json"},
    )
    if response is None:
        return None
    session = response.json()
    session_url = f"{backend._api}/presign/uploads/{quote(str(session['id']), safe='')}"
    try:
        with _direct_client(backend) as direct:
            for item in session["files"]:
                url = str(item["url"])
                try:
                    answer = direct.put(
                        url,
                        content=_read_chunks(source_dir / str(item["path"]), progress),
                        headers={"Content-Length": str(item["size"]),
                                 "Content-Type": "application/octet-stream"},
                    )  # fmt: skip
                except httpx.TransportError as exc:
                    raise StorageError(
                        f"the direct upload of {item['path']!r} to {_where(url)} failed "
                        f"({type(exc).__name__}); nothing was registered"
                    ) from None
                if answer.status_code >= 400:
                    raise StorageError(
                        f"the object store refused the direct upload of {item['path']!r} "
                        f"({answer.status_code}); nothing was registered"
                    )
        committed = backend._send(
            "POST", f"{session_url}/commit", read_timeout=max(backend.timeout, 3600.0)
        )
    except BaseException:
        with contextlib.suppress(httpx.HTTPError):
            backend._client.delete(
                session_url,
                headers=backend._headers,
                auth=backend._auth or httpx.USE_CLIENT_DEFAULT,
                timeout=10.0,
            )
        raise
    return backend._parse(CardPublic, committed)


def download_url(backend: HttpBackend, card: CardPublic, item: ArtifactFile) -> str | None:
    """A presigned GET URL for one file; ``None`` when the server cannot presign."""
    url = (
        f"{backend._card_url(card.registry, card.uid).replace('/cards/', '/presign/cards/', 1)}"
        f"/files/{quote(item.path, safe='/')}"
    )
    response = _ask(backend, "GET", url)
    return None if response is None else str(response.json()["url"])


def stream(backend: HttpBackend, url: str, start: int, size: int) -> Iterator[bytes]:
    """Stream bytes ``start…`` of a presigned URL, resuming with ``Range`` after a drop."""
    offset = start
    failures = 0
    with _direct_client(backend) as direct:
        while offset < size or (offset == 0 and size == 0):
            headers = {"Range": f"bytes={offset}-"} if offset else {}
            try:
                with direct.stream("GET", url, headers=headers) as response:
                    if response.status_code >= 400:
                        raise StorageError(
                            f"the object store refused the download from {_where(url)} "
                            f"({response.status_code})"
                        )
                    for chunk in response.iter_raw(CHUNK):
                        offset += len(chunk)
                        yield chunk
                return
            except httpx.TransportError as exc:
                failures += 1
                if failures >= ATTEMPTS:
                    raise StorageError(
                        f"the download from {_where(url)} failed ({type(exc).__name__})"
                    ) from None
