"""Pick the backend for a tracking URI, in exactly one place.

Example:
    >>> from opsml.config import OpsmlSettings
    >>> backend_scheme("http://registry:8080")
    'http'
    >>> backend_scheme("postgresql+psycopg://u@db/opsml")
    'sql'

"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from opsml.errors import ConfigurationError

if TYPE_CHECKING:
    from opsml.backends.base import RegistryBackend
    from opsml.config import OpsmlSettings

_SCHEMES: dict[str, str] = {
    "http": "http",
    "https": "http",
    "sqlite": "sql",
    "postgresql": "sql",
    "postgresql+psycopg": "sql",
    "postgresql+psycopg2": "sql",
    "mysql": "sql",
    "mysql+pymysql": "sql",
    "mariadb": "sql",
    "mariadb+pymysql": "sql",
}

_cache: dict[tuple[object, ...], RegistryBackend] = {}
_lock = threading.Lock()


def backend_scheme(uri: str) -> str:
    """``http`` or ``sql`` for a tracking URI; unknown schemes list the known ones."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    try:
        return _SCHEMES[scheme]
    except KeyError:
        raise ConfigurationError(
            f"unknown tracking URI scheme {scheme or uri!r}: use one of "
            f"{', '.join(sorted(_SCHEMES))} (or leave OPSML_TRACKING_URI unset for embedded)"
        ) from None


def build_backend(settings: OpsmlSettings) -> RegistryBackend:
    """A new backend for ``settings`` (no caching)."""
    uri = settings.resolved_tracking_uri()
    if backend_scheme(uri) == "http":
        from opsml.backends.http import HttpBackend

        return HttpBackend.from_settings(settings)
    from opsml.backends.sql import SqlBackend

    return SqlBackend.from_settings(settings)


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
