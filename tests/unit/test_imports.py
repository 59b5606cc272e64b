"""``import opsml`` stays cheap: no heavy library, no side effect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = [
    "pandas",
    "sklearn",
    "pyarrow",
    "polars",
    "numpy",
    "fastapi",
    "prefect",
    "sqlalchemy",
    "httpx",
    "s3fs",
    "gcsfs",
    "skops",
]


def _loaded_after(code: str, cwd: Path) -> list[str]:
    script = (
        f"import sys; {code}; import json; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=cwd
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_opsml_loads_no_heavy_module(tmp_path: Path) -> None:
    assert _loaded_after("import opsml", tmp_path) == []
    assert list(tmp_path.iterdir()) == []  # nothing written on import


def test_public_names_load_no_heavy_module(tmp_path: Path) -> None:
    code = (
        "from opsml import CardRegistry, DataCard, ModelCard, RunCard, PipelineCard, "
        "OpsmlError, configure; CardRegistry('model')"
    )
    assert _loaded_after(code, tmp_path) == []
    assert list(tmp_path.iterdir()) == []  # a registry touches nothing until used


def test_unknown_attribute() -> None:
    import pytest

    import opsml

    with pytest.raises(AttributeError, match="nothing"):
        opsml.nothing  # noqa: B018
