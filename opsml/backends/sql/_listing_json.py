"""Full cards as the JSON of a ``Page``, spliced from the stored JSON columns.

``GET /api/v1/cards/{registry}`` sends every field of up to 50 cards. Parsing
each card's ``tags``, ``metadata`` and ``files`` from the database and encoding
them again cost the server more than the query itself, for bytes that leave it
unchanged. Here the three columns are read as text and placed in the answer as
they are; only the scalar fields are encoded. The rows are the same rows
:func:`~opsml.backends.sql._queries.list_cards` returns (both read them with
:func:`~opsml.backends.sql._queries.matching`), and a contract test checks that both
give equal cards.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, cast

from opsml.backends.sql._queries import matching
from opsml.backends.sql._rows import as_utc
from opsml.backends.sql.tables import CARDS
from opsml.schemas import CardQuery, RegistryType

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_SCALARS = ("registry", "name", "repository", "contact", "description", "uid", "version")

_COLUMNS = (
    CARDS.c.id,
    *(CARDS.c[name] for name in _SCALARS),
    CARDS.c.created_at,
    CARDS.c.created_by,
    CARDS.c.updated_at,
    cast(CARDS.c.tags, Text).label("tags"),
    cast(CARDS.c.metadata, Text).label("metadata"),
    cast(CARDS.c.files, Text).label("files"),
)


def _timestamp(value: datetime | None) -> str | None:
    """ISO 8601 as pydantic writes it: stored naive times are UTC, and UTC is ``Z``."""
    if value is None:
        return None
    text = as_utc(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _card(row: Any) -> str:
    head: dict[str, Any] = {name: getattr(row, name) for name in _SCALARS}
    head["created_at"] = _timestamp(row.created_at)
    head["created_by"] = row.created_by
    head["updated_at"] = _timestamp(row.updated_at)
    scalars = json.dumps(head, separators=(",", ":"))
    return (
        f'{scalars[:-1]},"tags":{row.tags or "{}"},"metadata":{row.metadata or "{}"},'
        f'"files":{row.files or "[]"}}}'
    )


def list_cards_json(conn: Connection, registry: RegistryType, query: CardQuery) -> bytes:
    """The JSON of ``Page(items=list_cards(...))`` for ``query``, from the stored columns.

    Example:
        >>> list_cards_json(conn, "model", CardQuery(limit=1))  # doctest: +SKIP
        b'{"items":[{"registry":"model","name":"churn",...}]}'

    """
    rows = matching(conn, registry, query, _COLUMNS)
    return ('{"items":[' + ",".join(_card(r) for r in rows) + "]}").encode()
