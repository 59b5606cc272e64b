"""Shared fixtures: one registry test suite, every mode.

``registry_env`` is parametrized over the modes of DESIGN.md §2: embedded
SQLite, the SQL backend on PostgreSQL and on MariaDB (real servers on this
machine), and the HTTP backend against a live registry server (added by
``tests/_live_server.py``). Each test gets an empty registry.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from opsml.config import OpsmlSettings
from tests._databases import clear_tables, scratch_database

SQL_MODES = ["sqlite", "postgres", "mariadb"]
ALL_MODES = [*SQL_MODES, "http"]


@dataclass
class RegistryEnv:
    """One isolated registry: its settings and where its database and files live."""

    mode: str
    settings: OpsmlSettings
    db_url: str
    storage_root: Path
    extra: dict[str, object] = field(default_factory=dict)

    def registry(self, registry_type: str):  # type: ignore[no-untyped-def]
        from opsml import CardRegistry

        return CardRegistry(registry_type, settings=self.settings)  # type: ignore[arg-type]

    def snapshot(self) -> tuple[list[tuple[object, ...]], list[str]]:
        """Every card row and every stored file: to check that nothing changed."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                rows = [
                    tuple(r)
                    for r in conn.execute(
                        text(
                            "SELECT uid, registry, repository, name, version, status "
                            "FROM opsml_cards ORDER BY id"
                        )
                    )
                ]
        finally:
            engine.dispose()
        files = (
            sorted(
                p.relative_to(self.storage_root).as_posix()
                for p in self.storage_root.rglob("*")
                if p.is_file()
            )
            if self.storage_root.exists()
            else []
        )
        return rows, files


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with scratch_database("postgres") as url:
        from opsml.backends.sql.migrate import upgrade_database

        upgrade_database(url)
        yield url


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    with scratch_database("mariadb") as url:
        from opsml.backends.sql.migrate import upgrade_database

        upgrade_database(url)
        yield url


def _sql_env(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    storage = tmp_path / "artifacts"
    if mode == "sqlite":
        url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    else:
        url = request.getfixturevalue(f"{mode}_url")
        clear_tables(url)
    settings = OpsmlSettings(tracking_uri=url, storage_uri=storage.as_posix())
    return RegistryEnv(mode=mode, settings=settings, db_url=url, storage_root=storage)


def _make_env(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    if mode == "http":
        from tests._live_server import http_env

        return http_env(request, tmp_path)
    return _sql_env(mode, request, tmp_path)


@pytest.fixture(params=ALL_MODES)
def registry_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RegistryEnv]:
    """An empty registry in every mode."""
    env = _make_env(request.param, request, tmp_path)
    yield env
    from opsml.backends import clear_backend_cache

    clear_backend_cache()


@pytest.fixture(params=SQL_MODES)
def sql_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RegistryEnv]:
    """An empty registry on each SQL database (no server)."""
    yield _sql_env(request.param, request, tmp_path)
    from opsml.backends import clear_backend_cache

    clear_backend_cache()


@pytest.fixture
def make_registry(registry_env: RegistryEnv) -> Callable[[str], object]:
    return registry_env.registry
