"""End-to-end fixtures: a real Prefect API (the test harness) and a live registry server.

- ``prefect_api`` (session): ``prefect_test_harness()``: a Prefect server
  subprocess on a temporary SQLite database; its URL is the value.
- ``e2e_registry`` (module, so the ``OPSML_*`` variables it sets never outlive the
  e2e modules): the OpsML registry server (``python -m opsml_server``,
  from ``opsml_testing/live_server.py``) on SQLite in a temporary folder, started with
  ``PREFECT_API_URL`` pointing at the harness, so the *server* emits
  ``opsml.card.registered``. The test process talks to it over HTTP
  (``OPSML_TRACKING_URI``). When the server package cannot start, the registry
  is embedded SQLite and the test process emits the events (``mode`` says which).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS_ENV = "OPSML_TESTS_PREFECT_HARNESS"
"""Set while the session's Prefect test harness runs (its API URL)."""


@dataclass
class E2ERegistry:
    """Where the e2e registry is and how to reach it."""

    mode: str  # "http" (live server) or "embedded"
    env: dict[str, str]  # OPSML_* variables a client (or a served flow) needs
    server: Any = None


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        url = str(PREFECT_API_URL.value())
        # other test modules reuse this harness: a second harness nested inside this one
        # leaves Prefect's events worker bound to the wrong server
        os.environ[HARNESS_ENV] = url
        try:
            yield url
        finally:
            os.environ.pop(HARNESS_ENV, None)


@pytest.fixture(scope="module")
def e2e_registry(
    prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[E2ERegistry]:
    root = tmp_path_factory.mktemp("e2e-registry")
    server = None
    try:
        from opsml_testing.live_server import start_server

        server = start_server(root / "server", env={"PREFECT_API_URL": prefect_api})
        env = {"OPSML_TRACKING_URI": server.url}
        registry = E2ERegistry(mode="http", env=env, server=server)
    except (ImportError, RuntimeError) as exc:  # no server package: embedded registry
        print(f"registry server unavailable ({exc!r}); using the embedded registry")
        env = {
            "OPSML_TRACKING_URI": f"sqlite:///{(root / 'registry.db').as_posix()}",
            "OPSML_STORAGE_URI": (root / "artifacts").as_posix(),
        }
        registry = E2ERegistry(mode="embedded", env=env)
    saved = {k: os.environ.get(k) for k in (*env, "OPSML_STORAGE_URI")}
    os.environ.pop("OPSML_STORAGE_URI", None)
    os.environ.update(env)
    from opsml import configure

    configure()
    try:
        yield registry
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        configure()
        if server is not None:
            server.stop()


def wait_for(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def registered_events(uids: list[str], event: str = "opsml.card.registered") -> list[Any]:
    """``event`` events (default ``opsml.card.registered``) in the Prefect API for these uids."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    event_filter = EventFilter(
        event=EventNameFilter(name=[event]),
        resource=EventResourceFilter(id=[f"opsml.card.{uid}" for uid in uids]),
    )
    with get_client(sync_client=True) as client:
        return list(client.read_events(event_filter, limit=50).events)
