"""Caret and tilde on 0.x resolve the same way on every mode, through the server too (issue 19)."""

from __future__ import annotations

import re

import pytest

from opsml.errors import VersionError
from tests.conftest import RegistryEnv
from tests.contract._helpers import run_card

REGISTERED = ["0.0.1-alpha", "0.0.3-rc.1", "0.0.3-rc.2", "0.0.3", "0.2.3", "0.2.9", "0.5.0"]
REGISTERED += ["1.0.0", "1.1.0-rc.1"]

# spec -> (what load_card returns, what list_cards returns, highest first)
EXPECTED: dict[str, tuple[str, list[str]]] = {
    "^0": ("0.5.0", ["0.5.0", "0.2.9", "0.2.3", "0.0.3"]),
    "^0.0": ("0.0.3", ["0.0.3"]),
    "^0.2.3": ("0.2.9", ["0.2.9", "0.2.3"]),
    "~0.2": ("0.2.9", ["0.2.9", "0.2.3"]),
    "^0.0.1-alpha": ("0.0.1-alpha", ["0.0.1-alpha"]),
    "^0.0.3-rc.1": ("0.0.3", ["0.0.3", "0.0.3-rc.2", "0.0.3-rc.1"]),
    "^*": ("1.0.0", ["1.0.0", "0.5.0", "0.2.9", "0.2.3", "0.0.3"]),
    "~x": ("1.0.0", ["1.0.0", "0.5.0", "0.2.9", "0.2.3", "0.0.3"]),
}


def test_caret_and_tilde_on_zero_resolve_on_every_mode(registry_env: RegistryEnv) -> None:
    runs = registry_env.registry("run")
    for version in REGISTERED:
        runs.register_card(run_card(version=version))
    for spec, (loaded, listed) in EXPECTED.items():
        assert runs.load_card(name="train", version=spec).version == loaded, spec
        found = [card.version for card in runs.list_cards(name="train", version=spec)]
        assert sorted(found, key=listed.index) == listed, spec


@pytest.mark.parametrize("spec", ["^1.0.0+build.1", "^0.0.1-"])
def test_bad_caret_is_refused_with_what_was_written(registry_env: RegistryEnv, spec: str) -> None:
    runs = registry_env.registry("run")
    runs.register_card(run_card(version="0.0.1"))
    before = registry_env.snapshot()
    with pytest.raises(VersionError, match=re.escape(repr(spec))):
        runs.load_card(name="train", version=spec)
    assert registry_env.snapshot() == before
