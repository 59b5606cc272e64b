"""GCS uploads without fsspec's file buffer: one resumable upload, one part-sized read per chunk.

The total size is announced with every chunk (``Content-Range: bytes a-b/total``),
so the object appears only when its last byte arrives, and every byte is hashed
before it is sent: a digest mismatch cancels the upload before the last chunk,
so a wrong or half-written object is never visible.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from opsml.storage.digest import RunningDigest

CONTENT_TYPE = "application/octet-stream"


def upload(
    fs: Any,
    full: str,
    blocks: Iterator[bytes],
    size: int,
    check: Callable[[hashlib._Hash, int, bool], None],
    report: Callable[[int], None],
) -> None:
    """Upload ``blocks`` (multiples of 256 KiB but the last) to ``full`` (see ``_s3.upload``)."""
    from fsspec.asyn import sync
    from gcsfs.core import initiate_upload, simple_upload

    bucket, _, key = full.partition("/")
    running = RunningDigest(check, report)

    first = next(blocks, b"")
    if len(first) >= size:  # everything in one block: one request after the check
        running.take(first)
        running.finish()
        sync(fs.loop, simple_upload, fs, bucket, key, first, content_type=CONTENT_TYPE)
        return
    location = sync(fs.loop, initiate_upload, fs, bucket, key, CONTENT_TYPE)
    try:
        offset = 0
        block: bytes | None = first
        while block:
            running.take(block)
            if running.seen >= size:
                running.finish()  # before the chunk that creates the object
            sync(fs.loop, _send, fs, location, block, offset, size)
            offset += len(block)
            block = None  # free this part before the next one is read
            block = next(blocks, b"")
        running.finish()  # fewer bytes than announced
    except BaseException:
        with contextlib.suppress(Exception):
            sync(fs.loop, fs._call, "DELETE", location)
        raise


async def _send(fs: Any, location: str, data: bytes, offset: int, size: int) -> None:
    """POST one chunk of a resumable upload as a stream (aiohttp reads it in small pieces).

    A ``bytes`` body would be handed to the socket whole, and the event loop would
    copy what the socket cannot take at once: up to another chunk in memory.
    """
    from gcsfs.core import UnclosableBytesIO

    while data:
        head = {
            "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{size}",
            "Content-Type": CONTENT_TYPE,
            "Content-Length": str(len(data)),
        }
        headers, _ = await fs._call("POST", location, headers=head, data=UnclosableBytesIO(data))
        if "Range" not in headers:
            return
        end = int(headers["Range"].split("-")[1])  # the server kept bytes up to ``end``
        kept = end + 1 - offset
        if kept >= len(data):
            return
        data, offset = data[kept:], end + 1
