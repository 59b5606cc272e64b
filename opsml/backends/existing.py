"""Open a registry for reading only: never create a database, a table or a folder.

Read commands (``opsml cards list``, ``opsml cards show``) use this instead of
:func:`opsml.backends.get_backend`, which creates the embedded registry on
first use. A SQLite file that is not there is an error naming it (a mistyped
``OPSML_TRACKING_URI``), except for the embedded default, which simply has no
cards yet; a database without the registry's tables has no cards either. A
registry server owns its database, so an HTTP registry is opened as usual.

Example:
    >>> from opsml.config import OpsmlSettings
    >>> open_existing(OpsmlSettings(tracking_uri="sqlite:///:memory:")) is None
    True

"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsml.backends import SQL, backend_for, get_backend, open_database
from opsml.config import describe_location, sqlite_path
from opsml.errors import ConfigurationError

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.config import OpsmlSettings


def open_existing(settings: OpsmlSettings) -> RegistryBackend | None:
    """The backend of an existing registry, or None when the registry holds nothing yet.

    Args:
        settings: the client settings naming the registry.

    Returns:
        A backend to read from, or None when there is no registry yet (the
        embedded default before its first card, or a database without tables).

    Raises:
        ConfigurationError: ``OPSML_TRACKING_URI`` names a SQLite file that does not exist.
        BackendUnavailableError: the database cannot be reached.

    Example:
        >>> from opsml.config import OpsmlSettings
        >>> open_existing(OpsmlSettings(tracking_uri="sqlite:////no/such/x.db"))
        Traceback (most recent call last):
        ...
        opsml.errors.ConfigurationError: no registry at sqlite:////no/such/x.db: ...

    """
    uri = settings.resolved_tracking_uri()
    if backend_for(uri) is not SQL:
        return get_backend(settings)
    database = sqlite_path(uri)
    if database is not None and not database.is_file():
        if settings.tracking_uri is None:
            return None
        raise ConfigurationError(
            f"no registry at {describe_location(uri)}: the database file does not exist "
            "(check OPSML_TRACKING_URI; registering a card creates it)"
        )
    return open_database(settings)
