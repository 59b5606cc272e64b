"""Issue 30 item 2: a card of a repository the caller may not read is answered as if it
did not exist, by resolve, by uid and through aliases, as lists, pages and counts hide it.

Before, a reader of ``alpha`` asking ``resolve?name=secretproj`` (a name only in ``beta``)
got 403 naming ``beta`` while an unknown name got 404, and a name in ``alpha`` and ``beta``
got 400 naming both: names and repositories could be enumerated.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from opsml.backends.http import HttpBackend
from opsml.errors import CardNotFoundError
from opsml_testing.live_server import LiveServer, running_server
from tests.integration.identity_helpers import (
    PASSWORD,
    ROOT,
    add_user,
    admin,
    register,
    root_backend,
    snapshot,
)

MISSING_UID = "f" * 32


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    root = tmp_path_factory.mktemp("hidden-cards")
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1]}
    with running_server(root, env=env) as server:
        add_user(server, "alpha-writer", [{"role": "writer", "repository": "alpha"}])
        backend = root_backend(server)
        uids = {
            "secret": register(backend, root, "beta", "secretproj").uid,
            "shared-alpha": register(backend, root, "alpha", "shared").uid,
            "shared-beta": register(backend, root, "beta", "shared").uid,
            "both-beta": register(backend, root, "beta", "twice").uid,
            "both-gamma": register(backend, root, "gamma", "twice").uid,
        }
        backend.close()
        with admin(server) as client:
            put = client.put("/api/v1/aliases/run/champion", json={"uid": uids["secret"]})
            assert put.status_code == 200, put.text
        yield server, uids


def _client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=("alpha-writer", PASSWORD), timeout=30)


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_resolve_answers_an_unreadable_name_as_an_unknown_one(
    hidden: tuple[LiveServer, dict[str, str]],
) -> None:
    server, _ = hidden
    with _client(server) as client:
        secret = client.get("/api/v1/cards/run/resolve", params={"name": "secretproj"})
        unknown = client.get("/api/v1/cards/run/resolve", params={"name": "nosuchname"})
        several = client.get("/api/v1/cards/run/resolve", params={"name": "twice"})
    assert _error(secret) == _error(unknown) == (404, "card_not_found")
    assert secret.json()["error"]["message"] == unknown.json()["error"]["message"].replace(
        "nosuchname", "secretproj"
    )
    # a name held by two repositories, neither readable: not found, no repository named
    assert _error(several) == (404, "card_not_found")
    for response in (secret, several):
        assert "beta" not in response.text and "gamma" not in response.text


def test_resolve_finds_the_one_readable_copy_of_a_shared_name(
    hidden: tuple[LiveServer, dict[str, str]],
) -> None:
    server, uids = hidden
    with _client(server) as client:
        shared = client.get("/api/v1/cards/run/resolve", params={"name": "shared"})
        asked_beta = client.get(
            "/api/v1/cards/run/resolve", params={"name": "shared", "repositories": "beta"}
        )
    assert shared.status_code == 200, shared.text
    assert shared.json()["uid"] == uids["shared-alpha"]
    assert "beta" not in shared.text
    assert _error(asked_beta) == (404, "card_not_found")  # asking widens nothing
    backend = HttpBackend(server.url, username="alpha-writer", password=PASSWORD)
    try:
        assert backend.get_card("run", name="shared").uid == uids["shared-alpha"]
        with pytest.raises(CardNotFoundError):
            backend.get_card("run", name="secretproj")
    finally:
        backend.close()
    # an administrator still gets the ambiguity, naming both repositories
    with admin(server) as client:
        both = client.get("/api/v1/cards/run/resolve", params={"name": "shared"})
    assert both.status_code == 400 and "alpha, beta" in both.json()["error"]["message"]


def test_a_named_repository_is_refused_whether_or_not_the_card_exists(
    hidden: tuple[LiveServer, dict[str, str]],
) -> None:
    server, _ = hidden
    with _client(server) as client:
        answers = [
            client.get("/api/v1/cards/run/resolve", params={"name": name, "repository": "beta"})
            for name in ("secretproj", "nosuchname")
        ] + [
            client.get(
                f"/api/v1/aliases/run/{alias}", params={"name": "secretproj", "repository": "beta"}
            )
            for alias in ("champion", "nosuchalias")
        ]
    assert {_error(a) for a in answers} == {(403, "permission_denied")}
    assert len({a.json()["error"]["message"] for a in answers}) == 1  # nothing to tell apart


def test_a_uid_of_an_unreadable_repository_is_not_found(
    hidden: tuple[LiveServer, dict[str, str]],
) -> None:
    server, uids = hidden
    before = snapshot(server)

    def answers(uid: str) -> list[tuple[int, str]]:
        with _client(server) as client:
            responses = [
                client.get(f"/api/v1/cards/run/{uid}"),
                client.get(f"/api/v1/cards/run/{uid}/files/blob.bin"),
                client.get(f"/api/v1/presign/cards/run/{uid}/files/blob.bin"),
                client.patch(f"/api/v1/cards/run/{uid}", json={"tags": {"x": "y"}}),
                client.delete(f"/api/v1/cards/run/{uid}"),
                client.put("/api/v1/aliases/run/mine", json={"uid": uid}),
            ]
        for response in responses:
            assert "beta" not in response.text
        return [_error(r) for r in responses]

    hidden_answers = answers(uids["secret"])
    assert hidden_answers == answers(MISSING_UID)
    assert {status for status, _ in hidden_answers} == {404}
    assert snapshot(server) == before  # nothing written
    with _client(server) as client:  # the readable copy still loads
        assert client.get(f"/api/v1/cards/run/{uids['shared-alpha']}").status_code == 200
