"""Atomic registration and verified downloads through every backend (docs/design.md §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsml.errors import ArtifactIntegrityError
from tests.conftest import RegistryEnv
from tests.contract._helpers import data_card, model_card, run_card


class InjectedFault(Exception):
    pass


def _big_run_card(tmp_path: Path, size: int = 12 * 1024 * 1024) -> object:
    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"\x01" * size)
    card = run_card()
    card.log_artifact(blob)
    second = tmp_path / "notes.txt"
    second.write_text("second file")
    card.log_artifact(second)
    return card


def test_fault_while_writing_artifacts_leaves_registry_as_before(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    reg = registry_env.registry("run")
    reg.register_card(run_card(), version_type="patch")
    before = registry_env.snapshot()
    moved = 0

    def fail_half_way(n: int) -> None:
        nonlocal moved
        moved += n
        if moved > 4 * 1024 * 1024:
            raise InjectedFault("disk on fire")

    with pytest.raises(InjectedFault):
        reg.register_card(_big_run_card(tmp_path), version_type="patch", progress=fail_half_way)
    assert registry_env.snapshot() == before
    assert [c.version for c in reg.list_cards()] == ["1.0.0"]
    card = reg.register_card(_big_run_card(tmp_path), version_type="patch")
    assert card.version == "1.0.1"
    assert reg.load_card(name="train").version == "1.0.1"


def test_fault_at_commit_leaves_registry_as_before(
    sql_env: RegistryEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsml.backends.sql import _writes

    reg = sql_env.registry("run")
    reg.register_card(run_card())
    before = sql_env.snapshot()
    original = _writes.audit

    def failing_audit(conn, environment, action, *args, **kwargs):  # type: ignore[no-untyped-def]
        if action == "register":
            raise InjectedFault("database went away at commit")
        return original(conn, environment, action, *args, **kwargs)

    monkeypatch.setattr(_writes, "audit", failing_audit)
    with pytest.raises(InjectedFault):
        reg.register_card(_big_run_card(tmp_path, size=1024))
    assert sql_env.snapshot() == before
    monkeypatch.setattr(_writes, "audit", original)
    assert reg.register_card(_big_run_card(tmp_path, size=1024)).version == "1.1.0"


def _stored(env: RegistryEnv, suffix: str) -> str:
    matches = [rel for rel in env.list_files() if rel.endswith(suffix)]
    assert len(matches) == 1, matches
    return matches[0]


def test_changed_model_file_is_detected_on_load(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("model")
    reg.register_card(model_card())
    stored = _stored(registry_env, ".skops")
    raw = registry_env.read_file(stored)
    # same size, one bit off
    registry_env.write_file(stored, raw[:100] + bytes([raw[100] ^ 0xFF]) + raw[101:])
    with pytest.raises(ArtifactIntegrityError, match="model/model.skops"):
        reg.load_card(name="churn").load_model()


def test_changed_data_file_is_detected_on_download(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    import pandas as pd

    reg = registry_env.registry("data")
    reg.register_card(data_card(pd.DataFrame({"a": range(100)})))
    stored = _stored(registry_env, ".parquet")
    registry_env.write_file(stored, registry_env.read_file(stored) + b"extra")
    with pytest.raises(ArtifactIntegrityError, match="data/data.parquet"):
        reg.load_card(name="churn-data").download_artifacts(tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.parquet"))  # nothing unverified left behind


def test_large_download_is_verified_across_batches(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    """A file of several sink batches arrives whole; one byte changed mid-file is refused."""
    from opsml.backends._sink import SINK_BATCH

    size = 2 * SINK_BATCH + 12_345  # two batches hashed by the helper thread, a tail inline
    blob = tmp_path / "weights.bin"
    pattern = bytes(range(256)) * (size // 256 + 1)
    blob.write_bytes(pattern[:size])
    card = run_card()
    card.log_artifact(blob)
    reg = registry_env.registry("run")
    reg.register_card(card)
    out = reg.load_card(name=card.name).download_artifacts(tmp_path / "ok")
    [got] = list(out.rglob("weights.bin"))
    assert got.read_bytes() == pattern[:size]

    stored = _stored(registry_env, "weights.bin")
    raw = registry_env.read_file(stored)
    middle = SINK_BATCH + 7  # inside the second batch: the helper thread must catch it
    registry_env.write_file(stored, raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1 :])
    with pytest.raises(ArtifactIntegrityError, match="weights.bin"):
        reg.load_card(name=card.name).download_artifacts(tmp_path / "bad")
    assert not [p for p in (tmp_path / "bad").rglob("*") if p.is_file()]  # no .part either
