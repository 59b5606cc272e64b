"""The listing routes on a live server: bad input answers 400 naming the problem."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from opsml.backends.http import HttpBackend
from opsml.errors import InvalidInputError
from opsml.schemas import CardCreate, CardQuery
from opsml_testing.live_server import LiveServer


@pytest.fixture
def server(live_server: LiveServer, tmp_path: Path) -> LiveServer:
    live_server.reset()
    backend = HttpBackend(live_server.url)
    for _ in range(3):
        card = CardCreate(registry="model", name="churn", repository="ds", contact="me")
        backend.register_card(card, tmp_path)
    backend.close()
    return live_server


def test_page_and_count_answer_json(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        first = client.get("/api/v1/cards/model/page", params={"limit": 2, "search": "CHU"})
        body = first.json()
        second = client.get(
            "/api/v1/cards/model/page",
            params={"limit": 2, "search": "CHU", "cursor": body["next_cursor"]},
        ).json()
        count = client.get("/api/v1/cards/model/count", params={"search": "hur"}).json()
    assert first.headers["content-type"] == "application/json"
    assert [len(body["items"]), len(second["items"]), second["next_cursor"]] == [2, 1, None]
    assert "metadata" not in body["items"][0] and "files" not in body["items"][0]
    assert count == {"count": 3}


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"cursor": "###"}, 400, "cursor is malformed"),
        ({"links_to": "not-a-uid"}, 400, "links_to"),
        ({"search": "x" * 129}, 400, "search"),
        ({"cursor": "x" * 257}, 400, "cursor"),
    ],
)
def test_bad_listing_input_is_named(
    server: LiveServer, params: dict[str, str], status: int, words: str
) -> None:
    with httpx.Client(base_url=server.url) as client:
        for route in ("page", "count"):
            if route == "count" and "cursor" in params:
                continue  # a count ignores the cursor's position, not its length
            response = client.get(f"/api/v1/cards/model/{route}", params=params)
            assert response.status_code == status, response.text
            assert words in response.json()["error"]["message"]


def test_cursor_of_another_query_is_refused_by_the_client(server: LiveServer) -> None:
    backend = HttpBackend(server.url)
    try:
        cursor = backend.list_page("model", CardQuery(limit=1)).next_cursor
        with pytest.raises(InvalidInputError, match="cursor belongs to another query"):
            backend.list_page("model", CardQuery(limit=1, name="churn", cursor=cursor))
    finally:
        backend.close()
