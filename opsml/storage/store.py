"""The fsspec-backed artifact store: a folder, ``s3://`` or ``gs://``, the same way.

Writes (docs/design.md §6):

- every file is hashed while it is written, and the bytes become visible under
  their final name only once size and SHA-256 match the record: a folder store
  writes a temporary file and renames it; S3 and GCS stream a multipart
  (resumable) upload of :data:`~opsml.storage._cloud.MULTIPART_BLOCK_SIZE`
  parts, completed only after the check and aborted on any failure, so memory
  stays bounded by one part and a half-written object never exists;
- a card's files live under the version folder that the SQL backend reserved
  first, so a failed registration (whose folder is then deleted) cannot
  collide with a later one.

Layers: :class:`ArtifactStore` owns the workflow (verify while writing, walk,
read, delete, probe, presign, copy, error messages); each kind of store
supplies a few primitives: :class:`~opsml.storage._local.LocalStore` (a
folder), :class:`~opsml.storage._remote.CloudStore` (S3, GCS) and
:class:`~opsml.storage._remote.FsspecStore` (any other fsspec protocol).
``ArtifactStore(uri)`` builds the one its URI names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeVar

from opsml.errors import ArtifactIntegrityError, ArtifactNotFoundError, StorageError
from opsml.schemas import ArtifactFile
from opsml.storage import _cloud
from opsml.storage._verify import CallerError
from opsml.storage.digest import CHUNK_SIZE
from opsml.storage.layout import card_prefix, describe_key, staging_prefix

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from opsml._types import ProgressCallback

__all__ = ["ArtifactStore", "card_prefix", "staging_prefix", "store_kind"]

_T = TypeVar("_T")


def store_kind(root_uri: str) -> str:
    """``local``, ``cloud`` or ``fsspec``: which primitives a root URI needs.

    Example:
        >>> store_kind("/data/registry"), store_kind("s3://b/p"), store_kind("memory://x")
        ('local', 'cloud', 'fsspec')

    """
    protocol = root_uri.split("://", 1)[0].lower() if "://" in root_uri else "file"
    if protocol in ("file", "local"):
        return "local"
    return "cloud" if _cloud.cloud_kind(protocol) else "fsspec"


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

    _kinds: ClassVar[dict[str, type[ArtifactStore]]] = {}

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            ArtifactStore._kinds[kind] = cls

    def __new__(cls, root_uri: str, *args: Any, **kwargs: Any) -> ArtifactStore:
        """The store kind that ``root_uri`` names (see :func:`store_kind`)."""
        if cls is ArtifactStore:  # the kind the URI names (its module registers it when
            cls = ArtifactStore._kinds[store_kind(root_uri)]  # opsml.storage hands this out)
        return super().__new__(cls)

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
        return False

    @property
    def display_uri(self) -> str:
        """The root URI as shown in messages (no user info)."""
        return _cloud.redact_uri(self.root_uri)

    @property
    def bucket(self) -> str:
        """The bucket of a cloud store (the folder of a local one)."""
        return self.root_uri

    @property
    def can_presign(self) -> bool:
        """True when clients can move bytes directly with presigned URLs (S3)."""
        return False

    @property
    def fs(self) -> AbstractFileSystem:
        """The fsspec filesystem, built on first use (cloud packages load only then)."""
        if self._fs is None:
            try:
                fs, root = self._open_fs()
            except ImportError as exc:
                from opsml.errors import MissingDependencyError

                raise MissingDependencyError(
                    f"storage {self.protocol}:// needs an extra package ({exc.name}): install "
                    f"it with `pip install 'opsml-prefect[{self.cloud or self.protocol}]'`"
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

    # -- primitives: each kind of store overrides what differs --------------------------

    def _open_fs(self) -> tuple[AbstractFileSystem, str]:
        """The filesystem and the root path inside it."""
        import fsspec

        fs, root = fsspec.core.url_to_fs(self.root_uri, **self._storage_options)
        return fs, str(root)

    def _write(
        self,
        chunks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None,
    ) -> None:
        """Make the bytes of ``chunks`` visible at ``key`` only if they match ``expected``."""
        raise NotImplementedError

    def _write_file(
        self, src: IO[bytes], key: str, expected: ArtifactFile, progress: ProgressCallback | None
    ) -> None:
        """Store the bytes of an open file (as :meth:`_write`)."""
        self._write(iter(lambda: src.read(CHUNK_SIZE), b""), key, expected, progress)

    def _move(self, source: Path, key: str) -> bool:
        """Rename a verified file into place; ``False`` when the store cannot."""
        return False

    def _read(self, key: str, start: int, end: int | None) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of ``key``; a missing file raises before the first chunk."""
        raise NotImplementedError

    def _find(self, full: str) -> list[str]:
        """Every file under ``full`` (empty when it does not exist)."""
        try:
            return [str(p) for p in self.fs.find(full, withdirs=False)]
        except FileNotFoundError:
            return []

    def _remove(self, full: str) -> None:
        """Remove every file under ``full``."""
        keys = self.fs.find(full.rstrip("/"), withdirs=False)
        if keys:
            self.fs.rm(keys)

    def _probe(self) -> None:
        """One cheap request that fails when the root cannot be reached."""
        self.fs.ls(self._full("") or "/", detail=False)

    def _reason(self, what: str, where: str, exc: BaseException) -> str:
        """The message of a failed storage call (never a credential)."""
        if isinstance(exc, FileNotFoundError):
            return f"storage {what} {where}failed: {self.display_uri} or a parent does not exist"
        return (
            f"storage {what} {where}under {self.display_uri} failed: "
            f"{type(exc).__name__}: {str(exc)[:200]}"
        )

    def _prepare_target(self, full: str) -> None:
        """Make ``full`` writable (a folder store creates its parents)."""

    def stored_size(self, key: str) -> int | None:
        """The size of ``key`` when it costs one ``stat`` (a folder store), else ``None``."""
        return None

    def local_path(self, key: str) -> Path:
        """The local path of ``key`` (folder stores only)."""
        raise StorageError(f"{self.display_uri} is not a local folder")

    # -- the workflow ------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        """Whether a file is stored at ``key``."""
        return bool(self._call("check", key, lambda: self.fs.isfile(self._full(key))))

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
        if move and self._move(source, key):
            if progress:
                progress(expected.size)
            return
        with open(source, "rb") as src:
            self._call("write", key, lambda: self._write_file(src, key, expected, progress))

    def put_stream(
        self,
        chunks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Store the bytes of ``chunks`` at ``key`` if they match ``expected`` (see put_file)."""
        self._call("write", key, lambda: self._write(chunks, key, expected, progress))

    def iter_file(self, key: str, *, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` of ``key`` in bounded memory (missing: raised at once)."""
        return self._read(key, start, end)

    def _missing(self, key: str) -> ArtifactNotFoundError:
        # the client sees the card and the path; where the store lives is the server's business
        return ArtifactNotFoundError(f"{describe_key(key)} is missing from storage")

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
            out: list[str] = []
            for path in self._find(full or base):
                rel = path[len(base) :].lstrip("/") if base else path
                if rel and not rel.endswith("/"):
                    out.append(rel)
            return sorted(out)

        return list(self._call("list", prefix, walk))

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file under ``prefix`` (a card's folder); missing is fine."""
        if not prefix.strip("/"):
            raise StorageError("refusing to delete the whole store")
        full = self._full(prefix)
        self._call("delete", prefix, lambda: self._remove(full))

    def check(self) -> None:
        """Raise StorageError when the root cannot be reached (readiness).

        A cloud store makes one small listing request of its prefix (one key at
        most), so a missing bucket, wrong credentials or an outage show at once;
        nothing is cached between calls, and the probe gives up after
        :data:`~opsml.storage._cloud.PROBE_TIMEOUT` seconds.
        """
        self._call("check", "", self._probe)

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
            self._prepare_target(target)
            self.fs.copy(source, target)

        self._call("copy", target_key, run)

    # -- errors ----------------------------------------------------------------------

    def _message(self, what: str, key: str, exc: BaseException) -> str:
        return self._reason(what, f"of {key!r} " if key else "", exc)

    def _call(self, what: str, key: str, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except CallerError as exc:
            raise exc.original from None
        except (ArtifactIntegrityError, ArtifactNotFoundError, StorageError):
            raise
        except Exception as exc:
            raise StorageError(self._message(what, key, exc)) from None
