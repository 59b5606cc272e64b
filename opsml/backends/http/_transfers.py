"""Transfers through the registry server: one-request registrations, upload sessions, downloads.

- all files together up to ``inline_limit``: ONE multipart
  ``POST /api/v1/cards/{registry}`` with the ``CardCreate`` JSON and the files;
- larger: ``POST /api/v1/uploads`` (the card) → one streamed
  ``PUT /api/v1/uploads/{id}/files/{path}`` per file → ``POST …/{id}/commit``;
  a file whose digest is not known yet is read once: hashed while it is sent,
  its digest sent with the commit (the server's own hash of what arrived decides);
- downloads stream ``GET /api/v1/cards/{registry}/{uid}/files/{path}`` and
  resume with ``Range`` after a dropped connection.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from opsml.backends.base import ArtifactReader
from opsml.schemas import (
    ArtifactFile,
    CardCreate,
    CardPublic,
    UploadSessionPublic,
    UploadTicket,
)

if TYPE_CHECKING:
    import httpx

    from opsml.backends.base import ProgressCallback
    from opsml.backends.http._transport import Transport

UPLOAD_CHUNK = 4 * 1024 * 1024
COMMIT_TIMEOUT = 3600.0
"""Seconds a commit may take (the server copies and verifies every file)."""


class ProgressReader:
    """A file wrapper that reports bytes read (multipart uploads read through it)."""

    def __init__(self, handle: IO[bytes], progress: ProgressCallback) -> None:
        self._handle = handle
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        """Read and report."""
        data = self._handle.read(size)
        if data:
            self._progress(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """Seek the wrapped file."""
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        """Position in the wrapped file."""
        return self._handle.tell()

    def fileno(self) -> int:
        """The wrapped file's descriptor."""
        return self._handle.fileno()


def read_chunks(path: Path, progress: Callable[[int], None] | None) -> Iterator[bytes]:
    """The bytes of ``path`` in upload-sized chunks, reporting each."""
    with open(path, "rb") as handle:
        while chunk := handle.read(UPLOAD_CHUNK):
            if progress:
                progress(len(chunk))
            yield chunk


def file_url(transport: Transport, kind: str, card: CardPublic, path: str) -> httpx.URL:
    """``…/{kind}/{registry}/{uid}/files/{path}`` (``kind``: ``cards`` or ``presign/cards``)."""
    return transport.api(kind, card.registry, card.uid, "files", path)


class ServerArtifact(ArtifactReader):
    """One file of a card, read through the server (or a direct URL) with ``Range``."""

    def __init__(
        self, item: ArtifactFile, read: Callable[[int, int, bool], Iterator[bytes]]
    ) -> None:
        super().__init__(item)
        self._read = read

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """See :meth:`ArtifactReader.chunks`."""
        if end is not None and end <= start:
            return iter(())
        stop = self.item.size if end is None else end
        return self._read(start, stop, end is not None)


def register_inline(
    transport: Transport, card: CardCreate, source_dir: Path, progress: ProgressCallback | None
) -> CardPublic:
    """Register ``card`` and its files in one multipart request."""
    handles: list[IO[bytes]] = []
    try:
        files: list[tuple[str, tuple[str, Any, str]]] = []
        for item in card.files:
            handle: IO[bytes] = open(source_dir / item.path, "rb")  # noqa: SIM115
            handles.append(handle)
            body: Any = ProgressReader(handle, progress) if progress else handle
            files.append(("files", (item.path, body, "application/octet-stream")))
        response = transport.send(
            "POST", transport.api("cards", card.registry), data={"card": card.model_dump_json()},
            files=files or None, read_timeout=max(transport.timeout, 600.0),
        )  # fmt: skip
    finally:
        for handle in handles:
            handle.close()
    return transport.parse(CardPublic, response)


