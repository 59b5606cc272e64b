"""Verified downloads: write received chunks at once, hash the written file behind them.

:class:`DigestSink` writes each chunk as it arrives and hashes the file from
the written bytes in a helper thread; :func:`verify_digest` compares what
arrived with the card's record. Used by the download workflow of
:class:`opsml.backends.base.RegistryBackend`.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from opsml.errors import ArtifactIntegrityError
from opsml.schemas import ArtifactFile, CardCreate, CardPublic

__all__ = ["SINK_BATCH", "DigestSink", "verify_digest"]

SINK_BATCH = 4 * 1024 * 1024
"""Written bytes the helper thread hashes in one step (it reads them back from the file)."""


class DigestSink:
    """Write downloaded chunks to ``fd`` and hash what was written, overlapped with receiving.

    The receiving thread only writes. A helper thread trails it, reading each
    :data:`SINK_BATCH` bytes back from the file (from the page cache) into one
    reused buffer and hashing them; ``hashlib`` and ``pread`` release the GIL,
    and the helper takes it once per batch rather than once per chunk. Memory
    stays at one batch whatever the file size; the digest is that of the bytes
    in the file, which is what the caller keeps. Files under one batch never
    start the thread.

    Example:
        >>> import hashlib, tempfile
        >>> digest = hashlib.sha256()
        >>> with tempfile.TemporaryFile() as out, DigestSink(digest, out.fileno()) as sink:
        ...     sink.add(b"abc")
        >>> digest.hexdigest() == hashlib.sha256(b"abc").hexdigest()
        True

    """

    def __init__(self, digest: Any, fd: int) -> None:
        self._digest = digest
        self._fd = fd
        self._written = 0  # bytes in the file; the helper may hash up to here
        self._announced = 0
        self._hashed = 0
        self._done = False
        self._failure: BaseException | None = None
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._buffer = memoryview(bytearray(0))

    def __enter__(self) -> DigestSink:
        return self

    def add(self, chunk: bytes) -> None:
        """Write ``chunk`` at the end of the file (the helper hashes it later)."""
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self._written += len(chunk)
        if self._written - self._announced >= SINK_BATCH:
            self._announce(done=False)

    def _announce(self, *, done: bool) -> None:
        with self._wake:
            self._announced = self._written
            self._done = done
            self._wake.notify()
        if self._thread is None and not done:
            self._thread = threading.Thread(
                target=self._trail, name="opsml-download-hash", daemon=True
            )
            self._thread.start()

    def _trail(self) -> None:
        try:
            while True:
                with self._wake:
                    while self._announced - self._hashed < SINK_BATCH and not self._done:
                        self._wake.wait()
                    if self._done:
                        return  # the caller hashes the rest after joining
                    upto = self._announced
                self._hash_upto(upto)
        except BaseException as exc:  # re-raised by the caller on exit
            self._failure = exc

    def _hash_upto(self, upto: int) -> None:
        if len(self._buffer) == 0:  # first use: one batch, or the whole of a smaller file
            self._buffer = memoryview(bytearray(min(SINK_BATCH, max(upto - self._hashed, 1))))
        while self._hashed < upto:
            want = min(len(self._buffer), upto - self._hashed)
            got = os.preadv(self._fd, [self._buffer[:want]], self._hashed)
            if got <= 0:
                raise OSError(f"the downloaded file ended at byte {self._hashed} of {upto}")
            self._digest.update(self._buffer[:got])
            self._hashed += got

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._thread is not None:
            self._announce(done=True)
            self._thread.join()
        if self._failure is not None and exc_type is None:
            raise self._failure
        if exc_type is None:
            self._hash_upto(self._written)


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
