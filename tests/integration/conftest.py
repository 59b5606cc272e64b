"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


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
