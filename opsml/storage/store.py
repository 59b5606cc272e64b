"""The fsspec-backed artifact store: a folder, ``s3://`` or ``gs://``, the same way.

Writes (DESIGN.md §6):

- every file is hashed while it is written, and the bytes become visible under
  their final name only once size and SHA-256 match the record: a folder store
  writes a temporary file and renames it; S3 and GCS stream a multipart
  (resumable) upload of :data:`~opsml.storage._cloud.MULTIPART_BLOCK_SIZE`
  parts, completed only after the check and aborted on any failure, so memory
  stays bounded by one part and a half-written object never exists;
- a card's files live under the version folder that the SQL backend reserved
  first, so a failed registration (whose folder is then deleted) cannot
  collide with a later one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from opsml.errors import ArtifactIntegrityError, ArtifactNotFoundError, StorageError
from opsml.schemas import ArtifactFile, check_name, check_relative_path
from opsml.storage import _cloud
from opsml.storage.digest import CHUNK_SIZE

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from opsml.backends.base import ProgressCallback

_T = TypeVar("_T")


class _CallerError(Exception):
    """Carries an exception raised by caller code (a progress callback) through ``_call``."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def _report(progress: ProgressCallback | None, n: int) -> None:
    if progress is not None:
        try:
            progress(n)
        except BaseException as exc:
            raise _CallerError(exc) from exc


def card_prefix(registry: str, repository: str, name: str, version: str) -> str:
    """The folder of one card version, relative to the storage root.

    Example:
        >>> card_prefix("model", "ds", "churn", "1.2.0")
        'model/ds/churn/v1.2.0'

    """
    check_name(repository)
    check_name(name)
    if registry not in ("data", "model", "run", "pipeline"):
        raise StorageError(f"unknown registry {registry!r}")
    return f"{registry}/{repository}/{name}/v{version}"


STAGING = ".uploads"
"""Folder of the store where presigned uploads land before their commit."""


def staging_prefix(upload_id: str) -> str:
    """The folder of one presigned upload's objects, relative to the storage root.

    Example:
        >>> staging_prefix("0" * 32)
        '.uploads/00000000000000000000000000000000'

    """
    if len(upload_id) != 32 or any(c not in "0123456789abcdef" for c in upload_id):
        raise StorageError(f"{upload_id!r} is not an upload id")
    return f"{STAGING}/{upload_id}"


def _check(expected: ArtifactFile, digest: Any, size: int, *, final: bool) -> None:
    """Raise when the bytes read so far cannot be (or, when ``final``, are not) ``expected``."""
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


