from __future__ import annotations

import json
import operator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from opsml.cards.model_interfaces import load_model, predict_signature, save_model
from opsml.errors import ArtifactNotFoundError, InvalidInputError

INFO_KEYS = {
    "serializer",
    "framework",
    "model_class",
    "files",
    "library_versions",
    "signature",
}


class Doubler:
    """A plain object that is not a scikit-learn estimator."""

    def predict(self, x: Any) -> Any:
        return np.asarray(x) * 2


def _assert_json(info: dict[str, Any]) -> None:
    assert set(info) == INFO_KEYS
    assert json.loads(json.dumps(info, allow_nan=False)) == info


@pytest.fixture
def clf_data() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    return X, y


def test_sklearn_skops_round_trip(tmp_path: Path, clf_data: Any) -> None:
    X, y = clf_data
    model = LogisticRegression().fit(X, y)
    info = save_model(model, tmp_path, sample_input=X[:8])
    _assert_json(info)
    assert info["serializer"] == "skops"
    assert info["framework"] == "sklearn"
    assert info["model_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert info["files"] == ["model/model.skops"]
    assert (tmp_path / "model" / "model.skops").is_file()
    assert {"python", "sklearn", "skops", "numpy"} == set(info["library_versions"])
    loaded = load_model(tmp_path, info)
    assert type(loaded) is LogisticRegression
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_signature_logistic_regression_arrays(clf_data: Any) -> None:
    X, y = clf_data
    model = LogisticRegression().fit(X, y)
    sig = predict_signature(model, X[:8])
    assert sig is not None
    assert sig["input"] == {"kind": "numpy", "dtype": "float64", "shape": [None, 4]}
    assert sig["output"] == {"kind": "numpy", "dtype": str(y.dtype), "shape": [None]}
    assert len(sig["sample_input"]) == 5
    assert sig["sample_input"][0] == X[0].tolist()
    assert sig["sample_output"] == model.predict(X[:5]).tolist()
    assert json.loads(json.dumps(sig, allow_nan=False)) == sig


def test_signature_logistic_regression_dataframe(tmp_path: Path) -> None:
    iris = load_iris(as_frame=True)
    X, y = iris.data, iris.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    info = save_model(model, tmp_path, sample_input=X.head(3))
    _assert_json(info)
    assert info["model_class"] == "sklearn.pipeline.Pipeline"
    sig = info["signature"]
    assert sig["input"]["kind"] == "pandas"
    assert sig["input"]["columns"] == {c: "float64" for c in X.columns}
    assert sig["input"]["shape"] == [None, 4]
    assert sig["output"]["kind"] == "numpy"
    assert sig["output"]["shape"] == [None]
    assert sig["sample_input"] == X.head(3).to_dict(orient="records")
    loaded = load_model(tmp_path, info)
    pd.testing.assert_series_equal(
        pd.Series(loaded.predict(X)), pd.Series(model.predict(X)), check_names=False
    )


def test_signature_records_are_json_safe() -> None:
    df = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", None]),
            "x": [float("nan"), 1.0],
            "s": ["a", None],
        }
    )
    sig = predict_signature(Doubler(), df[["x"]])
    assert sig is not None and sig["sample_input"] == [{"x": None}, {"x": 1.0}]
    sig = predict_signature(object(), df)
    assert sig is not None
    assert sig["output"] is None and sig["sample_output"] is None
    assert sig["sample_input"] == [
        {"when": "2024-01-01T00:00:00", "x": None, "s": "a"},
        {"when": None, "x": 1.0, "s": None},
    ]
    json.dumps(sig, allow_nan=False)


def test_signature_none_without_sample(clf_data: Any) -> None:
    X, y = clf_data
    assert predict_signature(LogisticRegression().fit(X, y), None) is None


def test_sample_that_does_not_fit_refused(tmp_path: Path, clf_data: Any) -> None:
    X, y = clf_data
    model = LogisticRegression().fit(X, y)
    with pytest.raises(InvalidInputError, match="does not fit the model") as exc:
        save_model(model, tmp_path, sample_input=np.ones((2, 7)))
    assert "7 features" in str(exc.value)
    assert not (tmp_path / "model").exists()


def test_tree_types_trusted_by_default(tmp_path: Path, clf_data: Any) -> None:
    X, y = clf_data
    model = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=3, random_state=0))
    model.fit(X, y)
    info = save_model(model, tmp_path)
    loaded = load_model(tmp_path, info)  # sklearn.tree._tree.Tree is a sklearn class
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_untrusted_skops_type_refused_then_trusted(tmp_path: Path) -> None:
    X = np.arange(6.0).reshape(3, 2)
    model = FunctionTransformer(operator.neg).fit(X)
    info = save_model(model, tmp_path)
    with pytest.raises(InvalidInputError, match=r"not trusted: _operator\.neg") as exc:
        load_model(tmp_path, info)
    assert "trusted=['_operator.neg']" in str(exc.value)
    loaded = load_model(tmp_path, info, trusted=["_operator.neg"])
    np.testing.assert_array_equal(loaded.transform(X), -X)


