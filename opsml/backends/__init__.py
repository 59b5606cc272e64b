"""Pick the backend for a tracking URI, in exactly one place: the scheme table.

Each scheme maps to a :class:`BackendKind`: its name and the builder that
makes the backend from settings. An unknown scheme fails listing the known
ones. To add a backend, write it beside ``http`` and ``sql`` (implementing
:class:`~opsml.backends.base.RegistryBackend`) and add its schemes here.

Example:
    >>> backend_scheme("http://registry:8080")
    'http'
    >>> backend_scheme("postgresql+psycopg://u@db/opsml")
    'sql'
    >>> try:
    ...     backend_scheme("ftp://x")
    ... except ConfigurationError as exc:
    ...     print(exc.message.split(":")[0])
    unknown tracking URI scheme 'ftp'

"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opsml.config import on_configure
from opsml.errors import ConfigurationError

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.config import OpsmlSettings, RegistrySettings
    from opsml.listeners import CommitListeners


def _build_http(settings: OpsmlSettings) -> RegistryBackend:
    from opsml.backends.http import HttpBackend

    return HttpBackend.from_settings(settings)


def _build_sql(settings: OpsmlSettings) -> RegistryBackend:
    from opsml._plugins import commit_listeners
    from opsml.backends.sql import SqlBackend

    backend = SqlBackend.from_settings(settings)
    backend.listeners = commit_listeners()  # the plugins' listeners hear its commits
    return backend


@dataclass(frozen=True)
class BackendKind:
    """A kind of backend: its name and how to build it from settings.

    Example:
        >>> SQL.name
        'sql'

    """

    name: str
    build: Callable[[OpsmlSettings], RegistryBackend]


HTTP = BackendKind("http", _build_http)
SQL = BackendKind("sql", _build_sql)

_SCHEMES: dict[str, BackendKind] = {
    "http": HTTP,
    "https": HTTP,
    "sqlite": SQL,
    "postgresql": SQL,
    "postgresql+psycopg": SQL,
    "postgresql+psycopg2": SQL,
    "mysql": SQL,
    "mysql+pymysql": SQL,
    "mariadb": SQL,
    "mariadb+pymysql": SQL,
}

_cache: dict[tuple[object, ...], RegistryBackend] = {}
_lock = threading.Lock()


def backend_for(uri: str) -> BackendKind:
    """The backend kind for a tracking URI; an unknown scheme lists the known ones.

    Example:
        >>> backend_for("sqlite:///:memory:") is SQL
        True

    """
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    try:
        return _SCHEMES[scheme]
    except KeyError:
        raise ConfigurationError(
            f"unknown tracking URI scheme {scheme or uri!r}: use one of "
            f"{', '.join(_SCHEMES)} (or leave OPSML_TRACKING_URI unset for embedded)"
        ) from None


def backend_scheme(uri: str) -> str:
    """``http`` or ``sql`` for a tracking URI (see :func:`backend_for`)."""
    return backend_for(uri).name


def build_backend(settings: OpsmlSettings) -> RegistryBackend:
    """A new backend for ``settings`` (no caching)."""
    return backend_for(settings.resolved_tracking_uri()).build(settings)


def _database_url(uri: str) -> str:
    if backend_for(uri) is not SQL:
        raise ConfigurationError(
            f"{uri} is not a database URL (sqlite:///, postgresql+psycopg://, mysql+pymysql://)"
        )
    return uri


def build_database_backend(
    settings: RegistrySettings,
    *,
    auto_migrate: bool = True,
    listeners: CommitListeners | None = None,
) -> RegistryBackend:
    """A new backend over the registry database of ``settings`` (what a registry server holds).

    Args:
        settings: names the database (``resolved_tracking_uri``), the store, the
            environment and the signing and approval policies.
        auto_migrate: create or upgrade the tables on first use.
        listeners: who the backend tells after each commit (default: nobody).

    Raises:
        ConfigurationError: the tracking URI is not a database URL.

    Example:
        >>> from opsml.config import RegistrySettings
        >>> build_database_backend(RegistrySettings(tracking_uri="http://registry:8080"))
        Traceback (most recent call last):
        ...
        opsml.errors.ConfigurationError: http://registry:8080 is not a database URL ...

    """
    uri = _database_url(settings.resolved_tracking_uri())
    from opsml.backends.sql import SqlBackend

    return SqlBackend(
        uri,
        settings.resolved_storage_uri(),
        environment=settings.app_env,
        auto_migrate=auto_migrate,
        require_signature=settings.require_signature,
        protected_aliases=settings.protected_aliases,
        listeners=listeners,
    )


def open_database(settings: RegistrySettings) -> RegistryBackend | None:
    """The backend of an existing registry database, opened without creating or upgrading
    anything; ``None`` when the database has no registry tables yet.

    Raises:
        BackendUnavailableError: the database cannot be reached or read.

    """
    from opsml.backends.sql.existing import open_existing_database

    return open_existing_database(settings)


def upgrade_database(uri: str) -> str:
    """Create the registry tables of the database at ``uri`` or upgrade them to this
    version's schema (what ``opsml db upgrade`` runs); returns the revision now in force.

    Holds the migration lock: a database another process migrated meanwhile is left alone.

    Raises:
        ConfigurationError: ``uri`` is not a database URL.
        BackendUnavailableError: the database cannot be reached.
        RegistryDatabaseError: the migration failed (the database is named without
            credentials).

    Example:
        >>> upgrade_database("http://registry:8080")
        Traceback (most recent call last):
        ...
        opsml.errors.ConfigurationError: http://registry:8080 is not a database URL ...

    """
    from opsml.backends.sql.migrate import upgrade_database as upgrade

    return upgrade(_database_url(uri))


def get_backend(settings: OpsmlSettings | None = None) -> RegistryBackend:
    """The shared backend for these settings (one pool per process and URI)."""
    from opsml.config import get_settings

    settings = settings or get_settings()
    key = (
        settings.resolved_tracking_uri(),
        settings.resolved_storage_uri(),
        settings.username,
        settings.password.get_secret_value() if settings.password else None,
        settings.prod_token.get_secret_value() if settings.prod_token else None,
        settings.app_env,
        settings.protected_aliases,
        settings.actor,
    )
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            backend = _cache[key] = build_backend(settings)
        return backend


def clear_backend_cache() -> None:
    """Close and forget every shared backend (after ``configure`` and in tests)."""
    with _lock:
        for backend in _cache.values():
            backend.close()
        _cache.clear()


on_configure(clear_backend_cache)
