"""The table of model interfaces: native round trips, signatures, ONNX export, plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from opsml.cards.model_interfaces import (
    find_interface,
    get_interface,
    interfaces,
    load_model,
    save_model,
)
from opsml.cards.model_interfaces.onnx import onnx_session
from opsml.errors import InvalidInputError
from tests._model_zoo import KINDS, SERIALIZER, make_model, predict

NATIVE_FILE = {"skops": "model.skops", "xgboost": "model.ubj", "lightgbm": "model.txt"}


@pytest.mark.parametrize("kind", KINDS)
def test_each_interface_round_trip(tmp_path: Path, kind: str) -> None:
    model, sample = make_model(kind)
    info = save_model(model, tmp_path, sample_input=sample)
    assert json.loads(json.dumps(info, allow_nan=False)) == info
    serializer = SERIALIZER[kind]
    assert info["serializer"] == serializer == find_interface(model).name
    assert info["framework"] == get_interface(serializer).framework
    assert info["files"][0] == f"model/{NATIVE_FILE.get(serializer, 'model.onnx')}"
    assert set(get_interface(serializer).libraries) <= set(info["library_versions"])
    loaded = load_model(tmp_path, info)
    np.testing.assert_array_equal(predict(kind, loaded, sample), predict(kind, model, sample))
    assert info["signature"]["sample_output"] == predict(kind, model, sample).tolist()
    assert not list(tmp_path.rglob("*.pkl"))


def test_wrappers_come_back_as_wrappers(tmp_path: Path) -> None:
    import lightgbm
    import xgboost

    for kind, cls in [("xgboost", xgboost.XGBClassifier), ("lightgbm", lightgbm.LGBMClassifier)]:
        model, sample = make_model(kind)
        info = save_model(model, tmp_path / kind, sample_input=sample)
        loaded = load_model(tmp_path / kind, info)
        assert type(loaded) is cls
        np.testing.assert_array_equal(loaded.predict_proba(sample), model.predict_proba(sample))
    booster, _ = make_model("lightgbm-booster")
    info = save_model(booster, tmp_path / "booster")
    assert isinstance(load_model(tmp_path / "booster", info), lightgbm.Booster)


def test_wrapper_class_outside_the_framework_refused(tmp_path: Path) -> None:
    model, sample = make_model("xgboost")
    info = save_model(model, tmp_path, sample_input=sample)
    info["details"] = {"wrapper": "Booster.__class__"}
    with pytest.raises(InvalidInputError, match="does not have"):
        load_model(tmp_path, info)


def test_onnx_signature_records_graph_inputs_and_outputs(tmp_path: Path) -> None:
    proto, sample = make_model("onnx")
    info = save_model(proto, tmp_path, sample_input=sample)
    graph = info["signature"]["onnx"]
    assert graph["inputs"] == [{"name": "X", "type": "tensor(float)", "shape": [None, 4]}]
    assert [o["name"] for o in graph["outputs"]] == ["variable"]
    assert info["signature"]["input"] == {"kind": "numpy", "dtype": "float32", "shape": [None, 4]}
    assert type(load_model(tmp_path, info)).__name__ == "InferenceSession"


def test_onnx_path_is_stored_as_onnx(tmp_path: Path) -> None:
    proto, sample = make_model("onnx")
    path = tmp_path / "linear.onnx"
    path.write_bytes(proto.SerializeToString())
    info = save_model(path, tmp_path / "out", sample_input=sample)
    assert (info["serializer"], info["files"]) == ("onnx", ["model/model.onnx"])
    assert info["signature"]["output"]["shape"] == [None, 1]


def test_broken_onnx_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a graph")
    with pytest.raises(InvalidInputError, match="onnxruntime cannot load this ONNX model"):
        save_model(path, tmp_path / "out")
    assert not (tmp_path / "out" / "model" / "model.onnx").exists()


def test_signature_names_dtypes_and_shapes(tmp_path: Path) -> None:
    model, sample = make_model("lightgbm")
    signature = save_model(model, tmp_path, sample_input=sample)["signature"]
    assert signature["input"]["columns"] == {c: "float64" for c in sample.columns}
    assert signature["input"]["shape"] == [None, 4]
    assert signature["output"] == {"kind": "numpy", "dtype": "int64", "shape": [None]}


@pytest.mark.parametrize("kind", ["sklearn", "xgboost", "lightgbm", "lightgbm-booster"])
def test_to_onnx_export_and_parity(tmp_path: Path, kind: str) -> None:
    model, sample = make_model(kind)
    info = save_model(model, tmp_path, sample_input=sample, to_onnx=True)
    export = info["onnx"]
    assert export["file"] == "onnx/model.onnx"
    assert info["files"][-1] == "model/onnx/model.onnx"
    assert 0.0 <= export["max_abs_diff"] < 1e-4
    assert {"onnx", "onnxruntime"} <= set(export["library_versions"])
    session = onnx_session(tmp_path / "model" / "onnx" / "model.onnx")
    out = session.run(None, {"input": sample.to_numpy(dtype="float32")})[0]
    np.testing.assert_allclose(out.reshape(-1), predict(kind, model, sample).reshape(-1), atol=1e-4)
    # the native model still loads first
    np.testing.assert_array_equal(
        predict(kind, load_model(tmp_path, info), sample), predict(kind, model, sample)
    )


def test_failed_onnx_export_raises_or_is_recorded(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    sample = np.ones((4, 3)) * np.arange(4)[:, None]
    model = make_pipeline(FunctionTransformer(np.log1p), LinearRegression()).fit(sample, range(4))
    with pytest.raises(InvalidInputError, match='cannot export.*to_onnx="try"'):
        save_model(model, tmp_path / "a", serializer="skops", sample_input=sample, to_onnx=True)
    info = save_model(model, tmp_path / "b", serializer="skops", sample_input=None, to_onnx="try")
    assert "sample_input" in info["onnx"]["error"]
    assert info["files"] == ["model/model.skops"]
    with pytest.raises(InvalidInputError, match="to_onnx must be"):
        save_model(model, tmp_path / "c", to_onnx="yes")  # type: ignore[arg-type]


DOC = Path(__file__).resolve().parents[2] / "docs" / "model-interfaces.md"


def _doc_example() -> str:
    """The worked example of docs/model-interfaces.md (its last python block)."""
    text = DOC.read_text()
    return text.split("```python\n")[-1].split("```")[0]


def _install_plugin(root: Path, module: str, name: str = "constant") -> None:
    """A tiny installed distribution registering the docs' interface through the entry point."""
    root.mkdir()
    code = _doc_example().replace('name = "constant"', f'name = "{name}"')
    (root / f"{module}.py").write_text(code)
    dist = root / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        f"[opsml.model_interfaces]\nconstant = {module}:ConstantInterface\n"
    )


