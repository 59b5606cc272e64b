"""SHA-256 digests of files and streams, in bounded memory.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[1]
    3

"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK_SIZE = 4 * 1024 * 1024
"""Bytes read or written at a time: large enough for throughput, small enough for memory."""


def sha256_file(path: Path) -> tuple[str, int]:
    """The hex SHA-256 and size in bytes of a local file.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "empty"
        >>> p.touch()
        >>> sha256_file(p)[0][:8]
        'e3b0c442'

    """
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as handle:
        # a small file gets a small buffer: zeroing 4 MiB costs more than hashing 10 KB
        buf = bytearray(max(1, min(CHUNK_SIZE, os.fstat(handle.fileno()).st_size)))
        view = memoryview(buf)
        while n := handle.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


class RunningDigest:
    """SHA-256 and byte count of a stream fed in blocks, checked and reported per chunk.

    ``check(digest, seen, final)`` raises as soon as the bytes so far cannot match
    the record (``final``: the stream has ended); ``report(n)`` is told every
    ``CHUNK_SIZE`` piece (progress bars).

    Example:
        >>> seen = []
        >>> running = RunningDigest(lambda d, n, final: None, seen.append)
        >>> running.take(b"abc")
        >>> running.seen, seen
        (3, [3])

    """

    def __init__(
        self,
        check: Callable[[Any, int, bool], None],
        report: Callable[[int], None],
    ) -> None:
        self.digest = hashlib.sha256()
        self.seen = 0
        self._check = check
        self._report = report

    def take(self, block: bytes) -> None:
        """Hash one block, checking and reporting each chunk of it."""
        view = memoryview(block)
        for at in range(0, len(block), CHUNK_SIZE):
            piece = view[at : at + CHUNK_SIZE]
            self.digest.update(piece)
            self.seen += len(piece)
            self._check(self.digest, self.seen, False)
            self._report(len(piece))

    def finish(self) -> None:
        """Check the whole stream (raises when size or digest differ from the record)."""
        self._check(self.digest, self.seen, True)
