"""Server settings, read from the environment (DESIGN.md §4) by ``get_settings()``.

On the server ``OPSML_TRACKING_URI`` is the registry *database* URL (the server
is what clients point their own ``OPSML_TRACKING_URI`` at). Validators refuse
values that would be unsafe: a production server without a production token, a
half-configured basic auth, an HTTP URL as the database.

Example:
    >>> s = ServerSettings(database_url="sqlite:///:memory:", storage_uri="/tmp/a")
    >>> s.auth_enabled, s.app_env
    (False, 'development')

"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from opsml.config import DEFAULT_HOME

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_PROD_TOKEN_LENGTH = 16


class ServerSettings(BaseSettings):
    """Everything the registry server reads from its environment.

    Example:
        >>> ServerSettings(database_url="sqlite:///:memory:", storage_uri="/tmp/a").max_inline_size
        67108864

    """

    model_config = SettingsConfigDict(env_prefix="OPSML_", extra="ignore", frozen=True)

    database_url: str = Field(
        default=f"sqlite:///{(DEFAULT_HOME / 'registry.db').as_posix()}",
        validation_alias=AliasChoices("OPSML_TRACKING_URI", "OPSML_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL of the registry database (OPSML_TRACKING_URI on the server).",
    )
    storage_uri: str = Field(
        default=(DEFAULT_HOME / "artifacts").as_posix(),
        description="Artifact root: a folder, s3://bucket/prefix or gs://bucket/prefix.",
    )
    username: str | None = Field(default=None, description="Basic-auth user name (turns auth on).")
    password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    app_env: Literal["development", "staging", "production"] = Field(
        default="development",
        validation_alias=AliasChoices("APP_ENV", "OPSML_APP_ENV", "app_env"),
        description="Environment this registry serves.",
    )
    prod_token: SecretStr | None = Field(
        default=None, description="With APP_ENV=production, every write must carry this token."
    )
    max_upload_size: int = Field(
        default=100 * GIB, gt=0, description="Largest registration (all files together), bytes."
    )
    max_inline_size: int = Field(
        default=64 * MIB,
        gt=0,
        description="Largest single-request (multipart) registration or JSON body, bytes.",
    )
    staging_dir: Path | None = Field(
        default=None,
        description="Where uploads are staged before commit; same device as a folder store "
        "so that committing is a rename. Default: beside the folder store, else the temp dir.",
    )
    upload_session_ttl: float = Field(
        default=3600.0, gt=0, description="Seconds after which an uncommitted upload is removed."
    )
    auto_migrate: bool = Field(
        default=True, description="Create or upgrade the tables on first use."
    )
    log_level: str = Field(default="INFO", description="Log level of the server's loggers.")
    log_json: bool = Field(default=True, description="Write logs as one JSON object per line.")

    @field_validator("database_url")
    @classmethod
    def _sql_url(cls, value: str) -> str:
        from opsml.backends import backend_scheme

        if backend_scheme(value) != "sql":
            raise ValueError(
                "on the server OPSML_TRACKING_URI must be a database URL "
                "(sqlite:///, postgresql+psycopg://, mysql+pymysql://), not a server URL"
            )
        return value

    @model_validator(mode="after")
    def _safe(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both OPSML_USERNAME and OPSML_PASSWORD to turn basic auth on")
        if self.password is not None and not self.password.get_secret_value():
            raise ValueError("OPSML_PASSWORD must not be empty")
        if self.app_env == "production":
            token = self.prod_token.get_secret_value() if self.prod_token else ""
            if len(token) < MIN_PROD_TOKEN_LENGTH:
                raise ValueError(
                    "APP_ENV=production needs OPSML_PROD_TOKEN (at least "
                    f"{MIN_PROD_TOKEN_LENGTH} characters): writes to production must be guarded"
                )
        if self.max_inline_size > self.max_upload_size:
            raise ValueError("OPSML_MAX_INLINE_SIZE cannot exceed OPSML_MAX_UPLOAD_SIZE")
        return self

    @property
    def auth_enabled(self) -> bool:
        """True when the server asks for basic auth."""
        return self.username is not None

    @property
    def write_token_required(self) -> bool:
        """True when writes need the production token."""
        return self.app_env == "production"

    def resolved_staging_dir(self) -> Path:
        """The staging folder (see ``staging_dir``)."""
        if self.staging_dir is not None:
            return self.staging_dir
        if "://" not in self.storage_uri or self.storage_uri.startswith("file://"):
            root = Path(self.storage_uri.removeprefix("file://")).resolve()
            return root.parent / f".{root.name}-staging"
        return Path(tempfile.gettempdir()) / "opsml-staging"

    def __repr_args__(self):  # type: ignore[no-untyped-def]
        for key, value in super().__repr_args__():
            if key == "database_url":
                yield key, _redact_url(str(value))
            else:
                yield key, value


def _redact_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


@functools.lru_cache(maxsize=1)
def get_settings() -> ServerSettings:
    """The server's settings from the environment, built once (``cache_clear()`` in tests).

    Example:
        >>> get_settings.cache_clear()

    """
    return ServerSettings()
