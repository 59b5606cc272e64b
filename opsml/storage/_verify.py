"""Verification while bytes are stored: size and SHA-256 against the file's record.

A store hashes every chunk as it writes it; :func:`feed` refuses more bytes
than the record announces at once, and different bytes at the end, so nothing
is ever committed that does not match.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from opsml.errors import ArtifactIntegrityError

if TYPE_CHECKING:
    from opsml._types import ProgressCallback
    from opsml.schemas import ArtifactFile


class CallerError(Exception):
    """Carries an exception raised by caller code (a progress callback) through ``_call``."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def report(progress: ProgressCallback | None, n: int) -> None:
    if progress is not None:
        try:
            progress(n)
        except BaseException as exc:
            raise CallerError(exc) from exc


class Arriving:
    """The record of a file whose SHA-256 is not known before it arrives (a client that
    hashes while it sends): the size is checked as usual, and once every byte is in,
    ``sha256`` is the digest of what arrived, for the caller to compare afterwards.

    Example:
        >>> record = Arriving("a.bin", 3)
        >>> record.sha256
        ''

    """

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self.sha256 = ""


def check(expected: ArtifactFile, digest: Any, size: int, *, final: bool) -> None:
    """Raise when the bytes read so far cannot be (or, when ``final``, are not) ``expected``."""
    if final and isinstance(expected, Arriving) and size == expected.size:
        cast(Arriving, expected).sha256 = digest.hexdigest()  # the store's hash of what arrived
    if size > expected.size or (
        final and (size != expected.size or digest.hexdigest() != expected.sha256)
    ):
        raise ArtifactIntegrityError(
            f"artifact {expected.path!r} changed while it was being stored: expected "
            f"{expected.size} bytes with sha256 {expected.sha256[:12]}…, read "
            f"{'more than ' if not final else ''}{size} bytes"
            + (f" with sha256 {digest.hexdigest()[:12]}…" if final else "")
            + "; nothing was registered"
        )


def feed(
    chunks: Iterator[bytes],
    expected: ArtifactFile,
    progress: ProgressCallback | None,
    write: Callable[[bytes], object],
) -> None:
    """Hash, check and ``write`` every chunk; raise when the bytes are not ``expected``."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        check(expected, digest, size, final=False)
        write(chunk)
        report(progress, len(chunk))
    check(expected, digest, size, final=True)
