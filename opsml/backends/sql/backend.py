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
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from opsml import hooks, versioning
from opsml.backends.base import ProgressCallback, RegistryBackend
from opsml.backends.sql._db_errors import is_transient, translate
from opsml.backends.sql._rows import (
    active,
    insert_values,
    lock_name,
    next_version,
    now,
    resolve,
    to_public,
)
from opsml.backends.sql.engine import WRITE, create_registry_engine
from opsml.backends.sql.tables import AUDIT, CARDS, TAGS, CardRow, TagRow
from opsml.errors import (
    BackendUnavailableError,
    CardNotFoundError,
    InvalidInputError,
    OpsmlError,
    VersionConflictError,
)
from opsml.schemas import (
    REGISTRY_TYPES,
    CardCreate,
    CardPublic,
    CardQuery,
    CardUpdate,
    RegistryType,
    build,
    check_relative_path,
)
from opsml.storage import ArtifactStore, card_prefix

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import Connection

    from opsml.config import OpsmlSettings

logger = logging.getLogger("opsml.sql")

MAX_VERSION_ATTEMPTS = 50


def _check_registry(registry: str) -> RegistryType:
    if registry not in REGISTRY_TYPES:
        raise InvalidInputError(
            f"unknown registry type {registry!r}: use one of {', '.join(REGISTRY_TYPES)}"
        )
    return registry  # type: ignore[return-value]


def _check_uid(uid: object) -> str:
    if not isinstance(uid, str) or len(uid) != 32 or any(c not in "0123456789abcdef" for c in uid):
        raise InvalidInputError(f"{uid!r} is not a card uid (32 lowercase hex characters)")
    return uid


