"""The SQL backend (see :class:`opsml.backends.base.RegistryBackend` for the contract).

Registration reserves its version first: a ``pending`` row is inserted in its
own short transaction, and the unique constraint on (registry, repository,
name, version) makes concurrent writers that picked the same version fail and
retry with the next one. Artifacts then go straight to the reserved version's
folder, and a second transaction marks the row ``active``. A failure at any
point removes the folder and the pending row, so the registry is as before; a
process killed half-way leaves only an invisible ``pending`` row whose version
is skipped, never artifacts that a later registration would collide with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from opsml import versioning
from opsml.auth.actor import declared_actor
from opsml.backends.base import ArtifactReader, FileSource, ProgressCallback, RegistryBackend
from opsml.backends.sql import (
    _aliases,
    _deployments,
    _gc,
    _listing,
    _queries,
    _reserve,
    _transfers,
    _writes,
)
from opsml.backends.sql._aliases_mixin import AliasesMixin
from opsml.backends.sql._approvals_mixin import ApprovalsMixin
from opsml.backends.sql._db_errors import translate
from opsml.backends.sql._deploy_mixin import DeploymentsMixin
from opsml.backends.sql._identity_mixin import IdentityMixin
from opsml.backends.sql._listing_json import list_cards_json
from opsml.backends.sql._queries import check_registry
from opsml.backends.sql._rows import check_sources, next_version, to_public
from opsml.backends.sql._uploads import Place, UploadsMixin
from opsml.backends.sql.engine import WRITE, create_registry_engine
from opsml.errors import BackendUnavailableError, InvalidInputError, OpsmlError
from opsml.listeners import CommitListeners
from opsml.schemas import (
    PRESIGN_EXPIRES,
    ArtifactFile,
    CardCreate,
    CardPage,
    CardPublic,
    CardQuery,
    CardUpdate,
    PresignedFile,
    RegistryType,
    build,
    check_alias_target,
)
from opsml.schemas_approvals import protected_set
from opsml.storage import ArtifactStore

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import Connection

    from opsml.config import OpsmlSettings

logger = logging.getLogger("opsml.sql")


class SqlBackend(
    UploadsMixin, DeploymentsMixin, ApprovalsMixin, AliasesMixin, IdentityMixin, RegistryBackend
):
    """Registry on a SQL database plus an fsspec artifact store.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> backend = SqlBackend(f"sqlite:///{root}/registry.db", f"{root}/artifacts")
        >>> backend.list_cards("model", CardQuery())
        []

    """

    def __init__(
        self,
        url: str,
        storage_uri: str,
        *,
        environment: str = "development",
        auto_migrate: bool = True,
        engine: Engine | None = None,
        store: ArtifactStore | None = None,
        require_signature: bool = False,
        protected_aliases: str = "",
        actor: str | None = None,
        listeners: CommitListeners | None = None,
    ) -> None:
        self.listeners = CommitListeners() if listeners is None else listeners  # told on commits
        self.require_signature = require_signature
        self.environment = environment
        self.protected_aliases = protected_set(protected_aliases)  # approvals only (§19)
        self.actor = actor
        self.engine = engine or create_registry_engine(url)
        self.store = store or ArtifactStore(storage_uri)
        self._auto_migrate = auto_migrate
        self._ready = False

    @classmethod
    def from_settings(cls, settings: OpsmlSettings) -> SqlBackend:
        """The backend for a direct database URL (or the embedded default)."""
        return cls(
            settings.resolved_tracking_uri(),
            settings.resolved_storage_uri(),
            environment=settings.app_env,
            require_signature=settings.require_signature,
            protected_aliases=settings.protected_aliases,
            actor=declared_actor(settings.actor),
        )

    def __repr__(self) -> str:
        return f"SqlBackend({self.location()!r}, {self.store!r})"

    def location(self) -> str:
        """The database URL, password masked (see :meth:`RegistryBackend.location`)."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    # -- connections -----------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create or upgrade the tables on first use (``auto_migrate``)."""
        if self._ready:
            return
        from opsml.backends.sql import migrate

        try:
            with self.engine.connect() as conn:
                current = migrate.current_revision(conn)
            if current != migrate.head_revision():
                if not self._auto_migrate:
                    raise BackendUnavailableError(
                        "the registry database is not at the current schema: run `opsml db upgrade`"
                    )
                migrate.upgrade_engine(self.engine)
        except OperationalError as exc:
            raise translate(self.engine.url, exc, "opening the registry") from exc
        self._ready = True

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Connection]:
        self.ensure_schema()
        try:
            with self.engine.connect() as conn:
                if write:
                    conn = conn.execution_options(**{WRITE: True})
                with conn.begin():
                    yield conn
        except (IntegrityError, OpsmlError):
            raise
        except OperationalError as exc:
            raise translate(self.engine.url, exc) from exc

    def check(self) -> None:
        """Raise when the database or the storage cannot be reached (readiness)."""
        with self._connect() as conn:
            conn.execute(select(1))
        self.store.check()

    # -- reads -----------------------------------------------------------------------

    def list_cards(self, registry: RegistryType, query: CardQuery) -> list[CardPublic]:
        """See :meth:`RegistryBackend.list_cards`."""
        registry = check_registry(registry)
        with self._connect() as conn:
            return _queries.list_cards(conn, registry, query)

    def list_cards_json(self, registry: RegistryType, query: CardQuery) -> bytes:
        """See :meth:`RegistryBackend.list_cards_json`: the stored JSON, not parsed again."""
        with self._connect() as conn:
            return list_cards_json(conn, check_registry(registry), query)

    def list_page(self, registry: RegistryType, query: CardQuery) -> CardPage:
        """See :meth:`RegistryBackend.list_page`."""
        registry = check_registry(registry)
        with self._connect() as conn:
            return _listing.list_page(conn, registry, query)

    def count_cards(self, registry: RegistryType, query: CardQuery) -> int:
        """See :meth:`RegistryBackend.count_cards`."""
        registry = check_registry(registry)
        with self._connect() as conn:
            return _listing.count_cards(conn, registry, query)

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
        """See :meth:`RegistryBackend.get_card`."""
        registry = check_registry(registry)
        if alias is not None:
            alias = check_alias_target(alias, name=name, repository=repository, version=version)
            build(CardQuery, name=name, repository=repository)  # validates both
            with self._connect() as conn:
                return _aliases.resolve(conn, registry, name or "", repository or "", alias)
        if uid is not None:
            with self._connect() as conn:
                return _queries.card_by_uid(conn, registry, uid)
        if not name:
            raise InvalidInputError("give a card uid, or a name (and repository) to load a card")
        build(CardQuery, name=name, repository=repository)  # validates both
        versioning.validate_spec(version)
        with self._connect() as conn:
            return _queries.find_card(conn, registry, name, repository, version, repositories)

    def open_artifact(self, card: CardPublic, path: str) -> ArtifactReader:
        """See :meth:`RegistryBackend.open_artifact`."""
        item, key = _transfers.file_key(card, path)
        return _transfers.StoredArtifact(self.store, key, item)

    def presign_download(
        self, card: CardPublic, path: str, *, expires: int = PRESIGN_EXPIRES
    ) -> PresignedFile:
        """See :meth:`RegistryBackend.presign_download`."""
        item, key = _transfers.file_key(card, path)
        _transfers.require_presign(self.store)
        return _transfers.presign_file(self.store, item, key, "GET", expires)

    # -- writes ----------------------------------------------------------------------

    def register_card(
        self,
        card: CardCreate,
        source_dir: Path,
        *,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.register_card`; files are copied, digests checked."""
        check_sources(card, Path(source_dir))
        return self._register(card, actor, self._from_folder(Path(source_dir), progress))

    def register_streams(
        self,
        card: CardCreate,
        source: FileSource,
        *,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.register_streams`: each file straight into the store."""
        store = self.store

        def place(item: ArtifactFile, key: str) -> None:  # checked as it is stored
            store.put_stream(iter(source(item)), key, item, progress)

        return self._register(card, actor, place)

    def _register(self, card: CardCreate, actor: str | None, place: Place) -> CardPublic:
        """Reserve a version, ``place`` the files, activate the row; undo everything on failure."""
        actor = self._acting(actor)  # before anything is written
        check_registry(card.registry)
        check_sources(card, None)
        self.check_signature(card)
        if not card.files:  # nothing to upload: one transaction
            _, version, uid, row = self._reserve_version(card, actor, activate=True)
            return self._registered(card, version, uid, row)
        row_id, version, uid, _ = self._reserve_version(card, actor)
        prefix = _transfers.version_prefix(card, version)
        try:
            for item in card.files:
                place(item, f"{prefix}/{item.path}")
            connect = lambda: self._connect(write=True)  # noqa: E731
            row = _reserve.activate(connect, self.environment, card, actor, (row_id, uid, version))
        except BaseException:
            self._abandon(row_id, prefix)
            raise
        return self._registered(card, version, uid, row)

    def check_signature(self, card: CardCreate, *, final: bool = True) -> None:
        """Before any write, refuse a signature not the card's own, or none if required."""
        from opsml.signatures import check_registration

        check_registration(card, required=self.require_signature, final=final)

    def next_version(
        self, registry: RegistryType, name: str, repository: str, version_type: str = "minor"
    ) -> str:
        """See :meth:`RegistryBackend.next_version`."""
        card = build(CardCreate, registry=registry, name=name, repository=repository,
                     contact="-", version_type=version_type)  # fmt: skip
        with self._connect() as conn:
            return next_version(conn, card)

    def _registered(self, card: CardCreate, version: str, uid: str, row: Any) -> CardPublic:
        what = (card.registry, card.repository, card.name, version, uid)
        logger.info("registered %s card %s/%s v%s (uid %s)", *what)
        public = to_public(row)
        self.listeners.after_commit(public)
        return public

    def _reserve_version(
        self, card: CardCreate, actor: str | None, *, activate: bool = False
    ) -> tuple[int, str, str, Any]:
        """See :func:`opsml.backends.sql._reserve.reserve_version`."""
        return _reserve.reserve_version(
            lambda: self._connect(write=True), self.environment, card, actor, activate=activate
        )

    def _abandon(self, row_id: int, prefix: str) -> None:
        """Undo a half-done registration: files first, then the pending row."""
        try:
            self.store.delete_prefix(prefix)
            with self._connect(write=True) as conn:
                _writes.drop_pending(conn, row_id)
        except Exception:  # the original error matters more; the row stays invisible
            logger.exception("cleanup of an abandoned registration (%s) failed", prefix)

    def update_card(
        self, registry: RegistryType, uid: str, update: CardUpdate, *, actor: str | None = None
    ) -> CardPublic:
        """See :meth:`RegistryBackend.update_card`; the signature is fixed at registration."""
        if update.metadata and "signature" in update.metadata:
            raise InvalidInputError("a card's signature is fixed at registration: register anew")
        actor = self._acting(actor)
        card = self.get_card(registry, uid=uid)
        with self._connect(write=True) as conn:
            _writes.update_card(conn, self.environment, card, update, actor)
        return self.get_card(registry, uid=uid)

    def delete_card(self, registry: RegistryType, uid: str, *, actor: str | None = None) -> None:
        """See :meth:`RegistryBackend.delete_card`."""
        actor = self._acting(actor)
        card = self.get_card(registry, uid=uid)
        with self._connect(write=True) as conn:
            _writes.mark_deleted(conn, self.environment, card, actor)  # locks the row first
            _aliases.refuse_aliased(conn, card)
            _deployments.refuse_current(conn, card)
        self.store.delete_prefix(_transfers.version_prefix(card, card.version))

    def collect_garbage(
        self, older_than: timedelta, *, uploads_older_than: timedelta | None = None
    ) -> int:
        """See :meth:`RegistryBackend.collect_garbage` (:mod:`opsml.backends.sql._gc`).

        Also removes upload sessions unused for ``uploads_older_than`` (default
        ``older_than``) and staging objects that no session owns, as old.
        """
        removed = _gc.collect_garbage(lambda: self._connect(write=True), self.store, older_than)
        return removed + self.upload_sessions.sweep(uploads_older_than or older_than)
