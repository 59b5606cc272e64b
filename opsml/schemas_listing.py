"""Wire models of light list rows (re-exported by :mod:`opsml.schemas`).

A list shows many cards and opens one: :class:`CardSummary` carries what a row
shows (never a model's signature or sample data), :class:`CardPage` one page of
them with the cursor of the next, :class:`CardCount` an exact count.

Example:
    >>> CardPage(items=[]).next_cursor is None
    True

"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from opsml.card_kinds import RegistryType
from opsml.schemas_pages import CursorPage


class CardSummary(BaseModel):
    """One card as a list shows it; load the card (by ``uid``) for the rest.

    ``summary`` holds a few kind-specific scalars: a model's ``framework``, a
    data card's ``kind`` and ``row_count``, a run's ``metrics`` names, a
    pipeline's ``flow_name`` and ``state``.

    Example:
        >>> from datetime import datetime, timezone
        >>> CardSummary(registry="model", name="churn", repository="ds", version="1.0.0",
        ...             uid="0" * 32, created_at=datetime.now(timezone.utc)).summary
        {}

    """

    registry: RegistryType
    name: str
    repository: str
    version: str
    uid: str
    created_at: datetime
    created_by: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    summary: dict[str, Any] = Field(default_factory=dict)


class CardPage(CursorPage[CardSummary, str]):
    """A page of list rows, newest first; ``next_cursor`` continues it (``None``: last page).

    Example:
        >>> CardPage(items=[], next_cursor="MTIzLmFi").next_cursor
        'MTIzLmFi'

    """


class CardCount(BaseModel):
    """How many cards match a query (exact).

    Example:
        >>> CardCount(count=3).count
        3

    """

    count: int = Field(ge=0)


class NextVersion(BaseModel):
    """The version the next registration of a name would get (a signed card fixes it first).

    Example:
        >>> NextVersion(version="1.3.0").version
        '1.3.0'

    """

    version: str
