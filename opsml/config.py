"""Configuration: one settings family, read from the environment on first use, never at import.

| variable | meaning |
| --- | --- |
| ``OPSML_TRACKING_URI`` | ``http(s)://`` → a registry server; ``sqlite:///``, ``postgresql+psycopg://``,
  ``mysql+pymysql://`` → the SQL backend directly (on the server: its database); unset →
  embedded SQLite in ``./opsml_registry`` |
| ``OPSML_STORAGE_URI`` | where the SQL backend keeps artifacts (folder, ``s3://``, ``gs://``) |
| ``OPSML_USERNAME`` / ``OPSML_PASSWORD`` | basic auth (server: turn it on; client: send it) |
| ``APP_ENV`` | ``development``, ``staging`` or ``production`` |
| ``OPSML_PROD_TOKEN`` | production write token (server: required on writes; client: sent) |
| ``OPSML_PROTECTED_ALIASES`` | aliases that move only by approval (where the database is written) |
| ``OPSML_ACTOR`` | who you are where nothing authenticates you (approvals; default the OS user) |

The family:

- :class:`RegistryConnection`: the connection fields (tracking URI, user, password,
  production token), defined here once. The Prefect ``OpsmlCredentials`` block is one.
- :class:`RegistrySettings`: the connection read from ``OPSML_*`` variables, plus the
  storage and the environment. One rule fills in the default storage
  (:func:`default_storage_uri`) for the client and the server alike.
- :class:`OpsmlSettings` (the client) and the server's ``ServerSettings`` extend it.

Example:
    >>> from opsml import configure
    >>> settings = configure(tracking_uri="sqlite:///:memory:")
    >>> settings.tracking_uri
    'sqlite:///:memory:'
    >>> _ = configure()  # back to the environment

"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = Path("opsml_registry")
"""The embedded registry's folder (relative to the working directory)."""

AppEnv = Literal["development", "staging", "production"]

_SECRET_PARAMS = ("password", "token", "secret", "key", "sig", "signature", "credential")


def embedded_tracking_uri() -> str:
    """The tracking URI used when none is set: SQLite in ``./opsml_registry``.

    Example:
        >>> embedded_tracking_uri()
        'sqlite:///opsml_registry/registry.db'

    """
    return f"sqlite:///{(DEFAULT_HOME / 'registry.db').as_posix()}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a SQLite URI, or None (another database, or in memory).

    Example:
        >>> sqlite_path("sqlite:////data/registry.db").as_posix()
        '/data/registry.db'
        >>> sqlite_path("sqlite:///:memory:") is None
        True

    """
    scheme, sep, rest = uri.partition(":///")
    if not sep or scheme.split("+", 1)[0].lower() != "sqlite":
        return None
    database = rest.split("?", 1)[0]
    return Path(database) if database and database != ":memory:" else None


def default_storage_uri(tracking_uri: str | None) -> str:
    """The one rule for the default artifact root, on the client and on the server.

    A SQLite database keeps its artifacts in ``artifacts/`` beside the database
    file; any other database (and the embedded default) uses
    ``./opsml_registry/artifacts``.

    Args:
        tracking_uri: the tracking (database) URI; None for the embedded default.

    Returns:
        A folder path.

    Example:
        >>> default_storage_uri("sqlite:////data/registry.db")
        '/data/artifacts'
        >>> default_storage_uri(None)
        'opsml_registry/artifacts'

    """
    database = sqlite_path(tracking_uri or embedded_tracking_uri())
    home = database.parent if database is not None else DEFAULT_HOME
    return (home / "artifacts").as_posix()


def redact_uri(uri: str) -> str:
    """``uri`` without credentials: the password and secret-looking query values become ``***``.

    Example:
        >>> redact_uri("postgresql+psycopg://opsml:hunter2@db:5432/opsml")
        'postgresql+psycopg://opsml:***@db:5432/opsml'
        >>> redact_uri("s3://bucket/prefix?token=abc")
        's3://bucket/prefix?token=***'

    """
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        return "<unparseable uri>"
    redacted = uri
    if password is not None:
        userinfo, host = parts.netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        redacted = redacted.replace(f"//{parts.netloc}", f"//{user}:***@{host}", 1)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(any(s in k.lower() for s in _SECRET_PARAMS) for k, _ in pairs):
        query = urlencode(
            [(k, "***" if any(s in k.lower() for s in _SECRET_PARAMS) else v) for k, v in pairs],
            safe="*",
        )
        redacted = redacted.replace(f"?{parts.query}", f"?{query}", 1)
    return redacted


def describe_location(uri: str) -> str:
    """Where ``uri`` points, for people: local paths made absolute, credentials removed.

    Example:
        >>> describe_location("s3://bucket/prefix")
        's3://bucket/prefix'

    """
    database = sqlite_path(uri)
    if database is not None:
        return f"sqlite:///{database.resolve().as_posix()}"
    if "://" not in uri:
        return Path(uri).resolve().as_posix()
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://")).resolve().as_posix()
    return redact_uri(uri)


class RegistryConnection(BaseModel):
    """The connection fields, shared by the client, the server and the Prefect block.

    Example:
        >>> RegistryConnection(tracking_uri="http://registry:8080").username is None
        True

    """

    tracking_uri: str | None = Field(
        default=None,
        description=(
            "Registry server URL (http:// or https://) or SQLAlchemy database URL (on the "
            "server: its database); empty means OPSML_TRACKING_URI, else the embedded SQLite "
            "registry."
        ),
        examples=["https://opsml.example.com"],
    )
    username: str | None = Field(
        default=None,
        description="Basic-auth user name: sent by a client; on the server it turns auth on.",
    )
    password: SecretStr | None = Field(default=None, description="Basic-auth password.")
    token: SecretStr | None = Field(
        default=None,
        description="Service token (``opsml tokens create``), sent as "
        "``Authorization: Bearer``; used instead of the user name and password when set.",
    )
    prod_token: SecretStr | None = Field(
        default=None,
        description=(
            "Production write token; a registry with APP_ENV=production refuses writes without it."
        ),
    )


CONNECTION_FIELDS: tuple[str, ...] = tuple(RegistryConnection.model_fields)
"""The names of the connection fields."""


class RegistrySettings(BaseSettings, RegistryConnection):
    """The connection read from ``OPSML_*`` variables, plus storage and environment.

    Example:
        >>> RegistrySettings(tracking_uri="sqlite:////data/registry.db").storage_uri
        '/data/artifacts'

    """

    model_config = SettingsConfigDict(
        env_prefix="OPSML_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    storage_uri: str = Field(
        default="",
        description="Artifact root of the SQL backend: a folder, s3://bucket/prefix or "
        "gs://bucket/prefix. Default: artifacts/ beside a SQLite database, else "
        "./opsml_registry/artifacts.",
    )
    app_env: AppEnv = Field(
        default="development",
        validation_alias=AliasChoices("APP_ENV", "OPSML_APP_ENV", "app_env"),
        description="Environment this registry belongs to.",
    )
    require_signature: bool = Field(
        default=False,
        description="Refuse unsigned registrations (OPSML_REQUIRE_SIGNATURE): on a server, and "
        "in the embedded or direct-database registry this process writes to.",
    )
    trusted_keys: str = Field(
        default="",
        description="Comma-separated public keys (PEM files) that `cards show` and the UI "
        "check signatures against (OPSML_TRUSTED_KEYS); empty: show the signer only.",
    )

    def trusted_key_list(self) -> list[str]:
        """``trusted_keys`` as a list of paths (empty when unset)."""
        return [k.strip() for k in self.trusted_keys.split(",") if k.strip()]

    protected_aliases: str = Field(
        default="",
        description="Comma-separated aliases that never move directly: they move when "
        "another person approves a request (docs/design.md §19). Read where the database is "
        "written: the registry server, or an embedded/direct-database client.",
        examples=["champion,production"],
    )

    @field_validator("protected_aliases")
    @classmethod
    def _check_protected(cls, value: str) -> str:
        from opsml.schemas_approvals import protected_set

        protected_set(value)  # each name a valid alias, else the error names it
        return value

    @classmethod
    def _prepare(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Adjust the raw values before validation (subclasses map their own aliases)."""
        return data

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = cls._prepare(dict(data))
        if not data.get("tracking_uri"):
            data["tracking_uri"] = None
        if not data.get("storage_uri"):
            data["storage_uri"] = default_storage_uri(data["tracking_uri"])
        return data

    def resolved_tracking_uri(self) -> str:
        """The tracking URI, with the embedded default filled in."""
        return self.tracking_uri or embedded_tracking_uri()

    def resolved_storage_uri(self) -> str:
        """The storage root (see :func:`default_storage_uri` for the default)."""
        return self.storage_uri

    def __repr_args__(self):  # type: ignore[no-untyped-def]
        for key, value in super().__repr_args__():
            if key in ("tracking_uri", "storage_uri") and isinstance(value, str):
                yield key, redact_uri(value)
            else:
                yield key, value


