"""The ``Example:`` sections of the public modules run, so they cannot rot."""

from __future__ import annotations

import doctest
import importlib

import pytest

from opsml import configure

MODULES = [
    "opsml.errors",
    "opsml.config",
    "opsml.schemas",
    "opsml.schemas_aliases",
    "opsml.schemas_rules",
    "opsml.schemas_pages",
    "opsml.hooks",
    "opsml.backends",
    "opsml.backends.existing",
    "opsml.card_kinds",
    "opsml._cli.common",
    "opsml._cli.plugins",
    "opsml._cli.show",
    "opsml.backends.base",
    "opsml.backends.uploads",
    "opsml.backends.http.client",
    "opsml.backends.http._transport",
    "opsml.backends.sql.backend",
    "opsml.backends.sql.engine",
    "opsml.backends.sql.migrate",
    "opsml.backends.sql._db_errors",
    "opsml.backends.sql._sessions",
    "opsml.storage.digest",
    "opsml.storage.store",
    "opsml.storage.layout",
    "opsml.storage._local",
    "opsml.storage._remote",
    "opsml.backends.sql._queries",
    "opsml.backends.sql._grants",
    "opsml.cards.run",
    "opsml.cards.pipeline",
    "opsml.cards.base",
    "opsml.cards._path_copy",
    "opsml.backends._sink",
    "opsml.cards._data_io",
    "opsml.versioning",
    "opsml.auth.roles",
    "opsml.auth.secrets",
    "opsml.auth.models",
    "opsml.auth.store",
    "opsml.backends.http.identity",
    "opsml.backends.http._identity_mixin",
    "opsml.backends.http._lean_httpx",
    "opsml._cli.identity",
    "opsml._cli.deployments",
    "opsml.schemas_deployments",
    "opsml._registry_deployments",
    "opsml.schemas_approvals",
    "opsml._registry_approvals",
    "opsml._cli.approvals",
    "opsml_server.auth",
    "opsml_server.metrics",
    "opsml_server.upload_service",
    "opsml_server.metrics_dir",
    "opsml_prefect.deployments.steps",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    try:
        result = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        )
    finally:
        configure()
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
    assert result.attempted > 0, f"{name} has no runnable example"
