"""Bad input to every public entry point: a clear OpsmlError and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsml import CardRegistry, DataCard, ModelCard, OpsmlError, RunCard
from opsml.errors import (
    CardNotFoundError,
    InvalidInputError,
    VersionError,
)
from tests.conftest import RegistryEnv
from tests.contract._helpers import model_card, run_card


def test_unknown_registry_type() -> None:
    with pytest.raises(InvalidInputError, match="unknown registry type 'models'"):
        CardRegistry("models")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"repository": "ds", "contact": "me"}, "name"),
        ({"name": "a", "contact": "me"}, "repository"),
        ({"name": "../etc", "repository": "ds", "contact": "me"}, "name"),
        ({"name": "a b", "repository": "ds", "contact": "me"}, "name"),
        ({"name": "a", "repository": "ds", "contact": ""}, "contact"),
        ({"name": "a", "repository": "ds", "contact": "me", "tags": {"k": 1}}, "tags"),
        ({"name": 3, "repository": "ds", "contact": "me"}, "name"),
    ],
)
def test_card_fields_are_validated(kwargs: dict[str, Any], field: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=field):
        RunCard(**kwargs)


def test_register_bad_input_writes_nothing(registry_env: RegistryEnv, tmp_path: Path) -> None:
    runs = registry_env.registry("run")
    runs.register_card(run_card())
    before = registry_env.snapshot()
    cases: list[tuple[Any, Any, dict[str, Any], type[OpsmlError], str]] = [
        (runs, "not a card", {}, InvalidInputError, "needs a RunCard"),
        (runs, model_card(), {}, InvalidInputError, "CardRegistry('model')"),
        (runs, run_card(), {"version_type": "huge"}, InvalidInputError, "version_type"),
        (runs, run_card().model_copy(update={"version": "1.0"}), {}, VersionError, "1.0"),
        (runs, run_card(version="1.0.0"), {}, OpsmlError, "1.0.0"),
        (
            registry_env.registry("model"),
            ModelCard(name="m", repository="ds", contact="me"),
            {},
            InvalidInputError,
            "no model",
        ),
        (
            registry_env.registry("model"),
            ModelCard(name="m", repository="ds", contact="me", model=object()),
            {},
            InvalidInputError,
            "pickle",
        ),
        (
            registry_env.registry("data"),
            DataCard(name="d", repository="ds", contact="me", data=tmp_path / "missing.csv"),
            {},
            InvalidInputError,
            "missing.csv",
        ),
        (
            registry_env.registry("data"),
            DataCard(name="d", repository="ds", contact="me", data={"a": 1}),
            {},
            InvalidInputError,
            "dict",
        ),
    ]
    for registry, card, kwargs, error, text in cases:
        with pytest.raises(error) as info:
            registry.register_card(card, **kwargs)
        assert text in str(info.value), (text, str(info.value))
        assert registry_env.snapshot() == before, card


def test_registered_card_cannot_be_registered_twice(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    card = reg.register_card(run_card())
    before = registry_env.snapshot()
    with pytest.raises(InvalidInputError, match="already registered"):
        reg.register_card(card)
    assert registry_env.snapshot() == before


def test_load_bad_input(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    reg.register_card(run_card())
    with pytest.raises(CardNotFoundError, match="nothing-here"):
        reg.load_card(name="nothing-here")
    with pytest.raises(CardNotFoundError, match="f" * 32):
        reg.load_card(uid="f" * 32)
    with pytest.raises(InvalidInputError, match="uid"):
        reg.load_card(uid="../../etc/passwd")
    with pytest.raises(InvalidInputError, match="name"):
        reg.load_card()
    with pytest.raises(InvalidInputError, match="version must be a string"):
        reg.load_card(name="train", version=1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="name"):
        reg.load_card(name="a/../b")
    with pytest.raises(VersionError, match="not-a-spec"):
        reg.list_cards(name="train", version="not-a-spec")
    with pytest.raises(InvalidInputError, match="limit"):
        reg.list_cards(limit=0)


def test_update_and_delete_bad_input(registry_env: RegistryEnv) -> None:
    reg = registry_env.registry("run")
    card = reg.register_card(run_card())
    before = registry_env.snapshot()
    with pytest.raises(InvalidInputError, match="not registered"):
        reg.update_card(run_card())
    with pytest.raises(InvalidInputError, match="model registry"):
        registry_env.registry("model").update_card(card)
    with pytest.raises(InvalidInputError, match="expected a card"):
        reg.delete_card("uid")  # type: ignore[arg-type]
    assert registry_env.snapshot() == before
    stale = reg.load_card(uid=card.uid)
    reg.delete_card(card)
    assert reg.list_cards() == []
    after_delete = registry_env.snapshot()
    with pytest.raises(CardNotFoundError, match=str(card.uid)):
        reg.delete_card(stale)
    with pytest.raises(CardNotFoundError, match=str(card.uid)):
        reg.update_card(stale)
    assert registry_env.snapshot() == after_delete


def test_run_card_log_validation(tmp_path: Path) -> None:
    run = run_card()
    with pytest.raises(InvalidInputError, match="finite number"):
        run.log_metric("loss", float("nan"))
    with pytest.raises(InvalidInputError, match="finite number"):
        run.log_metric("loss", "low")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="JSON"):
        run.log_params(model=object())
    with pytest.raises(InvalidInputError, match="no such file"):
        run.log_artifact(tmp_path / "missing.txt")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="unsafe artifact path"):
        run.log_artifact(tmp_path / "f.txt", name="../escape.txt")