class SqlBackend(RegistryBackend):
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
    ) -> None:
        self.url = url
        self.environment = environment
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
        )

    def __repr__(self) -> str:
        return (
            f"SqlBackend({self.engine.url.render_as_string(hide_password=True)!r}, {self.store!r})"
        )

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
        registry = _check_registry(registry)
        stmt = active(registry)
        if query.name:
            stmt = stmt.where(CardRow.name == query.name)
        if query.repository:
            stmt = stmt.where(CardRow.repository == query.repository)
        for key, value in (query.tags or {}).items():
            stmt = stmt.where(
                exists().where(
                    TagRow.card_id == CardRow.id, TagRow.key == key, TagRow.value == value
                )
            )
        spec = query.version
        if spec is not None:
            versioning.validate_spec(spec)
            if versioning.is_exact(spec):
                stmt = stmt.where(CardRow.version == spec)
                spec = None
        stmt = stmt.order_by(CardRow.id.desc())
        with self._connect() as conn:
            if spec is None:
                rows = conn.execute(stmt.limit(query.limit)).all()
                return [to_public(r) for r in rows]
            if spec.strip().lower() == "latest":
                rows = conn.execute(stmt).all()
                best: dict[tuple[str, str], Any] = {}
                for row in rows:
                    ident = (row.repository, row.name)
                    known = [best[ident].version] if ident in best else []
                    if versioning.resolve_version(None, [row.version, *known]) == row.version:
                        best[ident] = row
                ordered = sorted(best.values(), key=lambda r: r.id, reverse=True)
                return [to_public(r) for r in ordered[: query.limit]]
            out: list[CardPublic] = []
            for row in conn.execute(stmt.execution_options(yield_per=500)):
                if versioning.resolve_version(spec, [row.version]) == row.version:
                    out.append(to_public(row))
                    if len(out) >= query.limit:
                        break
            return out

    def get_card(
        self,
        registry: RegistryType,
        *,
        uid: str | None = None,
        name: str | None = None,
        repository: str | None = None,
        version: str | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.get_card`."""
        registry = _check_registry(registry)
        if uid is not None:
            with self._connect() as conn:
                row = conn.execute(active(registry).where(CardRow.uid == _check_uid(uid))).first()
            if row is None:
                raise CardNotFoundError(f"no {registry} card with uid {uid}")
            return to_public(row)
        if not name:
            raise InvalidInputError("give a card uid, or a name (and repository) to load a card")
        build(CardQuery, name=name, repository=repository)  # validates both
        versioning.validate_spec(version)
        with self._connect() as conn:
            stmt = active(registry).where(CardRow.name == name)
            if repository:
                stmt = stmt.where(CardRow.repository == repository)
            else:
                repos = (
                    conn.execute(
                        select(CardRow.repository)
                        .where(
                            CardRow.registry_type == registry,
                            CardRow.name == name,
                            CardRow.status == "active",
                        )
                        .distinct()
                        .limit(2)
                    )
                    .scalars()
                    .all()
                )
                if len(repos) > 1:
                    raise InvalidInputError(
                        f"{registry} card name {name!r} exists in several repositories "
                        f"({', '.join(sorted(repos))}…): pass repository="
                    )
            row = resolve(conn, stmt, version)
        if row is None:
            where = f"{repository}/{name}" if repository else name
            wanted = "any version" if version in (None, "latest") else f"version {version!r}"
            raise CardNotFoundError(f"no {registry} card {where} with {wanted}")
        return to_public(row)

    def iter_artifact(self, card: CardPublic, path: str, *, start: int = 0) -> Iterator[bytes]:
        """See :meth:`RegistryBackend.iter_artifact`."""
        item = card.file(check_relative_path(path))
        prefix = card_prefix(card.registry, card.repository, card.name, card.version)
        return self.store.iter_file(f"{prefix}/{item.path}", start=start)

    # -- writes ----------------------------------------------------------------------

    def register_card(
        self,
        card: CardCreate,
        source_dir: Path,
        *,
        actor: str | None = None,
        progress: ProgressCallback | None = None,
        move: bool = False,
        staged_prefix: str | None = None,
    ) -> CardPublic:
        """See :meth:`RegistryBackend.register_card`.

        ``move=True`` lets a folder store rename already-verified files into
        place (the server's upload staging); otherwise files are copied and
        their digests checked while copying. ``staged_prefix`` takes the files
        from that folder of the store instead (presigned uploads): each is
        copied into place and the copy verified (``ArtifactStore.put_staged``).
        """
        _check_registry(card.registry)
        self._check_sources(card, None if staged_prefix else Path(source_dir))
        if not card.files:  # nothing to upload: one transaction
            _, version, uid, row = self._reserve_version(card, actor, activate=True)
            return self._registered(card, version, uid, row)
        row_id, version, uid, _ = self._reserve_version(card, actor)
        prefix = card_prefix(card.registry, card.repository, card.name, version)
        try:
            for item in card.files:
                if staged_prefix:
                    self.store.put_staged(
                        f"{staged_prefix}/{item.path}", f"{prefix}/{item.path}", item
                    )
                    continue
                self.store.put_file(
                    Path(source_dir) / item.path,
                    f"{prefix}/{item.path}",
                    item,
                    move=move,
                    progress=progress,
                )
            with self._connect(write=True) as conn:
                row = self._activate(conn, card, actor, row_id, uid, version, update=True)
        except BaseException:
            self._abandon(row_id, prefix)
            raise
        return self._registered(card, version, uid, row)

    def _activate(
        self,
        conn: Connection,
        card: CardCreate,
        actor: str | None,
        row_id: int,
        uid: str,
        version: str,
        *,
        update: bool,
        row: Any = None,
    ) -> Any:
        """Mark the row active (``update``), write tags and audit; return the stored row.

        ``row`` is the stored row when the caller has it already (``INSERT … RETURNING``).
        """
        if update:
            conn.execute(
                sql_update(CardRow)
                .where(CardRow.id == row_id)
                .values(status="active", created_at=now())
            )
        if card.tags:
            conn.execute(
                TAGS.insert(),
                [{"card_id": row_id, "key": k, "value": v} for k, v in card.tags.items()],
            )
        self._audit(
            conn,
            "register",
            card.registry,
            actor or card.created_by,
            uid,
            card.name,
            card.repository,
            version,
            {"files": len(card.files)},
        )
        if row is not None:
            return row
        # read back in the same transaction: no extra connection checkout
        return conn.execute(select(CARDS).where(CardRow.id == row_id)).one()

    def _registered(self, card: CardCreate, version: str, uid: str, row: Any) -> CardPublic:
        logger.info(
            "registered %s card %s/%s v%s (uid %s)",
            card.registry,
            card.repository,
            card.name,
            version,
            uid,
        )
        public = to_public(row)
        hooks.after_commit(public)
        return public

    def _check_sources(self, card: CardCreate, source_dir: Path | None) -> None:
        seen: set[str] = set()
        for item in card.files:
            if item.path in seen:
                raise InvalidInputError(f"artifact {item.path!r} is listed twice")
            seen.add(item.path)
            if source_dir is not None and not (source_dir / item.path).is_file():
                raise InvalidInputError(
                    f"artifact {item.path!r} is listed but missing from the upload"
                )

    def _reserve_version(
        self, card: CardCreate, actor: str | None, *, activate: bool = False
    ) -> tuple[int, str, str, Any]:
        """Insert the card's row at the next free version; retry when another writer took it.

        With ``activate`` (a card without files: nothing to upload between the
        two steps) the row is inserted ``active`` and its tags and audit entry
        are written in the same transaction; the stored row is returned too.
        """
        uid = card.uid or uuid.uuid4().hex
        if card.version is not None:
            versioning.parse_version(card.version)
        for attempt in range(MAX_VERSION_ATTEMPTS):
            try:
                with self._connect(write=True) as conn:
                    if card.version is None:
                        lock_name(conn, card)
                    version = card.version or next_version(conn, card)
                    insert = CARDS.insert()
                    returning = activate and self.engine.dialect.insert_returning
                    if returning:  # the stored row comes back with the insert
                        insert = insert.returning(*CARDS.c)
                    result = conn.execute(
                        insert,
                        insert_values(
                            card,
                            uid,
                            version,
                            status="active" if activate else "pending",
                            actor=actor,
                        ),
                    )
                    stored = result.one() if returning else None
                    if stored is not None:
                        row_id = int(stored.id)
                    else:
                        assert result.inserted_primary_key is not None
                        row_id = int(result.inserted_primary_key[0])
                    row = (
                        self._activate(
                            conn, card, actor, row_id, uid, version, update=False, row=stored
                        )
                        if activate
                        else None
                    )
                    return row_id, version, uid, row
            except IntegrityError as exc:
                if card.version is not None:
                    raise VersionConflictError(
                        f"{card.registry} card {card.repository}/{card.name} already has "
                        f"version {card.version} (versions are never reused): leave version "
                        "unset to bump, or pick another"
                    ) from exc
                if card.uid is not None and self._uid_taken(card.uid):
                    raise InvalidInputError(f"card uid {card.uid} is already registered") from exc
            except (DBAPIError, BackendUnavailableError) as exc:  # deadlock, lock wait timeout...
                if not is_transient(exc) and not getattr(exc, "connection_invalidated", False):
                    raise
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise VersionConflictError(
            f"could not allocate a version for {card.repository}/{card.name} after "
            f"{MAX_VERSION_ATTEMPTS} attempts under concurrent registration; try again"
        )

    def _uid_taken(self, uid: str) -> bool:
        with self._connect() as conn:
            return conn.execute(select(CardRow.id).where(CardRow.uid == uid)).first() is not None

    def _abandon(self, row_id: int, prefix: str) -> None:
        """Undo a half-done registration: files first, then the pending row."""
        try:
            self.store.delete_prefix(prefix)
            with self._connect(write=True) as conn:
                conn.execute(
                    delete(CardRow).where(CardRow.id == row_id, CardRow.status == "pending")
                )
        except Exception:  # the original error matters more; the row stays invisible
            logger.exception("cleanup of an abandoned registration (%s) failed", prefix)

    def update_card(
        self, registry: RegistryType, uid: str, update: CardUpdate, *, actor: str | None = None
    ) -> CardPublic:
        """See :meth:`RegistryBackend.update_card`."""
        card = self.get_card(registry, uid=uid)
        values: dict[str, Any] = {"updated_at": now()}
        if update.tags is not None:
            values["tags"] = update.tags
        if update.description is not None:
            values["description"] = update.description
        if update.metadata is not None:
            values["card_metadata"] = {**card.metadata, **update.metadata}
        with self._connect(write=True) as conn:
            row_id = conn.execute(select(CardRow.id).where(CardRow.uid == uid)).scalar_one()
            conn.execute(sql_update(CardRow).where(CardRow.id == row_id).values(**values))
            if update.tags is not None:
                conn.execute(delete(TagRow).where(TagRow.card_id == row_id))
                if update.tags:
                    conn.execute(
                        TAGS.insert(),
                        [{"card_id": row_id, "key": k, "value": v} for k, v in update.tags.items()],
                    )
            self._audit(
                conn,
                "update",
                registry,
                actor,
                uid,
                card.name,
                card.repository,
                card.version,
                {"fields": sorted(update.model_dump(exclude_none=True))},
            )
        return self.get_card(registry, uid=uid)

    def delete_card(self, registry: RegistryType, uid: str, *, actor: str | None = None) -> None:
        """See :meth:`RegistryBackend.delete_card`."""
        card = self.get_card(registry, uid=uid)
        with self._connect(write=True) as conn:
            changed = conn.execute(
                sql_update(CardRow)
                .where(CardRow.uid == uid, CardRow.status == "active")
                .values(status="deleted", updated_at=now())
            ).rowcount
            if not changed:
                raise CardNotFoundError(f"no {registry} card with uid {uid}")
            self._audit(
                conn, "delete", registry, actor, uid, card.name, card.repository, card.version, {}
            )
        self.store.delete_prefix(card_prefix(registry, card.repository, card.name, card.version))

    def audit_log(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest audit entries, newest first (who, what, when, environment)."""
        with self._connect() as conn:
            rows = conn.execute(select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)).all()
        return [{k: v for k, v in row._mapping.items() if k != "id"} for row in rows]

    # -- helpers ---------------------------------------------------------------------

    def _audit(
        self,
        conn: Connection,
        action: str,
        registry: str,
        actor: str | None,
        uid: str | None,
        name: str | None,
        repository: str | None,
        version: str | None,
        detail: dict[str, Any],
    ) -> None:
        conn.execute(
            AUDIT.insert(),
            {
                "at": now(),
                "actor": actor,
                "environment": self.environment,
                "action": action,
                "registry": registry,
                "card_uid": uid,
                "name": name,
                "repository": repository,
                "version": version,
                "detail": detail,
            },
        )