class OpsmlSettings(RegistrySettings):
    """The client's (and the embedded backend's) settings.

    Example:
        >>> OpsmlSettings(tracking_uri="http://registry:8080").request_timeout
        30.0

    """

    request_timeout: float = Field(
        default=30.0, gt=0, description="Seconds an HTTP call may wait for the server."
    )
    actor: str | None = Field(
        default=None,
        description="Who you are where nothing authenticates you (embedded or direct-database "
        "mode, a server without auth, which gets it as X-Opsml-Actor): the audit log names it "
        "on every write, and approvals on their requests and decisions. Default the OS user. "
        "A server with auth ignores it and uses the logged-in user.",
    )
    signing_key: SecretStr | None = Field(
        default=None,
        description="Elliptic-curve private key (a PEM file's path, or the PEM) that signs every "
        "registration (OPSML_SIGNING_KEY); 'sigstore' signs keyless. See docs/security.md.",
    )


@functools.cache
def whoami() -> str | None:
    """The OS user running this process (the default ``actor``), or None where there is none.

    Example:
        >>> whoami() is None or isinstance(whoami(), str)
        True

    """
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user database entry in some containers
        return None


_overrides: dict[str, Any] = {}
_on_configure: list[Callable[[], None]] = []


@functools.lru_cache(maxsize=1)
def get_settings() -> OpsmlSettings:
    """The process-wide settings: the environment, overridden by :func:`configure`.

    Example:
        >>> get_settings().app_env in ("development", "staging", "production")
        True

    """
    return OpsmlSettings(**_overrides)


def on_configure(callback: Callable[[], None]) -> None:
    """Call ``callback()`` after every :func:`configure` (the backends drop their cache).

    Example:
        >>> on_configure(lambda: None)

    """
    if callback not in _on_configure:
        _on_configure.append(callback)


def configure(**overrides: Any) -> OpsmlSettings:
    """Override settings for this process; called with nothing, go back to the environment.

    Clients built after the call use the new settings; registries that already
    exist keep theirs.

    Args:
        **overrides: any field of :class:`OpsmlSettings` (``tracking_uri``,
            ``storage_uri``, ``username``, ``password``, ``token``, ``prod_token``, ``app_env``).

    Returns:
        The settings now in force.

    Example:
        >>> configure(tracking_uri="sqlite:///:memory:").resolved_tracking_uri()
        'sqlite:///:memory:'
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
    for callback in _on_configure:
        callback()
    return get_settings()
