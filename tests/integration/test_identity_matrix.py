"""Issue 14: every role × every operation × the granted repository or another one, on a
live server: the expected status, and for each refused write the registry unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from opsml.backends.http import HttpBackend
from opsml.errors import OpsmlError
from opsml_testing.live_server import LiveServer, running_server
from tests.integration.identity_helpers import (
    PASSWORD,
    ROOT,
    add_user,
    admin,
    card_in,
    register,
    root_backend,
    snapshot,
)

GRANTED, OTHER = "granted", "other"
ROLES = {
    "none": [],
    "reader": [{"role": "reader", "repository": GRANTED}],
    "writer": [{"role": "writer", "repository": GRANTED}],
    "admin": [{"role": "admin", "repository": GRANTED}],
    "global-admin": [{"role": "admin"}],
}
RANK = {"none": 0, "reader": 1, "writer": 2, "admin": 3, "global-admin": 3}
NEEDS = {
    "list": 1,
    "load": 1,
    "download": 1,
    "aliases": 1,
    "register": 2,
    "update": 2,
    "alias": 2,
    "unalias": 2,
    "delete": 3,
}
WRITES = {"register", "update", "alias", "unalias", "delete", "manage-users"}
BY_UID = {"load", "download", "update", "alias", "delete"}
"""Operations that address a card by uid: a caller who may not read its repository
gets 404, as if the card did not exist (issue 30 item 2), not a 403 naming it."""
OPERATIONS = [*NEEDS, "manage-users"]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    root = tmp_path_factory.mktemp("identity-matrix")
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1]}
    with running_server(root, env=env) as server:
        for role, grants in ROLES.items():
            add_user(server, f"u-{role}", grants)
        backend = root_backend(server)
        uids = {repo: register(backend, root, repo, "seed").uid for repo in (GRANTED, OTHER)}
        backend.close()
        yield server, uids


def expected(role: str, operation: str, repository: str) -> int:
    """The status a role gets for an operation on a repository."""
    if operation == "manage-users":
        return 201 if role == "global-admin" else 403
    held = RANK[role] if role == "global-admin" or repository == GRANTED else 0
    ok = {"register": 201, "delete": 204, "unalias": 204}.get(operation, 200)
    if held >= NEEDS[operation]:
        return ok
    return 404 if operation in BY_UID and held == 0 else 403


def _attempt(server: LiveServer, uid: str, role: str, operation: str, repo: str, tmp: Path) -> int:
    user = (f"u-{role}", PASSWORD)
    with httpx.Client(base_url=server.url, auth=user, timeout=30) as client:
        calls: dict[str, Callable[[], httpx.Response]] = {
            "list": lambda: client.get("/api/v1/cards/run", params={"repository": repo}),
            "load": lambda: client.get(f"/api/v1/cards/run/{uid}"),
            "download": lambda: client.get(f"/api/v1/cards/run/{uid}/files/blob.bin"),
            "update": lambda: client.patch(f"/api/v1/cards/run/{uid}", json={"tags": {"by": role}}),
            "aliases": lambda: client.get(
                "/api/v1/aliases/run", params={"name": "seed", "repository": repo}
            ),
            "alias": lambda: client.put("/api/v1/aliases/run/champion", json={"uid": uid}),
            "unalias": lambda: client.delete(
                "/api/v1/aliases/run/retired", params={"name": "seed", "repository": repo}
            ),
            "manage-users": lambda: client.post(
                "/api/v1/users", json={"name": f"new-{role}-{repo}"}
            ),
        }
        if operation == "delete":
            return client.delete(f"/api/v1/cards/run/{uid}").status_code
        if operation in calls:
            return calls[operation]().status_code
    card, source = card_in(tmp, repo, f"new-{role}")
    backend = HttpBackend(server.url, username=user[0], password=user[1])
    try:
        backend.register_card(card, source)
    except OpsmlError as exc:
        return exc.status_code
    finally:
        backend.close()
    return 201


@pytest.mark.parametrize(
    ("role", "operation", "repository"),
    list(itertools.product(ROLES, OPERATIONS, (GRANTED, OTHER))),
)
def test_permission_matrix(
    matrix: tuple[LiveServer, dict[str, str]],
    tmp_path: Path,
    role: str,
    operation: str,
    repository: str,
) -> None:
    server, uids = matrix
    want = expected(role, operation, repository)
    uid = uids[repository]
    if operation == "delete":  # a card of its own, so that the seed stays
        backend = root_backend(server)
        uid = register(backend, tmp_path, repository, f"victim-{role}").uid
        backend.close()
    if operation == "unalias":  # an alias to remove
        with admin(server) as client:
            put = client.put("/api/v1/aliases/run/retired", json={"uid": uid})
            assert put.status_code == 200, put.text
    before = snapshot(server)
    got = _attempt(server, uid, role, operation, repository, tmp_path)
    assert got == want, f"{role} {operation} on {repository}: {got}, expected {want}"
    if want in (403, 404) and operation in WRITES:
        assert snapshot(server) == before, f"a refused {operation} changed the registry"


def test_403_names_the_missing_role_and_repository(
    matrix: tuple[LiveServer, dict[str, str]],
) -> None:
    server, uids = matrix
    with httpx.Client(base_url=server.url, auth=("u-reader", PASSWORD)) as client:
        response = client.patch(f"/api/v1/cards/run/{uids[GRANTED]}", json={"tags": {"a": "b"}})
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "'writer'" in message and f"'{GRANTED}'" in message


def test_list_without_repository_shows_only_readable_cards(
    matrix: tuple[LiveServer, dict[str, str]],
) -> None:
    server, _ = matrix
    with httpx.Client(base_url=server.url, auth=("u-reader", PASSWORD)) as client:
        items = client.get("/api/v1/cards/run").json()["items"]
    assert items and {item["repository"] for item in items} == {GRANTED}


def test_page_and_count_show_only_readable_cards(
    matrix: tuple[LiveServer, dict[str, str]],
) -> None:
    server, _ = matrix
    with httpx.Client(base_url=server.url, auth=("u-reader", PASSWORD)) as client:
        page = client.get("/api/v1/cards/run/page").json()
        count = client.get("/api/v1/cards/run/count").json()["count"]
        other = client.get("/api/v1/cards/run/count", params={"repositories": OTHER})
        named = client.get("/api/v1/cards/run/count", params={"repository": OTHER})
    assert {item["repository"] for item in page["items"]} == {GRANTED}
    assert count == len(page["items"]) >= 1
    assert other.json()["count"] == 0  # asking for another repository widens nothing
    assert named.status_code == 403
    with httpx.Client(base_url=server.url, auth=("u-global-admin", PASSWORD)) as client:
        assert client.get("/api/v1/cards/run/count").json()["count"] > count


def test_production_token_is_checked_as_well_as_the_role(tmp_path: Path) -> None:
    prod = "prod-token-0123456789abcdef"
    env = {
        "OPSML_USERNAME": ROOT[0],
        "OPSML_PASSWORD": ROOT[1],
        "APP_ENV": "production",
        "OPSML_PROD_TOKEN": prod,
    }
    with running_server(tmp_path / "prod", env=env) as server:
        add_user(server, "u-writer", ROLES["writer"])
        add_user(server, "u-reader", ROLES["reader"])
        before = snapshot(server)
        for user, token, want in (
            ("u-writer", "", 403),  # the role, not the token
            ("u-reader", prod, 403),  # the token, not the role
        ):
            card, source = card_in(tmp_path, GRANTED, f"prod-{user}")
            backend = HttpBackend(server.url, username=user, password=PASSWORD, prod_token=token)
            with pytest.raises(OpsmlError) as refused:
                backend.register_card(card, source)
            backend.close()
            assert refused.value.status_code == want
            assert snapshot(server) == before
        card, source = card_in(tmp_path, GRANTED, "prod-both")
        backend = HttpBackend(server.url, username="u-writer", password=PASSWORD, prod_token=prod)
        assert backend.register_card(card, source).repository == GRANTED
        backend.close()
