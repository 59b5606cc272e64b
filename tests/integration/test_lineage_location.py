"""The run artifact's ``location`` row: the backend's ``location()``, never a credential."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opsml_server.app import create_app
from opsml_server.settings import ServerSettings

from opsml import CardRegistry, RunCard
from opsml.backends.http import HttpBackend
from opsml.config import OpsmlSettings
from opsml_prefect.lineage import card_markdown


def _card() -> RunCard:
    return RunCard(name="nightly", repository="ds", contact="me")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(
        database_url=f"sqlite:///{(tmp_path / 'server.db').as_posix()}",
        storage_uri=(tmp_path / "server-storage").as_posix(),
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_http_card_shows_the_server_url_without_credentials(client: TestClient) -> None:
    backend = HttpBackend("http://ds:hunter2@testserver/", client=client)
    registry = CardRegistry("run", backend=backend)
    card = registry.register_card(_card())
    assert card.registry_location == "http://testserver"
    loaded = registry.load_card(uid=card.uid)
    for shown in (card_markdown(card), card_markdown(loaded)):
        assert "| location | `http://testserver` |" in shown
        assert "hunter2" not in shown and "ds:" not in shown


def test_embedded_card_shows_its_database(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
    settings = OpsmlSettings(tracking_uri=url, storage_uri=(tmp_path / "artifacts").as_posix())
    registry = CardRegistry("run", settings=settings)
    card = registry.register_card(_card())
    assert card.registry_location == url
    assert f"| location | `{url}` |" in card_markdown(card)
    assert f"| location | `{url}` |" in card_markdown(registry.load_card(uid=card.uid))


def test_database_password_is_masked(tmp_path: Path) -> None:
    from opsml.backends import build_database_backend

    settings = OpsmlSettings(
        tracking_uri="postgresql+psycopg://opsml:hunter2@db:5432/opsml",
        storage_uri=(tmp_path / "artifacts").as_posix(),
    )
    backend = build_database_backend(settings)
    try:
        assert backend.location() == "postgresql+psycopg://opsml:***@db:5432/opsml"
    finally:
        backend.close()


def test_unregistered_card_has_no_location() -> None:
    assert _card().registry_location is None
