"""``get_card(name=…, repositories=[…])``: a name is looked for only among those
repositories, as if no other existed (issue 30 item 2: what a server does for a caller
who may read some repositories only), on every mode.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opsml.backends.base import RegistryBackend
from opsml.errors import CardNotFoundError, InvalidInputError
from opsml.schemas import CardCreate
from tests.conftest import RegistryEnv


def _register(backend: RegistryBackend, tmp_path: Path, name: str, repository: str) -> str:
    card = CardCreate(registry="model", name=name, repository=repository, contact="me")
    return backend.register_card(card, tmp_path, actor="tester").uid


def test_resolve_among_repositories(registry_env: RegistryEnv, tmp_path: Path) -> None:
    backend: RegistryBackend = registry_env.registry("model").backend
    alpha = _register(backend, tmp_path, "shared", "alpha")
    _register(backend, tmp_path, "shared", "beta")
    _register(backend, tmp_path, "secret", "beta")

    with pytest.raises(InvalidInputError, match="several repositories"):
        backend.get_card("model", name="shared")
    assert backend.get_card("model", name="shared", repositories=["alpha"]).uid == alpha
    assert backend.get_card("model", name="shared", repositories=["alpha", "gamma"]).uid == alpha
    for among in (["alpha"], ["gamma"], []):
        with pytest.raises(CardNotFoundError):
            backend.get_card("model", name="secret", repositories=among)
    with pytest.raises(InvalidInputError, match=r"several repositories \(alpha, beta\)"):
        backend.get_card("model", name="shared", repositories=["alpha", "beta"])
    # a named repository wins over the list (the server checks the role on it first)
    assert backend.get_card("model", name="secret", repository="beta", repositories=[]).name == (
        "secret"
    )
