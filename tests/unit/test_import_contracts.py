"""The layer rules of docs/architecture.md hold: ``lint-imports`` keeps every contract.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``); a broken one fails
this test with import-linter's report (which import, which line).
"""

from __future__ import annotations

import doctest
import subprocess
import sys
import tomllib
from pathlib import Path

from opsml_testing import import_contracts

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(cwd: Path, *config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *config],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_import_contract_is_kept() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    result = _lint(ROOT)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert f"Contracts: {len(contracts['contracts'])} kept, 0 broken." in report


def test_a_broken_contract_fails_with_the_import_that_breaks_it(tmp_path: Path) -> None:
    package = tmp_path / "demo"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "high.py").write_text("")
    (package / "allowed.py").write_text("")
    (package / "low.py").write_text("def f():\n    from demo import allowed, high\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = demo\n"
        "contract_types =\n    allowed: opsml_testing.import_contracts.AllowedContract\n\n"
        "[importlinter:contract:layers]\nname = Layers\ntype = layers\n"
        "layers =\n    demo.high\n    demo.low\n\n"
        "[importlinter:contract:allowed]\nname = Low imports only allowed\ntype = allowed\n"
        "source_modules = demo.low\nwithin = demo\nallowed_modules = demo.allow*\n"
    )
    result = _lint(tmp_path, ".importlinter")
    report = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Contracts: 0 kept, 2 broken." in report
    assert report.count("demo.low -> demo.high (l.2)") == 2
    assert "demo.low -> demo.allowed" not in report


def test_the_allowed_contract_examples_run() -> None:
    result = doctest.testmod(import_contracts)
    assert result.attempted > 0 and result.failed == 0
