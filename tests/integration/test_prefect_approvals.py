"""The Prefect side of protected aliases (issue 33): ``request_alias`` and ``wait_for_approval``
(and their async twins) in flows, while another person decides; the events
``opsml.approval.requested|approved|rejected`` and ``opsml.card.alias_set`` with
``opsml.approved_by``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ALIAS = "champion"


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Embedded SQLite in tmp_path, ``champion`` protected; the flow acts as ``alice``."""
    from opsml import configure

    monkeypatch.setenv("OPSML_TRACKING_URI", f"sqlite:///{(tmp_path / 'reg.db').as_posix()}")
    monkeypatch.setenv("OPSML_STORAGE_URI", (tmp_path / "artifacts").as_posix())
    monkeypatch.setenv("OPSML_PROTECTED_ALIASES", ALIAS)
    monkeypatch.setenv("OPSML_ACTOR", "alice")
    configure()
    yield tmp_path
    monkeypatch.undo()
    configure()


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Capture what the collection passes to ``prefect.events.emit_event``."""
    import prefect.events

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: calls.append(kw))
    return calls


def _registry(actor: str) -> Any:
    from opsml import CardRegistry
    from opsml.config import get_settings

    return CardRegistry("run", settings=get_settings().model_copy(update={"actor": actor}))


def _cards(count: int) -> list[Any]:
    from opsml import RunCard

    registry = _registry("alice")
    card = RunCard(name="churn", repository="ds-team", contact="ds@x.com")
    return [registry.register_card(card.model_copy()) for _ in range(count)]


def _decide_soon(verb: str, comment: str) -> threading.Thread:
    """Bob decides the first pending request as soon as there is one."""

    def decide() -> None:
        bob = _registry("bob")
        for _ in range(200):
            pending = bob.list_approvals(state="pending").items
            if pending:
                getattr(bob, verb)(pending[0].id, comment=comment)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=decide)
    thread.start()
    return thread


def test_request_then_wait_until_approved(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    from prefect import flow

    from opsml_prefect import request_alias, wait_for_approval

    (card,) = _cards(1)
    emitted.clear()

    @flow
    def promote() -> Any:
        asked = request_alias(card, ALIAS, "AUC +2% on the holdout", registry_type="run")
        assert asked.state == "pending" and asked.requested_by == "alice"
        return wait_for_approval(asked.id, timeout=60, poll_interval=0.1, registry_type="run")

    bob = _decide_soon("approve", "metrics checked")
    done = promote()
    bob.join()
    assert (done.state, done.decided_by, done.comment) == ("approved", "bob", "metrics checked")
    assert _registry("alice").list_aliases(name="churn", repository="ds-team") == {ALIAS: "1.0.0"}
    ours = [c for c in emitted if c["event"].startswith("opsml.")]  # not Prefect's own
    names = [c["event"] for c in ours]
    assert names == ["opsml.approval.requested", "opsml.card.alias_set", "opsml.approval.approved"]
    requested, moved, approved = ours
    assert requested["resource"] == {
        "prefect.resource.id": f"opsml.approval.{done.id}",
        "prefect.resource.name": f"ds-team/churn {ALIAS}",
        "opsml.registry": "run",
        "opsml.name": "churn",
        "opsml.repository": "ds-team",
        "opsml.version": "1.0.0",
        "opsml.alias": ALIAS,
        "opsml.requested_by": "alice",
    }
    assert requested["related"] == [
        {"prefect.resource.id": f"opsml.card.{card.uid}", "prefect.resource.role": "card"}
    ]
    assert moved["resource"]["opsml.approved_by"] == "bob"
    assert moved["resource"]["opsml.requested_by"] == "alice"
    assert moved["resource"]["opsml.alias"] == ALIAS
    assert moved["payload"]["approval"] == done.id
    assert approved["resource"]["opsml.decided_by"] == "bob"
    assert approved["payload"]["comment"] == "metrics checked"


def test_async_twins_and_a_rejection_fail_the_flow_with_the_reason(
    prefect_api: str, embedded: Path, emitted: list[dict[str, Any]]
) -> None:
    from prefect import flow

    from opsml.errors import ApprovalStateError
    from opsml_prefect import arequest_alias, await_for_approval

    (card,) = _cards(1)
    emitted.clear()

    @flow
    async def promote() -> Any:
        asked = await arequest_alias(card.uid, ALIAS, "retrained", registry_type="run")
        return await await_for_approval(asked.id, timeout=60, poll_interval=0.1)

    bob = _decide_soon("reject", "holdout too small")
    with pytest.raises(ApprovalStateError, match="rejected by bob: holdout too small"):
        asyncio.run(promote())
    bob.join()
    assert _registry("alice").list_aliases(name="churn", repository="ds-team") == {}
    assert [c["event"] for c in emitted if c["event"].startswith("opsml.")] == [
        "opsml.approval.requested",
        "opsml.approval.rejected",
    ]


def test_wait_times_out_while_pending(prefect_api: str, embedded: Path) -> None:
    from prefect import flow

    from opsml_prefect import request_alias, wait_for_approval

    (card,) = _cards(1)

    @flow
    def promote() -> Any:
        asked = request_alias(card, ALIAS, "nobody is around", registry_type="run")
        return wait_for_approval(asked.id, timeout=0.3, poll_interval=0.1, registry_type="run")

    with pytest.raises(TimeoutError, match="still pending after 0.3 s"):
        promote()
    assert [a.state for a in _registry("bob").list_approvals().items] == ["pending"]
