"""The one download implementation: ``Range`` parsing and the response for an opened artifact.

Both the API's ``GET /api/v1/cards/{registry}/{uid}/files/{path}`` and the
standalone UI's copy of it (``opsml ui``) answer through :func:`artifact_response`
over ``RegistryBackend.open_artifact``.

Example:
    >>> parse_range("bytes=0-" + "9" * 5000, 10)
    (0, 10)

"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator

from fastapi import Response
from fastapi.responses import StreamingResponse

from opsml.backends.base import ArtifactReader
from opsml_server.handlers import RangeNotSatisfiableError

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_MAX_DIGITS = 19
"""More digits than any file size: such a number is read as "beyond every file"."""


def _number(digits: str) -> int:
    """A range bound; numbers longer than any file size are capped (no 4300-digit error)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``[start, end)`` of a single ``Range: bytes=`` header; ``None`` means the whole file.

    Multiple ranges and malformed headers are ignored (the whole file is sent,
    as RFC 9110 allows); a range starting beyond the end is unsatisfiable, however
    many digits its numbers have.

    Example:
        >>> parse_range("bytes=10-", 100), parse_range("bytes=-10", 100), parse_range(None, 5)
        ((10, 100), (90, 100), None)

    """
    if not header:
        return None
    match = _RANGE_RE.fullmatch(header.strip())
    if not match or (not match[1] and not match[2]):
        return None
    first, last = match[1], match[2]
    if not first:  # suffix: the last N bytes
        length = _number(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiableError(f"range {_short(header)!r} of a {size}-byte file", size)
        return max(0, size - length), size
    start = _number(first)
    end = size if not last else min(_number(last) + 1, size)
    if last and _number(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiableError(
            f"range {_short(header)!r} starts beyond the end of the {size}-byte file", size
        )
    return start, end


def _short(header: str) -> str:
    """The header as quoted in a message (a huge one is cut)."""
    return header if len(header) <= 80 else header[:60] + "…"


def artifact_response(
    artifact: ArtifactReader,
    range_header: str | None,
    count: Callable[[int], None] | None = None,
) -> Response:
    """The response for one opened artifact: 200, or 206 for a ``Range`` (416 when unsatisfiable).

    The bytes are sent as stored, never trimmed to the record: a changed file
    must fail the client's digest check. A folder store knows the real size.

    Args:
        artifact: the opened file (``RegistryBackend.open_artifact``).
        range_header: the request's ``Range`` header, if any.
        count: called with the size of every chunk sent (metrics), if given.

    """
    span = parse_range(range_header, artifact.size)
    start, end = span or (0, artifact.size)
    open_ended = span is None or (range_header or "").rstrip().endswith("-")
    chunks = artifact.chunks(start, None if open_ended else end)
    first = next(chunks, b"")  # a missing file fails here, before the response starts
    headers = _download_headers(artifact, span, start, end, sized=not open_ended)
    status = 206 if span is not None else 200
    second = next(chunks, None) if first else None
    if second is None:  # the whole answer is in hand (a small file): no streaming
        if count:
            count(len(first))
        headers["Content-Length"] = str(len(first))
        return Response(
            first, status_code=status, media_type="application/octet-stream", headers=headers
        )
    return StreamingResponse(
        _counted(itertools.chain((first, second), chunks), count),
        status_code=status,
        media_type="application/octet-stream",
        headers=headers,
    )


def _download_headers(
    artifact: ArtifactReader, span: tuple[int, int] | None, start: int, end: int, *, sized: bool
) -> dict[str, str]:
    """Headers of a download: the record's digest, and the length when it is known."""
    item = artifact.item
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{item.sha256}"',
        "X-Opsml-Sha256": item.sha256,
        "X-Opsml-Size": str(item.size),
        "Content-Disposition": f'attachment; filename="{item.path.rsplit("/", 1)[-1]}"',
    }
    if artifact.stored_size is not None or sized:
        headers["Content-Length"] = str(end - start)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{artifact.size}"
    return headers


def _counted(chunks: Iterator[bytes], count: Callable[[int], None] | None) -> Iterator[bytes]:
    for chunk in chunks:
        if count:
            count(len(chunk))
        yield chunk
