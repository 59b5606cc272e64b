"""The signature: names, dtypes and shapes of a model's input and output, from a sample.

A serving API validates requests against it and smoke-tests itself with the
recorded ``sample_input`` and ``sample_output``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opsml.cards._data_io import detect_kind
from opsml.cards.model_interfaces._json import jsonable
from opsml.cards.model_interfaces.base import class_path
from opsml.errors import InvalidInputError, OpsmlError

if TYPE_CHECKING:
    from opsml.cards.model_interfaces.base import ModelInterface

__all__ = ["describe_value", "predict_signature"]

SAMPLE_ROWS = 5
"""At most this many rows of the sample input are kept in the signature."""


def _top_module(obj: Any) -> str:
    return str(type(obj).__module__).split(".")[0]


def describe_value(value: Any) -> dict[str, Any]:
    """Describe the type, columns or dtype and shape of a model input or output.

    The first dimension is ``None``: the batch size varies.

    Args:
        value: A table, array, series, list or scalar.

    Returns:
        A JSON-able dict: ``{"kind", "columns"}`` for tables, ``{"kind",
        "dtype", "shape"}`` for arrays and series, ``{"kind", "type"}`` otherwise.

    Example:
        >>> describe_value([[1.0, 2.0], [3.0, 4.0]])
        {'kind': 'list', 'type': 'list'}

    """
    kind = detect_kind(value)
    top, name = _top_module(value), type(value).__name__
    if kind in ("pandas", "polars"):
        columns = {
            str(k): str(v) for k, v in (value.schema if kind == "polars" else value.dtypes).items()
        }
        return {"kind": kind, "columns": columns, "shape": [None, len(columns)]}
    if kind == "pyarrow":
        columns = {f.name: str(f.type) for f in value.schema}
        return {"kind": kind, "columns": columns, "shape": [None, len(columns)]}
    if kind == "numpy":
        return {
            "kind": "numpy",
            "dtype": str(value.dtype),
            "shape": [None, *(int(n) for n in value.shape[1:])] if value.ndim else [],
        }
    if top in ("pandas", "polars") and name == "Series":
        return {
            "kind": f"{top}_series",
            "name": None if value.name is None else str(value.name),
            "dtype": str(value.dtype),
            "shape": [None],
        }
    if isinstance(value, (list, tuple)):
        return {"kind": "list", "type": type(value).__name__}
    return {"kind": "python", "type": class_path(value)}


def _sample_records(value: Any) -> list[Any] | None:
    kind = detect_kind(value)
    top, name = _top_module(value), type(value).__name__
    if kind == "pandas":
        rows: Any = value.head(SAMPLE_ROWS).to_dict(orient="records")
    elif kind == "polars":
        rows = value.head(SAMPLE_ROWS).to_dicts()
    elif kind == "pyarrow":
        rows = value.slice(0, SAMPLE_ROWS).to_pylist()
    elif kind == "numpy":
        rows = value[:SAMPLE_ROWS].tolist() if value.ndim else [value.tolist()]
    elif top in ("pandas", "polars") and name == "Series":
        rows = value.head(SAMPLE_ROWS).to_list()
    elif isinstance(value, (list, tuple)):
        rows = list(value[:SAMPLE_ROWS])
    else:
        return None
    result = jsonable(rows)
    return result if isinstance(result, list) else None


def _predictor(model: Any, interface: ModelInterface | None) -> Callable[[Any], Any] | None:
    """How to predict on ``model``: through its interface, else its ``predict``; or ``None``."""
    if interface is not None:
        if not interface.can_predict(model):
            return None
        return lambda rows: interface.predict(model, rows)
    predict = getattr(model, "predict", None)
    return predict if callable(predict) and not isinstance(model, (str, os.PathLike)) else None


def predict_signature(
    model: Any, sample_input: Any, interface: ModelInterface | None = None
) -> dict[str, Any] | None:
    """Describe the model's input and output by calling ``predict`` on a sample.

    Args:
        model: The model; when it has no ``predict`` (a path, for instance),
            only the input is described and ``output`` is ``None``.
        sample_input: A few rows the model accepts, or ``None``.
        interface: The model's interface: predicts (an ONNX session has no
            ``predict``) and adds what it knows (an ONNX graph's inputs).

    Returns:
        ``None`` without a sample input; otherwise a JSON-able dict with
        ``input`` and ``output`` (see :func:`describe_value`), ``sample_input``
        (at most 5 rows as records: dicts for tables, lists for arrays) and
        ``sample_output`` (the matching predictions, or ``None``), so that a
        serving API can smoke-test itself.

    Raises:
        InvalidInputError: ``predict`` fails on the sample input.

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> import numpy as np
        >>> X = np.array([[0.0], [1.0]])
        >>> sig = predict_signature(LinearRegression().fit(X, [0.0, 2.0]), X)
        >>> sig["input"]["shape"], sig["output"]["shape"], sig["sample_input"]
        ([None, 1], [None], [[0.0], [1.0]])

    """
    if sample_input is None:
        return None
    predict = _predictor(model, interface)
    output: dict[str, Any] | None = None
    sample_output: list[Any] | None = None
    if predict is not None:
        try:
            prediction = predict(sample_input)
        except OpsmlError:
            raise
        except Exception as exc:
            raise InvalidInputError(
                f"the sample input ({class_path(sample_input)}) does not fit the model "
                f"{class_path(model)}: predict failed with {type(exc).__name__}: {exc}"
            ) from exc
        output = describe_value(prediction)
        sample_output = _sample_records(prediction)
    signature = {
        "input": describe_value(sample_input),
        "output": output,
        "sample_input": _sample_records(sample_input),
        "sample_output": sample_output,
    }
    if interface is not None:
        signature.update(interface.describe(model))
    return signature
