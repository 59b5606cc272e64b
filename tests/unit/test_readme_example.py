"""The README's usage example runs as written (on an embedded registry)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsml import configure
from tests.contract._helpers import iris_model

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_usage_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    usage = next(b for b in blocks if 'CardRegistry("model")' in b)
    monkeypatch.chdir(tmp_path)  # the embedded default lives in ./opsml_registry
    monkeypatch.delenv("OPSML_TRACKING_URI", raising=False)
    monkeypatch.delenv("OPSML_STORAGE_URI", raising=False)
    configure()
    model, X = iris_model()
    namespace = {"fitted_estimator": model, "X": X}
    try:
        exec(compile(usage, "README.md", "exec"), namespace)
    finally:
        configure()
    assert namespace["loaded"].version == "1.0.0"
    assert (namespace["model"].predict(X) == model.predict(X)).all()
    assert (tmp_path / "opsml_registry" / "registry.db").is_file()
