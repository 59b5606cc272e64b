"""S3 transfers without fsspec's file buffers: explicit multipart uploads, streamed GETs.

fsspec's buffered writer copies each part two or three times (its ``BytesIO``,
the part it slices out, the socket buffer), so memory grows to about three
parts. Here each part is one ``bytes`` object read straight from the source, and
a download is ONE ranged ``GetObject`` whose body is read in
:data:`~opsml.storage.digest.CHUNK_SIZE` pieces, so a transfer holds about one
part (upload) or one chunk (download) whatever the file size.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from opsml.storage.digest import CHUNK_SIZE, RunningDigest


def split(full: str) -> tuple[str, str]:
    """``bucket/key`` → (bucket, key)."""
    bucket, _, key = full.partition("/")
    return bucket, key


def upload(
    fs: Any,
    full: str,
    blocks: Iterator[bytes],
    size: int,
    block_size: int,
    check: Callable[[hashlib._Hash, int, bool], None],
    report: Callable[[int], None],
) -> None:
    """Upload ``blocks`` (each ``block_size`` bytes but the last) to ``full``.

    ``check(digest, size, final)`` raises when the bytes so far cannot match the
    record (``final``: all of them were read); nothing is then committed. A file
    of at most one block goes up in one ``PutObject`` after the check; larger
    files use a multipart upload that is completed only after the check and
    aborted on any failure, so a half-written object is never visible.
    """
    bucket, key = split(full)
    running = RunningDigest(check, report)

    if size <= block_size:
        body = b"".join(blocks)
        running.take(body)
        running.finish()
        fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body)
        return
    upload_id = fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
    try:
        parts: list[dict[str, Any]] = []
        for number, block in enumerate(blocks, 1):
            running.take(block)
            answer = fs.call_s3(
                "upload_part",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=block,
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            del block
        running.finish()
        fs.call_s3(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
    except BaseException:
        with contextlib.suppress(Exception):
            fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        raise


def download(fs: Any, full: str, start: int, end: int) -> Iterator[bytes]:
    """Stream bytes ``[start, end)`` of ``full`` with one ranged ``GetObject``."""
    from fsspec.asyn import sync

    if start >= end:
        return
    bucket, key = split(full)

    async def open_body() -> Any:
        answer = await fs._call_s3(
            "get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}"
        )
        return answer["Body"]

    async def read(body: Any) -> bytes:
        pieces: list[bytes] = []
        got = 0
        while got < CHUNK_SIZE:
            piece = await body.read(CHUNK_SIZE - got)
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    body = sync(fs.loop, open_body)
    try:
        while chunk := sync(fs.loop, read, body):
            yield chunk
    finally:
        with contextlib.suppress(Exception):
            body.close()
