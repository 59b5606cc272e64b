"""Artifact transfers of the SQL backend: reading stored files, presigned URLs, staging keys.

The storage keys of a card's files and of presigned uploads are computed here
and in :mod:`opsml.storage` only; callers (the registry server) see
:class:`~opsml.backends.base.ArtifactReader`, :class:`~opsml.schemas.UploadTicket`
and :class:`~opsml.schemas.PresignedFile`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from opsml.backends.base import ArtifactReader
from opsml.errors import InvalidInputError, PresignUnsupportedError, UploadIncompleteError
from opsml.schemas import (
    ArtifactFile,
    CardCreate,
    CardPublic,
    PresignedFile,
    UploadTicket,
    check_relative_path,
)
from opsml.storage import card_prefix, staging_prefix

__all__ = ["StoredArtifact", "staging_prefix"]

if TYPE_CHECKING:
    from pathlib import Path

    from opsml.backends.base import ProgressCallback
    from opsml.storage import ArtifactStore


class StoredArtifact(ArtifactReader):
    """One file of a registered card in an :class:`~opsml.storage.ArtifactStore`."""

    def __init__(self, store: ArtifactStore, key: str, item: ArtifactFile) -> None:
        super().__init__(item, store.stored_size(key))
        self._store = store
        self._key = key

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """See :meth:`ArtifactReader.chunks`."""
        return self._store.iter_file(self._key, start=start, end=end)


def version_prefix(card: CardCreate | CardPublic, version: str) -> str:
    """The storage folder of ``card`` at ``version``."""
    return card_prefix(card.registry, card.repository, card.name, version)


def file_key(card: CardPublic, path: str) -> tuple[ArtifactFile, str]:
    """The record of one file of ``card`` and its storage key."""
    item = card.file(check_relative_path(path))
    return item, f"{version_prefix(card, card.version)}/{item.path}"


def require_presign(store: ArtifactStore) -> None:
    """Raise :class:`PresignUnsupportedError` unless ``store`` can presign URLs."""
    if not store.can_presign:
        raise PresignUnsupportedError(
            f"this registry's {store.protocol}:// store cannot presign URLs; "
            "upload and download through the server"
        )


def presign_file(
    store: ArtifactStore, item: ArtifactFile, key: str, method: str, expires: int
) -> PresignedFile:
    """A presigned URL for ``key`` with the record it must match."""
    return PresignedFile(
        path=item.path,
        url=store.presign(key, method, expires),
        method=method,
        size=item.size,
        sha256=item.sha256,
    )


def presigned_ticket(
    store: ArtifactStore, card: CardCreate, upload_id: str, expires: int
) -> UploadTicket:
    """One presigned PUT per file, each scoped to its staging object."""
    prefix = staging_prefix(upload_id)
    files = [
        presign_file(store, item, f"{prefix}/{item.path}", "PUT", expires) for item in card.files
    ]
    return UploadTicket(id=upload_id, presigned=True, expires_in=expires, files=files)


def check_uploaded(store: ArtifactStore, card: CardCreate, upload_id: str) -> str:
    """Raise unless every file of a presigned upload is in the store; return its prefix.

    Runs before a version is reserved: a cheap HEAD per file.
    """
    prefix = staging_prefix(upload_id)
    for item in card.files:
        if not store.exists(f"{prefix}/{item.path}"):
            raise UploadIncompleteError(
                f"artifact {item.path!r} of upload session {upload_id} was not uploaded; "
                "PUT it to its presigned URL before committing"
            )
    return prefix


def put_staging(
    store: ArtifactStore,
    card: CardCreate,
    upload_id: str,
    source_dir: Path,
    progress: ProgressCallback | None,
) -> None:
    """Store the files of ``source_dir`` as a presigned upload's staging objects."""
    prefix = staging_prefix(upload_id)
    for item in card.files:
        store.put_file(source_dir / item.path, f"{prefix}/{item.path}", item, progress=progress)


def check_sources(card: CardCreate, source_dir: Path | None) -> None:
    """Refuse a file listed twice, or listed but missing from ``source_dir`` (when given)."""
    seen: set[str] = set()
    for item in card.files:
        if item.path in seen:
            raise InvalidInputError(f"artifact {item.path!r} is listed twice")
        seen.add(item.path)
        if source_dir is not None and not (source_dir / item.path).is_file():
            raise InvalidInputError(f"artifact {item.path!r} is listed but missing from the upload")
