"""Database tables of the SQL backend (SQLAlchemy 2 declarative).

Rows never leave the backend; :mod:`opsml.backends.sql.backend` turns them into
:class:`opsml.schemas.CardPublic`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    """Declarative base of the registry tables."""


class CardRow(Base):
    """One card version. ``status`` is ``pending`` while artifacts upload, then ``active``;
    ``deleted`` rows stay so that their version is never given again.
    """

    __tablename__ = "opsml_cards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    registry_type: Mapped[str] = mapped_column("registry", String(16))
    repository: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(128))
    major: Mapped[int] = mapped_column(BigInteger)
    minor: Mapped[int] = mapped_column(BigInteger)
    patch: Mapped[int] = mapped_column(BigInteger)
    prerelease: Mapped[str] = mapped_column(String(128), default="")
    build: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    contact: Mapped[str] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    card_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # what a list row shows of the metadata (opsml.card_index.summary_of): lists never read metadata
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        UniqueConstraint("registry", "repository", "name", "version", name="uq_card_version"),
        Index("ix_cards_registry_id", "registry", "status", "id"),
        Index(
            "ix_cards_lookup", "registry", "name", "repository", "status", "major", "minor", "patch"
        ),
        Index("ix_cards_repository", "registry", "repository", "status", "id"),
        # the next version of a name, whatever the status: its highest triple, read backwards
        Index("ix_cards_versions", "registry", "name", "repository", "major", "minor", "patch"),
        # list by name, newest first: without it a name's 50 newest versions scan
        # the whole repository backwards through ix_cards_repository
        Index("ix_cards_name", "registry", "name", "repository", "status", "id"),
    )


class TagRow(Base):
    """Tags again, one row each, so that list filters use an index instead of JSON."""

    __tablename__ = "opsml_card_tags"

    card_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opsml_cards.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))

    __table_args__ = (Index("ix_tags_key_value", "key", "value", mysql_length={"value": 191}),)


class LinkRow(Base):
    """A lineage reference of a card (``links_to``): one row per uid its metadata points to."""

    __tablename__ = "opsml_card_links"

    card_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opsml_cards.id", ondelete="CASCADE"), primary_key=True
    )
    target_uid: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_links_target", "target_uid", "card_id"),)


class NameRow(Base):
    """Each (registry, repository, name) ever activated, with how many of its cards are active:
    search matches here, then lists by name; counts without other filters add these up.
    """

    __tablename__ = "opsml_card_names"

    registry_type: Mapped[str] = mapped_column("registry", String(16), primary_key=True)
    repository: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    active_cards: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditRow(Base):
    """Every write: who, what, when, from which environment."""

    __tablename__ = "opsml_audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str | None] = mapped_column(String(256), nullable=True)
    environment: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    registry_type: Mapped[str] = mapped_column("registry", String(16))
    card_uid: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    repository: Mapped[str | None] = mapped_column(String(128), nullable=True)
    version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UserRow(Base):
    """A registry user; ``password_hash`` is argon2 (``None``: a service user, tokens only)."""

    __tablename__ = "opsml_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(256), nullable=True)


class TokenRow(Base):
    """A service token of a user: only its SHA-256 ``digest`` is kept (the token is random)."""

    __tablename__ = "opsml_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opsml_users.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GrantRow(Base):
    """A role of a user on one repository, or on all (``repository`` empty)."""

    __tablename__ = "opsml_grants"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opsml_users.id", ondelete="CASCADE"), primary_key=True
    )
    repository: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class FirstAdminRow(Base):
    """The guard of the first-user rule: at most one row (``id`` is always 1), naming the user
    an ``add_user`` made the registry's first administrator.

    It is inserted in that user's transaction: a second transaction making a first
    administrator at the same instant (both saw no user) waits on the key, then fails the
    unique constraint and is refused. It goes with its user (docs/security.md).
    """

    __tablename__ = "opsml_first_admin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("opsml_users.id", ondelete="CASCADE"), index=True
    )


class AliasRow(Base):
    """An alias: one version per (registry, repository, name, alias); moved by update."""

    __tablename__ = "opsml_card_aliases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    registry_type: Mapped[str] = mapped_column("registry", String(16))
    repository: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    alias: Mapped[str] = mapped_column(String(63))
    card_uid: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    set_by: Mapped[str | None] = mapped_column(String(256), nullable=True)

    __table_args__ = (
        UniqueConstraint("registry", "repository", "name", "alias", name="uq_card_alias"),
    )


class _CardRecord:
    """The first columns of a record about one card version: its id, then the card.

    ``sort_order=-1`` keeps them first in the table, where the migrations put them.
    """

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True, sort_order=-1)
    registry_type: Mapped[str] = mapped_column("registry", String(16), sort_order=-1)
    card_uid: Mapped[str] = mapped_column(String(32), sort_order=-1)
    repository: Mapped[str] = mapped_column(String(128), sort_order=-1)
    name: Mapped[str] = mapped_column(String(128), sort_order=-1)
    version: Mapped[str] = mapped_column(String(128), sort_order=-1)


class DeploymentRow(_CardRecord, Base):
    """One deployment record (docs/design.md §17); append-only: never updated, never deleted."""

    __tablename__ = "opsml_deployments"

    environment: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    image: Mapped[str | None] = mapped_column(String(512), nullable=True)
    image_digest: Mapped[str | None] = mapped_column(String(71), nullable=True)
    manifests_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    flow_run_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(256), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_deployments_target", "environment", "target", "id"),
        Index("ix_deployments_card", "card_uid", "id"),
        Index("ix_deployments_name", "registry", "name", "repository", "id"),
    )


class DeploymentTargetRow(Base):
    """One row per (environment, target): its current ``deployed`` record, or none.

    Recorders lock it (or insert it) first, so concurrent recorders of one
    target serialize and leave exactly one current deployment.
    """

    __tablename__ = "opsml_deployment_targets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255))
    current_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    card_uid: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("environment", "target", name="uq_deployment_target"),)


class ApprovalRow(_CardRecord, Base):
    """One request to move a protected alias (docs/design.md §19): ``pending``, then ``approved``
    or ``rejected`` once (``decided_*`` set then); the card and its alias state when asked.
    """

    __tablename__ = "opsml_approvals"

    alias: Mapped[str] = mapped_column(String(63))
    from_uid: Mapped[str | None] = mapped_column(String(32), nullable=True)
    from_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    from_any: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_approvals_state", "state", "id"),
        Index("ix_approvals_name", "registry", "repository", "name", "id"),
        Index("ix_approvals_card", "card_uid"),
    )


CARDS: Table = CardRow.__table__  # type: ignore[assignment]
TAGS: Table = TagRow.__table__  # type: ignore[assignment]
LINKS: Table = LinkRow.__table__  # type: ignore[assignment]
NAMES: Table = NameRow.__table__  # type: ignore[assignment]
AUDIT: Table = AuditRow.__table__  # type: ignore[assignment]
USERS: Table = UserRow.__table__  # type: ignore[assignment]
TOKENS: Table = TokenRow.__table__  # type: ignore[assignment]
GRANTS: Table = GrantRow.__table__  # type: ignore[assignment]
FIRST_ADMIN: Table = FirstAdminRow.__table__  # type: ignore[assignment]
ALIASES: Table = AliasRow.__table__  # type: ignore[assignment]
DEPLOYMENTS: Table = DeploymentRow.__table__  # type: ignore[assignment]
TARGETS: Table = DeploymentTargetRow.__table__  # type: ignore[assignment]
APPROVALS: Table = ApprovalRow.__table__  # type: ignore[assignment]


class UploadSessionRow(Base):
    """An open upload: the card it registers, its owner and when it was last used.

    Rows live in the database (not on one server's disk), so that the create,
    the PUTs and the commit of one session may reach different server processes.
    ``state`` is ``open``, then ``committing`` while one process commits it.
    """

    __tablename__ = "opsml_upload_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(256), nullable=True)
    presigned: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="open")
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class UploadFileRow(Base):
    """One file that arrived in an upload session: the size and SHA-256 the server hashed."""

    __tablename__ = "opsml_upload_files"

    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("opsml_upload_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


UPLOAD_SESSIONS: Table = UploadSessionRow.__table__  # type: ignore[assignment]
UPLOAD_FILES: Table = UploadFileRow.__table__  # type: ignore[assignment]
