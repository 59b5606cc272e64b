"""Listing at scale through every backend: exact counts, search, links_to, cursor pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsml.backends.base import RegistryBackend
from opsml.card_index import encode_cursor
from opsml.errors import InvalidInputError
from opsml.schemas import CardCreate, CardQuery, CardSummary, CardUpdate
from tests.conftest import RegistryEnv


def _backend(env: RegistryEnv) -> RegistryBackend:
    backend: RegistryBackend = env.registry("model").backend
    return backend


def _register(
    backend: RegistryBackend,
    tmp_path: Path,
    registry: str,
    name: str,
    repository: str = "ds",
    **fields: Any,
) -> str:
    card = CardCreate(registry=registry, name=name, repository=repository, contact="me", **fields)  # type: ignore[arg-type]
    return backend.register_card(card, tmp_path, actor="tester").uid


def _walk(backend: RegistryBackend, registry: str, **filters: Any) -> list[CardSummary]:
    rows: list[CardSummary] = []
    cursor = None
    for _ in range(100):
        page = backend.list_page(registry, CardQuery(cursor=cursor, **filters))  # type: ignore[arg-type]
        rows += page.items
        cursor = page.next_cursor
        if cursor is None:
            return rows
    raise AssertionError("paging did not end")


def test_count_search_and_cursor_pages(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend = _backend(registry_env)
    for i in range(7):
        _register(backend, tmp_path, "model", f"Churn-{i % 3}", tags={"k": str(i % 2)})
    _register(backend, tmp_path, "model", "fraud", repository="CHURN-team")
    _register(backend, tmp_path, "model", "other", repository="x_y")

    assert backend.count_cards("model", CardQuery()) == 9
    assert backend.count_cards("model", CardQuery(name="Churn-1")) == 2
    assert backend.count_cards("model", CardQuery(tags={"k": "1"})) == 3
    # part of the name or of the repository, any case; LIKE wildcards are literal
    assert backend.count_cards("model", CardQuery(search="churn")) == 8
    assert backend.count_cards("model", CardQuery(search="RN-2")) == 2
    assert backend.count_cards("model", CardQuery(search="x_y")) == 1
    assert backend.count_cards("model", CardQuery(search="x%")) == 0
    assert backend.count_cards("model", CardQuery(search="nothing")) == 0
    assert backend.count_cards("data", CardQuery(search="churn")) == 0
    assert backend.count_cards("model", CardQuery(search="churn", tags={"k": "0"})) == 4

    newest = [c.uid for c in backend.list_cards("model", CardQuery(limit=1000))]
    walked = _walk(backend, "model", limit=2)
    assert [c.uid for c in walked] == newest  # every card once, newest first
    searched = _walk(backend, "model", search="CHURN", limit=3)
    assert [c.uid for c in searched] == newest[1:]
    assert {c.repository for c in searched} == {"ds", "CHURN-team"}
    by_spec = _walk(backend, "model", name="Churn-0", version="^1.0", limit=1)
    assert len(by_spec) == 3

    backend.delete_card("model", newest[-1], actor="tester")  # the oldest Churn-0
    assert backend.count_cards("model", CardQuery()) == 8
    assert backend.count_cards("model", CardQuery(name="Churn-0")) == 2
    assert backend.count_cards("model", CardQuery(search="churn", repositories=["ds"])) == 6
    assert backend.count_cards("model", CardQuery(repositories=[])) == 0
    assert len(_walk(backend, "model", search="churn", limit=50)) == 7


def test_list_rows_are_light(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend = _backend(registry_env)
    meta = {"model": {"framework": "sklearn", "signature": {"sample_input": [1] * 100}}}
    uid = _register(backend, tmp_path, "model", "churn", metadata=meta, tags={"team": "ds"})
    (row,) = backend.list_page("model", CardQuery()).items
    assert (row.uid, row.version, row.tags) == (uid, "1.0.0", {"team": "ds"})
    assert row.summary == {"framework": "sklearn"}
    assert "signature" not in row.model_dump_json()
    assert backend.list_page("model", CardQuery()).next_cursor is None


def test_links_to_finds_cards_that_reference_a_uid(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    backend = _backend(registry_env)
    data = _register(backend, tmp_path, "data", "iris")
    other = _register(backend, tmp_path, "data", "wine")
    run = _register(backend, tmp_path, "run", "train", metadata={"datacard_uids": [data, other]})
    model = _register(
        backend, tmp_path, "model", "churn", metadata={"datacard_uid": data, "runcard_uid": run}
    )
    _register(backend, tmp_path, "model", "unlinked")
    flow_run = "12345678-1234-5678-1234-567812345678"
    pipe = _register(
        backend,
        tmp_path,
        "pipeline",
        "nightly",
        metadata={"card_uids": {"model": [model]}, "flow_run_id": flow_run},
    )

    assert [c.uid for c in backend.list_page("model", CardQuery(links_to=data)).items] == [model]
    assert [c.uid for c in backend.list_page("run", CardQuery(links_to=other)).items] == [run]
    assert backend.count_cards("model", CardQuery(links_to=run)) == 1
    assert [c.uid for c in backend.list_cards("pipeline", CardQuery(links_to=model))] == [pipe]
    by_run = backend.list_page("pipeline", CardQuery(links_to=flow_run.replace("-", "")))
    assert [c.uid for c in by_run.items] == [pipe]
    assert backend.count_cards("model", CardQuery(links_to=other)) == 0

    # links follow a metadata update
    backend.update_card("model", model, CardUpdate(metadata={"datacard_uid": other}))
    assert backend.count_cards("model", CardQuery(links_to=data)) == 0
    assert backend.count_cards("model", CardQuery(links_to=other)) == 1


def test_bad_cursors_are_refused_clearly(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend = _backend(registry_env)
    for _ in range(3):
        _register(backend, tmp_path, "model", "churn")
    cursor = backend.list_page("model", CardQuery(limit=1)).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInputError, match="cursor is malformed"):
        backend.list_page("model", CardQuery(cursor="not a cursor!"))
    with pytest.raises(InvalidInputError, match="cursor belongs to another query"):
        backend.list_page("model", CardQuery(limit=1, cursor=cursor, search="churn"))
    with pytest.raises(InvalidInputError, match="cursor belongs to another query"):
        backend.list_page("run", CardQuery(limit=1, cursor=cursor))
    # the page size may change between pages
    assert len(backend.list_page("model", CardQuery(limit=5, cursor=cursor)).items) == 2


@pytest.mark.parametrize("last_id", [2**63, 2**64 + 5, 10**40, -1])
def test_forged_cursor_out_of_range_is_refused(
    registry_env: RegistryEnv, tmp_path: Path, last_id: int
) -> None:
    """Issue 30 item 1: a cursor is not signed, so a client can build one with the
    right fingerprint and any row id; one past BIGINT was a 500 (OverflowError on
    SQLite, DataError on PostgreSQL). It is refused as malformed, and nothing changes.
    """
    backend = _backend(registry_env)
    _register(backend, tmp_path, "model", "churn")
    for query in (CardQuery(), CardQuery(name="churn"), CardQuery(version="^1")):
        forged = encode_cursor("model", query, last_id)
        with pytest.raises(InvalidInputError, match="cursor is malformed"):
            backend.list_page("model", query.model_copy(update={"cursor": forged}))
        with pytest.raises(InvalidInputError, match="cursor is malformed"):
            backend.list_cards("model", query.model_copy(update={"cursor": forged}))
    # the highest id a cursor may name still pages (past every row: an empty page)
    top = CardQuery(cursor=encode_cursor("model", CardQuery(), 2**63 - 1))
    assert [c.name for c in backend.list_page("model", top).items] == ["churn"]
    assert backend.count_cards("model", CardQuery()) == 1


def test_count_with_version_ranges(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend = _backend(registry_env)
    for name in ("a", "a", "b"):
        _register(backend, tmp_path, "model", name)
    _register(backend, tmp_path, "model", "a", version="2.0.0")
    assert backend.count_cards("model", CardQuery(version="^1")) == 3
    assert backend.count_cards("model", CardQuery(version="latest")) == 2
    assert backend.count_cards("model", CardQuery(version="1.1.0")) == 1
    latest = _walk(backend, "model", version="latest", limit=1)
    assert sorted((c.name, c.version) for c in latest) == [("a", "2.0.0"), ("b", "1.0.0")]


def test_full_listing_gives_the_cards_get_card_gives(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    """``list_cards`` (spliced from the stored JSON on SQL) equals ``get_card`` field by field."""
    import hashlib

    from opsml.schemas import ArtifactFile, Page

    backend = _backend(registry_env)
    data = "bytes of a model, ünïcode".encode()
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "weights (1).bin").write_bytes(data)
    stored = ArtifactFile(
        path="nested/weights (1).bin", size=len(data), sha256=hashlib.sha256(data).hexdigest()
    )
    meta = {"model": {"framework": "sklearn", "note": 'quotes " and \\ and ✓', "n": [1.5, None]}}
    uids = [
        _register(backend, tmp_path, "model", "churn", metadata=meta, tags={"team": "ds ✓"}),
        _register(backend, tmp_path, "model", "churn", files=[stored], description="second"),
        _register(backend, tmp_path, "model", "other"),
    ]
    backend.update_card("model", uids[0], CardUpdate(description="changed", tags={"a": "b"}))
    listed = backend.list_cards("model", CardQuery(limit=10))
    assert [c.uid for c in listed] == uids[::-1]
    assert listed == [backend.get_card("model", uid=uid) for uid in uids[::-1]]
    assert listed[0].updated_at is None and listed[2].updated_at is not None
    by_spec = backend.list_cards("model", CardQuery(name="churn", version="^1.0", limit=1))
    assert [c.version for c in by_spec] == ["1.1.0"]
    body = backend.list_cards_json("model", CardQuery(name="churn", limit=10))
    assert Page.model_validate_json(body).items == listed[1:]
