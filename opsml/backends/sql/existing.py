"""Open an existing registry database for reading: create nothing, upgrade nothing.

Reached through :func:`opsml.backends.open_database` (used by
:func:`opsml.backends.existing.open_existing`, the read commands' opener).
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from opsml.backends.sql.backend import SqlBackend
from opsml.backends.sql.migrate import current_revision
from opsml.config import RegistrySettings, describe_location
from opsml.errors import BackendUnavailableError


def open_existing_database(settings: RegistrySettings) -> SqlBackend | None:
    """The SQL backend of ``settings``' database, or None when it has no registry tables.

    Raises:
        BackendUnavailableError: the database cannot be reached or read.

    """
    uri = settings.resolved_tracking_uri()
    backend = SqlBackend(
        uri, settings.resolved_storage_uri(), environment=settings.app_env, auto_migrate=False
    )
    try:
        with backend.engine.connect() as conn:
            revision = current_revision(conn)
    except SQLAlchemyError as exc:
        backend.close()
        raise BackendUnavailableError(
            f"the registry database {describe_location(uri)} cannot be reached or read: "
            f"{type(exc).__name__}"
        ) from exc
    if revision is None:
        backend.close()
        return None
    return backend
