r"""Example model API (Scenario 2): serve a model pulled from the OpsML registry.

The container holds this file, the model's files and ``card.json`` (what
``opsml models pull`` writes) in ``$MODEL_DIR``. The API needs neither opsml
nor a registry at run time.

Routes:
    ``GET /healthz``: alive. ``GET /readyz``: model loaded.
    ``GET /metadata``: name, repository, version, uid and signature of the model.
    ``POST /predict``: ``{"inputs": [...]}`` (records like the card's
    ``signature["sample_input"]``) → ``{"predictions": [...], "version": ...}``.
    Each request is checked against the signature first: a missing or unknown
    column, a value of the wrong type or a row of the wrong shape is refused
    with 422, naming the field (``["body", "inputs", 0, "petal_width"]``).

Served model interfaces (the card's ``serializer``): ``skops``
(scikit-learn), ``xgboost`` (UBJSON), ``lightgbm`` (text model) and ``onnx``
(onnxruntime). Loading is safe: skops loads scikit-learn and numpy types only
(plus the names in ``$MODEL_TRUSTED_TYPES``, comma-separated); the others are
data formats; nothing is unpickled.

Example:
    $ MODEL_DIR=./model uvicorn app:app --port 8000
    $ curl -s localhost:8000/predict -H 'content-type: application/json' \
        -d '{"inputs": [{"sepal length (cm)": 5.1, ...}]}'

"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

_AUTO_TRUSTED = ("sklearn.", "numpy.")
Predict = Callable[[Any], Any]


class PredictRequest(BaseModel):
    """Rows to predict: dicts (column to value) for tables, lists for arrays."""

    inputs: list[Any] = Field(min_length=1, max_length=10_000)


class PredictResponse(BaseModel):
    """Predictions, one per input row, and which model made them."""

    predictions: list[Any]
    model: str
    version: str


# -- loading: one loader per model interface --------------------------------------------


def _load_skops(path: Path, details: dict[str, Any]) -> Predict:
    import skops.io as sio

    extra = {t for t in os.environ.get("MODEL_TRUSTED_TYPES", "").split(",") if t}
    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(_AUTO_TRUSTED) and t not in extra]
    if refused:
        raise RuntimeError(
            f"untrusted types in {path.name}: {refused}; "
            "list them in MODEL_TRUSTED_TYPES if you trust this model"
        )
    return sio.load(path, trusted=list(untrusted)).predict  # type: ignore[no-any-return]


def _load_xgboost(path: Path, details: dict[str, Any]) -> Predict:
    import xgboost

    wrapper = details.get("wrapper")
    if wrapper is None:
        booster = xgboost.Booster(model_file=str(path))
        return lambda rows: booster.predict(xgboost.DMatrix(rows))
    cls = getattr(xgboost, str(wrapper), None)
    if not (isinstance(cls, type) and issubclass(cls, xgboost.XGBModel)):
        raise RuntimeError(f"xgboost has no model class {wrapper!r}")
    model = cls()
    model.load_model(path)
    return model.predict


def _load_lightgbm(path: Path, details: dict[str, Any]) -> Predict:
    import lightgbm
    import numpy as np

    booster = lightgbm.Booster(model_file=str(path))
    classes = details.get("classes")
    if classes is None:
        return booster.predict
    labels = np.asarray(classes)

    def predict(rows: Any) -> Any:  # what LGBMClassifier.predict does
        proba = np.asarray(booster.predict(rows))
        index = proba.argmax(axis=1) if proba.ndim == 2 else (proba > 0.5).astype(int)
        return labels[index]

    return predict


def _load_onnx(path: Path, details: dict[str, Any]) -> Predict:
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    graph_input = session.get_inputs()[0]
    dtype = {"tensor(double)": "float64", "tensor(int64)": "int64"}.get(graph_input.type, "float32")

    def predict(rows: Any) -> Any:
        values = rows.to_numpy() if hasattr(rows, "to_numpy") else rows
        return session.run(None, {graph_input.name: np.asarray(values, dtype=dtype)})[0]

    return predict


LOADERS: dict[str, Callable[[Path, dict[str, Any]], Predict]] = {
    "skops": _load_skops,
    "xgboost": _load_xgboost,
    "lightgbm": _load_lightgbm,
    "onnx": _load_onnx,
}


def _load(model_dir: Path) -> tuple[dict[str, Any], Predict]:
    card = json.loads((model_dir / "card.json").read_text())
    info = card["metadata"]["model"]
    loader = LOADERS.get(str(info.get("serializer")))
    if loader is None:
        raise RuntimeError(
            f"this API serves {', '.join(LOADERS)} models, got {info.get('serializer')!r}"
        )
    return card, loader(model_dir / info["files"][0], info.get("details") or {})


# -- requests against the signature --------------------------------------------------------


def _type_error(value: Any, dtype: str) -> str | None:
    """Why ``value`` cannot go into a column of ``dtype`` (None when it can)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if dtype.startswith(("int", "uint")):
        ok = number and float(value).is_integer()
    elif dtype.startswith("float"):
        ok = number or value is None
    elif dtype == "bool":
        ok = isinstance(value, bool)
    elif dtype in ("object", "string", "str", "category") or dtype.startswith("string"):
        ok = isinstance(value, str) or value is None
    else:
        ok = True
    return None if ok else f"expected a value of dtype {dtype}, got {type(value).__name__}"


