"""Server settings, read from the environment (docs/design.md §4) by ``get_settings()``.

``ServerSettings`` is one of the :mod:`opsml.config` family: the connection
fields, the storage and the environment (and the rule for the default storage)
are the client's, and on the server ``OPSML_TRACKING_URI`` is the registry
*database* URL (the server is what clients point their own
``OPSML_TRACKING_URI`` at); ``database_url`` is that URL with the embedded
default filled in. Validators refuse values that would be unsafe: a production
server without a production token, a half-configured basic auth, an HTTP URL as
the database.

Example:
    >>> s = ServerSettings(database_url="sqlite:///:memory:", storage_uri="/tmp/a")
    >>> s.auth_enabled, s.app_env, s.database_url
    (False, 'development', 'sqlite:///:memory:')

"""

from __future__ import annotations

import functools
import os
import socket
from typing import Any, Self

from pydantic import Field, model_validator

from opsml.config import RegistrySettings

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_PROD_TOKEN_LENGTH = 16


class ServerSettings(RegistrySettings):
    """Everything the registry server reads from its environment.

    Example:
        >>> ServerSettings(database_url="sqlite:///:memory:", storage_uri="/tmp/a").max_inline_size
        67108864

    """

    max_upload_size: int = Field(
        default=100 * GIB, gt=0, description="Largest registration (all files together), bytes."
    )
    max_inline_size: int = Field(
        default=64 * MIB,
        gt=0,
        description="Largest single-request (multipart) registration or JSON body, bytes.",
    )
    upload_session_ttl: float = Field(
        default=3600.0, gt=0, description="Seconds after which an uncommitted upload is removed."
    )
    pending_timeout: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds after which a registration that never completed (its process "
        "was killed) is removed with its files, at startup and periodically.",
    )
    auto_migrate: bool = Field(
        default=True, description="Create or upgrade the tables on first use."
    )
    login_failure_limit: int = Field(
        default=10,
        gt=0,
        description="Failed password logins per user name and client address within the "
        "window before further attempts of that user from that address get 429 (per replica).",
    )
    login_failure_user_limit: int = Field(
        default=100,
        gt=0,
        description="Failed password logins per user name from all addresses within the "
        "window before further attempts of that user get 429 (per replica).",
    )
    login_failure_address_limit: int = Field(
        default=1000,
        gt=0,
        description="Failed logins from one client address (every user name; wrong bearer "
        "tokens counted apart) within the window before further attempts from it get 429; "
        "far above the per-user limits, since a proxy or NAT puts many users behind one "
        "address (per replica).",
    )
    login_failure_window: float = Field(
        default=60.0, gt=0, description="Seconds over which failed logins are counted."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks (CIDR) of authenticating proxies "
        "whose identity header is trusted; empty: none.",
    )
    proxy_user_header: str = Field(
        default="X-Forwarded-User",
        description="The header naming the user, set by a trusted authenticating proxy.",
    )
    replica_name: str = Field(
        default_factory=socket.gethostname,
        description="This replica's name in opsml_server_info (default the host name: the pod).",
    )
    log_level: str = Field(default="INFO", description="Log level of the server's loggers.")
    log_json: bool = Field(default=True, description="Write logs as one JSON object per line.")

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        """``database_url`` (argument) and ``OPSML_DATABASE_URL`` name the tracking URI too."""
        if data.get("database_url"):
            data["tracking_uri"] = data.pop("database_url")
        elif not data.get("tracking_uri") and os.environ.get("OPSML_DATABASE_URL"):
            data["tracking_uri"] = os.environ["OPSML_DATABASE_URL"]
        data.pop("database_url", None)
        return data

    @model_validator(mode="after")
    def _safe(self) -> Self:
        from opsml.backends import backend_scheme

        if backend_scheme(self.database_url) != "sql":
            raise ValueError(
                "on the server OPSML_TRACKING_URI must be a database URL "
                "(sqlite:///, postgresql+psycopg://, mysql+pymysql://), not a server URL"
            )
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
    def database_url(self) -> str:
        """The registry database URL (``OPSML_TRACKING_URI``; default the embedded SQLite)."""
        return self.resolved_tracking_uri()

    @property
    def auth_enabled(self) -> bool:
        """True when the server asks for basic auth."""
        return self.username is not None

    @property
    def write_token_required(self) -> bool:
        """True when writes need the production token."""
        return self.app_env == "production"


@functools.lru_cache(maxsize=1)
def get_settings() -> ServerSettings:
    """The server's settings from the environment, built once (``cache_clear()`` in tests).

    Example:
        >>> get_settings.cache_clear()

    """
    return ServerSettings()
