"""Issue 14: ``opsml users|tokens|audit`` against the database (the first administrator)
and against a live server (administrator credentials), and the client's ``OPSML_TOKEN``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from opsml import CardRegistry, configure
from opsml._cli.audit import audit_list
from opsml.auth.models import AuditQuery
from opsml.cli import app
from opsml_testing.live_server import running_server
from tests.contract._helpers import run_card
from tests.integration.identity_helpers import ROOT

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("OPSML_TRACKING_URI", "OPSML_USERNAME", "OPSML_PASSWORD", "OPSML_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    monkeypatch.undo()
    configure()


def test_first_administrator_through_the_database(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("OPSML_TRACKING_URI", f"sqlite:///{(tmp_path / 'r.db').as_posix()}")
    env.setenv("OPSML_STORAGE_URI", (tmp_path / "artifacts").as_posix())
    configure()
    _ok("users", "add", "boss", "--password", "boss-password-1")
    _ok("users", "grant", "boss", "admin")
    _ok("users", "add", "bot", "--no-password")
    _ok("users", "grant", "bot", "writer", "--repository", "vision")
    listed = _ok("users", "list")
    assert "boss\tadmin@*" in listed and "bot\twriter@vision" in listed
    token = _ok("tokens", "create", "ci", "--user", "bot", "--expires", "90d").strip()
    assert token.startswith("opsml_")
    tokens = _ok("tokens", "list")
    assert "ci\tbot" in tokens and token not in tokens
    refused = runner.invoke(app, ["users", "grant", "nobody", "reader"])
    assert refused.exit_code == 1 and "no user named 'nobody'" in refused.output
    bad = runner.invoke(app, ["tokens", "create", "x", "--user", "bot", "--expires", "soon"])
    assert bad.exit_code == 1 and "--expires" in bad.output
    # the same durations as db gc --older-than (issue 30 item 9)
    assert _ok("tokens", "create", "ci-2w", "--user", "bot", "--expires", "2w").strip()
    assert _ok("tokens", "create", "ci-90s", "--user", "bot", "--expires", "90s").strip()
    _ok("tokens", "revoke", "ci")
    _ok("users", "revoke", "bot", "writer", "--repository", "vision")
    _ok("users", "remove", "bot")
    assert "bot" not in _ok("users", "list")


def test_audit_list_filters_by_card_uid(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("OPSML_TRACKING_URI", f"sqlite:///{(tmp_path / 'r.db').as_posix()}")
    env.setenv("OPSML_STORAGE_URI", (tmp_path / "artifacts").as_posix())
    configure()
    registry = CardRegistry("run")
    kept = registry.register_card(run_card(name="kept"))
    registry.register_card(run_card(name="other"))
    registry.register_card(run_card(name="kept"))  # a second version: another uid
    everything = _ok("audit", "list", "--registry", "run")
    assert everything.count("\tregister\t") == 3
    lines = _ok("audit", "list", "--card-uid", kept.uid).splitlines()
    assert len(lines) == 1 and f"\tregister\trun/ds-team/kept {kept.version}" in lines[0], lines
    bad = runner.invoke(app, ["audit", "list", "--card-uid", "not-a-uid"])
    assert bad.exit_code == 1 and "--card-uid" in bad.output


def test_audit_list_shows_what_changed(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Two grants to one user on one repository print the role each gave (the entry's
    ``detail``); an entry without a version ends with its name, not a space."""
    env.setenv("OPSML_TRACKING_URI", f"sqlite:///{(tmp_path / 'r.db').as_posix()}")
    env.setenv("OPSML_STORAGE_URI", (tmp_path / "artifacts").as_posix())
    configure()
    _ok("users", "add", "bob", "--no-password")
    _ok("users", "grant", "bob", "writer", "--repository", "ds-team")
    _ok("users", "grant", "bob", "approver", "--repository", "ds-team")
    lines = _ok("audit", "list", "--action", "grant").splitlines()
    assert len(lines) == 2 and lines[0] != lines[1], lines
    assert lines[0].endswith('\tidentity/ds-team/bob\t{"role": "approver"}'), lines
    assert lines[1].endswith('\tidentity/ds-team/bob\t{"role": "writer"}'), lines
    (added,) = _ok("audit", "list", "--action", "user_add").splitlines()
    assert added.endswith("\tuser_add\tidentity/-/bob"), added
    # a registry that holds nothing by its name is a typo, not an empty log
    typo = runner.invoke(app, ["audit", "list", "--registry", "models"])
    assert typo.exit_code == 1 and "--registry" in typo.output and "identity" in typo.output


def test_audit_list_options_are_the_audit_query_fields() -> None:
    """``opsml audit list`` accepts the filters of ``GET /api/v1/audit`` (AuditQuery's fields)."""
    options = set(inspect.signature(audit_list).parameters)
    assert options == set(AuditQuery.model_fields)


def test_users_tokens_and_audit_against_a_server(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server_env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1]}
    with running_server(tmp_path / "server", env=server_env) as server:
        env.setenv("OPSML_TRACKING_URI", server.url)
        env.setenv("OPSML_USERNAME", ROOT[0])
        env.setenv("OPSML_PASSWORD", ROOT[1])
        configure()
        _ok("users", "add", "bot", "--no-password")
        _ok("users", "grant", "bot", "writer", "--repository", "vision")
        token = _ok("tokens", "create", "ci", "--user", "bot").strip()
        # the bootstrap administrator is no user of the database: its own token needs --user
        mine = runner.invoke(app, ["tokens", "create", "mine"])
        assert mine.exit_code == 1 and "bootstrap administrator" in mine.output, mine.output
        assert "--user" in mine.output, mine.output
        assert "bot\twriter@vision" in _ok("users", "list")
        # the client sends OPSML_TOKEN as a bearer token (and not the user name)
        env.delenv("OPSML_USERNAME")
        env.delenv("OPSML_PASSWORD")
        env.setenv("OPSML_TOKEN", token)
        configure()
        CardRegistry("run").register_card(run_card(name="by-bot", repository="vision"))
        denied = runner.invoke(app, ["users", "list"])
        assert denied.exit_code == 1 and "'admin'" in denied.output
        mine = _ok("audit", "list", "--repository", "vision", "--user", "bot/ci")
        assert "bot/ci\tregister\trun/vision/by-bot" in mine
        everything = runner.invoke(app, ["audit", "list"])  # every repository: global readers
        assert everything.exit_code == 1 and "'reader'" in everything.output
        env.delenv("OPSML_TOKEN")
        env.setenv("OPSML_USERNAME", ROOT[0])
        env.setenv("OPSML_PASSWORD", ROOT[1])
        configure()
        _ok("tokens", "revoke", "ci")
        _ok("users", "remove", "bot")
        listed = httpx.get(f"{server.url}/api/v1/users", auth=ROOT).json()
        assert listed == []
        assert token not in server.log()
