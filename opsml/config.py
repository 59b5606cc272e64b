"""Configuration: read from the environment on first use, never at import.

| variable | meaning |
| --- | --- |
| ``OPSML_TRACKING_URI`` | ``http(s)://`` → a registry server; ``sqlite:///``, ``postgresql+psycopg://``,
  ``mysql+pymysql://`` → the SQL backend directly; unset → embedded SQLite in ``./opsml_registry`` |
| ``OPSML_STORAGE_URI`` | where the SQL backend keeps artifacts (folder, ``s3://``, ``gs://``) |
| ``OPSML_USERNAME`` / ``OPSML_PASSWORD`` | basic auth (server: turn it on; client: send it) |
| ``APP_ENV`` | ``development``, ``staging`` or ``production`` |
| ``OPSML_PROD_TOKEN`` | production write token (server: required on writes; client: sent) |

Example:
    >>> from opsml import configure
    >>> settings = configure(tracking_uri="sqlite:///:memory:")
    >>> settings.tracking_uri
    'sqlite:///:memory:'
    >>> _ = configure()  # back to the environment

"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = Path("opsml_registry")

AppEnv = Literal["development", "staging", "production"]


class OpsmlSettings(BaseSettings):
    """The client's (and the embedded backend's) settings.

    Example:
        >>> OpsmlSettings(tracking_uri="http://registry:8080").backend_kind
        'http'

    """

    model_config = SettingsConfigDict(env_prefix="OPSML_", extra="ignore", frozen=True)

    tracking_uri: str | None = Field(
        default=None, description="Registry server URL or SQLAlchemy database URL."
    )
    storage_uri: str | None = Field(
        default=None, description="Artifact root for the SQL backend: folder, s3:// or gs://."
    )
    username: str | None = Field(default=None, description="Basic-auth user name.")
    password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    prod_token: SecretStr | None = Field(default=None, description="Production write token.")
    app_env: AppEnv = Field(
        default="development",
        validation_alias=AliasChoices("APP_ENV", "OPSML_APP_ENV", "app_env"),
        description="Environment this registry belongs to.",
    )
    request_timeout: float = Field(
        default=30.0, gt=0, description="Seconds an HTTP call may wait for the server."
    )

    @property
    def backend_kind(self) -> Literal["http", "sql"]:
        """``http`` for a registry server, ``sql`` for a direct database URL or the default."""
        uri = (self.tracking_uri or "").lower()
        return "http" if uri.startswith(("http://", "https://")) else "sql"

    def resolved_tracking_uri(self) -> str:
        """The tracking URI, with the embedded default filled in."""
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(DEFAULT_HOME / 'registry.db').as_posix()}"

    def resolved_storage_uri(self) -> str:
        """The storage root, defaulting to a folder beside the embedded database."""
        if self.storage_uri:
            return self.storage_uri
        uri = self.resolved_tracking_uri()
        if uri.startswith("sqlite:///") and uri not in ("sqlite:///:memory:", "sqlite://"):
            return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_posix()
        return (DEFAULT_HOME / "artifacts").as_posix()


_overrides: dict[str, Any] = {}


@functools.lru_cache(maxsize=1)
def get_settings() -> OpsmlSettings:
    """The process-wide settings: the environment, overridden by :func:`configure`.

    Example:
        >>> get_settings().app_env in ("development", "staging", "production")
        True

    """
    return OpsmlSettings(**_overrides)


def configure(**overrides: Any) -> OpsmlSettings:
    """Override settings for this process; called with nothing, go back to the environment.

    Clients built after the call use the new settings; registries that already
    exist keep theirs.

    Args:
        **overrides: any field of :class:`OpsmlSettings` (``tracking_uri``,
            ``storage_uri``, ``username``, ``password``, ``prod_token``, ``app_env``).

    Returns:
        The settings now in force.

    Example:
        >>> configure(tracking_uri="sqlite:///:memory:").backend_kind
        'sql'
        >>> _ = configure()

    """
    from opsml.errors import ConfigurationError

    unknown = set(overrides) - set(OpsmlSettings.model_fields)
    if unknown:
        raise ConfigurationError(
            f"unknown setting(s) {sorted(unknown)}; known: {sorted(OpsmlSettings.model_fields)}"
        )
    _overrides.clear()
    _overrides.update({k: v for k, v in overrides.items() if v is not None})
    get_settings.cache_clear()
    from opsml.backends import clear_backend_cache

    clear_backend_cache()
    return get_settings()
