"""Deployment records on a live server with auth and production on (issue 29): reading needs
``reader`` on the card's repository, recording needs ``writer`` and the production token;
every refusal is a clear 4xx that writes nothing; the audit names who recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from opsml.backends.http import HttpBackend
from opsml.errors import AuthenticationError, DeploymentInUseError, PermissionDeniedError
from opsml.schemas_deployments import DeploymentCreate, DeploymentQuery
from opsml_testing.live_server import LiveServer, running_server
from tests._live_server import PROD_TOKEN
from tests.integration.identity_helpers import PASSWORD, ROOT, add_user, register

TARGET = "k8s/ml-prod/churn-api"
DIGEST = "sha256:" + "c" * 64


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1], "APP_ENV": "production",
           "OPSML_PROD_TOKEN": PROD_TOKEN}  # fmt: skip
    with running_server(tmp_path_factory.mktemp("deploy-roles"), env=env) as live:
        add_user(live, "u-reader", [{"role": "reader", "repository": "granted"}])
        add_user(live, "u-writer", [{"role": "writer", "repository": "granted"}])
        add_user(live, "u-elsewhere", [{"role": "writer", "repository": "other"}])
        yield live


def _as(server: LiveServer, user: str | None, *, prod: bool = True) -> HttpBackend:
    return HttpBackend(
        server.url, username=user, password=PASSWORD if user else None,
        prod_token=PROD_TOKEN if prod else None,
    )  # fmt: skip


def _records(server: LiveServer) -> list[tuple[Any, ...]]:
    engine = create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT * FROM opsml_deployments"))]
    finally:
        engine.dispose()


def test_roles_production_token_and_audit(server: LiveServer, tmp_path: Path) -> None:
    root = HttpBackend(server.url, username=ROOT[0], password=ROOT[1], prod_token=PROD_TOKEN)
    card = register(root, tmp_path, "granted", "churn")
    record = DeploymentCreate(registry="run", uid=card.uid, target=TARGET, state="deployed",
                              image="churn:1.0.0", image_digest=DIGEST)  # fmt: skip
    refusals = [
        (_as(server, "u-writer", prod=False), PermissionDeniedError, "production token"),
        (_as(server, "u-reader"), PermissionDeniedError, "writer"),
        (_as(server, "u-elsewhere"), PermissionDeniedError, "granted"),
        (_as(server, None), AuthenticationError, None),
    ]
    for backend, error, message in refusals:
        with pytest.raises(error, match=message):
            backend.record_deployment(record)
        backend.close()
    assert _records(server) == []  # nothing written by any refused recorder

    writer = _as(server, "u-writer")
    done = writer.record_deployment(record)
    assert (done.actor, done.environment, done.image_digest) == ("u-writer", "production", DIGEST)
    reader = _as(server, "u-reader", prod=False)  # reads need no production token
    assert reader.current_deployment(TARGET) == done
    assert [r.id for r in reader.list_deployments(DeploymentQuery()).items] == [done.id]
    elsewhere = _as(server, "u-elsewhere", prod=False)
    with pytest.raises(PermissionDeniedError, match="granted"):
        elsewhere.current_deployment(TARGET)
    assert elsewhere.list_deployments(DeploymentQuery()).items == []  # only what it may read
    with pytest.raises(PermissionDeniedError, match="granted"):
        elsewhere.list_deployments(DeploymentQuery(repository="granted"))

    with httpx.Client(base_url=server.url, auth=ROOT, timeout=30) as admin:
        audit = admin.get("/api/v1/audit", params={"action": "deployment"}).json()["items"]
        assert [(a["actor"], a["detail"]["state"], a["detail"]["target"]) for a in audit] == [
            ("u-writer", "deployed", TARGET)
        ]
        refused = admin.delete(f"/api/v1/cards/run/{card.uid}",
                               headers={"X-Opsml-Prod-Token": PROD_TOKEN})  # fmt: skip
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "deployment_in_use"
        assert f"production/{TARGET}" in refused.json()["error"]["message"]
        missing = admin.get("/api/v1/deployments/current", params={"target": "k8s/none"})
        assert missing.status_code == 404 and "k8s/none" in missing.json()["error"]["message"]
        unknown = admin.post("/api/v1/deployments", headers={"X-Opsml-Prod-Token": PROD_TOKEN},
                             json={**record.model_dump(), "uid": "e" * 32})  # fmt: skip
        assert unknown.status_code == 404 and "e" * 32 in unknown.json()["error"]["message"]
    with pytest.raises(DeploymentInUseError, match=TARGET):
        root.delete_card("run", card.uid)
    for backend in (writer, reader, elsewhere, root):
        backend.close()
