"""Say what a database failure was, and where, without credentials.

SQLAlchemy wraps every driver error in one of a few classes
(``OperationalError`` covers a refused connection, a deadlock and, on MySQL, a
table that already exists alike), so the class name alone misleads. This
module reads the driver's own code (MySQL error numbers, PostgreSQL SQLSTATE)
and sorts the failure into a :data:`Kind`; :func:`describe` turns it into one
line naming the database by dialect, host, port and name, never the user's
password; :func:`is_transient` tells version reservation which failures to
retry.

Example:
    >>> from sqlalchemy.exc import OperationalError
    >>> exc = OperationalError("INSERT", {}, Exception(1213, "Deadlock found"))
    >>> classify(exc), is_transient(exc)
    ('deadlock', True)

"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from opsml.errors import BackendUnavailableError, RegistryDatabaseError

Kind = Literal[
    "unreachable",
    "missing_database",
    "login",
    "deadlock",
    "lock_timeout",
    "serialization",
    "constraint",
    "schema",
    "sql",
]
"""What went wrong, from the caller's point of view."""

TRANSIENT: frozenset[Kind] = frozenset({"deadlock", "lock_timeout", "serialization"})
"""Failures that a fresh transaction may not meet again: retried by version reservation."""

_CONNECTION_KINDS: frozenset[Kind] = frozenset({"unreachable", "missing_database", "login"})

_MYSQL_CODES: dict[int, Kind] = {
    **dict.fromkeys((2002, 2003, 2005, 2006, 2013, 2055), "unreachable"),
    1049: "missing_database",
    **dict.fromkeys((1044, 1045, 1698), "login"),
    1213: "deadlock",
    1205: "lock_timeout",
    **dict.fromkeys((1050, 1054, 1060, 1061, 1091, 1146), "schema"),
    **dict.fromkeys((1062, 1451, 1452), "constraint"),
}

_PG_STATES: dict[str, Kind] = {
    "08": "unreachable",
    "57P0": "unreachable",  # the server is shutting down or restarting
    "3D000": "missing_database",
    "28": "login",
    "40P01": "deadlock",
    "55P03": "lock_timeout",
    "40001": "serialization",
    "23": "constraint",
    "42P07": "schema",
    "42P01": "schema",
    "42703": "schema",
    "42701": "schema",
}

_MESSAGES: tuple[tuple[str, Kind], ...] = (
    ("does not exist", "missing_database"),  # PostgreSQL at connect: database "x" does not exist
    ("authentication failed", "login"),
    ("database is locked", "lock_timeout"),  # SQLite past its busy timeout
    ("deadlock", "deadlock"),
    ("could not serialize", "serialization"),
    ("already exists", "schema"),
    ("no such table", "schema"),
    ("connection failed", "unreachable"),
    ("unable to open database file", "unreachable"),
)

_DEFAULT_PORTS: dict[str, int] = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}

_LABELS: dict[Kind, str] = {
    "deadlock": "a deadlock between concurrent transactions",
    "lock_timeout": "a lock wait timed out",
    "serialization": "a serialization failure between concurrent transactions",
    "constraint": "a constraint was violated",
    "schema": "a schema error (table or column missing or already present)",
    "sql": "a database error",
}


