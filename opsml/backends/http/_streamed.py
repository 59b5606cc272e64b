"""Registrations whose bytes come from a stream (a copy from another registry), not a folder.

The server's upload session already takes each file as one streamed ``PUT``
(:mod:`opsml.backends.http._transfers`), checked for size and SHA-256 as it
arrives, and registers nothing before the commit. A stream therefore needs no
local copy: each file goes from ``source(item)`` into its ``PUT``, one file at
a time, in bounded memory. A failure (or a killed client) before the commit
leaves only an uncommitted session, which the server drops (``abort``, or its
session sweep).

Presigned uploads are not used here: their ``PUT`` goes to the store, and only
the commit, after every file, would verify them; the staged session checks
each file as it lands.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from opsml.backends.http import _transfers
from opsml.errors import ArtifactIntegrityError, OpsmlError
from opsml.schemas import ArtifactFile, CardCreate, CardPublic

if TYPE_CHECKING:
    from opsml.backends.base import FileSource, ProgressCallback
    from opsml.backends.http._transport import Transport


def _sized(
    chunks: Iterable[bytes], item: ArtifactFile, progress: ProgressCallback | None
) -> Iterator[bytes]:
    """The chunks, refused as soon as they are more (or, at the end, fewer) than announced."""
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > item.size:
            break
        if progress:
            progress(len(chunk))
        yield chunk
    if size != item.size:  # the server would see a cut-off body: say what happened
        raise ArtifactIntegrityError(
            f"artifact {item.path!r} is announced as {item.size} bytes but its stream "
            f"{'carried more' if size > item.size else f'ended after {size}'}; nothing was stored"
        )


def register_streams(
    transport: Transport,
    card: CardCreate,
    source: FileSource,
    progress: ProgressCallback | None,
) -> CardPublic:
    """Open a session, stream each file of ``card`` from ``source`` into it, commit.

    Example:
        >>> register_streams(transport, card, backend_source, None)  # doctest: +SKIP

    """
    ticket = _transfers.open_session(transport, card)
    try:
        for item in card.files:
            transport.send(
                "PUT", transport.api("uploads", ticket.id, "files", item.path),
                content=_sized(source(item), item, progress),
                headers={"Content-Type": "application/octet-stream",
                         "Content-Length": str(item.size)},
            )  # fmt: skip
        response = transport.send(
            "POST", transport.api("uploads", ticket.id, "commit"),
            read_timeout=max(transport.timeout, _transfers.COMMIT_TIMEOUT),
        )  # fmt: skip
    except BaseException:
        with contextlib.suppress(OpsmlError):  # else the server's sweep removes it
            transport.send("DELETE", transport.api("uploads", ticket.id), timeout=10.0)
        raise
    return transport.parse(CardPublic, response)
