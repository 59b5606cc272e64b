"""The page family of the wire models: one generic, :class:`CursorPage`.

A listing that goes on page by page answers its ``items``, newest first, and the
``next_cursor`` of the following page (``None``: the last page). The pages of the
wire (``CardPage``, ``DeploymentPage``, ``ApprovalPage``, ``AuditPage``) are its
subclasses, so their JSON and their OpenAPI names stay theirs. The name ``Page``
belongs to the plain card list of ``GET /api/v1/cards/{registry}`` (no cursor).

Example:
    >>> from pydantic import BaseModel
    >>> class Row(BaseModel):
    ...     n: int
    >>> class RowPage(CursorPage[Row, int]):
    ...     '''Rows.'''
    >>> RowPage(items=[{"n": 1}], next_cursor=7).model_dump()
    {'items': [{'n': 1}], 'next_cursor': 7}

"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

ItemT = TypeVar("ItemT")
CursorT = TypeVar("CursorT", int, str)


class CursorPage(BaseModel, Generic[ItemT, CursorT]):
    """One page of ``items``, newest first; ``next_cursor`` continues it (``None``: last page)."""

    items: list[ItemT]
    next_cursor: CursorT | None = None


__all__ = ["CursorPage"]
