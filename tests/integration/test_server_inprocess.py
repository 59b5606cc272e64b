"""Fast checks of the HTTP backend against the app in-process (FastAPI's TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from opsml_server.app import create_app
from opsml_server.settings import ServerSettings

from opsml import CardRegistry, RunCard
from opsml.backends.http import HttpBackend
from opsml.errors import CardNotFoundError, InvalidInputError, VersionConflictError


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(
        database_url=f"sqlite:///{(tmp_path / 'registry.db').as_posix()}",
        storage_uri=(tmp_path / "storage").as_posix(),
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_round_trip_through_an_injected_client(client: TestClient, tmp_path: Path) -> None:
    requests: list[str] = []
    client.event_hooks["request"].append(lambda r: requests.append(f"{r.method} {r.url.path}"))
    backend = HttpBackend("http://testserver", client=client)
    registry = CardRegistry("run", backend=backend)
    artifact = tmp_path / "notes.txt"
    artifact.write_text("hello")
    card = RunCard(name="nightly", repository="ds", contact="me")
    card.log_metric("acc", 0.9)
    card.log_artifact(artifact)
    registry.register_card(card)
    assert len(requests) <= 3, requests
    assert card.version == "1.0.0"

    loaded = registry.load_card(name="nightly", repository="ds", version="^1")
    assert loaded.uid == card.uid and loaded.metrics["acc"][-1]["value"] == 0.9
    out = loaded.download_artifacts(tmp_path / "out")
    assert (out / "artifacts" / "notes.txt").read_text() == "hello"
    assert [c.uid for c in registry.list_cards(repository="ds")] == [card.uid]

    loaded.tags = {"stage": "prod"}
    registry.update_card(loaded)
    assert registry.list_cards(tags={"stage": "prod"})[0].uid == card.uid
    registry.delete_card(loaded)
    with pytest.raises(CardNotFoundError):
        registry.load_card(uid=card.uid)
    backend.close()
    assert not client.is_closed  # an injected client belongs to the caller


def test_session_protocol_and_progress(client: TestClient, tmp_path: Path) -> None:
    backend = HttpBackend("http://testserver", client=client, inline_limit=0)
    registry = CardRegistry("run", backend=backend)
    blob = tmp_path / "w.bin"
    blob.write_bytes(b"x" * 3_000_000)
    card = RunCard(name="big", repository="ds", contact="me")
    card.log_artifact(blob)
    moved: list[int] = []
    registry.register_card(card, progress=moved.append)
    assert sum(moved) == 3_000_000
    got: list[int] = []
    registry.load_card(uid=card.uid).download_artifacts(tmp_path / "o", progress=got.append)
    assert sum(got) == 3_000_000


def test_errors_map_to_the_same_classes(client: TestClient) -> None:
    backend = HttpBackend("http://testserver", client=client)
    registry = CardRegistry("run", backend=backend)
    with pytest.raises(CardNotFoundError, match="nope"):
        registry.load_card(name="nope")
    with pytest.raises(InvalidInputError):
        registry.load_card(name="x", version="not a version!!")
    registry.register_card(RunCard(name="a", repository="ds", contact="me", version="2.0.0"))
    with pytest.raises(VersionConflictError):
        registry.register_card(RunCard(name="a", repository="ds", contact="me", version="2.0.0"))


def test_error_body_and_generic_500(tmp_path: Path) -> None:
    settings = ServerSettings(
        database_url=f"sqlite:///{tmp_path.as_posix()}/r.db",
        storage_uri=(tmp_path / "s").as_posix(),
    )
    app = create_app(settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2 at postgresql://u:p@db")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert "hunter2" not in response.text and "Traceback" not in response.text
        missing = client.get("/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        spec = client.get("/openapi.json").json()
        ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
        assert {
            "list_cards",
            "find_card",
            "get_card",
            "register_card",
            "update_card",
            "delete_card",
            "download_file",
            "create_upload",
            "upload_file",
            "commit_upload",
            "abort_upload",
            "healthz",
            "readyz",
            "metrics",
        } <= ids
        assert client.get("/metrics").text.count("opsml_http_requests_total") > 0


def test_get_retries_on_503_then_maps_it(tmp_path: Path) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(
            503, json={"error": {"code": "backend_unavailable", "message": "db down"}}
        )

    from opsml.errors import BackendUnavailableError
    from opsml.schemas import CardQuery

    backend = HttpBackend(
        "http://x", client=httpx.Client(transport=httpx.MockTransport(handler)), retries=2
    )
    backend.transport.backoff = lambda attempt: None  # type: ignore[method-assign]
    with pytest.raises(BackendUnavailableError, match="db down"):
        backend.list_cards("run", CardQuery())
    assert calls["n"] == 3
    calls["n"] = 0
    with pytest.raises(BackendUnavailableError):
        backend.delete_card("run", "a" * 32)
    assert calls["n"] == 1  # writes are never retried


def test_audit_cursor_beyond_a_database_integer_is_invalid_input(client: TestClient) -> None:
    """An audit ``cursor`` no database column holds (2**63) is a 400, never a 500."""
    too_large = client.get("/api/v1/audit", params={"cursor": 2**63, "card_uid": "0" * 32})
    assert too_large.status_code == 400, too_large.text
    assert "cursor" in too_large.json()["error"]["message"]
    largest = client.get("/api/v1/audit", params={"cursor": 2**63 - 1})
    assert largest.status_code == 200, largest.text
