"""Verified downloads: hash and write received chunks off the receiving thread.

:class:`DigestSink` overlaps hashing and writing with receiving; :func:`verify_digest`
compares what arrived with the card's record. Used by the download workflow of
:class:`opsml.backends.base.RegistryBackend`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from opsml.errors import ArtifactIntegrityError
from opsml.schemas import ArtifactFile, CardCreate, CardPublic

__all__ = ["SINK_BATCH", "DigestSink", "verify_digest"]

SINK_BATCH = 8 * 1024 * 1024
"""Downloaded bytes gathered before one hash-and-write step runs in the helper thread."""


class DigestSink:
    """Hash and write downloaded chunks in a helper thread, overlapped with receiving.

    Chunks are gathered into batches of :data:`SINK_BATCH` bytes; one batch is
    hashed and written (``hashlib`` and file writes release the GIL) while the
    next one arrives, and at most two batches exist at a time, so memory stays
    bounded. Small files never start the thread.
    """

    def __init__(self, digest: Any, out: Any) -> None:
        self._digest = digest
        self._out = out
        self._batch: list[bytes] = []
        self._batched = 0
        self._pending: Future[None] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> DigestSink:
        return self

    def add(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= SINK_BATCH:
            batch, self._batch, self._batched = self._batch, [], 0
            self._wait()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="opsml-download")
            self._pending = self._pool.submit(self._consume, batch)

    def _consume(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self._digest.update(chunk)
        for chunk in batch:
            view = memoryview(chunk)
            while view:
                view = view[self._out.write(view) :]

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            self._wait()
            if exc_type is None and self._batch:
                self._consume(self._batch)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


def verify_digest(
    card: CardPublic | CardCreate, item: ArtifactFile, size: int, sha256: str
) -> None:
    """Raise :class:`ArtifactIntegrityError` naming the file when size or digest differ.

    Example:
        >>> import hashlib
        >>> from opsml.schemas import CardCreate
        >>> c = CardCreate(registry="model", name="m", repository="r", contact="me")
        >>> f = ArtifactFile(path="a.bin", size=0, sha256=hashlib.sha256().hexdigest())
        >>> verify_digest(c, f, 0, hashlib.sha256().hexdigest())

    """
    if size != item.size or sha256 != item.sha256:
        version = getattr(card, "version", None) or "(new)"
        raise ArtifactIntegrityError(
            f"artifact {item.path!r} of {card.registry} card {card.repository}/{card.name} "
            f"v{version} does not match its record: expected {item.size} bytes with "
            f"sha256 {item.sha256[:12]}…, got {size} bytes with sha256 {sha256[:12]}…; "
            "the stored file was changed or the transfer was cut off"
        )
