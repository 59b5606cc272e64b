"""The approval pages in ``opsml ui`` (no auth: read-only) and the UI's only write routes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from opsml_server.ui.approvals import router
from opsml_server.ui.standalone import create_ui_app

from opsml import CardRegistry
from opsml.backends import build_backend
from opsml.config import OpsmlSettings
from tests.contract._helpers import run_card


def test_standalone_ui_lists_and_shows_requests_without_forms(tmp_path: Path) -> None:
    base = {
        "tracking_uri": f"sqlite:///{(tmp_path / 'r.db').as_posix()}",
        "storage_uri": (tmp_path / "s").as_posix(),
        "protected_aliases": "champion",
    }
    alice = CardRegistry("run", settings=OpsmlSettings(**base, actor="alice"))
    card = alice.register_card(run_card())
    asked = alice.request_alias(card, "champion", reason='<img src=x onerror="alert(1)">')
    with TestClient(create_ui_app(build_backend(OpsmlSettings(**base)))) as client:
        listed = client.get("/ui/approvals")
        shown = client.get(f"/ui/approvals/{asked.id}")
        missing = client.get("/ui/approvals/424242")
        refused = client.post(f"/ui/approvals/{asked.id}/approve", data={"comment": "x"})
    assert listed.status_code == 200 and f"/ui/approvals/{asked.id}" in listed.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in listed.text
    assert "<img src=x" not in listed.text and "<img src=x" not in shown.text
    assert shown.status_code == 200 and "<form" not in shown.text
    assert "needs a logged-in user" in shown.text
    assert "unsafe-inline" not in shown.headers["content-security-policy"]
    assert missing.status_code == 404 and "#424242" in missing.text
    assert refused.status_code == 403  # nobody is logged in: nothing is decided
    assert alice.get_approval(asked.id).state == "pending"


def test_the_only_ui_writes_are_the_two_decisions() -> None:
    writes = {
        (route.path, method)  # type: ignore[attr-defined]
        for route in router.routes
        for method in getattr(route, "methods", set())
        if method != "GET"
    }
    assert writes == {("/ui/approvals/{approval_id}/{verb}", "POST")}
