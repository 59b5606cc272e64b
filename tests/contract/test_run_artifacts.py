"""A logged artifact is read where it lies: no copy on registration, the stored copy its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card


def _refuse_copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every ``shutil.copyfile`` made while registering (and still make it)."""
    copies: list[str] = []
    real = shutil.copyfile

    def spy(src: object, dst: object, **kw: object) -> object:
        copies.append(str(src))
        return real(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "copyfile", spy)
    return copies


def test_logged_artifact_is_not_copied_into_staging(
    registry_env: RegistryEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"\x07" * 300_000)
    run = run_card()
    run.log_artifact(blob)
    copies = _refuse_copies(monkeypatch)
    registry_env.registry("run").register_card(run)
    assert str(blob) not in copies
    got = run.download_artifact("weights.bin", tmp_path / "out")
    assert got.read_bytes() == b"\x07" * 300_000


def test_stored_artifact_does_not_follow_later_changes_of_the_source(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    blob = tmp_path / "weights.bin"
    blob.write_bytes(b"\x01" * 200_000)
    run = run_card()
    run.log_artifact(blob)
    reg = registry_env.registry("run")
    reg.register_card(run)
    with open(blob, "r+b") as handle:  # same file, same size, changed in place
        handle.write(b"\x02" * 200_000)
    loaded = reg.load_card(uid=run.uid)
    got = loaded.download_artifact("weights.bin", tmp_path / "out")  # type: ignore[attr-defined]
    assert got.read_bytes() == b"\x01" * 200_000


def test_artifact_changed_after_logging_is_stored_as_registered(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    blob = tmp_path / "notes.txt"
    blob.write_text("first")
    run = run_card()
    run.log_artifact(blob)
    blob.write_text("second, longer")
    registry_env.registry("run").register_card(run)
    assert run.download_artifact("notes.txt", tmp_path / "out").read_text() == "second, longer"