def test_numpy_functions_are_not_trusted_by_default(tmp_path: Path) -> None:
    info = save_model(FunctionTransformer(np.mean).fit(np.ones((2, 2))), tmp_path)
    with pytest.raises(InvalidInputError, match=r"numpy\.mean"):
        load_model(tmp_path, info)
    assert load_model(tmp_path, info, trusted=("numpy.mean",)).func is np.mean


def test_trusted_as_string_refused(tmp_path: Path) -> None:
    info = save_model(FunctionTransformer(operator.neg).fit(np.ones((2, 2))), tmp_path)
    with pytest.raises(InvalidInputError, match="list of type names"):
        load_model(tmp_path, info, trusted="_operator.neg")


def test_plain_object_refused_without_pickle(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match='serializer="pickle"') as exc:
        save_model(Doubler(), tmp_path)
    message = str(exc.value)
    assert "Doubler" in message and "path" in message
    assert not (tmp_path / "model").exists()


def test_explicit_pickle_round_trip(tmp_path: Path) -> None:
    info = save_model(Doubler(), tmp_path, serializer="pickle", sample_input=[[1, 2]])
    _assert_json(info)
    assert info["serializer"] == "pickle"
    assert info["files"] == ["model/model.pkl"]
    assert info["model_class"].endswith("Doubler")
    assert info["signature"]["sample_output"] == [[2, 4]]
    assert info["signature"]["input"] == {"kind": "list", "type": "list"}
    with pytest.raises(InvalidInputError, match="allow_pickle=True"):
        load_model(tmp_path, info)
    loaded = load_model(tmp_path, info, allow_pickle=True)
    assert isinstance(loaded, Doubler)
    raw = (tmp_path / "model" / "model.pkl").read_bytes()
    assert raw[:2] == b"\x80\x05"  # protocol 5


def test_unpicklable_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot be pickled"):
        save_model(lambda x: x, tmp_path, serializer="pickle")
    assert not (tmp_path / "model" / "model.pkl").exists()


def test_unknown_serializer_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="skops, xgboost, lightgbm, onnx, pickle, files"):
        save_model(Doubler(), tmp_path, serializer="joblib")


def test_model_file_and_folder(tmp_path: Path) -> None:
    onnx = tmp_path / "model.bin"
    onnx.write_bytes(b"onnx-bytes")
    info = save_model(str(onnx), tmp_path / "a", sample_input=np.zeros((2, 3), dtype="float32"))
    _assert_json(info)
    assert info["serializer"] == "files"
    assert info["framework"] == "files"
    assert info["model_class"] is None
    assert info["files"] == ["model/files/model.bin"]
    assert info["signature"]["input"] == {"kind": "numpy", "dtype": "float32", "shape": [None, 3]}
    assert info["signature"]["output"] is None
    path = load_model(tmp_path / "a", info)
    assert path == tmp_path / "a" / "model" / "files" / "model.bin"
    assert path.read_bytes() == b"onnx-bytes"

    folder = tmp_path / "bert"
    (folder / "tok").mkdir(parents=True)
    (folder / "weights.pt").write_bytes(b"w")
    (folder / "tok" / "vocab.txt").write_text("v")
    info = save_model(folder, tmp_path / "b", serializer="files")
    assert info["files"] == ["model/files/bert/tok/vocab.txt", "model/files/bert/weights.pt"]
    path = load_model(tmp_path / "b", info)
    assert path == tmp_path / "b" / "model" / "files" / "bert"
    assert (path / "tok" / "vocab.txt").read_text() == "v"


def test_path_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        save_model(tmp_path / "missing.onnx", tmp_path)
    with pytest.raises(InvalidInputError, match="copied as files"):
        save_model(tmp_path, tmp_path / "out", serializer="pickle")
    with pytest.raises(InvalidInputError, match="needs a path"):
        save_model(Doubler(), tmp_path, serializer="files")


def test_missing_files_on_load(tmp_path: Path, clf_data: Any) -> None:
    X, y = clf_data
    info = save_model(LogisticRegression().fit(X, y), tmp_path)
    with pytest.raises(ArtifactNotFoundError, match=r"model/model\.skops"):
        load_model(tmp_path / "elsewhere", info)
    with pytest.raises(InvalidInputError, match="not a model info"):
        load_model(tmp_path, {"serializer": "joblib"})
