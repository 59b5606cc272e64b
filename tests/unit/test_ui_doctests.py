"""The ``Example:`` sections of the web UI's modules run, so they cannot rot."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "opsml_server.ui.charts",
    "opsml_server.ui.listing",
    "opsml_server.ui.lineage",
    "opsml_server.ui.cardview",
    "opsml_server.ui.compare",
    "opsml_server.ui.render",
    "opsml_server.ui.standalone",
    "opsml_server.ui.deployview",
    "opsml_server.ui.csrf",
    "opsml_server.ui.approvals",
]


@pytest.mark.parametrize("name", MODULES)
def test_ui_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
    assert result.attempted > 0, f"{name} has no runnable example"
