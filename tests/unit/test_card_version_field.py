"""An explicit card version is checked when the card is built (issue 11 item 17)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from opsml import DataCard, ModelCard, PipelineCard, RunCard

KINDS: list[type[Any]] = [ModelCard, DataCard, RunCard, PipelineCard]
IDENTITY = {"name": "churn", "repository": "ds-team", "contact": "ds@example.com"}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@pytest.mark.parametrize(
    ("version", "needle"),
    [
        ("1.0", "MAJOR.MINOR.PATCH"),
        ("v1.0.0", "MAJOR.MINOR.PATCH"),
        ("latest", "MAJOR.MINOR.PATCH"),
        ("^1.0.0", "MAJOR.MINOR.PATCH"),
        ("9223372036854775808.0.0", "9223372036854775807"),
        ("1.0.0+" + "b" * 200, "128 characters"),
    ],
)
def test_item_17_card_refuses_bad_version_when_built(
    kind: type[Any], version: str, needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        kind(**IDENTITY, version=version)
    message = str(info.value)
    assert "version" in message
    assert needle in message
    assert repr(version)[:40] in message


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_item_17_card_refuses_bad_version_when_assigned(kind: type[Any]) -> None:
    card = kind(**IDENTITY)
    with pytest.raises(ValidationError, match="'1.0'"):
        card.version = "1.0"
    assert card.version is None


@pytest.mark.parametrize("version", [None, "1.0.0", "0.0.1-alpha", "2.1.0-rc.1+build.7"])
def test_item_17_card_keeps_valid_versions(version: str | None) -> None:
    assert RunCard(**IDENTITY, version=version).version == version
