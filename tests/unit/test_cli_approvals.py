"""``opsml approvals request|list|show|approve|reject`` (issue 33), on an embedded registry
where ``production`` is protected and ``OPSML_ACTOR`` says who runs each command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsml import CardRegistry, configure
from opsml.cli import app
from tests.contract._helpers import run_card

runner = CliRunner()
CARD = ["--registry", "run", "--name", "train", "--repository", "ds-team"]


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("OPSML_TRACKING_URI", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("OPSML_STORAGE_URI", str(tmp_path / "artifacts"))
    monkeypatch.setenv("OPSML_PROTECTED_ALIASES", "production")
    configure()
    yield monkeypatch
    monkeypatch.undo()
    configure()


def _as(env: pytest.MonkeyPatch, actor: str, *args: str, code: int = 0) -> str:
    env.setenv("OPSML_ACTOR", actor)
    configure()
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_request_list_show_approve_reject(embedded: pytest.MonkeyPatch) -> None:
    registry = CardRegistry("run")
    registry.register_card(run_card())
    registry.register_card(run_card())
    direct = _as(embedded, "alice", "cards", "alias", "set", "production", *CARD, code=1)
    assert "protected (OPSML_PROTECTED_ALIASES)" in direct
    asked = _as(embedded, "alice", "approvals", "request", "production", *CARD, "--version",
                "1.0.0", "--reason", "<i>first</i> champion", "--json")  # fmt: skip
    first = json.loads(asked)
    assert (first["state"], first["requested_by"], first["reason"]) == (
        "pending", "alice", "<i>first</i> champion")  # fmt: skip
    listed = _as(embedded, "bob", "approvals", "list", "--registry", "run", "--state", "pending")
    assert listed.startswith(f"#{first['id']} pending production -> ds-team/train v1.0.0")
    assert "asked by alice" in listed and "<i>first</i> champion" in listed
    own = _as(embedded, "alice", "approvals", "approve", str(first["id"]), code=1)
    assert "requester cannot approve" in own
    done = _as(embedded, "bob", "approvals", "approve", str(first["id"]), "--comment", "ok")
    assert "approved by bob" in done and "(ok)" in done
    assert registry.list_aliases(name="train", repository="ds-team") == {"production": "1.0.0"}
    again = _as(embedded, "bob", "approvals", "approve", str(first["id"]), code=1)
    assert "approved already by bob" in again

    second = _as(embedded, "alice", "approvals", "request", "production", *CARD, "--version",
                 "1.1.0", "--reason", "v2", "--expires", "12h")  # fmt: skip
    second_id = second.split()[0].lstrip("#")
    assert "(from v1.0.0)" in second
    rejected = _as(embedded, "carol", "approvals", "reject", second_id, "--comment", "no")
    assert "rejected by carol" in rejected
    shown = json.loads(_as(embedded, "alice", "approvals", "show", second_id, "--json"))
    assert (shown["state"], shown["decided_by"], shown["comment"]) == ("rejected", "carol", "no")
    missing = _as(embedded, "bob", "approvals", "show", "999", code=1)
    assert "no approval request #999" in missing
    unprotected = _as(embedded, "alice", "approvals", "request", "champion", *CARD,
                      "--reason", "r", code=1)  # fmt: skip
    assert "not protected" in unprotected
    bad = _as(embedded, "alice", "approvals", "request", "production", *CARD, "--reason", "r",
              "--expires", "soon", code=1)  # fmt: skip
    assert "--expires" in bad


@pytest.mark.parametrize("command", ["request", "list", "show", "approve", "reject"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, ["approvals", command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output, result.output


def test_approver_is_a_grantable_role(embedded: pytest.MonkeyPatch) -> None:
    _as(embedded, "root", "users", "add", "bob", "--no-password")
    _as(embedded, "root", "users", "grant", "bob", "approver", "--repository", "ds-team")
    _as(embedded, "root", "users", "grant", "bob", "writer", "--repository", "ds-team")
    listed = _as(embedded, "root", "users", "list")
    assert "bob\t" in listed and "approver@ds-team" in listed and "writer@ds-team" in listed
    from opsml.auth.roles import Role
    from opsml.backends import get_backend
    from opsml.backends.sql import SqlBackend

    backend = get_backend()
    assert isinstance(backend, SqlBackend)
    store = backend.identity()
    bob = store.principal_for_name("bob")
    assert bob.allows(Role.APPROVER, "ds-team") and bob.allows(Role.WRITER, "ds-team")
    assert not bob.allows(Role.APPROVER, "other") and not bob.allows(Role.ADMIN, "ds-team")
