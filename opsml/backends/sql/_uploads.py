"""Uploads of the SQL backend: open, commit and abort (see :class:`RegistryBackend`).

Three ways in, one registration (:meth:`UploadsMixin._register`) at the end:

- *from a folder* (``source_dir``): each file is copied with its digest
  checked;
- *staged* (a registry server's upload session, ``source_dir`` ``None``): the
  files wait under the store's ``.uploads/{id}/``, already verified as they
  arrived (:mod:`opsml.backends.sql._sessions`), and move into place by rename
  (folder store) or server-side copy (S3, GCS) with no byte through the server;
- *presigned*: clients PUT straight to ``.uploads/{id}/``; each object is copied
  server-side and the copy is hashed before it counts.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from opsml.backends.sql import _transfers
from opsml.backends.sql._queries import check_registry
from opsml.backends.sql._rows import check_sources
from opsml.backends.sql._sessions import SqlUploadSessions
from opsml.errors import OpsmlError
from opsml.schemas import PRESIGN_EXPIRES, ArtifactFile, CardCreate, CardPublic, UploadTicket
from opsml.storage._staging import promote

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Connection

    from opsml.backends.base import ProgressCallback
    from opsml.storage import ArtifactStore

Place = Callable[[ArtifactFile, str], None]
"""Stores one file of a registration at its key (raises when it does not match)."""


class UploadsMixin(abc.ABC):
    """``create_upload`` / ``commit_upload`` / ``abort_upload`` over ``_register``, and
    ``can_presign``.
    """

    store: ArtifactStore

    @abc.abstractmethod
    def _connect(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        """A connection in a transaction."""

    @abc.abstractmethod
    def _register(self, card: CardCreate, actor: str | None, place: Place) -> CardPublic:
        """Reserve a version, ``place`` every file, activate the row (undone on failure)."""

    @abc.abstractmethod
    def check_signature(self, card: CardCreate, *, final: bool = True) -> None:
        """Refuse a registration the signing policy forbids (before anything is written)."""

    @functools.cached_property
    def upload_sessions(self) -> SqlUploadSessions:
        """The upload sessions of this registry (rows in its database, bytes in its store)."""
        return SqlUploadSessions(lambda: self._connect(write=True), self.store, self.create_upload)

    def can_presign(self) -> bool:
        """See :meth:`RegistryBackend.can_presign`: whether the store presigns (S3)."""
        return self.store.can_presign

    def create_upload(
        self, card: CardCreate, *, presigned: bool = False, expires: int = PRESIGN_EXPIRES
    ) -> UploadTicket:
        """See :meth:`RegistryBackend.create_upload`."""
        if presigned:
            _transfers.require_presign(self.store)
        check_registry(card.registry)
        check_sources(card, None)
        self.check_signature(card, final=False)  # a bundle may come with the commit
        upload_id = uuid.uuid4().hex
        if not presigned:  # the files go to .uploads/{id}/ as they arrive
            return UploadTicket(id=upload_id)
        return _transfers.presigned_ticket(self.store, card, upload_id, expires)

    def commit_upload(
        self,
        ticket: UploadTicket,
        card: CardCreate,
        *,
        source_dir: Path | None = None,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.commit_upload`.

        Staged without ``source_dir``: the verified staging objects move into
        place. Staged with ``source_dir``: its files are copied, digests checked.
        Presigned: each staging object is copied server-side and the copy is
        verified (``ArtifactStore.put_staged``). The staging objects are removed.
        """
        prefix = _transfers.staging_prefix(ticket.id)
        if not ticket.presigned and source_dir is not None:
            check_sources(card, Path(source_dir))
            return self._register(card, actor, self._from_folder(Path(source_dir), progress))
        if ticket.presigned and source_dir is not None:  # the caller holds the bytes
            check_sources(card, Path(source_dir))
            _transfers.put_staging(self.store, card, ticket.id, Path(source_dir), progress)
        _transfers.check_uploaded(self.store, card, ticket.id)  # before any version

        def place(item: ArtifactFile, key: str) -> None:
            staged = f"{prefix}/{item.path}"
            if ticket.presigned:  # a client wrote it: verify the server's own copy
                self.store.put_staged(staged, key, item)
            else:  # verified on arrival by the server, which alone can write here
                promote(self.store, staged, key, item)
            if progress:
                progress(item.size)

        try:
            return self._register(card, actor, place)
        finally:
            with contextlib.suppress(OpsmlError):  # the registration's own error matters more
                self.store.delete_prefix(prefix)

    def _from_folder(
        self,
        source_dir: Path,
        progress: ProgressCallback | None,
    ) -> Place:
        """Copy each file from ``source_dir`` (digest checked while copying)."""
        store = self.store

        def place(item: ArtifactFile, key: str) -> None:
            store.put_file(source_dir / item.path, key, item, progress=progress)

        return place

    def abort_upload(self, ticket: UploadTicket) -> None:
        """See :meth:`RegistryBackend.abort_upload`: its staging objects are removed."""
        self.store.delete_prefix(_transfers.staging_prefix(ticket.id))
