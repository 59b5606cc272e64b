"""Structured logging: one JSON object per line, for the server and uvicorn."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsml_server.settings import ServerSettings

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as JSON with its ``extra`` fields; never includes a traceback's locals."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line."""
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in ("color_message",):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def log_config(level: str = "INFO", json_logs: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn's ``log_config``.

    Example:
        >>> log_config("DEBUG")["root"]["level"]
        'DEBUG'

    """
    formatter = (
        {"()": f"{__name__}.JsonFormatter"}
        if json_logs
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            "uvicorn.access": {"level": "WARNING"},
        },
    }


def log_ready(
    logger: logging.Logger, settings: ServerSettings, *, auth: bool | None = None
) -> None:
    """Say the server is ready, and where its database and artifacts are (no credentials).

    Local paths are made absolute; passwords and secret query values are masked.
    ``auth``: whether requests need credentials (the database may hold users
    even without a bootstrap administrator); default: the bootstrap setting.

    Example:
        >>> from opsml_server.settings import ServerSettings
        >>> log_ready(logging.getLogger("demo"), ServerSettings(storage_uri="/srv/a"))

    """
    from opsml.config import describe_location

    database = describe_location(settings.database_url)
    storage = describe_location(settings.storage_uri)
    logger.info(
        f"registry server ready: database {database}, artifacts {storage}",
        extra={
            "environment": settings.app_env,
            "auth": settings.auth_enabled if auth is None else auth,
            "database": database,
            "storage": storage,
        },
    )
