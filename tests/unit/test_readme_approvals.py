"""The README's protected-alias example runs as written (embedded; alice asks, bob approves)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsml import CardRegistry, configure
from opsml.config import get_settings
from tests.contract._helpers import model_card

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_approval_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "request_alias(" in b)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSML_TRACKING_URI", raising=False)
    monkeypatch.delenv("OPSML_STORAGE_URI", raising=False)
    monkeypatch.setenv("OPSML_PROTECTED_ALIASES", "champion")
    monkeypatch.setenv("OPSML_ACTOR", "alice")
    configure()
    try:
        registry = CardRegistry("model")
        for _ in range(3):
            registry.register_card(model_card(repository="ds-team"), version_type="minor")
        namespace: dict[str, object] = {
            "CardRegistry": CardRegistry,
            "approver_settings": get_settings().model_copy(update={"actor": "bob"}),
        }
        exec(compile(example, "README.md", "exec"), namespace)
        done = namespace["done"]
        assert (done.state, done.decided_by, done.requested_by) == ("approved", "bob", "alice")  # type: ignore[attr-defined]
        assert registry.list_aliases(name="churn", repository="ds-team") == {"champion": "1.2.0"}
    finally:
        configure()
