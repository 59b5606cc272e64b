"""The one interface every registry backend implements.

The SQL backend (embedded SQLite, PostgreSQL, MariaDB) and the HTTP backend (a
registry server) both implement :class:`RegistryBackend`; the registry, the CLI,
the server and the test suite only ever talk to this interface. The base class
owns the download workflow (stream, hash, compare, rename); backends supply the
byte stream (:meth:`RegistryBackend.open_artifact`).

Besides the card operations, the interface carries what a registry server needs, so that it
never touches storage (keys, chunk sizes): open an artifact (size, byte range, chunks), open /
commit / abort an upload (*staged*: verified files wait in the store's staging folder
``.uploads/{id}/`` or a local folder; *presigned*: the bytes go there by one URL per file),
presign a download (S3). Mixins: deployments, approvals, identity, upload sessions.
"""

from __future__ import annotations

import abc
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

from opsml._filemode import set_default_mode
from opsml._types import ProgressCallback as ProgressCallback  # re-exported: its first home
from opsml.backends._approvals_api import ApprovalsBackend
from opsml.backends._deployments_api import DeploymentsBackend
from opsml.backends._identity_api import IdentityBackend
from opsml.backends._sink import DigestSink, verify_digest
from opsml.backends.uploads import UploadSessionsBackend
from opsml.errors import OpsmlError
from opsml.schemas import (
    PRESIGN_EXPIRES,
    AliasPublic,
    ArtifactFile,
    CardCreate,
    CardPage,
    CardPublic,
    CardQuery,
    CardUpdate,
    Page,
    PresignedFile,
    RegistryType,
    UploadTicket,
    check_relative_path,
)

FileSource = Callable[[ArtifactFile], Iterable[bytes]]
"""The bytes of one file of a card being registered, in chunks (see ``register_streams``)."""


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


