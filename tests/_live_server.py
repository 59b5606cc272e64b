"""Live registry servers for tests: a session-wide one on PostgreSQL (the servers themselves:
``opsml_testing/live_server.py``).

Register with ``pytest_plugins = ["tests._live_server"]`` in ``tests/conftest.py``.

- ``live_server`` (session fixture): ``python -m opsml_server`` on a free
  loopback port, over a scratch PostgreSQL database and a session-wide storage
  folder; ``http_env`` empties both before each test.
- ``opsml_testing.live_server.running_server``: a context manager that starts another
  server with the environment you give it (auth on, production...), on SQLite by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from opsml_testing.live_server import LiveServer, start_server

if TYPE_CHECKING:
    from tests.conftest import RegistryEnv


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The session's registry server, on its own scratch PostgreSQL database."""
    from opsml.backends.sql.migrate import upgrade_database
    from opsml_testing.databases import scratch_database

    with scratch_database("postgres") as url:
        upgrade_database(url)
        from tests.conftest import PROTECTED_ALIASES

        server = start_server(
            tmp_path_factory.mktemp("live-server"), db_url=url,
            env={"OPSML_PROTECTED_ALIASES": PROTECTED_ALIASES},
        )  # fmt: skip
        try:
            yield server
        finally:
            server.stop()
            server.log_path.unlink(missing_ok=True)


PROD_TOKEN = "prod-token-0123456789abcdef"
"""The production token of the ``prod_server`` fixture (tests/integration/conftest.py)."""


def server_snapshot(server: LiveServer) -> object:
    """Every card row and stored file of a live server: to check that nothing changed."""
    from opsml.config import OpsmlSettings
    from tests.conftest import RegistryEnv

    return RegistryEnv(
        "http", OpsmlSettings(tracking_uri=server.url), server.db_url, server.storage_root
    ).snapshot()


def http_env(request: pytest.FixtureRequest, tmp_path: Path) -> RegistryEnv:
    """An empty registry behind the session's live server (mode ``http``)."""
    from opsml.config import OpsmlSettings
    from tests.conftest import RegistryEnv

    server: LiveServer = request.getfixturevalue("live_server")
    if server.process.poll() is not None:
        pytest.fail(f"the live registry server died:\n{server.log()[-4000:]}")
    server.reset()
    settings = OpsmlSettings(tracking_uri=server.url)
    return RegistryEnv(
        mode="http",
        settings=settings,
        db_url=server.db_url,
        storage_root=server.storage_root,
        extra={"server": server},
    )
