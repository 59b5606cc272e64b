"""One actor rule for every write, in every mode (docs/design.md §13, docs/security.md).

Where nothing authenticates the caller (embedded SQLite, a direct database URL,
a registry server without auth), the audit log names the *declared* actor
(``OPSML_ACTOR``, sent as ``X-Opsml-Actor`` over HTTP) on every write: the same
sequence of writes made embedded and through an open server names the same
people. (On a server with auth the logged-in user counts and a declared header
is ignored: tests/integration/test_declared_actor.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsml.auth.models import AuditQuery
from opsml.backends.http import HttpBackend
from tests.conftest import PROTECTED_ALIASES, RegistryEnv
from tests.contract._helpers import run_card

DECLARED = "alice-ds"
APPROVER = "bob.approver@example.com"
NAME = dict(name="train", repository="ds-team")


def _as(env: RegistryEnv, actor: str) -> Any:
    """``env``'s run registry, declaring ``actor`` (``OPSML_ACTOR``)."""
    from opsml import CardRegistry

    return CardRegistry("run", settings=env.settings.model_copy(update={"actor": actor}))


def _with_file(tmp_path: Path) -> Any:
    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"0123456789" * 100)
    card = run_card()
    card.log_artifact(blob)
    return card


def test_every_write_names_the_declared_actor(registry_env: RegistryEnv, tmp_path: Path) -> None:
    alice, bob = _as(registry_env, DECLARED), _as(registry_env, APPROVER)
    if isinstance(alice.backend, HttpBackend):
        alice.backend.inline_limit = 0  # the file goes through an upload session (or presigned)
    first = alice.register_card(run_card())  # no file: one request
    second = alice.register_card(_with_file(tmp_path))  # a file: upload session and commit
    third = alice.register_card(run_card(created_by="someone-else"))  # a field, not an identity
    first.tags = {"stage": "candidate"}
    alice.update_card(first)
    alice.set_alias(first, "champion")
    alice.delete_alias(alias="champion", **NAME)
    alice.record_deployment(second, target="k8s/ml/train-api", state="packaged")
    asked = alice.request_alias(first, PROTECTED_ALIASES, reason="better holdout AUC")
    bob.approve(asked.id, comment="checked")
    again = alice.request_alias(third, PROTECTED_ALIASES, reason="newer data")
    bob.reject(again.id, comment="not yet")
    alice.delete_card(third)

    page = alice.backend.identity().list_audit(AuditQuery(limit=100))
    entries = [(e.action, e.actor, e.version) for e in reversed(page.items)]
    assert entries == [
        ("register", DECLARED, "1.0.0"),
        ("register", DECLARED, "1.1.0"),
        ("register", DECLARED, "1.2.0"),
        ("update", DECLARED, "1.0.0"),
        ("alias_set", DECLARED, "1.0.0"),
        ("alias_delete", DECLARED, "1.0.0"),
        ("deployment", DECLARED, "1.1.0"),
        ("approval_request", DECLARED, "1.0.0"),
        ("approval_approve", APPROVER, "1.0.0"),
        ("alias_set", APPROVER, "1.0.0"),
        ("approval_request", DECLARED, "1.2.0"),
        ("approval_reject", APPROVER, "1.2.0"),
        ("delete", DECLARED, "1.2.0"),
    ]
    assert {e.actor for e in alice.backend.identity().list_audit(
        AuditQuery(user=DECLARED, limit=100)).items} == {DECLARED}  # fmt: skip
    assert [c.created_by for c in (first, second, third)] == [DECLARED] * 3
    deployed = alice.list_deployments(target="k8s/ml/train-api").items
    assert [d.actor for d in deployed] == [DECLARED]
