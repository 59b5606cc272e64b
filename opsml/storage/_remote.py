"""Primitives of object stores: S3 and GCS (:class:`CloudStore`), any other fsspec protocol.

A cloud upload streams part-sized blocks into a multipart (S3) or resumable
(GCS) upload that is completed only after the size and SHA-256 check, and
aborted on any failure; reads fetch bounded byte ranges.

Example:
    >>> from opsml.storage import ArtifactStore
    >>> type(ArtifactStore("memory://registry")).__name__
    'FsspecStore'

"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from opsml.errors import ArtifactNotFoundError, StorageError
from opsml.storage import _cloud, _verify
from opsml.storage._verify import feed
from opsml.storage.store import ArtifactStore

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from opsml._types import ProgressCallback
    from opsml.schemas import ArtifactFile


def rechunk(chunks: Iterator[bytes], block: int) -> Iterator[bytes]:
    """Regroup ``chunks`` into ``block``-sized pieces (the last may be shorter).

    Example:
        >>> list(rechunk(iter([b"ab", b"cde"]), 2))
        [b'ab', b'cd', b'e']

    """
    pending: list[bytes | memoryview] = []
    held = 0
    for chunk in chunks:
        view = memoryview(chunk)
        while held + len(view) >= block:  # one copy per block: the join, never a slice of it
            take = block - held
            pending.append(view[:take])
            joined = b"".join(pending)
            pending, held, view = [], 0, view[take:]
            yield joined  # the pieces are released while the caller sends this block
        if view:
            pending.append(view)
            held += len(view)
    if pending:
        yield b"".join(pending)


def _discard(handle: Any) -> None:
    """Abort a buffered upload without ever committing it."""
    with contextlib.suppress(Exception):
        handle.discard()
    handle.closed = True  # __del__ / close() must not commit what was written so far
    handle.buffer = None


class FsspecStore(ArtifactStore, kind="fsspec"):
    """Any other fsspec protocol, through its buffered writer and ranged reads."""

    def _write(
        self,
        chunks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None,
    ) -> None:
        block = _cloud.block_size_for(expected.size, self.block_size)
        out = self.fs.open(self._full(key), "wb", block_size=block)
        try:
            feed(chunks, expected, progress, out.write)
            out.close()  # commits
        except BaseException:
            _discard(out)
            raise

    def _read(self, key: str, start: int, end: int | None) -> Iterator[bytes]:
        size = self.size(key)  # a missing file raises here, before the first chunk
        return self._ranges(self._full(key), key, start, size if end is None else min(end, size))

    def _ranges(self, full: str, key: str, start: int, end: int) -> Iterator[bytes]:
        fs = self.fs
        while start < end:
            stop = min(start + _cloud.READ_BLOCK_SIZE, end)
            try:
                chunk = fs.cat_file(full, start=start, end=stop)
            except FileNotFoundError:
                raise self._missing(key) from None
            except Exception as exc:
                raise StorageError(self._message("read", key, exc)) from None
            if not chunk:
                break
            start += len(chunk)
            yield chunk


class CloudStore(FsspecStore, kind="cloud"):
    """S3 (multipart uploads, one streamed ranged GET, presigned URLs) and GCS (resumable)."""

    def __init__(self, root_uri: str, **kwargs: Any) -> None:
        super().__init__(root_uri, **kwargs)
        _cloud.require_package(self.kind)

    @property
    def kind(self) -> str:
        """``s3`` or ``gs``."""
        kind = self.cloud
        assert kind is not None
        return kind

    @property
    def bucket(self) -> str:
        """The bucket of the store."""
        rest = _cloud.redact_uri(self.root_uri).split("://", 1)[1]
        return rest.split("/", 1)[0]

    @property
    def can_presign(self) -> bool:
        """S3 presigns; GCS (HMAC-less) does not here."""
        return self.kind == "s3"

    def _open_fs(self) -> tuple[AbstractFileSystem, str]:
        _cloud.require_package(self.kind)
        options = {**_cloud.default_options(self.kind, self.block_size), **self._storage_options}
        if self.kind == "gs" and "://" in self.root_uri:
            fs = _cloud.gcs_filesystem(**options)
            return fs, str(fs._strip_protocol(self.root_uri))
        import fsspec

        fs, root = fsspec.core.url_to_fs(self.root_uri, **options)
        return fs, str(root)

    def _write(
        self,
        chunks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None,
    ) -> None:
        block = _cloud.block_size_for(expected.size, self.block_size)
        self._put_blocks(rechunk(chunks, block), key, expected, progress)

    def _write_file(
        self, src: IO[bytes], key: str, expected: ArtifactFile, progress: ProgressCallback | None
    ) -> None:  # one part-sized read per part, no re-buffering
        block = _cloud.block_size_for(expected.size, self.block_size)
        self._put_blocks(iter(lambda: src.read(block), b""), key, expected, progress)

    def _put_blocks(
        self,
        blocks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None,
    ) -> None:
        """Upload part-sized ``blocks`` to S3 (multipart) or GCS (resumable), checked first."""
        from opsml.storage import _gcs, _s3

        full = self._full(key)

        def check(digest: Any, size: int, final: bool) -> None:
            _verify.check(expected, digest, size, final=final)

        def report(n: int) -> None:
            _verify.report(progress, n)

        if self.kind == "s3":
            block = _cloud.block_size_for(expected.size, self.block_size)
            _s3.upload(self.fs, full, blocks, expected.size, block, check, report)
        else:
            _gcs.upload(self.fs, full, blocks, expected.size, check, report)

    def _read(self, key: str, start: int, end: int | None) -> Iterator[bytes]:
        if self.kind != "s3":
            return super()._read(key, start, end)
        from opsml.storage import _s3

        size = self.size(key)
        stop = size if end is None else min(end, size)
        return self._guard(_s3.download(self.fs, self._full(key), start, stop), key)

    def _guard(self, chunks: Iterator[bytes], key: str) -> Iterator[bytes]:
        try:
            yield from chunks
        except FileNotFoundError:
            raise self._missing(key) from None
        except (ArtifactNotFoundError, StorageError, GeneratorExit):
            raise
        except Exception as exc:
            raise StorageError(self._message("read", key, exc)) from None

    def _probe(self) -> None:
        fs: Any = self.fs
        bucket, _, prefix = (self._root or "").partition("/")
        wait = _cloud.PROBE_TIMEOUT
        if self.kind == "s3":
            fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1, timeout=wait)
        else:
            fs.call("GET", "b/{}/o", bucket, prefix=prefix or None, maxResults=1,
                    json_out=True, timeout=wait)  # fmt: skip

    def _reason(self, what: str, where: str, exc: BaseException) -> str:
        if isinstance(exc, FileNotFoundError) and what in ("write", "check", "list"):
            reason = f"bucket {self.bucket!r} ({self.display_uri}) does not exist"
        else:
            reason = _cloud.explain(exc, self.bucket, self.display_uri)
        return f"storage {what} {where}failed: {reason}"