class RegistryBackend(UploadSessionsBackend, DeploymentsBackend, ApprovalsBackend, IdentityBackend):
    """Stores card metadata and artifacts; picked from the tracking URI by ``get_backend``."""

    @abc.abstractmethod
    def register_card(
        self,
        card: CardCreate,
        source_dir: Path,
        *,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """Allocate a version, store the files, commit the card, and return it.

        Args:
            card: the card's fields, the bump (``version_type``) or an explicit
                ``version``, and the record (path, size, SHA-256) of every file.
            source_dir: folder holding each file of ``card.files`` at its path.
            actor: who registers (audit log); the backend may know better.
            progress: called with byte counts while files move.

        Returns:
            The registered card, with ``uid``, ``version`` and ``created_at``.

        Raises:
            ArtifactIntegrityError: a file does not match its record; nothing is kept.
            VersionConflictError: the explicit version is taken.
            InvalidInputError: the request is malformed.

        """

    def register_streams(
        self,
        card: CardCreate,
        source: FileSource,
        *,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """Register ``card`` taking each file's bytes from ``source(item)``, one file at a time.

        As :meth:`register_card`, but nothing needs to be on the local disk: a
        copy between registries streams each file from the source's download to
        the target's store, in bounded memory. The bytes are checked against
        ``card.files`` as they are stored; nothing is registered when one differs.
        This default spools the files into a temporary folder; the SQL and HTTP
        backends override it to stream.

        Example:
            >>> backend.register_streams(card, lambda item: [b"..."])  # doctest: +SKIP

        """
        with tempfile.TemporaryDirectory(prefix="opsml-spool-") as tmp:
            for item in card.files:
                path = Path(tmp) / check_relative_path(item.path)
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "wb") as out:
                    for chunk in source(item):
                        out.write(chunk)
            return self.register_card(card, Path(tmp), actor=actor, progress=progress)

    def digests_on_send(self, total: int) -> bool:
        """Whether files of ``total`` bytes may come with empty digests: hashed as they are sent."""
        return False

    def next_version(
        self, registry: RegistryType, name: str, repository: str, version_type: str = "minor"
    ) -> str:
        """The version a registration with this bump would get now (a signed card fixes it first).

        Example:
            >>> backend.next_version("model", "churn", "ds-team", "minor")  # doctest: +SKIP
            '1.3.0'

        """
        raise OpsmlError(f"{type(self).__name__} cannot tell the next version: cannot sign cards")

    @abc.abstractmethod
    def list_cards(self, registry: RegistryType, query: CardQuery) -> list[CardPublic]:
        """Cards matching every given filter, newest first, at most ``query.limit``."""

    def list_cards_json(self, registry: RegistryType, query: CardQuery) -> bytes:
        """:meth:`list_cards` as the JSON of a ``Page`` (what the server's list route sends)."""
        return Page(items=self.list_cards(registry, query)).model_dump_json().encode()

    @abc.abstractmethod
    def list_page(self, registry: RegistryType, query: CardQuery) -> CardPage:
        """One page of light rows matching ``query``, newest first, and the next page's cursor.

        Pass ``next_cursor`` back as ``query.cursor`` (same registry and filters)
        for the next page; each page costs the same wherever it sits.

        Raises:
            InvalidInputError: the cursor is malformed or belongs to another query.

        Example:
            >>> page = backend.list_page("model", CardQuery(name="churn"))  # doctest: +SKIP
            >>> more = backend.list_page(  # doctest: +SKIP
            ...     "model", CardQuery(name="churn", cursor=page.next_cursor))

        """

    @abc.abstractmethod
    def count_cards(self, registry: RegistryType, query: CardQuery) -> int:
        """How many cards match every filter of ``query`` (exact; cursor and limit ignored).

        Example:
            >>> backend.count_cards("model", CardQuery(search="churn"))  # doctest: +SKIP
            12

        """

    @abc.abstractmethod
    def get_card(
        self,
        registry: RegistryType,
        *,
        uid: str | None = None,
        name: str | None = None,
        repository: str | None = None,
        version: str | None = None,
        alias: str | None = None,
        repositories: Sequence[str] | None = None,
    ) -> CardPublic:
        """One card by ``uid``, or by name and spec or alias (in ``repository``, ``repositories``).

        Raises:
            CardNotFoundError: nothing matches.
            VersionError: the spec is malformed.
            InvalidInputError: a spec and an alias both, or an alias without name and repository.

        """

    @abc.abstractmethod
    def update_card(
        self, registry: RegistryType, uid: str, update: CardUpdate, *, actor: str | None = None
    ) -> CardPublic:
        """Change tags, description or kind metadata of a card; artifacts never change."""

    @abc.abstractmethod
    def delete_card(self, registry: RegistryType, uid: str, *, actor: str | None = None) -> None:
        """Remove a card and its artifacts; its version is never given again."""

    @abc.abstractmethod
    def set_alias(
        self, registry: RegistryType, uid: str, alias: str, *, actor: str | None = None
    ) -> AliasPublic:
        """Point ``alias`` of the card's name at the active card ``uid`` (create or move it).

        Atomic: concurrent moves of one alias leave it at the last committed
        one, and every move is audited.

        Raises:
            CardNotFoundError: no active card ``uid``.
            InvalidInputError: the alias name breaks the rules.

        """

    @abc.abstractmethod
    def delete_alias(
        self,
        registry: RegistryType,
        name: str,
        repository: str,
        alias: str,
        *,
        actor: str | None = None,
    ) -> None:
        """Remove ``alias`` of ``repository/name`` (audited); unknown: ``CardNotFoundError``."""

    @abc.abstractmethod
    def list_aliases(self, registry: RegistryType, name: str, repository: str) -> list[AliasPublic]:
        """The aliases of ``repository/name``, by alias name."""

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

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`~opsml.errors.OpsmlError` when the registry cannot be used (readiness)."""

    def close(self) -> None:
        """Release connections; the backend must not be used afterwards."""

    def collect_garbage(self, older_than: timedelta) -> int:
        """Remove registrations abandoned by a killed process (older than ``older_than``).

        A registration still in progress is younger than ``older_than`` and is
        kept. Backends that hold no metadata of their own refuse.

        Returns:
            How many abandoned registrations were removed.

        Example:
            >>> from datetime import timedelta
            >>> backend.collect_garbage(timedelta(hours=1))  # doctest: +SKIP
            0

        """
        raise OpsmlError(
            f"{type(self).__name__} cannot collect garbage: run `opsml db gc` with "
            "OPSML_TRACKING_URI set to the registry's database"
        )

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
