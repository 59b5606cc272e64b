"""The declared actor (``X-Opsml-Actor``) on live servers (docs/security.md, "Who the audit
log names"): a server with auth records the logged-in user whatever the header says (a
header never lets anyone act as someone else); an open server records the header, refuses
a malformed one before writing anything, and records nobody when no header comes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from opsml.backends.http import HttpBackend
from opsml.schemas import CardUpdate
from opsml.schemas_approvals import ApprovalCreate, ApprovalDecision
from opsml.schemas_deployments import DeploymentCreate
from opsml_testing.live_server import LiveServer, running_server
from tests.integration.identity_helpers import PASSWORD, ROOT, add_user, register, snapshot

REPO = "ds-team"
IMPOSTOR = "mallory"
HEADER = "X-Opsml-Actor"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1],
           "OPSML_PROTECTED_ALIASES": "production"}  # fmt: skip
    with running_server(tmp_path_factory.mktemp("declared-auth"), env=env) as live:
        add_user(live, "u-approver", [{"role": "approver", "repository": REPO}])
        yield live


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("declared-open")) as live:
        yield live


def _audit(server: LiveServer) -> list[tuple[str, str | None]]:
    engine = create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            query = "SELECT action, actor FROM opsml_audit_log WHERE registry = 'run' ORDER BY id"
            return [(row.action, row.actor) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def _declaring(
    server: LiveServer, actor: str, user: str | None = None, password: str | None = None
) -> HttpBackend:
    backend = HttpBackend(server.url, username=user, password=password)
    backend.actor = actor  # sent as X-Opsml-Actor on every write
    return backend


def test_auth_server_ignores_the_declared_actor(auth_server: LiveServer, tmp_path: Path) -> None:
    root = _declaring(auth_server, IMPOSTOR, *ROOT)
    approver = _declaring(auth_server, ROOT[0], "u-approver", PASSWORD)  # not root
    first = register(root, tmp_path, REPO, "churn")
    second = register(root, tmp_path, REPO, "churn")
    root.update_card("run", first.uid, CardUpdate(description="checked"))
    root.set_alias("run", first.uid, "champion")
    root.delete_alias("run", "churn", REPO, "champion")
    root.record_deployment(
        DeploymentCreate(registry="run", uid=first.uid, target="k8s/ml/churn", state="packaged")
    )
    asked = root.request_alias(
        ApprovalCreate(registry="run", uid=first.uid, alias="production", reason="better")
    )
    assert asked.requested_by == ROOT[0]
    assert approver.approve(asked.id, ApprovalDecision()).decided_by == "u-approver"
    with httpx.Client(base_url=auth_server.url, auth=ROOT, timeout=30) as raw:
        # a malformed declaration is ignored too: nothing reads it where auth is on
        answer = raw.delete(f"/api/v1/cards/run/{second.uid}", headers={HEADER: "not a person!"})
        assert answer.status_code == 204, answer.text
    assert _audit(auth_server) == [
        ("register", ROOT[0]),
        ("register", ROOT[0]),
        ("update", ROOT[0]),
        ("alias_set", ROOT[0]),
        ("alias_delete", ROOT[0]),
        ("deployment", ROOT[0]),
        ("approval_request", ROOT[0]),
        ("approval_approve", "u-approver"),
        ("alias_set", "u-approver"),
        ("delete", ROOT[0]),
    ]
    assert root.get_card("run", uid=first.uid).created_by == ROOT[0]


def _raw_alias(server: LiveServer, uid: str, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as raw:
        return raw.put("/api/v1/aliases/run/champion", json={"uid": uid}, headers=headers)


def test_open_server_records_the_declared_actor_or_nobody(
    open_server: LiveServer, tmp_path: Path
) -> None:
    card = register(_declaring(open_server, "carol"), tmp_path, REPO, "churn")
    before: Any = snapshot(open_server)
    refused = _raw_alias(open_server, card.uid, {HEADER: "not a person!"})
    assert refused.status_code == 400 and HEADER in refused.json()["error"]["message"]
    assert snapshot(open_server) == before, "a refused write wrote something"
    assert _raw_alias(open_server, card.uid, {HEADER: "dave@example.com"}).status_code == 200
    assert _raw_alias(open_server, card.uid, {}).status_code == 200  # a client that names nobody
    assert _audit(open_server)[-3:] == [
        ("register", "carol"),
        ("alias_set", "dave@example.com"),
        ("alias_set", None),
    ]


def test_open_server_audits_its_first_user_as_the_declared_actor(tmp_path: Path) -> None:
    with running_server(tmp_path / "first") as live:
        with httpx.Client(base_url=live.url, timeout=30) as raw:
            answer = raw.post(
                "/api/v1/users",
                json={"name": "boss", "password": PASSWORD},
                headers={HEADER: "carol"},
            )
        assert answer.status_code == 201, answer.text
        engine = create_engine(live.db_url)
        try:
            with engine.connect() as conn:
                query = (
                    "SELECT action, actor FROM opsml_audit_log "
                    "WHERE registry = 'identity' ORDER BY id"
                )
                entries = [(row.action, row.actor) for row in conn.execute(text(query))]
        finally:
            engine.dispose()
    assert entries == [("user_add", "carol"), ("grant", "carol")]
