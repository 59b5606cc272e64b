"""Protected aliases and approvals on every mode (docs/design.md §19): direct moves refused,
request → approve moves the alias with requester and approver audited, reject, stale,
expired, decided once, bad input that writes nothing, and concurrent approvers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from opsml import hooks
from opsml.auth.models import AuditQuery
from opsml.backends.sql import SqlBackend
from opsml.errors import (
    ApprovalNotFoundError,
    ApprovalStateError,
    CardNotFoundError,
    InvalidInputError,
    OpsmlError,
    PermissionDeniedError,
)
from tests.conftest import PROTECTED_ALIASES, RegistryEnv
from tests.contract._helpers import run_card

ALIAS = PROTECTED_ALIASES  # protected on every mode
NAME = dict(name="train", repository="ds-team")


def _as(env: RegistryEnv, actor: str) -> Any:
    """``env``'s run registry acting as ``actor`` (declared: nothing authenticates here)."""
    from opsml import CardRegistry

    return CardRegistry("run", settings=env.settings.model_copy(update={"actor": actor}))


def _versions(reg: Any, count: int) -> list[Any]:
    return [reg.register_card(run_card(), version_type="minor") for _ in range(count)]


def _state(env: RegistryEnv) -> tuple[Any, ...]:
    """Approvals, aliases and audit entries as stored: to check a refusal wrote nothing."""
    engine = create_engine(env.db_url)
    queries = (
        "SELECT id, card_uid, alias, state, decided_by, comment FROM opsml_approvals ORDER BY id",
        "SELECT registry, repository, name, alias, card_uid FROM opsml_card_aliases ORDER BY id",
        "SELECT id, action, actor FROM opsml_audit_log ORDER BY id",
    )
    try:
        with engine.connect() as conn:
            return tuple(tuple(map(tuple, conn.execute(text(q)))) for q in queries)
    finally:
        engine.dispose()


def _audit(env: RegistryEnv, tmp_path: Path, *actions: str) -> list[dict[str, Any]]:
    sql = SqlBackend(env.db_url, (tmp_path / "audit-store").as_posix())
    try:
        store = sql.identity()
        pages = [store.list_audit(AuditQuery(action=a, limit=1000)) for a in actions]
    finally:
        sql.close()
    return [e.model_dump() for e in sorted((e for p in pages for e in p.items), key=lambda e: e.id)]


def _refused(
    env: RegistryEnv, error: type[OpsmlError], match: str, call: Callable[[], Any]
) -> None:
    before = _state(env)
    with pytest.raises(error, match=match):
        call()
    assert _state(env) == before, "a refused call wrote something"


