"""Approvals on a live server with users, roles and production on (docs/design.md §19): the
permission matrix over reader, writer, approver, admin and the requester themself; every
refusal is a clear 4xx that leaves the registry unchanged; the audit names both people."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from opsml.backends.http import HttpBackend
from opsml.errors import AuthenticationError, OpsmlError, PermissionDeniedError
from opsml.schemas import CardPublic
from opsml.schemas_approvals import ApprovalCreate, ApprovalDecision, ApprovalQuery
from opsml_testing.live_server import LiveServer, running_server
from tests._live_server import PROD_TOKEN
from tests.integration.identity_helpers import PASSWORD, ROOT, add_user, register, snapshot

ALIAS = "champion"
GRANTED = "granted"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1], "APP_ENV": "production",
           "OPSML_PROD_TOKEN": PROD_TOKEN,
           "OPSML_PROTECTED_ALIASES": f"{ALIAS},stable"}  # fmt: skip
    with running_server(tmp_path_factory.mktemp("approval-roles"), env=env) as live:
        for name, grants in {
            "u-reader": [("reader", GRANTED)],
            "u-writer": [("writer", GRANTED)],
            "u-approver": [("approver", GRANTED)],
            "u-approver-elsewhere": [("approver", "other")],
            "u-admin": [("admin", GRANTED)],
            "u-both": [("writer", GRANTED), ("approver", GRANTED)],
            "u-global-approver": [("approver", None)],
        }.items():
            add_user(live, name, [{"role": r, "repository": repo} for r, repo in grants])
        yield live


def _as(server: LiveServer, user: str | None, *, prod: bool = True) -> HttpBackend:
    return HttpBackend(
        server.url, username=user, password=PASSWORD if user else None,
        prod_token=PROD_TOKEN if prod else None,
    )  # fmt: skip


def _state(server: LiveServer) -> tuple[Any, ...]:
    engine = create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            query = "SELECT id, state, decided_by, comment FROM opsml_approvals ORDER BY id"
            rows = tuple(map(tuple, conn.execute(text(query))))
    finally:
        engine.dispose()
    return (snapshot(server), rows)


def _refused(server: LiveServer, error: type[OpsmlError], match: str | None, call: Any) -> None:
    before = _state(server)
    with pytest.raises(error, match=match):
        call()
    assert _state(server) == before, "a refused call wrote something"


def _ask(backend: HttpBackend, card: CardPublic, reason: str = "better") -> Any:
    return backend.request_alias(ApprovalCreate(registry="run", uid=card.uid, alias=ALIAS,
                                                reason=reason))  # fmt: skip


def test_permission_matrix(server: LiveServer, tmp_path: Path) -> None:
    root = HttpBackend(server.url, username=ROOT[0], password=ROOT[1], prod_token=PROD_TOKEN)
    first = register(root, tmp_path, GRANTED, "churn")
    second = register(root, tmp_path, GRANTED, "churn")
    users = {name: _as(server, name) for name in (
        "u-reader", "u-writer", "u-approver", "u-approver-elsewhere", "u-admin", "u-both",
        "u-global-approver")}  # fmt: skip
    ok = ApprovalDecision(comment="checked")

    # requesting: writer (or admin) on the repository, with the production token
    for name, match in (("u-reader", "'writer'"), ("u-approver", "'writer'"),
                        ("u-approver-elsewhere", "'writer'")):  # fmt: skip
        _refused(server, PermissionDeniedError, match, lambda n=name: _ask(users[n], first))
    _refused(server, PermissionDeniedError, "production token",
             lambda: _ask(_as(server, "u-writer", prod=False), first))  # fmt: skip
    _refused(server, AuthenticationError, None, lambda: _ask(_as(server, None), first))
    # nobody moves a protected alias directly, not even the administrator
    _refused(server, PermissionDeniedError, "protected",
             lambda: root.set_alias("run", first.uid, ALIAS))  # fmt: skip
    _refused(server, PermissionDeniedError, "protected",
             lambda: users["u-admin"].set_alias("run", first.uid, "stable"))  # fmt: skip

    asked = _ask(users["u-writer"], first, "first champion")
    assert asked.requested_by == "u-writer"
    for name, match in (("u-reader", "'approver'"), ("u-writer", "'approver'"),
                        ("u-approver-elsewhere", "'approver'")):  # fmt: skip
        _refused(server, PermissionDeniedError, match,
                 lambda n=name: users[n].approve(asked.id, ok))  # fmt: skip
        _refused(server, PermissionDeniedError, match,
                 lambda n=name: users[n].reject(asked.id, ok))  # fmt: skip
    _refused(server, PermissionDeniedError, "production token",
             lambda: _as(server, "u-approver", prod=False).approve(asked.id, ok))  # fmt: skip
    done = users["u-approver"].approve(asked.id, ok)
    assert (done.state, done.decided_by) == ("approved", "u-approver")
    assert [a.version for a in root.list_aliases("run", "churn", GRANTED)] == [first.version]

    # the requester themself never decides, whatever roles it holds and however it says who it is
    mine = _ask(users["u-both"], second, "second")
    _refused(server, PermissionDeniedError, "requester cannot approve",
             lambda: users["u-both"].approve(mine.id, ok))  # fmt: skip
    declared = users["u-both"]
    declared.actor = "somebody-else"  # a declared actor counts only where nothing authenticates
    _refused(server, PermissionDeniedError, "requester cannot reject",
             lambda: declared.reject(mine.id, ok))  # fmt: skip
    admin_done = users["u-admin"].approve(mine.id, ApprovalDecision())
    assert (admin_done.state, admin_done.decided_by) == ("approved", "u-admin")
    third = register(root, tmp_path, GRANTED, "churn")
    rejected = users["u-global-approver"].reject(_ask(users["u-admin"], third).id, ok)
    assert (rejected.state, rejected.decided_by) == ("rejected", "u-global-approver")

    # reads: reader of the repository, nothing of it for others
    reader = _as(server, "u-reader", prod=False)
    assert [a.id for a in reader.list_approvals(ApprovalQuery()).items] == [
        rejected.id, mine.id, asked.id]  # fmt: skip
    assert reader.get_approval(asked.id).decided_by == "u-approver"
    elsewhere = _as(server, "u-approver-elsewhere", prod=False)
    assert elsewhere.list_approvals(ApprovalQuery()).items == []
    _refused(server, PermissionDeniedError, GRANTED, lambda: elsewhere.get_approval(asked.id))

    with httpx.Client(base_url=server.url, auth=ROOT, timeout=30) as admin:
        audit = admin.get("/api/v1/audit", params={"action": "alias_set"}).json()["items"]
        assert [(a["actor"], a["detail"]["requested_by"], a["detail"]["approved_by"])
                for a in reversed(audit)] == [("u-approver", "u-writer", "u-approver"),
                                              ("u-admin", "u-both", "u-admin")]  # fmt: skip
        headers = {"X-Opsml-Prod-Token": PROD_TOKEN}
        unknown = admin.post("/api/v1/approvals/424242/approve", json={}, headers=headers)
        assert unknown.status_code == 404 and "#424242" in unknown.json()["error"]["message"]
        twice = admin.post(f"/api/v1/approvals/{asked.id}/approve", json={}, headers=headers)
        assert twice.status_code == 409 and "already by u-approver" in twice.text
        no_body = admin.post(f"/api/v1/approvals/{rejected.id}/reject", headers=headers)
        assert no_body.status_code == 409  # an empty body is a decision without comment
        long = admin.post(f"/api/v1/approvals/{asked.id}/approve", headers=headers,
                          json={"comment": "x" * 5000})  # fmt: skip
        assert long.status_code == 400 and "comment" in long.json()["error"]["message"]
        bad_id = admin.get("/api/v1/approvals/0")
        assert bad_id.status_code == 400
        unprotected = admin.post("/api/v1/approvals", headers=headers, json={
            "registry": "run", "uid": third.uid, "alias": "canary", "reason": "r"})  # fmt: skip
        assert unprotected.status_code == 400 and "not protected" in unprotected.text
    for backend in (*users.values(), root, reader, elsewhere):
        backend.close()
