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
from pathlib import Path

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
        buf = bytearray(CHUNK_SIZE)
        view = memoryview(buf)
        while n := handle.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size