def test_request_approve_moves_the_alias_and_audits_both_people(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    alice, bob = _as(registry_env, "alice"), _as(registry_env, "bob")
    first, second = _versions(alice, 2)
    _refused(registry_env, PermissionDeniedError, "protected.*OPSML_PROTECTED_ALIASES",
             lambda: alice.set_alias(first, ALIAS))  # fmt: skip
    asked = alice.request_alias(first, ALIAS, reason="<b>AUC</b> 0.91 -> 0.93\non the holdout")
    assert (asked.state, asked.requested_by, asked.version, asked.from_version) == (
        "pending", "alice", "1.0.0", None
    )  # fmt: skip
    assert asked.reason == "<b>AUC</b> 0.91 -> 0.93\non the holdout"  # text, kept as given
    assert (asked.expires_at - asked.requested_at).days == 7
    assert alice.list_aliases(**NAME) == {}  # nothing moved yet
    assert [a.id for a in bob.list_approvals(state="pending").items] == [asked.id]

    decided = bob.approve(asked.id, comment="metrics checked")
    assert (decided.state, decided.decided_by, decided.comment) == (
        "approved",
        "bob",
        "metrics checked",
    )
    assert decided.decided_at is not None and decided.decided_at.tzinfo is not None
    assert alice.list_aliases(**NAME) == {ALIAS: "1.0.0"}
    assert alice.load_card(alias=ALIAS, **NAME).uid == first.uid
    assert alice.get_approval(asked.id) == decided
    assert bob.list_approvals(state="pending").items == []
    assert [a.id for a in bob.list_approvals(state="approved").items] == [asked.id]

    again = alice.request_alias(second, ALIAS, reason="retrained on December data")
    assert (again.from_uid, again.from_version) == (first.uid, "1.0.0")
    rejected = bob.reject(again.id, comment="holdout too small")
    assert (rejected.state, rejected.decided_by) == ("rejected", "bob")
    assert alice.list_aliases(**NAME) == {ALIAS: "1.0.0"}  # a rejection moves nothing

    moves = _audit(registry_env, tmp_path, "alias_set")
    assert [(m["actor"], m["version"]) for m in moves] == [("bob", "1.0.0")]
    assert moves[0]["detail"] == {"alias": ALIAS, "previous": None, "approval": asked.id,
                                  "requested_by": "alice", "approved_by": "bob"}  # fmt: skip
    decisions = _audit(registry_env, tmp_path, "approval_request", "approval_approve",
                       "approval_reject")  # fmt: skip
    assert [(d["action"], d["actor"], d["detail"]["approval"]) for d in decisions] == [
        ("approval_request", "alice", asked.id),
        ("approval_approve", "bob", asked.id),
        ("approval_request", "alice", again.id),
        ("approval_reject", "bob", again.id),
    ]
    assert decisions[3]["detail"]["comment"] == "holdout too small"


def test_refusals_write_nothing(registry_env: RegistryEnv) -> None:
    alice, bob = _as(registry_env, "alice"), _as(registry_env, "bob")
    first, second, third = _versions(alice, 3)
    asked = alice.request_alias(first, ALIAS, reason="first champion")
    env = registry_env
    _refused(env, PermissionDeniedError, "requester cannot approve",
             lambda: alice.approve(asked.id))  # fmt: skip
    _refused(env, PermissionDeniedError, "requester cannot reject",
             lambda: alice.reject(asked.id))  # fmt: skip
    _refused(env, PermissionDeniedError, "requester cannot approve",  # a token of alice: alice
             lambda: _as(env, "alice/ci-token").approve(asked.id))  # fmt: skip
    _refused(env, ApprovalNotFoundError, "no approval request #999999",
             lambda: bob.approve(999_999))  # fmt: skip
    _refused(env, ApprovalNotFoundError, "#999999", lambda: bob.get_approval(999_999))
    _refused(env, InvalidInputError, "not an approval request id", lambda: bob.approve(0))
    _refused(env, InvalidInputError, "comment is 2001 characters long",
             lambda: bob.approve(asked.id, comment="x" * 2001))  # fmt: skip
    _refused(env, InvalidInputError, "not protected",
             lambda: alice.request_alias(first, "champion", reason="r"))  # fmt: skip
    _refused(env, InvalidInputError, "not a valid alias",
             lambda: alice.request_alias(first, "Prod uction", reason="r"))  # fmt: skip
    _refused(env, InvalidInputError, "'latest' is a reserved alias name",
             lambda: alice.request_alias(first, "latest", reason="r"))  # fmt: skip
    _refused(env, InvalidInputError, "reason must not be empty",
             lambda: alice.request_alias(first, ALIAS, reason="  "))  # fmt: skip
    _refused(env, InvalidInputError, "reason is 2001",
             lambda: alice.request_alias(first, ALIAS, reason="r" * 2001))  # fmt: skip
    _refused(env, InvalidInputError, "control characters",
             lambda: alice.request_alias(first, ALIAS, reason="a\x1b[31mred"))  # fmt: skip
    _refused(env, InvalidInputError, "expires_in",
             lambda: alice.request_alias(first, ALIAS, reason="r", expires_in=0))  # fmt: skip
    _refused(env, CardNotFoundError, "f" * 32,
             lambda: alice.request_alias("f" * 32, ALIAS, reason="r"))  # fmt: skip
    _refused(env, PermissionDeniedError, "protected",
             lambda: alice.delete_alias(alias=ALIAS, **NAME))  # fmt: skip

    bob.approve(asked.id)
    _refused(env, ApprovalStateError, "approved already by bob",
             lambda: _as(env, "carol").approve(asked.id))  # fmt: skip
    _refused(env, ApprovalStateError, "approved already by bob",
             lambda: _as(env, "carol").reject(asked.id))  # fmt: skip
    _refused(env, ApprovalStateError, "points to v1.0.0 already",
             lambda: alice.request_alias(first, ALIAS, reason="same again"))  # fmt: skip

    # stale: the alias moved after the request (another approval), unless from_any
    stale = alice.request_alias(second, ALIAS, reason="v2")
    anyway = alice.request_alias(third, ALIAS, reason="v3 whatever runs", from_any=True)
    bob.approve(alice.request_alias(third, ALIAS, reason="v3 first").id)
    moved = r"stale: alias 'production' .* moved .*was v1.0.0, now v1.2.0"
    _refused(env, ApprovalStateError, moved, lambda: bob.approve(stale.id))
    bob.reject(stale.id, comment="stale")  # a stale request can still be closed
    assert bob.approve(anyway.id).state == "approved"  # from_any: approved though it moved
    assert alice.list_aliases(**NAME) == {ALIAS: "1.2.0"}

    # stale: the candidate card was deleted
    fourth = alice.register_card(run_card(), version_type="minor")
    gone = alice.request_alias(fourth, ALIAS, reason="v4")
    alice.delete_card(fourth)
    _refused(env, ApprovalStateError, "stale: .*v1.3.0 was deleted", lambda: bob.approve(gone.id))

    # expired: a pending request past its expiry reads expired and cannot be decided
    late = alice.request_alias(second, ALIAS, reason="v2 again", expires_in=3600)
    engine = create_engine(env.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE opsml_approvals SET expires_at = requested_at "
                              "WHERE id = :id"), {"id": late.id})  # fmt: skip
    finally:
        engine.dispose()
    assert bob.get_approval(late.id).state == "expired"
    assert [a.id for a in bob.list_approvals(state="expired").items] == [late.id]
    assert late.id not in [a.id for a in bob.list_approvals(state="pending").items]
    _refused(env, ApprovalStateError, "expired at", lambda: bob.approve(late.id))
    _refused(env, ApprovalStateError, "expired at", lambda: bob.reject(late.id))
    assert alice.list_aliases(**NAME) == {ALIAS: "1.2.0"}


