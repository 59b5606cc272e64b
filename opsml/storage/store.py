"""The fsspec-backed artifact store."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsml.errors import ArtifactIntegrityError, ArtifactNotFoundError, StorageError
from opsml.schemas import ArtifactFile, check_name, check_relative_path
from opsml.storage.digest import CHUNK_SIZE

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from opsml.backends.base import ProgressCallback

_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


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


class ArtifactStore:
    """Reads and writes card artifacts under one root URI.

    Example:
        >>> import tempfile
        >>> store = ArtifactStore(tempfile.mkdtemp())
        >>> store.exists("model/ds/churn/v1.0.0/model.skops")
        False

    """

    def __init__(self, root_uri: str, **storage_options: Any) -> None:
        self.root_uri = root_uri
        self._storage_options = storage_options
        self._fs: AbstractFileSystem | None = None
        self._root: str | None = None

    def __repr__(self) -> str:
        return f"ArtifactStore({self.root_uri!r})"

    @property
    def protocol(self) -> str:
        """``file``, ``s3``, ``gs``…"""
        return self.root_uri.split("://", 1)[0] if "://" in self.root_uri else "file"

    @property
    def is_local(self) -> bool:
        """True for a plain folder (renames are atomic and cheap there)."""
        return self.protocol in ("file", "local")

    @property
    def fs(self) -> AbstractFileSystem:
        """The fsspec filesystem, built on first use (cloud packages load only then)."""
        if self._fs is None:
            extra = _EXTRAS.get(self.protocol)
            try:
                import fsspec

                fs, root = fsspec.core.url_to_fs(self.root_uri, **self._storage_options)
            except ImportError as exc:
                from opsml.errors import MissingDependencyError

                raise MissingDependencyError(
                    f"storage {self.protocol}:// needs an extra package ({exc.name}): install "
                    f"it with `pip install 'opsml-prefect[{extra or self.protocol}]'`"
                ) from exc
            self._fs, self._root = fs, root.rstrip("/")
        return self._fs

    def _full(self, key: str) -> str:
        self.fs  # noqa: B018 - builds the filesystem and its root
        return f"{self._root}/{key}" if self._root else key

    def local_path(self, key: str) -> Path:
        """The local path of ``key`` (folder stores only)."""
        if not self.is_local:
            raise StorageError(f"{self.root_uri} is not a local folder")
        return Path(self._full(key))

    def exists(self, key: str) -> bool:
        """Whether a file is stored at ``key``."""
        return bool(self._call("check", key, lambda: self.fs.exists(self._full(key))))

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
        it is on the same device (the caller has verified it already).

        Raises:
            ArtifactIntegrityError: the bytes do not match ``expected``.
            StorageError: the store failed.

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
        digest = hashlib.sha256()
        size = 0

        def copy() -> None:
            nonlocal size
            full = self._full(key)
            if self.is_local:
                Path(full).parent.mkdir(parents=True, exist_ok=True)
            with open(source, "rb") as src, self.fs.open(full, "wb") as out:
                while chunk := src.read(CHUNK_SIZE):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                    _report(progress, len(chunk))

        self._call("write", key, copy)
        if size != expected.size or digest.hexdigest() != expected.sha256:
            raise ArtifactIntegrityError(
                f"artifact {expected.path!r} changed while it was being stored: expected "
                f"{expected.size} bytes with sha256 {expected.sha256[:12]}…, read {size} bytes "
                f"with sha256 {digest.hexdigest()[:12]}…; nothing was registered"
            )

    def iter_file(self, key: str, *, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream the bytes of ``key`` from ``start`` up to ``end`` (exclusive)."""
        try:
            handle = self.fs.open(self._full(key), "rb")
        except FileNotFoundError:
            raise ArtifactNotFoundError(f"artifact {key!r} is missing from storage") from None
        except Exception as exc:
            raise StorageError(f"storage read of {key!r} failed: {type(exc).__name__}") from exc
        with handle:
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

    def delete_prefix(self, prefix: str) -> None:
        """Remove every file under ``prefix`` (a card's folder); missing is fine."""
        full = self._full(prefix)
        if self.is_local:
            shutil.rmtree(full, ignore_errors=True)
            return

        def remove() -> None:
            if self.fs.exists(full):
                self.fs.rm(full, recursive=True)

        self._call("delete", prefix, remove)

    def check(self) -> None:
        """Raise StorageError when the root cannot be reached (readiness)."""

        def probe() -> None:
            if self.is_local:
                Path(self._full("")).mkdir(parents=True, exist_ok=True)
            self.fs.ls(self._full("") or "/", detail=False)

        self._call("check", "", probe)

    def resolve(self, relative: str) -> str:
        """Validate a relative artifact path (see ``check_relative_path``)."""
        return check_relative_path(relative)

    def _call(self, what: str, key: str, fn: Any) -> Any:
        try:
            return fn()
        except _CallerError as exc:
            raise exc.original from None
        except (ArtifactIntegrityError, ArtifactNotFoundError, StorageError):
            raise
        except FileNotFoundError as exc:
            raise StorageError(
                f"storage {what} of {key!r} failed: {self.root_uri} or a parent does not exist"
            ) from exc
        except Exception as exc:
            raise StorageError(
                f"storage {what} of {key!r} under {self.protocol}:// failed: "
                f"{type(exc).__name__}: {str(exc)[:200]}"
            ) from exc