def open_session(transport: Transport, card: CardCreate) -> UploadTicket:
    """``POST /api/v1/uploads``: a staged upload session on the server.

    Files whose ``sha256`` is empty (not computed yet) are announced without one:
    the client hashes them while it sends them (:func:`commit_session`).
    """
    body = card.model_dump(mode="json", exclude_none=True)
    for item in body["files"]:
        if not item["sha256"]:
            del item["sha256"]
    response = transport.send(
        "POST", transport.api("uploads"), content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    session = transport.parse(UploadSessionPublic, response)
    return UploadTicket(id=session.id)


def hashed_chunks(
    path: Path, digest: hashlib._Hash, progress: Callable[[int], None] | None
) -> Iterator[bytes]:
    """The bytes of ``path``, read once: each chunk is hashed in a worker thread while the
    previous one is being sent (``hashlib`` releases the GIL), so at most two chunks are held.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="opsml-hash") as pool:
        pending: Future[None] | None = None
        with open(path, "rb") as handle:
            while chunk := handle.read(UPLOAD_CHUNK):
                if pending is not None:
                    pending.result()
                pending = pool.submit(digest.update, chunk)
                if progress:
                    progress(len(chunk))
                yield chunk
        if pending is not None:
            pending.result()


def with_digests(card: CardCreate, source_dir: Path) -> CardCreate:
    """``card`` with the SHA-256 of every file that has none yet (read from ``source_dir``)."""
    if all(item.sha256 for item in card.files):
        return card
    from opsml.storage.digest import sha256_file

    files = []
    for item in card.files:
        sha256 = item.sha256 or sha256_file(source_dir / item.path)[0]
        files.append(ArtifactFile(path=item.path, size=item.size, sha256=sha256))
    return card.model_copy(update={"files": files})


def put_file(
    transport: Transport,
    ticket: UploadTicket,
    item: ArtifactFile,
    source: Path,
    progress: ProgressCallback | None,
) -> str | None:
    """PUT one file into the session; its SHA-256 when it was hashed on the way.

    A replica that dies mid-PUT costs one more PUT of the whole file (the
    server replaces what the first one staged), hashed afresh.
    """
    hashers: list[hashlib._Hash] = []

    def body() -> Iterator[bytes]:
        if item.sha256:
            return read_chunks(source, progress)
        hashers.append(hashlib.sha256())
        return hashed_chunks(source, hashers[-1], progress)

    transport.send_replayable(
        "PUT", transport.api("uploads", ticket.id, "files", item.path), body,
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(item.size)},
    )  # fmt: skip
    return hashers[-1].hexdigest() if hashers else None


def commit_session(
    transport: Transport,
    ticket: UploadTicket,
    card: CardCreate,
    source_dir: Path,
    progress: ProgressCallback | None,
    sign: Callable[[list[ArtifactFile]], dict[str, Any]] | None = None,
) -> CardPublic:
    """Stream every file of ``card`` into the session, then commit it.

    A file without a digest is hashed while it is sent and its digest goes with
    the commit; the server compares it with its own hash of what arrived. With
    ``sign``, the card is signed once every digest is known (each byte read once)
    and the bundle goes with the commit too.
    """
    digests: dict[str, str] = {}
    for item in card.files:
        digest = put_file(transport, ticket, item, source_dir / item.path, progress)
        if digest is not None:
            digests[item.path] = digest
    payload: dict[str, Any] = {"files": digests} if digests else {}
    if sign is not None:
        known = [f.model_copy(update={"sha256": f.sha256 or digests[f.path]}) for f in card.files]
        payload["signature"] = sign(known)
    body = json.dumps(payload) if payload else None  # none: the old protocol
    response = transport.send(
        "POST", transport.api("uploads", ticket.id, "commit"), content=body,
        headers={"Content-Type": "application/json"} if body else None,
        read_timeout=max(transport.timeout, COMMIT_TIMEOUT),
    )  # fmt: skip
    return transport.parse(CardPublic, response)
