"""The static checks of the README's Development section pass: ``ruff check .``,
``ruff format --check .`` and ``mypy`` (strict; packages and plugin from ``[tool.mypy]``).

Each runs as a subprocess of this interpreter (``sys.executable -m ruff`` / ``-m mypy``,
both from the ``dev`` extra) from the project root, where ``pyproject.toml`` configures
them; a failure shows the tool's report. mypy keeps its cache in ``.mypy_cache/``: on a
fresh clone (CI) its first run checks every module (about 25 s here), a warm run about
one second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("ruff", "check", "."), id="ruff-check"),
        pytest.param(("ruff", "format", "--check", "."), id="ruff-format"),
        pytest.param(("mypy",), id="mypy"),
    ],
)
def test_static_check_passes(args: tuple[str, ...]) -> None:
    result = _run(*args)
    returncode, report = result.returncode, result.stdout + result.stderr
    assert returncode == 0, f"python -m {' '.join(args)} failed:\n{report}"
