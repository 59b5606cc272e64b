"""``opsml_prefect`` exports every task of its task modules, lazily, from one list (_names)."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import opsml_prefect
from opsml_prefect._names import EXPORTS

REPO_ROOT = Path(__file__).resolve().parents[2]
TASK_MODULES = ["opsml_prefect.tasks", "opsml_prefect.deploy_tasks", "opsml_prefect.approval_tasks"]


@pytest.mark.parametrize("module_name", TASK_MODULES)
def test_every_task_of_a_task_module_is_exported(module_name: str) -> None:
    from prefect import Task

    module = importlib.import_module(module_name)
    tasks = {name for name, value in vars(module).items() if isinstance(value, Task)}
    assert tasks, f"{module_name} defines no task"
    assert tasks <= set(opsml_prefect.__all__)
    assert tasks <= set(module.__all__)
    assert list(module.__all__) == list(EXPORTS[module_name])  # the module's list is _names'
    for name in tasks:
        assert getattr(opsml_prefect, name) is getattr(module, name)


def test_alias_and_copy_tasks_are_exported() -> None:
    """Once left out of the hand-written ``__all__``."""
    assert {"set_alias", "aset_alias", "copy_card"} <= set(opsml_prefect.__all__)


def test_all_is_exports_each_name_once() -> None:
    names = [name for group in EXPORTS.values() for name in group]
    assert len(names) == len(set(names))
    assert opsml_prefect.__all__ == sorted(names)
    assert dir(opsml_prefect) == sorted(names)
    with pytest.raises(AttributeError, match="no_such_task"):
        opsml_prefect.no_such_task  # noqa: B018


def test_import_does_not_load_prefect_and_names_load_on_first_use(tmp_path: Path) -> None:
    code = (
        "import sys, json, importlib, opsml_prefect\n"
        "before = 'prefect' in sys.modules\n"
        "from opsml_prefect._names import EXPORTS\n"
        "same = all(getattr(opsml_prefect, n) is getattr(importlib.import_module(m), n)\n"
        "           for m, names in EXPORTS.items() for n in names)\n"
        "print(json.dumps([before, same, 'prefect' in sys.modules]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
        check=True,
    )  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, True, True]


def test_type_checking_reexports_are_the_exports() -> None:
    """The ``if TYPE_CHECKING:`` imports (for type checkers) name exactly ``EXPORTS``."""
    tree = ast.parse((REPO_ROOT / "opsml_prefect" / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported: dict[str, list[str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names:
            assert alias.asname == alias.name  # ``X as X``: an explicit re-export
            imported.setdefault(node.module, []).append(alias.name)
    assert {m: sorted(n) for m, n in imported.items()} == {m: sorted(n) for m, n in EXPORTS.items()}
