"""Audit log of every write, and bounded memory for large artifacts (SQL backends)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from opsml.auth.models import AuditQuery
from opsml.backends.sql import SqlBackend
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card


def test_every_write_is_audited(sql_env: RegistryEnv) -> None:
    from opsml import CardRegistry

    # the declared actor (OPSML_ACTOR) names every write; a card's created_by field does not
    reg = CardRegistry("run", settings=sql_env.settings.model_copy(update={"actor": "alice"}))
    card = reg.register_card(run_card(created_by="someone-else"))
    card.tags = {"stage": "prod"}
    reg.update_card(card)
    reg.delete_card(card)
    backend = reg.backend
    assert isinstance(backend, SqlBackend)
    entries = [e.model_dump() for e in backend.identity().list_audit(AuditQuery(limit=10)).items]
    assert [e["action"] for e in entries] == ["delete", "update", "register"]
    register = entries[-1]
    assert [e["actor"] for e in entries] == ["alice"] * 3 and card.created_by == "alice"
    assert register["environment"] == "development"
    assert (register["name"], register["repository"], register["version"]) == (
        "train",
        "ds-team",
        "1.0.0",
    )
    assert register["card_uid"] == card.uid
    assert entries[1]["detail"] == {"fields": ["metadata", "tags"]}
    assert all(e["at"] is not None for e in entries)


def test_large_artifact_streams_in_bounded_memory(sql_env: RegistryEnv, tmp_path: Path) -> None:
    size = 96 * 1024 * 1024
    blob = tmp_path / "big.bin"
    with open(blob, "wb") as out:
        block = bytes(range(256)) * 4096  # 1 MiB
        for _ in range(size // len(block)):
            out.write(block)
    card = run_card()
    card.log_artifact(blob)
    reg = sql_env.registry("run")
    tracemalloc.start()
    try:
        reg.register_card(card)
        reg.load_card(uid=card.uid).download_artifacts(tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "out" / "artifacts" / "big.bin").stat().st_size == size
    assert peak < 24 * 1024 * 1024, f"peak Python allocation {peak / 2**20:.1f} MiB"
