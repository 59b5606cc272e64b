"""Issue 11 item 1: pulled files get ordinary permissions (the umask decides, like ``cp``)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RegistryEnv
from tests.contract._helpers import model_card


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_item_1_downloaded_files_respect_umask(
    registry_env: RegistryEnv, tmp_path: Path, umask_022: None
) -> None:
    reg = registry_env.registry("model")
    reg.register_card(model_card())
    out = reg.load_card(name="churn").download_artifacts(tmp_path / "out")
    modes = _modes(out)
    assert modes, "nothing was downloaded"
    assert set(modes.values()) == {0o644}, modes


def test_item_1_pulled_model_is_readable_by_others(
    registry_env: RegistryEnv, tmp_path: Path, umask_022: None
) -> None:
    reg = registry_env.registry("model")
    reg.register_card(model_card())
    out = reg.load_card(name="churn").pull(tmp_path / "pulled")
    modes = _modes(out)
    assert "card.json" in modes and len(modes) > 1
    assert all(mode & stat.S_IROTH for mode in modes.values()), modes


def test_item_1_a_strict_umask_is_respected(registry_env: RegistryEnv, tmp_path: Path) -> None:
    reg = registry_env.registry("model")
    reg.register_card(model_card())
    old = os.umask(0o077)
    try:
        out = reg.load_card(name="churn").download_artifacts(tmp_path / "out")
    finally:
        os.umask(old)
    assert set(_modes(out).values()) == {0o600}


def test_item_13_pull_refuses_a_non_empty_folder_unless_replace(
    registry_env: RegistryEnv, tmp_path: Path
) -> None:
    from opsml.errors import InvalidInputError

    reg = registry_env.registry("model")
    reg.register_card(model_card())
    card = reg.load_card(name="churn")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("someone's file")
    with pytest.raises(InvalidInputError, match="not empty"):
        card.pull(out)
    assert [p.name for p in out.iterdir()] == ["old.txt"]  # untouched
    card.pull(out, replace=True)
    assert not (out / "old.txt").exists()
    assert (out / "card.json").is_file() and (out / "model" / "model.skops").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # nothing staged


def test_item_13_pull_into_a_file_is_refused(registry_env: RegistryEnv, tmp_path: Path) -> None:
    from opsml.errors import InvalidInputError

    reg = registry_env.registry("model")
    reg.register_card(model_card())
    target = tmp_path / "model.txt"
    target.write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        reg.load_card(name="churn").pull(target)
    assert target.read_text() == "x"