def _error(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", "inputs", *loc], "msg": msg, "type": kind}


def _check_record(i: int, row: Any, columns: dict[str, str]) -> list[dict[str, Any]]:
    if not isinstance(row, dict):
        return [_error([i], "expected an object of column to value", "dict_type")]
    errors = [_error([i, c], "missing column", "missing") for c in columns if c not in row]
    errors += [_error([i, c], "unknown column", "extra_forbidden") for c in row if c not in columns]
    for column, dtype in columns.items():
        problem = _type_error(row[column], dtype) if column in row else None
        if problem:
            errors.append(_error([i, column], problem, "type_error"))
    return errors


def _check_array(loc: list[Any], value: Any, shape: list[Any], dtype: str) -> list[dict[str, Any]]:
    if not shape:
        problem = _type_error(value, dtype)
        return [_error(loc, problem, "type_error")] if problem else []
    if not isinstance(value, list) or (shape[0] is not None and len(value) != shape[0]):
        return [_error(loc, f"expected a list of {shape[0]} values", "shape")]
    errors: list[dict[str, Any]] = []
    for j, item in enumerate(value):
        errors += _check_array([*loc, j], item, shape[1:], dtype)
    return errors[:20]


def validate(inputs: list[Any], signature: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every way ``inputs`` differ from the signature's input (empty when they fit).

    Example:
        >>> signature = {"input": {"kind": "pandas", "columns": {"a": "float64"}}}
        >>> [e["loc"] for e in validate([{"a": "x"}, {}], signature)]
        [['body', 'inputs', 0, 'a'], ['body', 'inputs', 1, 'a']]

    """
    spec = (signature or {}).get("input") or {}
    errors: list[dict[str, Any]] = []
    if spec.get("columns"):
        for i, row in enumerate(inputs):
            errors += _check_record(i, row, spec["columns"])
    elif spec.get("kind") == "numpy" and spec.get("shape"):
        for i, row in enumerate(inputs):
            errors += _check_array([i], row, spec["shape"][1:], str(spec.get("dtype")))
    return errors[:20]


def _frame(inputs: list[Any], signature: dict[str, Any] | None) -> Any:
    spec = (signature or {}).get("input") or {}
    if spec.get("columns") or isinstance(inputs[0], dict):
        import pandas as pd

        columns = spec.get("columns") or {}
        frame = pd.DataFrame.from_records(inputs, columns=list(columns) or None)
        return frame.astype(columns) if columns else frame
    import numpy as np

    return np.asarray(inputs, dtype=spec.get("dtype") or None)


def _shaped(output: Any, signature: dict[str, Any] | None) -> list[Any]:
    """Predictions in the recorded output shape (``[None]`` rows or ``[None, k]`` lists)."""
    import numpy as np

    shape = ((signature or {}).get("output") or {}).get("shape")
    array = np.asarray(output)
    if shape and all(isinstance(n, int) for n in shape[1:]):
        with suppress(ValueError):
            array = array.reshape((-1, *shape[1:]))
    return array.tolist()  # type: ignore[no-any-return]


def create_app(model_dir: str | Path | None = None) -> FastAPI:
    """Build the API for the model in ``model_dir`` (default ``$MODEL_DIR`` or ``./model``).

    The model is loaded at start-up (lifespan), so importing this module is cheap.

    Example:
        >>> from fastapi.testclient import TestClient  # doctest: +SKIP
        >>> with TestClient(create_app("build/context/model")) as client:  # doctest: +SKIP
        ...     client.post("/predict", json={"inputs": [[5.1, 3.5, 1.4, 0.2]]}).json()

    """
    folder = Path(model_dir or os.environ.get("MODEL_DIR") or Path(__file__).parent / "model")
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["card"], state["predict"] = _load(folder)
        yield
        state.clear()

    api = FastAPI(title="OpsML model API", lifespan=lifespan)

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz")
    def readyz() -> dict[str, str]:
        if "predict" not in state:
            raise HTTPException(503, "model not loaded")
        return {"status": "ready"}

    @api.get("/metadata")
    def metadata() -> dict[str, Any]:
        card = state["card"]
        return {k: card.get(k) for k in ("name", "repository", "version", "uid")} | {
            "signature": card["metadata"]["model"].get("signature")
        }

    @api.post("/predict", response_model=PredictResponse)
    def predict(request: PredictRequest) -> PredictResponse:
        card = state["card"]
        signature = card["metadata"]["model"].get("signature")
        errors = validate(request.inputs, signature)
        if errors:
            raise HTTPException(422, errors)
        try:
            output = state["predict"](_frame(request.inputs, signature))
        except (ValueError, TypeError, KeyError) as exc:
            raise HTTPException(422, f"cannot predict on these inputs: {exc}") from None
        return PredictResponse(
            predictions=_shaped(output, signature), model=card["name"], version=card["version"]
        )

    return api


app = create_app()
