"""The transfer part of the backend interface: artifact bytes in and out.

What a registry server needs besides the card operations, so that it never touches
storage (keys, chunk sizes): open an artifact (size, byte range, chunks), open /
commit / abort an upload (*staged*: verified files wait in the store's staging folder
``.uploads/{id}/`` or a local folder; *presigned*: the bytes go there by one URL per
file), presign a download (S3) and say whether the store presigns at all. It also
owns the download workflow (stream, hash, compare, rename); backends supply the byte
stream (:meth:`TransfersBackend.open_artifact`).
:class:`~opsml.backends.base.RegistryBackend` inherits it.
"""

from __future__ import annotations

import abc
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from opsml._filemode import set_default_mode
from opsml._types import ProgressCallback
from opsml.backends._sink import DigestSink, verify_digest
from opsml.schemas import (
    PRESIGN_EXPIRES,
    ArtifactFile,
    CardCreate,
    CardPublic,
    PresignedFile,
    UploadTicket,
    check_relative_path,
)


class ArtifactReader(abc.ABC):
    """One stored artifact opened for reading: its record, its size and its bytes.

    Args:
        item: the file's record (path, size, SHA-256).
        stored_size: the size of the stored bytes when the store knows it
            cheaply (a folder store), else ``None``.

    """

    def __init__(self, item: ArtifactFile, stored_size: int | None = None) -> None:
        self.item = item
        self.stored_size = stored_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.item.path!r}, size={self.size})"

    @property
    def size(self) -> int:
        """The stored size when known, else the recorded one."""
        return self.item.size if self.stored_size is None else self.stored_size

    @abc.abstractmethod
    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start`` up to ``end`` (exclusive; ``None``: to the end), unverified.

        A missing file raises :class:`~opsml.errors.ArtifactNotFoundError` at the
        latest when the first chunk is asked for.
        """


class TransfersBackend(abc.ABC):
    """Open, upload, presign and download the artifacts of cards."""

    @abc.abstractmethod
    def open_artifact(self, card: CardPublic, path: str) -> ArtifactReader:
        """Open one artifact of ``card`` for reading (no bytes move yet).

        Raises:
            ArtifactNotFoundError: ``path`` is not a file of the card.
            UnsafePathError: ``path`` is not a safe relative path.

        """

    @abc.abstractmethod
    def create_upload(
        self, card: CardCreate, *, presigned: bool = False, expires: int = PRESIGN_EXPIRES
    ) -> UploadTicket:
        """Open an upload of ``card``'s files; nothing is registered until the commit.

        Args:
            card: the card to register, with every file's size and SHA-256.
            presigned: ask for one presigned ``PUT`` URL per file (S3 stores).
            expires: seconds the URLs stay valid.

        Raises:
            PresignUnsupportedError: ``presigned`` and the store cannot presign.
            InvalidInputError: the card is malformed (e.g. a file listed twice).

        """

    @abc.abstractmethod
    def commit_upload(
        self,
        ticket: UploadTicket,
        card: CardCreate,
        *,
        source_dir: Path | None = None,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """Register ``card`` with the files of an upload opened by :meth:`create_upload`.

        A staged upload takes the files from ``source_dir`` (copied, digests
        checked) or, without it, from the store's ``.uploads/{id}/`` where a
        registry server's upload session put them, verified as they arrived:
        they move into place by rename or server-side copy. A presigned upload
        takes the objects PUT to the ticket's URLs (PUT first from
        ``source_dir`` when it is given), checks that all exist before a
        version is reserved, and verifies the stored copies: nothing is kept
        when one differs from its record.

        Raises:
            ArtifactIntegrityError: a file does not match its record.
            InvalidInputError: a file was not uploaded.

        """

    @abc.abstractmethod
    def abort_upload(self, ticket: UploadTicket) -> None:
        """Drop an upload and whatever was sent for it; nothing is registered."""

    @abc.abstractmethod
    def presign_download(
        self, card: CardPublic, path: str, *, expires: int = PRESIGN_EXPIRES
    ) -> PresignedFile:
        """A presigned ``GET`` URL for one file of ``card``, with its size and SHA-256.

        Raises:
            PresignUnsupportedError: the store cannot presign (a folder, GCS).

        """

    def iter_artifact(self, card: CardPublic, path: str, *, start: int = 0) -> Iterator[bytes]:
        """Stream the stored bytes of one artifact, from byte ``start`` on, unverified."""
        return self.open_artifact(card, path).chunks(start)

    def can_presign(self) -> bool:
        """Whether :meth:`create_upload` and :meth:`presign_download` hand out presigned URLs.

        ``False`` by default; the SQL backend answers for its store (S3), the HTTP
        backend for its server (asked once).

        Example:
            >>> backend.can_presign()  # doctest: +SKIP
            False

        """
        return False

    def download_artifacts(
        self,
        card: CardPublic,
        dest: Path,
        *,
        paths: Iterable[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[Path]:
        """Download files of ``card`` into ``dest`` at their relative paths, verifying each.

        A file whose size or SHA-256 differs from its record raises
        :class:`ArtifactIntegrityError` naming it, and is not left in ``dest``.

        Returns:
            The local paths written.

        """
        wanted = [card.file(check_relative_path(p)) for p in paths] if paths else card.files
        dest = Path(dest)
        return [self._download_one(card, item, dest, progress) for item in wanted]

    def _download_one(
        self, card: CardPublic, item: ArtifactFile, dest: Path, progress: ProgressCallback | None
    ) -> Path:
        target = dest / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        try:
            # the file object only closes ``fd``: the sink writes and reads it back by number
            with os.fdopen(fd, "r+b", buffering=0), DigestSink(digest, fd) as sink:
                for chunk in self.iter_artifact(card, item.path):
                    sink.add(chunk)
                    size += len(chunk)
                    if progress:
                        progress(len(chunk))
            verify_digest(card, item, size, digest.hexdigest())
            set_default_mode(tmp_name)  # mkstemp made it 0o600; give it what open() would
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return target
