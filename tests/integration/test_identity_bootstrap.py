"""The first user of a registry that has none: ``opsml users add`` makes it the registry's
administrator (global ``admin``) in the same transaction, against the database (SQLite,
PostgreSQL, MariaDB) and through an open registry server alike; and the last administrator
stays: removing it, or revoking its global ``admin``, is refused (409 over a server) unless
a server's bootstrap administrator remains.

Before, over HTTP, adding the first user turned auth on and left it without any role: the
``opsml users grant … admin`` that had to follow only passed while the server still
believed it had no users (the 5 s cache), and after that nobody could grant anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from opsml import configure
from opsml.backends.sql.migrate import upgrade_database
from opsml.cli import app
from opsml_testing.databases import scratch_database
from opsml_testing.live_server import LiveServer, running_server
from tests.integration.identity_helpers import ROOT

MODES = ["sqlite", "postgres", "mariadb", "http"]
BOSS = ("boss", "boss-password-1")
BOB = ("bob", "bob-password-1")


@dataclass
class Registry:
    """One empty registry: the tracking URI the CLI uses, its database, and its server."""

    mode: str
    uri: str
    db_url: str
    storage: str
    server: LiveServer | None = None

    def cli(self, *args: str, login: tuple[str, str] | None = None, code: int = 0) -> str:
        """``opsml ARGS`` against this registry (as ``login`` when given), its exit code checked."""
        env = {"OPSML_TRACKING_URI": self.uri, "OPSML_STORAGE_URI": self.storage}
        if login is not None:
            env.update(OPSML_USERNAME=login[0], OPSML_PASSWORD=login[1])
        try:
            with mock.patch.dict(os.environ, env):
                configure()
                result = CliRunner().invoke(app, list(args))
        finally:
            configure()
        assert result.exit_code == code, result.output
        return result.output

    def rows(self) -> tuple[Any, ...]:
        """Users, grants and audit entries as stored: to check that nothing changed."""
        engine = create_engine(self.db_url)
        queries = (
            "SELECT name, password_hash IS NOT NULL FROM opsml_users ORDER BY name",
            "SELECT user_id, repository, role FROM opsml_grants ORDER BY user_id, role",
            "SELECT action, name, actor FROM opsml_audit_log ORDER BY id",
        )
        try:
            with engine.connect() as conn:
                return tuple(tuple(map(tuple, conn.execute(text(query)))) for query in queries)
        finally:
            engine.dispose()

    def anonymous_status(self) -> int:
        """What a request without credentials gets from the server."""
        assert self.server is not None
        return httpx.get(f"{self.server.url}/api/v1/cards/run").status_code


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPSML_TRACKING_URI", "OPSML_USERNAME", "OPSML_PASSWORD", "OPSML_TOKEN",
                 "OPSML_PROD_TOKEN", "APP_ENV"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    yield
    monkeypatch.undo()
    configure()


@pytest.fixture(params=MODES)
def registry(request: pytest.FixtureRequest, tmp_path: Path, clean_env: None) -> Iterator[Registry]:
    """An empty registry with no user: a database (the CLI on it directly) or an open server."""
    storage = (tmp_path / "artifacts").as_posix()
    with ExitStack() as stack:
        if request.param == "http":
            server = stack.enter_context(running_server(tmp_path / "server"))
            yield Registry("http", server.url, server.db_url, storage, server)
            return
        if request.param == "sqlite":
            url = f"sqlite:///{(tmp_path / 'registry.db').as_posix()}"
        else:
            url = stack.enter_context(scratch_database(request.param))
        upgrade_database(url)
        yield Registry(request.param, url, url, storage)


def test_the_first_user_administers_the_registry(registry: Registry) -> None:
    added = registry.cli("users", "add", BOSS[0], "--password", BOSS[1])
    users, grants, _ = registry.rows()
    assert users == (("boss", True),) and [g[1:] for g in grants] == [("", "admin")], grants
    assert "added user boss" in added and "admin" in added, added
    if registry.server is not None:  # auth is on now, at once on this server
        assert registry.anonymous_status() == 401
    # the first user manages users without any further step (through a server: logged in)
    registry.cli("users", "add", BOB[0], "--password", BOB[1], login=BOSS)
    registry.cli("users", "grant", "bob", "writer", "--repository", "vision", login=BOSS)
    listed = registry.cli("users", "list", login=BOSS)
    roles = dict(line.split("\t") for line in listed.splitlines())
    assert roles == {"boss": "admin@*", "bob": "writer@vision"}, listed
    # the grant is audited with the user's creation, as a grant of its own
    entries = registry.cli("audit", "list", "--registry", "identity", "--action", "grant",
                           login=BOSS).splitlines()  # fmt: skip
    assert len(entries) == 2, entries
    assert "\tidentity/-/boss\t" in entries[1] and '"role": "admin"' in entries[1], entries
    assert '"first_user": true' in entries[1], entries
    if registry.server is not None:  # and the window of old is closed: nothing anonymous
        refused = registry.cli("users", "grant", "bob", "admin", code=1)
        assert "credentials" in refused, refused
        assert httpx.get(f"{registry.uri}/api/v1/users", auth=BOB).status_code == 403


def test_a_refused_first_user_changes_nothing(registry: Registry) -> None:
    before = registry.rows()
    empty = registry.cli("users", "add", "boss", "--password", "", code=1)
    assert "password is empty" in empty, empty
    if registry.server is not None:
        # a first user without a password would lock everyone out of a server: refused
        bot = registry.cli("users", "add", "bot", "--no-password", code=1)
        assert "first user" in bot and "--password" in bot, bot
        bad = httpx.post(f"{registry.uri}/api/v1/users", json={"name": "no such name!"})
        assert bad.status_code in (400, 422), bad.text
        assert registry.anonymous_status() == 200  # still open
    assert registry.rows() == before
    if registry.server is None:
        # against the database, whoever holds it can still make tokens: a service user may
        # come first, and becomes no administrator
        registry.cli("users", "add", "bot", "--no-password")
        assert registry.cli("users", "list").splitlines() == ["bot\t-"]
    else:
        registry.cli("users", "add", BOSS[0], "--password", BOSS[1])
        assert "boss\tadmin@*" in registry.cli("users", "list", login=BOSS)


def test_a_bootstrap_administrator_makes_no_administrator_by_accident(
    tmp_path: Path, clean_env: None
) -> None:
    """A server with ``OPSML_USERNAME`` has its administrator: the first user of its
    database gets only what the administrator grants it.
    """
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1]}
    with running_server(tmp_path / "server", env=env) as server:
        registry = Registry("http", server.url, server.db_url, str(tmp_path / "a"), server)
        added = registry.cli("users", "add", "ci", "--no-password", login=ROOT)
        assert "admin" not in added, added
        assert registry.cli("users", "list", login=ROOT).splitlines() == ["ci\t-"]


def _refused_as_last(registry: Registry, name: str, login: tuple[str, str]) -> None:
    """``users remove NAME`` and ``users revoke NAME admin`` are both refused, naming why."""
    for command in (("users", "remove", name), ("users", "revoke", name, "admin")):
        refused = registry.cli(*command, login=login, code=1)
        assert f"{name} is the last administrator" in refused, refused
        assert "grant admin to another user first" in refused, refused


def test_the_last_administrator_stays(registry: Registry) -> None:
    """Before, ``users remove boss`` (or ``users revoke boss admin``) by the only
    administrator succeeded and left a registry with auth on and nobody to manage it.
    """
    registry.cli("users", "add", BOSS[0], "--password", BOSS[1])
    registry.cli("users", "add", BOB[0], "--password", BOB[1], login=BOSS)
    # an admin of one repository is no administrator of the registry
    registry.cli("users", "grant", "bob", "admin", "--repository", "vision", login=BOSS)
    before = registry.rows()
    _refused_as_last(registry, "boss", BOSS)
    if registry.server is not None:  # 409 Conflict, with its own code
        users = f"{registry.uri}/api/v1/users/boss"
        for answer in (
            httpx.delete(users, auth=BOSS),
            httpx.delete(f"{users}/grants", params={"role": "admin"}, auth=BOSS),
        ):
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "last_administrator", answer.text
    assert registry.rows() == before  # users, grants and audit log as they were
    # revoking a repository's admin is no business of the rule
    registry.cli("users", "revoke", "bob", "admin", "--repository", "vision", login=BOSS)
    # with a second administrator, either may go; then the other is the last one
    registry.cli("users", "grant", "bob", "admin", login=BOSS)
    registry.cli("users", "revoke", "boss", "admin", login=BOSS)
    registry.cli("users", "remove", "boss", login=BOB)
    before = registry.rows()
    _refused_as_last(registry, "bob", BOB)
    assert registry.rows() == before
    assert registry.cli("users", "list", login=BOB).splitlines() == ["bob\tadmin@*"]


def test_a_bootstrap_administrator_lets_the_last_database_administrator_go(
    tmp_path: Path, clean_env: None
) -> None:
    """A server with ``OPSML_USERNAME`` always has that administrator: through it, the last
    administrator of its database may be removed. Against the database directly (which
    cannot know what servers run on it) the rule holds.
    """
    env = {"OPSML_USERNAME": ROOT[0], "OPSML_PASSWORD": ROOT[1]}
    with running_server(tmp_path / "server", env=env) as server:
        registry = Registry("http", server.url, server.db_url, str(tmp_path / "a"), server)
        for name in ("boss", "alice"):
            registry.cli("users", "add", name, "--password", BOSS[1], login=ROOT)
            registry.cli("users", "grant", name, "admin", login=ROOT)
        registry.cli("users", "remove", "alice", login=ROOT)
        direct = Registry("sqlite", server.db_url, server.db_url, str(tmp_path / "a"))
        before = direct.rows()
        _refused_as_last(direct, "boss", ROOT)
        assert direct.rows() == before
        registry.cli("users", "revoke", "boss", "admin", login=ROOT)
        registry.cli("users", "grant", "boss", "admin", login=ROOT)
        registry.cli("users", "remove", "boss", login=ROOT)
        assert registry.cli("users", "list", login=ROOT) == ""
        registry.cli("users", "add", "carol", "--password", BOSS[1], login=ROOT)  # root still is
