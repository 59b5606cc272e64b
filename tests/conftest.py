"""Shared fixtures: one registry test suite, every mode.

``registry_env`` is parametrized over the modes of docs/design.md §2: embedded
SQLite, the SQL backend on PostgreSQL and on MariaDB (real servers on this
machine), and the HTTP backend against a live registry server (added by
``tests/_live_server.py``); then the same registry once per cloud storage kind,
on emulators (``tests/_emulators.py``): embedded SQLite over S3 and GCS
(``sqlite-s3``, ``sqlite-gcs``) and a live server whose storage is S3 or GCS
(``http-s3``, ``http-gcs``; only the server has the cloud variables). Each test
gets an empty registry, where the alias ``production`` is protected
(``PROTECTED_ALIASES``, docs/design.md §19: it moves only by approval); ``RegistryEnv``
lists, reads and writes stored files the same way on every store.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from opsml.config import OpsmlSettings
from opsml_testing.databases import clear_tables, scratch_database

pytest_plugins = ["tests._live_server", "tests._emulators"]

SQL_MODES = ["sqlite", "postgres", "mariadb"]
CLOUD_SQL_MODES = ["sqlite-s3", "sqlite-gcs"]
CLOUD_HTTP_MODES = ["http-s3", "http-gcs"]
ALL_MODES = [*SQL_MODES, "http", *CLOUD_SQL_MODES, *CLOUD_HTTP_MODES]
CLOUD_VARS = ("AWS_", "GOOGLE_", "GCLOUD_", "STORAGE_EMULATOR_HOST")
PROTECTED_ALIASES = "production"
"""The protected aliases of every mode (docs/design.md §19); no other test moves ``production``."""


@dataclass
class RegistryEnv:
    """One isolated registry: its settings and where its database and files live."""

    mode: str
    settings: OpsmlSettings
    db_url: str
    storage_root: Path
    extra: dict[str, object] = field(default_factory=dict)
    storage_uri: str = ""
    storage_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.storage_uri:
            self.storage_uri = self.storage_root.as_posix()

    @property
    def storage_kind(self) -> str:
        """``folder``, ``s3`` or ``gcs``."""
        scheme = self.storage_uri.split("://", 1)[0] if "://" in self.storage_uri else ""
        return {"s3": "s3", "gs": "gcs"}.get(scheme, "folder")

    def _fs(self) -> tuple[Any, str]:
        import fsspec

        if self.storage_kind == "folder":
            return fsspec.filesystem("file"), self.storage_root.resolve().as_posix()
        fs, root = fsspec.core.url_to_fs(self.storage_uri, **self.storage_options)
        return fs, root.rstrip("/")

    def list_files(self) -> list[str]:
        """Every stored file, relative to the storage root, sorted."""
        fs, root = self._fs()
        try:
            found = fs.find(root, withdirs=False)
        except FileNotFoundError:
            return []
        return sorted(str(p)[len(root) :].lstrip("/") for p in found)

    def read_file(self, rel: str) -> bytes:
        """The stored bytes of ``rel`` (a path from ``list_files``)."""
        fs, root = self._fs()
        return bytes(fs.cat_file(f"{root}/{rel}"))

    def write_file(self, rel: str, data: bytes) -> None:
        """Overwrite the stored file ``rel`` (to simulate tampering)."""
        fs, root = self._fs()
        fs.pipe_file(f"{root}/{rel}", data)

    def clear_storage(self) -> None:
        """Delete every stored file (cloud stores shared by a session's server)."""
        fs, root = self._fs()
        keys = [f"{root}/{rel}" for rel in self.list_files()]
        if keys:
            fs.rm(keys)

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
        return rows, self.list_files()


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
    if mode in CLOUD_SQL_MODES:
        return _cloud_sql_env(mode, request, tmp_path)
    if mode == "sqlite":
        url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    else:
        url = request.getfixturevalue(f"{mode}_url")
        clear_tables(url)
    settings = OpsmlSettings(
        tracking_uri=url, storage_uri=storage.as_posix(), protected_aliases=PROTECTED_ALIASES
    )
    return RegistryEnv(mode=mode, settings=settings, db_url=url, storage_root=storage)


def _cloud_sql_env(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    """Embedded SQLite over S3/GCS: the cloud variables are in this (the user's) environment."""
    from opsml_testing.emulators import unique_uri
    from tests._emulators import emulator_for

    emulator = emulator_for(request, mode.split("-", 1)[1])
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for key, value in emulator.server_env().items():
        monkeypatch.setenv(key, value)
    uri = unique_uri(emulator)
    url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    settings = OpsmlSettings(tracking_uri=url, storage_uri=uri, protected_aliases=PROTECTED_ALIASES)
    return RegistryEnv(
        mode=mode, settings=settings, db_url=url, storage_root=tmp_path / "artifacts",
        storage_uri=uri, storage_options=emulator.fs_options(),
    )  # fmt: skip


def _cloud_http_env(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    """A live server whose storage is S3/GCS; this (client) process has no cloud variable."""
    from tests._emulators import emulator_for

    kind = mode.split("-", 1)[1]
    emulator = emulator_for(request, kind)  # restarted if a test killed it
    server, uri, options = request.getfixturevalue(f"live_server_{kind}")
    if server.process.poll() is not None:
        pytest.fail(f"the {mode} registry server died:\n{server.log()[-4000:]}")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for key in [k for k in os.environ if k.startswith(CLOUD_VARS)]:
        monkeypatch.delenv(key)  # e.g. the machine's AWS_CA_BUNDLE: the client needs none
    leaked = sorted(k for k in os.environ if k.startswith(CLOUD_VARS))
    assert not leaked, f"the HTTP client must not hold cloud variables: {leaked}"
    assert all(k in server.env for k in ("OPSML_STORAGE_URI", *emulator.server_env()))
    server.reset()
    env = RegistryEnv(
        mode=mode, settings=OpsmlSettings(tracking_uri=server.url), db_url=server.db_url,
        storage_root=server.storage_root, extra={"server": server}, storage_uri=uri,
        storage_options=options,
    )  # fmt: skip
    env.clear_storage()
    return env


def _cloud_server(kind: str, request: pytest.FixtureRequest, root: Path) -> Iterator[Any]:
    from opsml_testing.emulators import unique_uri
    from opsml_testing.live_server import start_server
    from tests._emulators import emulator_for

    emulator = emulator_for(request, kind)
    uri = unique_uri(emulator)
    server = start_server(
        root,
        env={"OPSML_STORAGE_URI": uri, "OPSML_PROTECTED_ALIASES": PROTECTED_ALIASES,
             **emulator.server_env()},
    )  # fmt: skip
    try:
        yield server, uri, emulator.fs_options()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server_s3(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A live server (SQLite) over the S3 emulator: (server, uri, fs options)."""
    yield from _cloud_server("s3", request, tmp_path_factory.mktemp("live-s3"))


@pytest.fixture(scope="session")
def live_server_gcs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A live server (SQLite) over the GCS emulator: (server, uri, fs options)."""
    yield from _cloud_server("gcs", request, tmp_path_factory.mktemp("live-gcs"))


def _make_env(mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    if mode in CLOUD_HTTP_MODES:
        return _cloud_http_env(mode, request, tmp_path)
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
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The environment's registry is embedded SQLite in ``tmp_path`` (read by ``configure()``)."""
    from opsml import configure

    monkeypatch.setenv("OPSML_TRACKING_URI", f"sqlite:///{(tmp_path / 'reg.db').as_posix()}")
    monkeypatch.setenv("OPSML_STORAGE_URI", (tmp_path / "artifacts").as_posix())
    configure()
    yield tmp_path
    monkeypatch.undo()
    configure()


@pytest.fixture
def make_registry(registry_env: RegistryEnv) -> Callable[[str], object]:
    return registry_env.registry


@pytest.fixture(scope="session")
def container_engine() -> Any:
    """The engine that builds images here (fails in CI, skips elsewhere, when there is none)."""
    from tests._engines import engine_or_missing

    return engine_or_missing()


@pytest.fixture(scope="session")
def debian_base(container_engine: Any) -> str:
    """A base image made from Debian's packages (python:3.11-slim cannot be pulled here)."""
    from tests._engines import debian_base_or_missing

    return debian_base_or_missing(container_engine)
