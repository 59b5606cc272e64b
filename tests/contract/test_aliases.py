"""Aliases on every mode (design §12): set, move, load, list, delete, rules, audit, races."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsml.auth.models import AuditQuery
from opsml.backends.sql import SqlBackend
from opsml.errors import AliasInUseError, CardNotFoundError, InvalidInputError
from opsml.schemas import RESERVED_ALIASES
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card, worker_settings
from tests.contract._workers import move_alias_many

PROCESSES = 8
MOVES_PER_PROCESS = 6


def _audit(env: RegistryEnv, tmp_path: Path, action: str) -> list[dict[str, Any]]:
    """Audit entries of ``action``, oldest first, read from the registry's database."""
    sql = SqlBackend(env.db_url, (tmp_path / "audit-store").as_posix())
    try:
        entries = sql.identity().list_audit(AuditQuery(action=action, limit=1000)).items
    finally:
        sql.close()
    return [e.model_dump() for e in reversed(entries)]


def _versions(env: RegistryEnv, count: int) -> list[Any]:
    reg = env.registry("run")
    return [reg.register_card(run_card(), version_type="minor") for _ in range(count)]


def test_set_move_load_list_delete_alias(registry_env: RegistryEnv, tmp_path: Path) -> None:
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    moved = reg.set_alias(first, "champion")
    assert (moved.alias, moved.version, moved.uid) == ("champion", "1.0.0", first.uid)
    assert moved.set_at.tzinfo is not None  # aware on every database (SQLite stores naive)
    loaded = reg.load_card(name="train", repository="ds-team", alias="champion")
    assert loaded.uid == first.uid
    reg.set_alias(second, "champion")
    reg.set_alias(first, "previous")
    assert reg.list_aliases(name="train", repository="ds-team") == {
        "champion": "1.1.0",
        "previous": "1.0.0",
    }
    assert reg.load_card(name="train", repository="ds-team", alias="champion").uid == second.uid
    reg.delete_alias(name="train", repository="ds-team", alias="previous")
    assert reg.list_aliases(name="train", repository="ds-team") == {"champion": "1.1.0"}
    with pytest.raises(CardNotFoundError, match="no alias 'previous'"):
        reg.load_card(name="train", repository="ds-team", alias="previous")
    with pytest.raises(CardNotFoundError, match="no alias 'previous'"):
        reg.delete_alias(name="train", repository="ds-team", alias="previous")
    moves = _audit(registry_env, tmp_path, "alias_set")
    assert [(e["version"], e["detail"]["alias"]) for e in moves] == [
        ("1.0.0", "champion"),
        ("1.1.0", "champion"),
        ("1.0.0", "previous"),
    ]
    assert [e["detail"]["alias"] for e in _audit(registry_env, tmp_path, "alias_delete")] == [
        "previous"
    ]


@pytest.mark.parametrize(
    "alias", ["Champion", "1st", "-x", "a_b", "a.b", "", "a" * 64, "ch ampion"]
)
def test_bad_alias_names_are_refused(registry_env: RegistryEnv, alias: str) -> None:
    reg = registry_env.registry("run")
    (card,) = _versions(registry_env, 1)
    before = registry_env.snapshot()
    with pytest.raises(InvalidInputError, match="not a valid alias"):
        reg.set_alias(card, alias)
    assert registry_env.snapshot() == before
    assert reg.list_aliases(name="train", repository="ds-team") == {}


@pytest.mark.parametrize("alias", sorted(RESERVED_ALIASES))
def test_reserved_alias_names_are_refused(registry_env: RegistryEnv, alias: str) -> None:
    """Issue 30 item 10: ``latest`` reads as the version word, ``null``, ``yes``, ``off``…
    as YAML values in a spec file; they are refused when set, by the client and the server.
    """
    reg = registry_env.registry("run")
    (card,) = _versions(registry_env, 1)
    before = registry_env.snapshot()
    with pytest.raises(InvalidInputError, match="reserved alias name"):
        reg.set_alias(card, alias)
    if registry_env.mode.startswith("http"):  # the server refuses it too, not only the client
        url = registry_env.settings.tracking_uri
        response = httpx.put(f"{url}/api/v1/aliases/run/{alias}", json={"uid": card.uid})
        assert response.status_code == 400, response.text
        assert "reserved alias name" in response.json()["error"]["message"]
    assert registry_env.snapshot() == before
    assert reg.list_aliases(name="train", repository="ds-team") == {}


def test_route_words_are_ordinary_alias_names(registry_env: RegistryEnv) -> None:
    """Issue 30 item 10: ``page``, ``count`` and ``resolve`` name routes under
    ``/api/v1/cards/``, not under ``/api/v1/aliases/``: they stay ordinary aliases.
    """
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    for alias, card in (("page", first), ("count", second), ("resolve", first)):
        reg.set_alias(card, alias)
        assert reg.load_card(name="train", repository="ds-team", alias=alias).uid == card.uid
    assert reg.list_aliases(name="train", repository="ds-team") == {
        "count": "1.1.0",
        "page": "1.0.0",
        "resolve": "1.0.0",
    }
    reg.delete_alias(name="train", repository="ds-team", alias="page")
    assert "page" not in reg.list_aliases(name="train", repository="ds-team")