def _driver_error(exc: BaseException) -> BaseException | None:
    """The driver's exception under ``exc`` (following ``raise ... from`` chains)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DBAPIError):
            return seen.orig
        seen = seen.__cause__
    return None


def _by_code(orig: BaseException) -> Kind | None:
    sqlstate = getattr(orig, "sqlstate", None)
    if type(orig).__module__.startswith("psycopg") and isinstance(sqlstate, str):
        for prefix in sorted(_PG_STATES, key=len, reverse=True):
            if sqlstate.startswith(prefix):
                return _PG_STATES[prefix]
    code = orig.args[0] if orig.args else None
    if isinstance(code, int):
        return _MYSQL_CODES.get(code)
    return None


def classify(exc: BaseException) -> Kind:
    """Sort a database failure (a SQLAlchemy error, or one raised from it) into a :data:`Kind`.

    Example:
        >>> from sqlalchemy.exc import OperationalError
        >>> classify(OperationalError("SELECT 1", {}, Exception(2003, "Can't connect")))
        'unreachable'

    """
    orig = _driver_error(exc)
    if orig is None:
        return "sql"
    kind = _by_code(orig)
    if kind is not None:
        return kind
    wrapper = exc if isinstance(exc, DBAPIError) else exc.__cause__
    if isinstance(wrapper, IntegrityError):
        return "constraint"
    text = str(orig).lower()
    for needle, found in _MESSAGES:
        if needle in text:
            return found
    if isinstance(wrapper, DBAPIError) and wrapper.connection_invalidated:
        return "unreachable"
    return "sql"


def is_transient(exc: BaseException) -> bool:
    """Whether a fresh transaction may succeed: deadlock, lock wait timeout, serialization.

    Example:
        >>> from sqlalchemy.exc import OperationalError
        >>> is_transient(OperationalError("UPDATE", {}, Exception(1205, "Lock wait timeout")))
        True

    """
    return classify(exc) in TRANSIENT


def where(url: str | URL) -> str:
    """The database named by dialect, host, port and name; never the user or password.

    Example:
        >>> where("postgresql+psycopg://u:secret@db.example:5433/registry")
        "postgresql database 'registry' on db.example:5433"

    """
    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    if dialect == "sqlite":
        return f"sqlite database {parsed.database or ':memory:'}"
    port = parsed.port or _DEFAULT_PORTS.get(dialect) or "default port"
    return f"{dialect} database {parsed.database or ''!r} on {parsed.host or 'localhost'}:{port}"


def _detail(url: URL, exc: BaseException) -> str:
    """The driver's first line, with the password (if any) blanked out."""
    orig = _driver_error(exc)
    text = str(orig if orig is not None else exc).strip().splitlines()
    line = text[0].strip() if text else type(exc).__name__
    if url.password:
        line = line.replace(str(url.password), "***")
    return line[:300]


def describe(
    url: str | URL,
    exc: BaseException,
    action: str = "a database operation",
    *,
    public: bool = False,
) -> str:
    """One line saying what failed, where, and the driver's reason (no credentials).

    With ``public`` the line names only the dialect, not host, port, database or
    the driver's text: what a registry server may tell its HTTP clients.

    Example:
        >>> from sqlalchemy.exc import OperationalError
        >>> err = OperationalError("x", {}, Exception(1050, "Table 'a' already exists"))
        >>> print(describe("mysql+pymysql://root:pw@127.0.0.1/reg", err, "schema migration"))
        schema migration failed on mysql database 'reg' on 127.0.0.1:3306: a schema error \
(table or column missing or already present) ((1050, "Table 'a' already exists"))

    """
    parsed = make_url(url)
    kind = classify(exc)
    if public:
        place, detail, name = f"{parsed.get_backend_name()} database", "", "the database"
    else:
        place, detail, name = where(parsed), f" ({_detail(parsed, exc)})", str(parsed.database)
    if kind == "unreachable":
        return f"the registry {place} cannot be reached{detail}"
    if kind == "missing_database":
        return (
            f"the registry {place} does not exist: create it (CREATE DATABASE "
            f"{name}) or fix OPSML_TRACKING_URI{detail}"
        )
    if kind == "login":
        return (
            f"the registry {place} refused the login: check the user and password in "
            f"OPSML_TRACKING_URI{detail}"
        )
    return f"{action} failed on {place}: {_LABELS[kind]}{detail}"


def translate(
    url: str | URL, exc: BaseException, action: str = "a database operation"
) -> BackendUnavailableError:
    """The opsml error for a database failure: unavailable to connect, else a database error.

    Example:
        >>> from sqlalchemy.exc import OperationalError
        >>> err = OperationalError("x", {}, Exception(1213, "Deadlock found"))
        >>> type(translate("mysql+pymysql://h/reg", err)).__name__
        'RegistryDatabaseError'

    """
    message = describe(url, exc, action)
    cls = BackendUnavailableError if classify(exc) in _CONNECTION_KINDS else RegistryDatabaseError
    error = cls(message)
    error.public_message = describe(url, exc, action, public=True)
    return error
