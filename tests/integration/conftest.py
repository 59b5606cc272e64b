"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from opsml_testing.live_server import LiveServer, running_server
from tests._live_server import PROD_TOKEN


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[str]:
    """A Prefect API: the e2e session harness when it runs (never nest two), else our own."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    active = os.environ.get("OPSML_TESTS_PREFECT_HARNESS")
    if active:
        yield active
        return
    with prefect_test_harness(server_startup_timeout=90):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="module")
def staging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A registry server on its own SQLite database and folder (the promotion source)."""
    with running_server(tmp_path_factory.mktemp("staging")) as server:
        yield server


@pytest.fixture(scope="module")
def prod_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A registry server with ``APP_ENV=production`` and ``PROD_TOKEN`` (one per module)."""
    env = {"APP_ENV": "production", "OPSML_PROD_TOKEN": PROD_TOKEN}
    with running_server(tmp_path_factory.mktemp("prod"), env=env) as server:
        yield server
