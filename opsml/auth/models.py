"""Wire models of users, grants, tokens and the audit log (shared by client and server).

Example:
    >>> GrantPublic(role=Role.READER, repository="vision").model_dump()
    {'role': <Role.READER: 'reader'>, 'repository': 'vision'}

"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, SecretStr

from opsml.auth.roles import Role
from opsml.schemas_pages import CursorPage

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"


def _utc(value: datetime) -> datetime:
    """``value`` in UTC; a time without a zone (SQLite keeps none) is one in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A time in UTC, sent with its zone (``Z``) like the times of cards.

Example:
    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(UtcDatetime).dump_json(datetime(2026, 12, 7, 5, 10))
    b'"2026-12-07T05:10:00Z"'

"""


def _not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError(
            "the password is empty: give one, or null for a user of service tokens only"
        )
    return value


Password = Annotated[
    SecretStr, AfterValidator(_not_empty), Field(json_schema_extra={"minLength": 1})
]
"""A password: never empty (no password at all is ``None``, its own explicit choice)."""


class GrantPublic(BaseModel):
    """A role on one repository, or on every repository (``repository`` ``None``)."""

    role: Role
    repository: str | None = Field(default=None, min_length=1, max_length=128)


class UserCreate(BaseModel):
    """A new user; without a password it can only use service tokens."""

    name: str = Field(pattern=NAME_PATTERN)
    password: Password | None = None


class PasswordSet(BaseModel):
    """A user's new password (none: service tokens only)."""

    password: Password | None = None


class UserPublic(BaseModel):
    """A user as listed (never its password hash)."""

    name: str
    has_password: bool
    created_at: UtcDatetime
    created_by: str | None = None
    grants: list[GrantPublic] = Field(default_factory=list)


class TokenCreate(BaseModel):
    """A new service token for ``user`` (default: the caller)."""

    name: str = Field(pattern=NAME_PATTERN)
    user: str | None = None
    expires_at: UtcDatetime | None = None


class TokenPublic(BaseModel):
    """A service token as listed (never the token itself)."""

    name: str
    user: str
    created_at: UtcDatetime
    expires_at: UtcDatetime | None = None
    last_used_at: UtcDatetime | None = None


class TokenCreated(TokenPublic):
    """The answer to creating a token: the only time the token is shown."""

    token: str


class AuditQuery(BaseModel):
    """Filters of the audit log; ``cursor`` is the ``next_cursor`` of the previous page."""

    registry: str | None = None
    repository: str | None = None
    name: str | None = None
    user: str | None = None
    action: str | None = None
    card_uid: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    since: UtcDatetime | None = None  # compared in UTC (SQLite and MariaDB keep no zone)
    cursor: int | None = Field(default=None, ge=0, le=2**63 - 1)  # a BIGINT audit id
    limit: int = Field(default=100, ge=1, le=1000)


class AuditEntry(BaseModel):
    """One audit record: who did what to which card, when."""

    id: int
    at: UtcDatetime
    actor: str | None = None
    environment: str
    action: str
    registry: str
    card_uid: str | None = None
    name: str | None = None
    repository: str | None = None
    version: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditPage(CursorPage[AuditEntry, int]):
    """A page of the audit log, newest first; ``next_cursor`` ``None`` on the last page."""