def test_listing_filters_and_pages(registry_env: RegistryEnv) -> None:
    alice, bob = _as(registry_env, "alice"), _as(registry_env, "bob")
    cards = _versions(alice, 3)
    asked = [alice.request_alias(c, ALIAS, reason=f"v{c.version}") for c in cards]
    bob.reject(asked[0].id)
    page = bob.list_approvals(limit=2)
    assert [a.id for a in page.items] == [asked[2].id, asked[1].id] and page.next_cursor
    rest = bob.list_approvals(limit=2, cursor=page.next_cursor)
    assert [a.id for a in rest.items] == [asked[0].id] and rest.next_cursor is None
    assert [a.id for a in bob.list_approvals(state="rejected").items] == [asked[0].id]
    assert len(bob.list_approvals(requested_by="alice", alias=ALIAS, **NAME).items) == 3
    assert bob.list_approvals(requested_by="bob").items == []
    assert bob.list_approvals(name="other").items == []


def _race(approvers: list[Any], asked_id: int) -> list[Any]:
    """Every approver approves ``asked_id`` at once; what each got (a request or an error)."""
    barrier = threading.Barrier(len(approvers))
    outcomes: list[Any] = [None] * len(approvers)

    def decide(i: int, reg: Any) -> None:
        barrier.wait()
        try:
            outcomes[i] = reg.approve(asked_id)
        except Exception as exc:  # collected and checked by the caller
            outcomes[i] = exc

    threads = [threading.Thread(target=decide, args=(i, r)) for i, r in enumerate(approvers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_two_approvers_at_once_exactly_one_wins(registry_env: RegistryEnv) -> None:
    alice = _as(registry_env, "alice")
    approvers = [_as(registry_env, name) for name in ("bob", "carol", "dave", "erin")]
    for reg in approvers:
        reg.list_approvals(limit=1)  # connections open before the race
    first, second = _versions(alice, 2)
    for card in (first, second):
        asked = alice.request_alias(card, ALIAS, reason=f"v{card.version}")
        outcomes = _race(approvers, asked.id)
        won = [o for o in outcomes if not isinstance(o, Exception)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1, outcomes
        assert all(isinstance(e, ApprovalStateError) for e in lost), lost
        assert all(f"approved already by {won[0].decided_by}" in str(e) for e in lost), lost
        assert alice.list_aliases(**NAME) == {ALIAS: card.version}
    moves = [a for a in alice.list_approvals(state="approved").items]
    assert len(moves) == 2


def test_listeners_hear_requests_decisions_and_the_approved_move(sql_env: RegistryEnv) -> None:
    """Where the database is written, listeners hear each step (a server's: the Prefect tests)."""
    registry_env = sql_env
    heard: list[tuple[str, Any]] = []

    def on_approval(item: Any) -> None:
        heard.append(("approval", item.state))

    def on_alias(card: Any, alias: Any) -> None:
        heard.append(("alias", (alias.alias, alias.approved_by, alias.requested_by)))

    hooks.add_approval_listener(on_approval)
    hooks.add_alias_listener(on_alias)
    try:
        alice, bob = _as(registry_env, "alice"), _as(registry_env, "bob")
        (card,) = _versions(alice, 1)
        bob.approve(alice.request_alias(card, ALIAS, reason="r").id)
    finally:
        hooks.remove_approval_listener(on_approval)
        hooks.remove_alias_listener(on_alias)
    assert heard == [
        ("approval", "pending"),
        ("alias", (ALIAS, "bob", "alice")),
        ("approval", "approved"),
    ]
