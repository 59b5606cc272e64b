"""The README's deployment-record example runs as written (on an embedded registry)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsml import CardRegistry, configure
from tests.contract._helpers import model_card

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_deployment_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "record_deployment(" in b)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSML_TRACKING_URI", raising=False)
    monkeypatch.delenv("OPSML_STORAGE_URI", raising=False)
    configure()
    try:
        registry = CardRegistry("model")
        registry.set_alias(registry.register_card(model_card()), "champion")
        namespace: dict[str, object] = {"CardRegistry": CardRegistry}
        exec(compile(example, "README.md", "exec"), namespace)
        current = registry.current_deployment(target="k8s/ml-prod/churn-api")
        assert current is not None and current.image_digest == "sha256:" + "ab" * 32
        assert [r.state for r in namespace["page"].items] == ["deployed", "packaged"]  # type: ignore[attr-defined]
    finally:
        configure()