def _rechunk(chunks: Iterator[bytes], block: int) -> Iterator[bytes]:
    """Regroup ``chunks`` into ``block``-sized pieces (the last may be shorter)."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        while held >= block:
            joined = b"".join(pending)
            yield joined[:block]
            rest = joined[block:]
            pending, held = ([rest] if rest else []), len(rest)
    if pending:
        yield b"".join(pending)


def _discard(handle: Any) -> None:
    """Abort a cloud upload (S3 multipart, GCS resumable) without ever committing it."""
    with contextlib.suppress(Exception):
        handle.discard()
    handle.closed = True  # __del__ / close() must not commit what was written so far
    handle.buffer = None


class ArtifactStore:
    """Reads and writes card artifacts under one root URI.

    Args:
        root_uri: a folder, ``s3://bucket/prefix`` or ``gs://bucket/prefix``.
        block_size: multipart part size for cloud uploads (grown for huge files).
        **storage_options: passed to fsspec, over the defaults taken from the
            standard cloud environment (see :mod:`opsml.storage._cloud`).

    Raises:
        MissingDependencyError: ``s3fs``/``gcsfs`` is needed and not installed.

    Example:
        >>> import tempfile
        >>> store = ArtifactStore(tempfile.mkdtemp())
        >>> store.exists("model/ds/churn/v1.0.0/model.skops")
        False

    """

    def __init__(
        self,
        root_uri: str,
        *,
        block_size: int = _cloud.MULTIPART_BLOCK_SIZE,
        **storage_options: Any,
    ) -> None:
        self.root_uri = root_uri
        self.block_size = block_size
        self._storage_options = storage_options
        self._fs: AbstractFileSystem | None = None
        self._root: str | None = None
        kind = self.cloud
        if kind is not None:
            _cloud.require_package(kind)

    def __repr__(self) -> str:
        return f"ArtifactStore({_cloud.redact_uri(self.root_uri)!r})"

    @property
    def protocol(self) -> str:
        """``file``, ``s3``, ``gs``…"""
        return self.root_uri.split("://", 1)[0].lower() if "://" in self.root_uri else "file"

    @property
    def cloud(self) -> str | None:
        """``s3`` or ``gs`` for a cloud store, ``None`` otherwise."""
        return _cloud.cloud_kind(self.protocol)

    @property
    def is_local(self) -> bool:
        """True for a plain folder (renames are atomic and cheap there)."""
        return self.protocol in ("file", "local")

    @property
    def display_uri(self) -> str:
        """The root URI as shown in messages (no user info)."""
        return _cloud.redact_uri(self.root_uri)

    @property
    def bucket(self) -> str:
        """The bucket of a cloud store (the folder of a local one)."""
        if self.cloud is None:
            return self.root_uri
        rest = _cloud.redact_uri(self.root_uri).split("://", 1)[1]
        return rest.split("/", 1)[0]

    @property
    def fs(self) -> AbstractFileSystem:
        """The fsspec filesystem, built on first use (cloud packages load only then)."""
        if self._fs is None:
            kind = self.cloud
            if kind is not None:
                _cloud.require_package(kind)
            options = {**_cloud.default_options(kind, self.block_size), **self._storage_options}
            if kind is None:
                options = self._storage_options
            try:
                import fsspec

                if kind == "gs" and "://" in self.root_uri:
                    fs = _cloud.gcs_filesystem(**options)
                    root = fs._strip_protocol(self.root_uri)
                else:
                    fs, root = fsspec.core.url_to_fs(self.root_uri, **options)
            except ImportError as exc:
                from opsml.errors import MissingDependencyError

                raise MissingDependencyError(
                    f"storage {self.protocol}:// needs an extra package ({exc.name}): install "
                    f"it with `pip install 'opsml-prefect[{kind or self.protocol}]'`"
                ) from exc
            except Exception as exc:  # bad credentials file, malformed URI...
                raise StorageError(
                    f"storage {self.display_uri} cannot be opened: "
                    f"{_cloud.explain(exc, self.bucket, self.display_uri)}"
                ) from None
            self._fs, self._root = fs, root.rstrip("/")
        return self._fs

    def _full(self, key: str) -> str:
        self.fs  # noqa: B018 - builds the filesystem and its root
        return f"{self._root}/{key}" if self._root else key

    def local_path(self, key: str) -> Path:
        """The local path of ``key`` (folder stores only)."""
        if not self.is_local:
            raise StorageError(f"{self.display_uri} is not a local folder")
        return Path(self._full(key))

    def stored_size(self, key: str) -> int | None:
        """The size of ``key`` when it costs one ``stat`` (a folder store), else ``None``."""
        if not self.is_local:
            return None
        try:
            return self.local_path(key).stat().st_size
        except OSError:
            return None

    def exists(self, key: str) -> bool:
        """Whether a file is stored at ``key``."""
        return bool(self._call("check", key, lambda: self.fs.isfile(self._full(key))))

    # -- writes ----------------------------------------------------------------------

    def put_file(
        self,
        source: Path,
        key: str,
        expected: ArtifactFile,
        *,
        move: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Store ``source`` at ``key``, verifying size and SHA-256 while copying.

        With ``move=True`` on a folder store the file is renamed into place when
        it is on the same device (the caller has verified it already). Nothing
        appears at ``key`` unless the bytes match ``expected``.

        Raises:
            ArtifactIntegrityError: the bytes do not match ``expected``.
            StorageError: the store failed (the message names the store, never a credential).

        """
        if move and self.is_local:
            target = self.local_path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, target)
                if progress:
                    progress(expected.size)
                return
            except OSError:
                pass  # another device: copy below
        with open(source, "rb") as src:
            if self.cloud is not None:  # one part-sized read per part, no re-buffering
                block = _cloud.block_size_for(expected.size, self.block_size)
                self._put_blocks(iter(lambda: src.read(block), b""), key, expected, progress)
            else:
                chunks = iter(lambda: src.read(CHUNK_SIZE), b"")
                self.put_stream(chunks, key, expected, progress)

    def put_stream(
        self,
        chunks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Store the bytes of ``chunks`` at ``key`` if they match ``expected`` (see put_file)."""
        if self.cloud is not None:
            block = _cloud.block_size_for(expected.size, self.block_size)
            self._put_blocks(_rechunk(chunks, block), key, expected, progress)
            return
        digest = hashlib.sha256()
        size = 0

        def feed(write: Callable[[bytes], object]) -> None:
            nonlocal size
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                _check(expected, digest, size, final=False)
                write(chunk)
                _report(progress, len(chunk))
            _check(expected, digest, size, final=True)

        full = self._full(key)
        if self.is_local:
            target = Path(full)

            def write_local() -> None:
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
                try:
                    with open(part, "wb") as out:
                        feed(out.write)
                    os.replace(part, target)
                except BaseException:
                    part.unlink(missing_ok=True)
                    raise

            self._call("write", key, write_local)
            return

        block = _cloud.block_size_for(expected.size, self.block_size)

        def write_other() -> None:  # any other fsspec store: its buffered writer
            out = self.fs.open(full, "wb", block_size=block)
            try:
                feed(out.write)
            except BaseException:
                _discard(out)
                raise
            try:
                out.close()  # commits
            except BaseException:
                _discard(out)
                raise

        self._call("write", key, write_other)

    def _put_blocks(
        self,
        blocks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None,
    ) -> None:
        """Upload part-sized ``blocks`` to S3 (multipart) or GCS (resumable), checked first."""
        from opsml.storage import _gcs, _s3

        block = _cloud.block_size_for(expected.size, self.block_size)
        full = self._full(key)

        def check(digest: Any, size: int, final: bool) -> None:
            _check(expected, digest, size, final=final)

        def report(n: int) -> None:
            _report(progress, n)

        def run() -> None:
            if self.cloud == "s3":
                _s3.upload(self.fs, full, blocks, expected.size, block, check, report)
            else:
                _gcs.upload(self.fs, full, blocks, expected.size, check, report)

        self._call("write", key, run)

    # -- reads -----------------------------------------------------------------------

    def iter_file(self, key: str, *, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream the bytes of ``key`` from ``start`` up to ``end`` (exclusive).

        A missing file raises :class:`ArtifactNotFoundError` at once (before the
        first chunk is asked for). Cloud stores fetch
        :data:`~opsml.storage._cloud.READ_BLOCK_SIZE` per ranged GET, so memory
        stays bounded whatever the file size.
        """
        full = self._full(key)
        if self.is_local:
            try:
                handle = open(full, "rb")  # noqa: SIM115 - closed by the generator
            except FileNotFoundError:
                raise self._missing(key) from None
            except OSError as exc:
                raise StorageError(self._message("read", key, exc)) from None
            return self._read_local(handle, key, start, end)
        size = self.size(key)
        stop = size if end is None else min(end, size)
        if self.cloud == "s3":
            from opsml.storage import _s3

            return self._guard(_s3.download(self.fs, full, start, stop), key)
        return self._read_cloud(full, key, start, stop)

    def _guard(self, chunks: Iterator[bytes], key: str) -> Iterator[bytes]:
        try:
            yield from chunks
        except FileNotFoundError:
            raise self._missing(key) from None
        except (ArtifactNotFoundError, StorageError, GeneratorExit):
            raise
        except Exception as exc:
            raise StorageError(self._message("read", key, exc)) from None

    def _missing(self, key: str) -> ArtifactNotFoundError:
        return ArtifactNotFoundError(f"artifact {key!r} is missing from storage {self.display_uri}")

    def _read_local(self, handle: Any, key: str, start: int, end: int | None) -> Iterator[bytes]:
        with handle:
            try:
                if start:
                    handle.seek(start)
                remaining = None if end is None else end - start
                while remaining is None or remaining > 0:
                    want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
                    chunk = handle.read(want)
                    if not chunk:
                        break
                    if remaining is not None:
                        remaining -= len(chunk)
                    yield chunk
            except OSError as exc:
                raise StorageError(self._message("read", key, exc)) from None

    def _read_cloud(self, full: str, key: str, start: int, end: int) -> Iterator[bytes]:
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

    def hash_file(self, key: str) -> tuple[str, int]:
        """The SHA-256 and size of a stored file, streamed in bounded memory."""
        digest = hashlib.sha256()
        size = 0
        for chunk in self.iter_file(key):
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    def size(self, key: str) -> int:
        """The stored size of ``key`` in bytes."""
        try:
            info = self.fs.info(self._full(key))
        except FileNotFoundError:
            raise self._missing(key) from None
        except Exception as exc:
            raise StorageError(self._message("read", key, exc)) from None
        return int(info["size"])

    def list_files(self, prefix: str = "") -> list[str]:
        """Every stored file under ``prefix``, as sorted keys relative to the root."""
        full = self._full(prefix).rstrip("/")
        base = self._root or ""

        def walk() -> list[str]:
            if self.is_local and not Path(full or ".").exists():
                return []
            try:
                found = self.fs.find(full or base, withdirs=False)
            except FileNotFoundError:
                return []
            out: list[str] = []
            for path in found:
                rel = str(path)[len(base) :].lstrip("/") if base else str(path)
                if rel and not rel.endswith("/"):
                    out.append(rel)
            return sorted(out)

        return list(self._call("list", prefix, walk))

    # -- deletes and probes ----------------------------------------------------------

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file under ``prefix`` (a card's folder); missing is fine."""
        if not prefix.strip("/"):
            raise StorageError("refusing to delete the whole store")
        full = self._full(prefix)
        if self.is_local:
            shutil.rmtree(full, ignore_errors=True)
            return

        def remove() -> None:
            keys = self.fs.find(full.rstrip("/"), withdirs=False)
            if keys:
                self.fs.rm(keys)

        self._call("delete", prefix, remove)

    def check(self) -> None:
        """Raise StorageError when the root cannot be reached (readiness).

        A cloud store makes one small listing request of its prefix (one key at
        most), so a missing bucket, wrong credentials or an outage show at once;
        nothing is cached between calls, and the probe gives up after
        :data:`~opsml.storage._cloud.PROBE_TIMEOUT` seconds.
        """

        def probe() -> None:
            if self.is_local:
                Path(self._full("")).mkdir(parents=True, exist_ok=True)
                self.fs.ls(self._full("") or "/", detail=False)
                return
            fs: Any = self.fs
            bucket, _, prefix = (self._root or "").partition("/")
            wait = _cloud.PROBE_TIMEOUT
            if self.cloud == "s3":
                fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1, timeout=wait)
            else:
                fs.call("GET", "b/{}/o", bucket, prefix=prefix or None, maxResults=1,
                        json_out=True, timeout=wait)  # fmt: skip

        self._call("check", "", probe)

    def resolve(self, relative: str) -> str:
        """Validate a relative artifact path (see ``check_relative_path``)."""
        return check_relative_path(relative)

    # -- presigned transfers (S3) ----------------------------------------------------

    @property
    def can_presign(self) -> bool:
        """True when clients can move bytes directly with presigned URLs (S3)."""
        return self.cloud == "s3"

    def presign(self, key: str, method: str, expires: int) -> str:
        """A time-limited URL for ``GET`` or ``PUT`` of exactly ``key`` (S3 only)."""
        if not self.can_presign:
            raise StorageError(f"storage {self.display_uri} cannot presign URLs")
        full = self._full(key)
        client_method = {"GET": "get_object", "PUT": "put_object"}[method]
        fs: Any = self.fs
        return str(
            self._call(
                "presign", key, lambda: fs.url(full, expires=expires, client_method=client_method)
            )
        )

    def put_staged(self, staged_key: str, key: str, expected: ArtifactFile) -> None:
        """Copy an object a client uploaded (presigned) to ``key``, then verify the copy.

        The copy is server-side; the bytes verified are those at ``key``, which no
        client URL can reach, so a client rewriting its staging object after the
        check changes nothing.

        Raises:
            ArtifactIntegrityError: the copy's size or SHA-256 differs from ``expected``.

        """
        if self.size(staged_key) != expected.size:
            raise ArtifactIntegrityError(
                f"artifact {expected.path!r} was uploaded with {self.size(staged_key)} bytes, "
                f"its record says {expected.size}; nothing was registered"
            )
        self.copy(staged_key, key)
        sha256, size = self.hash_file(key)
        if sha256 != expected.sha256 or size != expected.size:
            raise ArtifactIntegrityError(
                f"artifact {expected.path!r} as uploaded does not match its record: expected "
                f"{expected.size} bytes with sha256 {expected.sha256[:12]}…, stored {size} "
                f"bytes with sha256 {sha256[:12]}…; nothing was registered"
            )

    def copy(self, source_key: str, target_key: str) -> None:
        """Copy a stored file inside the store (server-side on S3 and GCS)."""
        source, target = self._full(source_key), self._full(target_key)

        def run() -> None:
            if self.is_local:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            self.fs.copy(source, target)

        self._call("copy", target_key, run)

    # -- errors ----------------------------------------------------------------------

    def _message(self, what: str, key: str, exc: BaseException) -> str:
        where = f"of {key!r} " if key else ""
        if self.cloud is None:
            if isinstance(exc, FileNotFoundError):
                return (
                    f"storage {what} {where}failed: {self.display_uri} or a parent does not exist"
                )
            return (
                f"storage {what} {where}under {self.display_uri} failed: "
                f"{type(exc).__name__}: {str(exc)[:200]}"
            )
        if isinstance(exc, FileNotFoundError) and what in ("write", "check", "list"):
            reason = f"bucket {self.bucket!r} ({self.display_uri}) does not exist"
        else:
            reason = _cloud.explain(exc, self.bucket, self.display_uri)
        return f"storage {what} {where}failed: {reason}"

    def _call(self, what: str, key: str, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except _CallerError as exc:
            raise exc.original from None
        except (ArtifactIntegrityError, ArtifactNotFoundError, StorageError):
            raise
        except Exception as exc:
            raise StorageError(self._message(what, key, exc)) from None
