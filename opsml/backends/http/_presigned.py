"""Client side of presigned transfers (see ``opsml_server.api.routes.presign``).

The HTTP backend asks the server for presigned URLs for large files; the bytes
then go straight between this process and the object store, with neither the
registry credentials (never sent to the store) nor any cloud credential (the URL
is the permission). When the server answers 409 ``presign_unsupported`` (a
store that cannot presign) or has no presign route (an older server),
:class:`PresignedTransfers` raises :class:`~opsml.errors.PresignUnsupportedError`
and remembers it (``supported``), so the backend proxies from then on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from opsml.backends.http._transfers import COMMIT_TIMEOUT, file_url, read_chunks
from opsml.backends.http._transport import error_code
from opsml.errors import PresignUnsupportedError, StorageError
from opsml.schemas import (
    CardCreate,
    CardPublic,
    PresignedFile,
    PresignedUpload,
    UploadTicket,
)

if TYPE_CHECKING:
    from opsml.backends.base import ProgressCallback
    from opsml.backends.http._transport import Transport

ROUTE_MISSING = frozenset({404, 405, 501})
"""Statuses of a server without the presign routes (an older one)."""
CHUNK = 1024 * 1024
ATTEMPTS = 3


def _where(url: str) -> str:
    """The URL without its query (the signature) for messages."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None))


def _unsupported(response: httpx.Response) -> bool:
    """409 ``presign_unsupported``, or no presign route at all (not a missing card)."""
    if response.status_code not in (409, *ROUTE_MISSING):
        return False
    code = error_code(response)
    if response.status_code == 409:
        return code == "presign_unsupported"
    return code not in ("card_not_found", "artifact_not_found", "invalid_input")


class PresignedTransfers:
    """Presigned uploads and downloads through one :class:`Transport`.

    ``supported`` is ``None`` until the server answered a presign request,
    then whether it can presign.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.supported: bool | None = None

    def _direct_client(self) -> httpx.Client:
        timeout = self.transport.timeouts()
        return httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False)

    def _ask(self, method: str, url: httpx.URL, **kwargs: Any) -> httpx.Response:
        """A presign call to the server; unsupported is raised (and remembered)."""
        response = self.transport.request(method, url, **kwargs)
        if _unsupported(response):
            self.supported = False
            raise PresignUnsupportedError(
                f"the registry server at {self.transport.base_url} cannot presign URLs; "
                "transfer through the server"
            )
        if response.status_code >= 400:
            raise self.transport.error(response)
        self.supported = True
        return response

    def probe(self) -> bool | None:
        """Ask the server once whether it presigns (``GET …/presign/uploads``); ``None``: it
        cannot say (an older server), and the first presign request will tell.
        """
        if self.supported is None:
            response = self.transport.request("GET", self.transport.api("presign", "uploads"))
            if response.status_code == 200:
                self.supported = bool(response.json().get("supported"))
        return self.supported

    def create(self, card: CardCreate) -> UploadTicket:
        """Open a presigned upload: one PUT URL per file."""
        response = self._ask(
            "POST", self.transport.api("presign", "uploads"), content=card.model_dump_json(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        session = self.transport.parse(PresignedUpload, response)
        return UploadTicket(
            id=session.id, presigned=True, expires_in=session.expires_in, files=session.files
        )

    def put_files(
        self, ticket: UploadTicket, source_dir: Path, progress: ProgressCallback | None
    ) -> None:
        """PUT each file's bytes to its URL."""
        with self._direct_client() as direct:
            for target in ticket.files:
                try:
                    answer = direct.put(
                        target.url, content=read_chunks(source_dir / target.path, progress),
                        headers={"Content-Length": str(target.size),
                                 "Content-Type": "application/octet-stream"},
                    )  # fmt: skip
                except httpx.TransportError as exc:
                    raise StorageError(
                        f"the direct upload of {target.path!r} to {_where(target.url)} failed "
                        f"({type(exc).__name__}); nothing was registered"
                    ) from None
                if answer.status_code >= 400:
                    raise StorageError(
                        f"the object store refused the direct upload of {target.path!r} "
                        f"({answer.status_code}); nothing was registered"
                    )

    def commit(self, ticket: UploadTicket) -> CardPublic:
        """Ask the server to verify the uploaded objects and register the card."""
        response = self.transport.send(
            "POST", self.transport.api("presign", "uploads", ticket.id, "commit"),
            read_timeout=max(self.transport.timeout, COMMIT_TIMEOUT),
        )  # fmt: skip
        return self.transport.parse(CardPublic, response)

    def download(self, card: CardPublic, path: str) -> PresignedFile:
        """A presigned GET URL for one file of ``card``."""
        response = self._ask("GET", file_url(self.transport, "presign/cards", card, path))
        return self.transport.parse(PresignedFile, response)

    def stream(self, url: str, start: int, stop: int, ranged: bool) -> Iterator[bytes]:
        """Bytes ``start…`` of a presigned URL, resuming with ``Range`` after a drop."""
        offset, failures = start, 0
        with self._direct_client() as direct:
            while offset < stop or (offset == 0 and stop == 0):
                end = str(stop - 1) if ranged else ""
                headers = {"Range": f"bytes={offset}-{end}"} if offset or ranged else {}
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
