"""SQL backend: metadata in SQLite, PostgreSQL or MariaDB; artifacts through fsspec."""

from opsml.backends.sql.backend import SqlBackend

__all__ = ["SqlBackend"]