def test_longest_alias_is_accepted(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    (card,) = _versions(registry_env, 1)
    reg.set_alias(card, "a" + "-9" * 31)
    assert reg.list_aliases(name="train", repository="ds-team") == {"a" + "-9" * 31: "1.0.0"}


def test_spec_and_alias_never_both(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    (card,) = _versions(registry_env, 1)
    reg.set_alias(card, "champion")
    with pytest.raises(InvalidInputError, match="not both"):
        reg.load_card(name="train", repository="ds-team", version="1.0.0", alias="champion")
    with pytest.raises(InvalidInputError, match="not both"):
        reg.load_card(name="train", version="1.0.0", alias="champion")


def test_a_name_alone_is_enough_when_one_repository_holds_it(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    reg.set_alias(first, "champion")
    reg.set_alias(second, "latest-good")
    assert reg.load_card(name="train", alias="champion").uid == first.uid
    assert reg.list_aliases(name="train") == {"champion": "1.0.0", "latest-good": "1.1.0"}
    reg.delete_alias(name="train", alias="latest-good")
    assert reg.list_aliases(name="train", repository="ds-team") == {"champion": "1.0.0"}
    reg.register_card(run_card(repository="vision"))  # now two repositories hold "train"
    before = registry_env.snapshot()
    ambiguous = r"several repositories \(ds-team, vision\): pass repository="
    with pytest.raises(InvalidInputError, match=ambiguous):
        reg.load_card(name="train", alias="champion")
    with pytest.raises(InvalidInputError, match=ambiguous):
        reg.list_aliases(name="train")
    with pytest.raises(InvalidInputError, match=ambiguous):
        reg.delete_alias(name="train", alias="champion")
    assert registry_env.snapshot() == before
    assert reg.list_aliases(name="train", repository="ds-team") == {"champion": "1.0.0"}


def test_deleting_an_aliased_version_is_refused(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    first, second = _versions(registry_env, 2)
    reg.set_alias(first, "champion")
    reg.set_alias(first, "stable")
    before = registry_env.snapshot()
    with pytest.raises(AliasInUseError, match="'champion', 'stable'"):
        reg.delete_card(first)
    assert registry_env.snapshot() == before
    reg.set_alias(second, "champion")
    reg.delete_alias(name="train", repository="ds-team", alias="stable")
    reg.delete_card(first)
    assert reg.load_card(name="train", repository="ds-team", alias="champion").uid == second.uid


def test_alias_of_an_unknown_card_is_not_found(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    _first, second = _versions(registry_env, 2)
    reg.delete_card(second)
    with pytest.raises(CardNotFoundError):
        registry_env.registry("run").backend.set_alias("run", second.uid, "champion")
    assert reg.list_aliases(name="train", repository="ds-team") == {}


def test_aliases_are_per_card_name(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    a = reg.register_card(run_card(name="a"))
    b = reg.register_card(run_card(name="b"))
    reg.set_alias(a, "champion")
    reg.set_alias(b, "champion")
    assert reg.load_card(name="a", repository="ds-team", alias="champion").uid == a.uid
    assert reg.load_card(name="b", repository="ds-team", alias="champion").uid == b.uid


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_eight_processes_move_one_alias(registry_env: RegistryEnv, tmp_path: Path) -> None:
    if registry_env.storage_kind != "folder":
        pytest.skip("alias moves do not depend on the store: run on folder storage only")
    cards = _versions(registry_env, PROCESSES)
    settings = worker_settings(registry_env)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(PROCESSES, mp_context=ctx) as pool:
        futures = [
            pool.submit(move_alias_many, settings, card.uid, "champion", MOVES_PER_PROCESS)
            for card in cards
        ]
        assert sum(f.result() for f in futures) == PROCESSES * MOVES_PER_PROCESS
    moves = _audit(registry_env, tmp_path, "alias_set")
    assert len(moves) == PROCESSES * MOVES_PER_PROCESS  # the audit shows every move
    reg = registry_env.registry("run")
    final = reg.list_aliases(name="train", repository="ds-team")
    assert final == {"champion": moves[-1]["version"]}  # the last committed move won
    loaded = reg.load_card(name="train", repository="ds-team", alias="champion")
    assert loaded.uid == moves[-1]["card_uid"]
    # each move's audit entry names the alias it replaced: the chain is unbroken
    previous = [m["detail"]["previous"] for m in moves]
    assert previous == [None] + [m["version"] for m in moves[:-1]]
