"""The packaged model API for every model interface: sample in, sample out; bad requests 422."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from flows import model_packaging as steps
from flows.model_packaging.smoke import bad_requests
from tests._model_zoo import KINDS, make_model

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from opsml import CardRegistry, configure

    monkeypatch.setenv("OPSML_TRACKING_URI", f"sqlite:///{(tmp_path / 'reg.db').as_posix()}")
    monkeypatch.setenv("OPSML_STORAGE_URI", (tmp_path / "artifacts").as_posix())
    configure()
    yield CardRegistry("model")
    monkeypatch.undo()
    configure()


def _context(registry: Any, tmp_path: Path, kind: str) -> tuple[Any, Path]:
    from opsml import ModelCard

    model, sample = make_model(kind)
    card = ModelCard(
        name=f"api-{kind}",
        repository="ds",
        contact="ds@example.com",
        model=model,
        sample_input=sample,
    )
    registry.register_card(card)
    shutil.copytree(REPO_ROOT / "flows" / "model_api", tmp_path / "model_api")
    spec = yaml.safe_load((REPO_ROOT / "flows" / "model_spec.yaml").read_text())
    spec["model"].update(name=card.name, repository="ds", version=card.version)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    model_dir = card.pull(tmp_path / "model")
    context = steps.assemble_context(
        steps.load_spec(tmp_path / "spec.yaml"), tmp_path, model_dir, tmp_path / "out"
    )
    return card, context


def _client(context: Path) -> TestClient:
    spec = importlib.util.spec_from_file_location("opsml_model_api_test", context / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return TestClient(module.create_app(context / "model"))


@pytest.mark.parametrize("kind", KINDS)
def test_packaged_api_answers_and_refuses_for_each_interface(
    registry: Any, tmp_path: Path, kind: str
) -> None:
    card, context = _context(registry, tmp_path, kind)
    result = steps.smoke_test(context)
    assert result["predictions"] == card.signature["sample_output"]
    assert result["refused"] == 2
    sample = card.signature["sample_input"]
    try:
        with _client(context) as client:
            answer = client.post("/predict", json={"inputs": sample})
            assert answer.json()["predictions"] == card.signature["sample_output"]
            for field, inputs in bad_requests(sample, card.signature):
                refused = client.post("/predict", json={"inputs": inputs})
                assert refused.status_code == 422, refused.text
                assert field in [str(p) for p in refused.json()["detail"][0]["loc"]]
            wrong_shape = client.post("/predict", json={"inputs": [sample[0], "row"]})
            assert wrong_shape.status_code == 422
            assert wrong_shape.json()["detail"][0]["loc"] == ["body", "inputs", 1]
    finally:
        sys.modules.pop("opsml_model_api_test", None)


def test_api_refuses_unknown_columns_and_names_each_problem(registry: Any, tmp_path: Path) -> None:
    card, context = _context(registry, tmp_path, "xgboost")
    row = dict(card.signature["sample_input"][0])
    first = next(iter(row))
    bad = {**row, "colour": "red", first: True}
    try:
        with _client(context) as client:
            refused = client.post("/predict", json={"inputs": [row, bad]})
    finally:
        sys.modules.pop("opsml_model_api_test", None)
    assert refused.status_code == 422
    problems = {tuple(e["loc"]): e["type"] for e in refused.json()["detail"]}
    assert problems == {
        ("body", "inputs", 1, "colour"): "extra_forbidden",
        ("body", "inputs", 1, first): "type_error",
    }
