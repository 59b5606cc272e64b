"""Wire models of protected aliases and approval requests (docs/design.md §19).

A protected alias (``OPSML_PROTECTED_ALIASES``) never moves directly: someone
asks for the move (:class:`ApprovalCreate`), another person with the
``approver`` role decides (:class:`ApprovalDecision`), and approving moves the
alias in the same transaction. A request is ``pending`` until it is
``approved`` or ``rejected``; a pending request past its ``expires_at`` reads
as ``expired`` and can no longer be decided.

Example:
    >>> sorted(protected_set("champion, production,,"))
    ['champion', 'production']
    >>> ApprovalCreate(uid="0" * 32, alias="champion", reason="AUC +2%").expires_in
    604800

"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from opsml.card_kinds import RegistryType
from opsml.schemas_aliases import NEW_ALIAS_PATTERN, check_alias, check_new_alias
from opsml.schemas_pages import CursorPage
from opsml.schemas_rules import UID_PATTERN

ApprovalState = Literal["pending", "approved", "rejected", "expired"]
APPROVAL_STATES: tuple[ApprovalState, ...] = ("pending", "approved", "rejected", "expired")
MAX_REASON = 2000
"""Characters of a request's reason."""
MAX_COMMENT = 2000
"""Characters of a decision's comment."""
DEFAULT_EXPIRY = 7 * 24 * 3600
"""Seconds a request stays decidable unless it says otherwise (7 days)."""
MAX_EXPIRY = 90 * 24 * 3600
"""The longest a request may stay decidable (90 days)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEXT = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*"
REASON_PATTERN = f"^{_TEXT}[^\\s\\x00-\\x1f\\x7f]{_TEXT}$"
"""A reason as OpenAPI publishes it: no control characters but tab and newlines, and at
least one character that is not whitespace (what :func:`_reason` checks)."""


def protected_set(value: str | None) -> frozenset[str]:
    """The alias names of an ``OPSML_PROTECTED_ALIASES`` value (comma-separated), each checked.

    Raises:
        InvalidInputError: a name that is not a valid alias, or a reserved one (it could
            never be set).

    Example:
        >>> sorted(protected_set("champion,production"))
        ['champion', 'production']
        >>> protected_set("")
        frozenset()

    """
    parts = (part.strip() for part in (value or "").split(","))
    return frozenset(check_new_alias(part) for part in parts if part)


def check_text(value: str | None, field: str, limit: int) -> str | None:
    """``value`` when it is free text within ``limit`` characters, without control characters.

    Markup is kept as text: every reader (UI, CLI) shows it escaped, never rendered.
    Newlines and tabs are allowed.

    Raises:
        ValueError: too long or holding control characters; the message names ``field``.

    Example:
        >>> check_text("<b>AUC</b> +2%", "reason", 10)
        Traceback (most recent call last):
        ...
        ValueError: reason is 14 characters long: at most 10

    """
    if value is None:
        return None
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters long: at most {limit}")
    if _CONTROL.search(value):
        raise ValueError(f"{field} must not contain control characters")
    return value


def person_of(actor: str) -> str:
    """The person behind an actor: a service token acts as ``user/token-name`` for ``user``.

    Example:
        >>> person_of("alice/ci-token"), person_of("bob")
        ('alice', 'bob')

    """
    return actor.split("/", 1)[0]


def _reason(value: str) -> str:
    checked = check_text(value, "reason", MAX_REASON)
    if checked is None or not checked.strip():
        raise ValueError("reason must not be empty: say why this version should get the alias")
    return checked


def _comment(value: str | None) -> str | None:
    return check_text(value, "comment", MAX_COMMENT)


class ApprovalCreate(BaseModel):
    """Body of ``POST /api/v1/approvals``: move ``alias`` to the card ``uid``, once approved.

    Example:
        >>> ApprovalCreate(uid="0" * 32, alias="champion", reason="better").from_any
        False

    """

    registry: RegistryType = "model"
    uid: str = Field(pattern=UID_PATTERN, description="The candidate card's uid.")
    alias: Annotated[str, AfterValidator(check_new_alias)] = Field(
        description="The protected alias to move, e.g. 'champion'.",
        json_schema_extra={"pattern": NEW_ALIAS_PATTERN},
    )
    reason: Annotated[str, AfterValidator(_reason)] = Field(
        description=f"Why (1-{MAX_REASON} characters; shown escaped).",
        json_schema_extra={"pattern": REASON_PATTERN, "maxLength": MAX_REASON},
    )
    from_any: bool = Field(
        default=False,
        description="Approve whatever version the alias points to by then; by default the "
        "request goes stale (409) when the alias moved after it was made.",
    )
    expires_in: int = Field(
        default=DEFAULT_EXPIRY,
        ge=1,
        le=MAX_EXPIRY,
        description="Seconds the request stays decidable (default 7 days, at most 90).",
    )


class ApprovalDecision(BaseModel):
    """Body of ``POST /api/v1/approvals/{id}/approve`` and ``/reject``.

    Example:
        >>> ApprovalDecision(comment="metrics checked").comment
        'metrics checked'

    """

    comment: Annotated[str | None, AfterValidator(_comment)] = Field(
        default=None, description=f"The approver's comment (at most {MAX_COMMENT} characters)."
    )


class ApprovalPublic(BaseModel):
    """One approval request as read back.

    Example:
        >>> from datetime import UTC
        >>> at = datetime(2026, 1, 1, tzinfo=UTC)
        >>> ApprovalPublic(id=1, registry="model", uid="0" * 32, name="m", repository="r",
        ...     version="1.1.0", alias="champion", reason="x", state="pending",
        ...     requested_by="alice", requested_at=at, expires_at=at).state
        'pending'

    """

    id: int
    registry: RegistryType
    uid: str = Field(description="The candidate card's uid.")
    name: str
    repository: str
    version: str = Field(description="The candidate version.")
    alias: str
    from_uid: str | None = Field(
        default=None, description="The card the alias pointed to when requested (None: unset)."
    )
    from_version: str | None = Field(default=None, description="Its version.")
    from_any: bool = False
    reason: str
    state: ApprovalState
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None


class ApprovalPage(CursorPage[ApprovalPublic, int]):
    """One page of requests, newest first; ``next_cursor`` continues it.

    Example:
        >>> ApprovalPage(items=[]).next_cursor is None
        True

    """


class ApprovalQuery(BaseModel):
    """Filters of ``GET /api/v1/approvals``; every one optional.

    ``repositories`` (set by the server) limits the listing to what the caller may read.

    Example:
        >>> ApprovalQuery(state="pending").limit
        50

    """

    registry: RegistryType | None = None
    name: str | None = Field(default=None, max_length=128)
    repository: str | None = Field(default=None, max_length=128)
    uid: str | None = Field(default=None, pattern=UID_PATTERN)
    alias: Annotated[str | None, AfterValidator(lambda v: v if v is None else check_alias(v))] = (
        None
    )
    state: ApprovalState | None = None
    requested_by: str | None = Field(default=None, max_length=256)
    repositories: list[str] | None = None
    cursor: int | None = Field(default=None, ge=1, le=2**63 - 1)
    limit: int = Field(default=50, ge=1, le=1000)
