"""Commit listeners are given to the store: who hears a SQL backend's commits, and who does not."""

from __future__ import annotations

import doctest
import importlib
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from opsml import CardRegistry, RunCard, hooks
from opsml._plugins import commit_listeners
from opsml._registration import stage_manifest
from opsml.backends import build_backend
from opsml.backends.base import RegistryBackend
from opsml.backends.sql import SqlBackend
from opsml.config import OpsmlSettings
from opsml.listeners import CommitListeners


@pytest.mark.parametrize("module", ["opsml.listeners", "opsml._plugins", "opsml._types"])
def test_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_a_failing_listener_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    prepared: list[str] = []
    heard: list[str] = []
    listeners = CommitListeners(prepare=lambda: prepared.append("loaded"))

    def broken(card: Any) -> None:
        raise RuntimeError("boom")

    listeners.commit.extend([broken, lambda card: heard.append(card.uid)])
    with caplog.at_level(logging.WARNING, logger="opsml.hooks"):
        listeners.after_commit(SimpleNamespace(uid="u1"))
    assert heard == ["u1"]
    assert prepared == ["loaded"]
    assert "commit listener" in caplog.text and "failed for card u1" in caplog.text


def test_each_hook_point_tells_only_its_own_listeners() -> None:
    listeners = CommitListeners()
    heard: list[tuple[str, object]] = []
    listeners.commit.append(lambda card: heard.append(("commit", card.uid)))
    listeners.alias.append(lambda card, alias: heard.append(("alias", alias.alias)))
    listeners.deployment.append(lambda record: heard.append(("deployment", record.id)))
    listeners.approval.append(lambda request: heard.append(("approval", request.state)))
    listeners.after_alias_set(SimpleNamespace(uid="u"), SimpleNamespace(alias="prod"))
    listeners.after_deployment(SimpleNamespace(id=7))
    listeners.after_approval(SimpleNamespace(id=3, state="pending"))
    listeners.after_commit(SimpleNamespace(uid="u"))
    assert heard == [("alias", "prod"), ("deployment", 7), ("approval", "pending"), ("commit", "u")]


def _card(name: str = "nightly") -> RunCard:
    return RunCard(name=name, repository="ds", contact="me")


def test_a_backend_tells_the_listeners_it_was_given_and_no_others(tmp_path: Path) -> None:
    mine, theirs = CommitListeners(), CommitListeners()
    heard: list[tuple[str, str]] = []
    mine.commit.append(lambda card: heard.append(("mine", card.name)))
    mine.alias.append(lambda card, alias: heard.append(("mine-alias", alias.alias)))
    theirs.commit.append(lambda card: heard.append(("theirs", card.name)))
    default: list[str] = []
    hooks.add_commit_listener(default.append)
    try:
        backend = SqlBackend(
            f"sqlite:///{tmp_path / 'r.db'}", (tmp_path / "a").as_posix(), listeners=mine
        )
        bare = SqlBackend(f"sqlite:///{tmp_path / 'b.db'}", (tmp_path / "b").as_posix())
        card = CardRegistry("run", backend=backend).register_card(_card())
        CardRegistry("run", backend=backend).set_alias(card, "prod")
        CardRegistry("run", backend=bare).register_card(_card("other"))
    finally:
        hooks.remove_commit_listener(default.append)
    assert heard == [("mine", "nightly"), ("mine-alias", "prod")]
    assert default == []  # the process default hears only the backends it was given to
    assert bare.listeners.commit == []


def test_the_backend_factory_gives_the_process_default(tmp_path: Path) -> None:
    settings = OpsmlSettings(
        tracking_uri=f"sqlite:///{tmp_path / 'r.db'}", storage_uri=(tmp_path / "a").as_posix()
    )
    backend = build_backend(settings)
    assert isinstance(backend, SqlBackend)
    assert backend.listeners is commit_listeners() is hooks.commit_listeners()
    heard: list[str] = []
    hooks.add_commit_listener(heard.append)  # the public API adds to that default
    try:
        CardRegistry("run", backend=backend).register_card(_card())
    finally:
        hooks.remove_commit_listener(heard.append)
        backend.close()
    assert [card.name for card in heard] == ["nightly"]  # type: ignore[attr-defined]


def test_the_app_factory_gives_its_listeners_to_the_backend(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from opsml_server.app import create_app
    from opsml_server.settings import ServerSettings

    settings = ServerSettings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}", storage_uri=(tmp_path / "a").as_posix()
    )
    mine = CommitListeners()
    with TestClient(create_app(settings, listeners=mine)) as client:
        assert client.app.state.backend.listeners is mine  # type: ignore[attr-defined]
    with TestClient(create_app(settings)) as client:
        assert client.app.state.backend.listeners is commit_listeners()  # type: ignore[attr-defined]


def test_hashing_while_sending_is_a_capability_of_the_interface(tmp_path: Path) -> None:
    from opsml.backends.http import HttpBackend

    assert HttpBackend.digests_on_send is not RegistryBackend.digests_on_send  # its override
    backend = SqlBackend(f"sqlite:///{tmp_path / 'r.db'}", (tmp_path / "a").as_posix())
    assert backend.digests_on_send(10**12) is False  # the default: digests up front
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "x.txt").write_bytes(b"abc")
    (item,) = stage_manifest(tmp_path / "files", backend)
    assert item.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
