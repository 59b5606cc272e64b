"""Tests and benchmarks share helpers through ``opsml_testing/`` only, never through each
other's files: a tests module does not import ``benchmarks``, a benchmark does not import
``tests``, and ``opsml_testing`` imports neither.

The one exception is a test whose subject is a benchmark (its file name says
``benchmark``): it imports the benchmark it runs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "tests": {"benchmarks"},
    "benchmarks": {"tests"},
    "opsml_testing": {"tests", "benchmarks"},
}
MODULE_STRING = re.compile(r"(tests|benchmarks|opsml_testing)(\.\w+)+(:\w+)?")
"""A string that names one of our modules: ``python -m tests.x``, ``benchmarks.y:app``."""


def imported_packages(source: str) -> set[str]:
    """Top-level names of every module that ``source`` imports, at any depth, or names in a
    string such as a ``python -m`` argument.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= {node.value.split(".")[0]} if MODULE_STRING.fullmatch(node.value) else set()
    return found


def crossings(top: str) -> list[str]:
    """``path: package`` for every forbidden import of the modules under ``ROOT / top``."""
    out = []
    for path in sorted((ROOT / top).rglob("*.py")):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue  # the benchmarks' peer venvs (.venvs/), caches: not our modules
        if top == "tests" and "benchmark" in path.name:
            continue  # a benchmark's own test
        for package in sorted(imported_packages(path.read_text()) & FORBIDDEN[top]):
            out.append(f"{path.relative_to(ROOT)}: {package}")
    return out


def test_imported_packages_sees_nested_from_and_module_strings() -> None:
    source = "import os.path\nfrom tests._x import y\ndef f():\n    from benchmarks import run\n"
    assert imported_packages(source) == {"os", "tests", "benchmarks"}
    assert imported_packages("from . import sibling\nfrom .x import y\n") == set()
    argv = "run(['python', '-m', 'tests._kills'], app='benchmarks._bare_app:app')"
    assert imported_packages(argv) == {"tests", "benchmarks"}
    assert imported_packages("'see tests/_x.py and tests.conftest'") == set()


@pytest.mark.parametrize("top", sorted(FORBIDDEN))
def test_no_imports_across(top: str) -> None:
    assert list((ROOT / top).rglob("*.py")), f"no modules under {top}/"
    assert crossings(top) == []
