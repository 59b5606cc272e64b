"""Primitives of a folder store: temporary file and rename, plain reads, ``rmtree``.

Example:
    >>> import tempfile
    >>> from opsml.storage import ArtifactStore
    >>> type(ArtifactStore(tempfile.mkdtemp())).__name__
    'LocalStore'

"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from opsml.errors import StorageError
from opsml.storage._verify import feed
from opsml.storage.digest import CHUNK_SIZE
from opsml.storage.store import ArtifactStore

if TYPE_CHECKING:
    from opsml._types import ProgressCallback
    from opsml.schemas import ArtifactFile


class LocalStore(ArtifactStore, kind="local"):
    """A folder: atomic renames, a ``stat`` for sizes (see :class:`ArtifactStore`)."""

    @property
    def is_local(self) -> bool:
        """Always true here."""
        return True

    def local_path(self, key: str) -> Path:
        """The local path of ``key``."""
        return Path(self._full(key))

    def stored_size(self, key: str) -> int | None:
        """The size of ``key`` (one ``stat``), ``None`` when it is missing."""
        try:
            return self.local_path(key).stat().st_size
        except OSError:
            return None

    def _write(
        self,
        chunks: Iterator[bytes],
        key: str,
        expected: ArtifactFile,
        progress: ProgressCallback | None,
    ) -> None:
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with open(part, "wb") as out:
                feed(chunks, expected, progress, out.write)
            os.replace(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise

    def _move(self, source: Path, key: str) -> bool:
        if source.is_symlink():  # a link to someone's file: the store keeps its own copy
            return False
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:
            return False  # another device: the caller copies
        return True

    def _read(self, key: str, start: int, end: int | None) -> Iterator[bytes]:
        try:
            handle = open(self._full(key), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise self._missing(key) from None
        except OSError as exc:
            raise StorageError(self._message("read", key, exc)) from None
        return self._read_handle(handle, key, start, end)

    def _read_handle(
        self, handle: IO[bytes], key: str, start: int, end: int | None
    ) -> Iterator[bytes]:
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

    def _find(self, full: str) -> list[str]:
        if not Path(full or ".").exists():
            return []
        return super()._find(full)

    def _remove(self, full: str) -> None:
        shutil.rmtree(full, ignore_errors=True)

    def _probe(self) -> None:
        Path(self._full("")).mkdir(parents=True, exist_ok=True)
        super()._probe()

    def _prepare_target(self, full: str) -> None:
        Path(full).parent.mkdir(parents=True, exist_ok=True)
