"""The one interface every registry backend implements.

The SQL backend (embedded SQLite, PostgreSQL, MariaDB) and the HTTP backend (a
registry server) both implement :class:`RegistryBackend`; the registry, the CLI,
the server and the test suite only ever talk to this interface. Here: the card
operations. Inherited parts: transfers (artifact bytes in and out, the download
workflow: ``_transfers_api.py``), deployments, approvals, identity, upload sessions.
"""

from __future__ import annotations

import abc
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from opsml._types import ProgressCallback as ProgressCallback  # re-exported: its first home
from opsml.backends._approvals_api import ApprovalsBackend
from opsml.backends._deployments_api import DeploymentsBackend
from opsml.backends._identity_api import IdentityBackend
from opsml.backends._transfers_api import ArtifactReader as ArtifactReader  # re-exported
from opsml.backends._transfers_api import TransfersBackend
from opsml.backends.uploads import UploadSessionsBackend
from opsml.errors import OpsmlError
from opsml.schemas import (
    AliasPublic,
    ArtifactFile,
    CardCreate,
    CardPage,
    CardPublic,
    CardQuery,
    CardUpdate,
    Page,
    RegistryType,
    check_relative_path,
)

FileSource = Callable[[ArtifactFile], Iterable[bytes]]
"""The bytes of one file of a card being registered, in chunks (see ``register_streams``)."""
Signer = Callable[[list[ArtifactFile]], dict[str, Any]]
"""Signs a card's files (paths and SHA-256) once known; returns the bundle."""


class RegistryBackend(
    TransfersBackend, UploadSessionsBackend, DeploymentsBackend, ApprovalsBackend, IdentityBackend
):
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

    def signs_after_send(self) -> bool:
        """Whether :meth:`register_signed_later` signs a card once its files are hashed as sent."""
        return False

    def register_signed_later(
        self,
        card: CardCreate,
        source_dir: Path,
        sign: Signer,
        *,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """Register ``card`` and sign it with ``sign(files)`` once every digest is known.

        Raises:
            OpsmlError: the backend cannot (see :meth:`signs_after_send`): hash the files
                first and sign before :meth:`register_card`.

        """
        raise OpsmlError(f"{type(self).__name__} cannot sign a card after sending its files")

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

    def location(self) -> str:
        """Where this registry is, for people: never with a password or token in it.

        The HTTP backend answers its server's URL without user info, the SQL backend
        its database URL with the password masked. Default: the backend's class name.

        Example:
            >>> backend.location()  # doctest: +SKIP
            'postgresql+psycopg://opsml:***@db:5432/opsml'

        """
        return type(self).__name__

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`~opsml.errors.OpsmlError` when the registry cannot be used (readiness)."""

    def close(self) -> None:
        """Release connections; the backend must not be used afterwards."""

    def ensure_schema(self) -> None:
        """Make the registry usable before the first request: the SQL backend creates or
        upgrades its tables (when it may auto-migrate). Default: nothing to prepare.

        Raises:
            OpsmlError: the registry cannot be prepared (the database is unreachable, or
                behind the schema and may not be upgraded).

        """

    def collect_garbage(
        self, older_than: timedelta, *, uploads_older_than: timedelta | None = None
    ) -> int:
        """Remove registrations abandoned by a killed process (older than ``older_than``).

        A registration still in progress is younger than ``older_than`` and is
        kept. Upload sessions unused for ``uploads_older_than`` (default
        ``older_than``) go too. Backends that hold no metadata of their own refuse.

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