def test_entry_point_interface_is_found_saved_and_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path / "site", "tiny_interface_a")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert "constant" in interfaces()
    model = sys.modules["tiny_interface_a"].Constant(7)
    info = save_model(model, tmp_path / "out", sample_input=[[1], [2]])
    assert (info["serializer"], info["framework"]) == ("constant", "constant")
    assert info["details"] == {"note": "details the loader needs"}
    assert "json" in info["library_versions"]
    assert info["signature"]["sample_output"] == [7, 7]
    assert load_model(tmp_path / "out", info).value == 7
    sys.modules.pop("tiny_interface_a")


def test_entry_point_may_not_replace_a_built_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path / "site", "tiny_interface_b", name="xgboost")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(InvalidInputError, match="would replace the interface 'xgboost'"):
        interfaces()
    sys.modules.pop("tiny_interface_b", None)


def test_sklearn_card_does_not_import_other_frameworks(tmp_path: Path) -> None:
    code = f"""
import sys
from pathlib import Path
import opsml
from opsml import ModelCard
from sklearn.linear_model import LogisticRegression
card = ModelCard(name="m", repository="r", contact="c",
                 model=LogisticRegression().fit([[0.0], [1.0]], [0, 1]), sample_input=[[0.5]])
card._write_artifacts(Path({str(tmp_path)!r}))
heavy = {{"xgboost", "lightgbm", "onnx", "onnxruntime", "skl2onnx", "onnxmltools"}}
print(sorted(heavy & set(sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unused_interface_libraries_are_not_needed(tmp_path: Path) -> None:
    info: dict[str, Any] = {"serializer": "nope", "files": ["model/x"]}
    with pytest.raises(InvalidInputError, match="none of the model interfaces"):
        load_model(tmp_path, info)


def test_built_in_interfaces_save_and_load_without_listing_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing entry points costs milliseconds per call: the hot path must not do it.

    (Found by the benchmark: register and load of a small scikit-learn model went
    from 3.7 / 2.5 ms to 10.7 / 8.4 ms p50 when every save and load listed them.)
    """
    import importlib.metadata

    from sklearn.linear_model import LogisticRegression

    def listed(**_: Any) -> Any:
        raise AssertionError("entry points were listed for a built-in interface")

    X = np.random.default_rng(0).random((20, 3))
    model = LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int))
    monkeypatch.setattr(importlib.metadata, "entry_points", listed)
    info = save_model(model, tmp_path / "out", sample_input=X[:3])
    assert info["serializer"] == "skops"
    assert (
        load_model(tmp_path / "out", info).predict(X[:3]).tolist() == model.predict(X[:3]).tolist()
    )
