"""Garbage collection: registrations abandoned by a killed process.

A registration reserves its version as a ``pending`` row, stores the files
under the version's folder, then activates the row; a process killed in
between leaves the row (invisible) and part of the files. :func:`collect_garbage`
removes pending rows older than a timeout together with their folders; a
registration still in progress is younger than the timeout and is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from opsml.backends.sql import _writes
from opsml.backends.sql._rows import as_utc, now
from opsml.backends.sql.tables import CardRow
from opsml.storage.layout import card_prefix

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from opsml.storage.store import ArtifactStore

logger = logging.getLogger("opsml.gc")
Connect = Callable[[], AbstractContextManager["Connection"]]


def collect_garbage(connect: Connect, store: ArtifactStore, older_than: timedelta) -> int:
    """Remove pending reservations older than ``older_than`` and their stored files.

    Files go first, then the row: a sweep killed half-way leaves a row that the
    next sweep finds again.

    Returns:
        How many abandoned registrations were removed.

    """
    cutoff = now() - older_than
    query = select(
        CardRow.id, CardRow.registry_type.label("kind"), CardRow.repository, CardRow.name,
        CardRow.version, CardRow.created_at,
    ).where(CardRow.status == "pending")  # fmt: skip
    with connect() as conn:
        stale = [row for row in conn.execute(query) if as_utc(row.created_at) < cutoff]
    for row in stale:
        prefix = card_prefix(row.kind, row.repository, row.name, row.version)
        store.delete_prefix(prefix)
        with connect() as conn:
            _writes.drop_pending(conn, row.id)
        logger.info("removed an abandoned registration", extra={"prefix": prefix})
    return len(stale)
