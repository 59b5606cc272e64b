"""``to_onnx``: export a scikit-learn, XGBoost or LightGBM model to ONNX and measure parity.

scikit-learn models go through skl2onnx, XGBoost and LightGBM ones through
onnxmltools' converters. The graph takes one float tensor ``input`` of shape
``[None, n_features]``; classifiers output ``label`` and ``probabilities``
(no ZipMap). Parity is the maximum absolute difference between the native
model's predictions and the graph's first output on ``sample_input``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsml.cards.model_interfaces.base import ModelInterface, library_versions
from opsml.errors import InvalidInputError, OpsmlError, require

__all__ = ["ONNX_FILE", "export_onnx"]

ONNX_FILE = "onnx/model.onnx"
"""Where the export goes, relative to the model folder."""
TARGET_OPSET = 15


def _n_features(model: Any, sample_input: Any) -> int:
    shape = getattr(sample_input, "shape", None)
    if shape is not None and len(shape) == 2:
        return int(shape[1])
    for attr in ("n_features_in_", "n_features_"):
        if isinstance(getattr(model, attr, None), int):
            return int(getattr(model, attr))
    if hasattr(model, "num_feature"):
        return int(model.num_feature())
    raise InvalidInputError("to_onnx needs a 2-D sample_input to know the number of features")


def _classifier_options(model: Any) -> dict[Any, Any]:
    last = model.steps[-1][1] if hasattr(model, "steps") else model
    return {id(last): {"zipmap": False}} if hasattr(last, "classes_") else {}


def _unnamed(model: Any) -> Any:
    """A copy whose booster has no feature names (the converter wants ``f0``, ``f1``...)."""
    import copy

    clone = copy.deepcopy(model)
    booster = clone.get_booster() if hasattr(clone, "get_booster") else clone
    booster.feature_names = None
    return clone


def _convert(model: Any, interface: ModelInterface, n_features: int) -> Any:
    if interface.name == "skops":
        require("skl2onnx", "onnx")
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        types = [("input", FloatTensorType([None, n_features]))]
        return convert_sklearn(
            model, initial_types=types, options=_classifier_options(model), target_opset=None
        )
    require("onnxmltools", "onnx")
    from onnxmltools.convert import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat

    ml_types = [("input", MLFloat([None, n_features]))]
    if interface.name == "xgboost":
        return convert_xgboost(_unnamed(model), initial_types=ml_types, target_opset=TARGET_OPSET)
    if interface.name == "lightgbm":
        return convert_lightgbm(
            model, initial_types=ml_types, target_opset=TARGET_OPSET, zipmap=False
        )
    raise InvalidInputError(
        f"to_onnx exports scikit-learn, XGBoost and LightGBM models, not {interface.name!r} ones"
    )


def _parity(model: Any, interface: ModelInterface, graph: bytes, sample_input: Any) -> float:
    import numpy as np

    from opsml.cards.model_interfaces.onnx import onnx_session, run_session

    native = np.asarray(interface.predict(model, sample_input), dtype="float64")
    exported = np.asarray(run_session(onnx_session(graph), sample_input), dtype="float64")
    if exported.size != native.size:
        raise InvalidInputError(
            f"the ONNX export answers {exported.shape} for predictions of shape {native.shape}"
        )
    return float(np.max(np.abs(exported.reshape(native.shape) - native), initial=0.0))


def export_onnx(
    model: Any, interface: ModelInterface, sample_input: Any, folder: Path, *, strict: bool
) -> dict[str, Any]:
    """Write ``folder/onnx/model.onnx`` and describe it; ``strict=False`` records failures.

    Returns:
        ``file``, ``max_abs_diff`` (parity on ``sample_input``), ``opset`` and
        ``library_versions``; or ``error`` (why it failed) when not strict.

    Raises:
        InvalidInputError: The export or the parity check failed (``strict``).

    Example:
        >>> skops = get_interface("skops")  # doctest: +SKIP
        >>> export_onnx(model, skops, X[:5], Path("model"), strict=True)  # doctest: +SKIP
        {'file': 'onnx/model.onnx', 'max_abs_diff': 0.0, ...}

    """
    try:
        if sample_input is None:
            raise InvalidInputError("to_onnx needs sample_input= to check the export's parity")
        graph = _convert(model, interface, _n_features(model, sample_input))
        data = graph.SerializeToString()
        diff = _parity(model, interface, data, sample_input)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if strict:
            if isinstance(exc, OpsmlError):
                raise
            raise InvalidInputError(
                f"cannot export this {interface.framework} model to ONNX: {reason}; "
                'pass to_onnx="try" to register it without the export'
            ) from exc
        return {"error": reason}
    target = folder / ONNX_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    opset = max((o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return {
        "file": ONNX_FILE,
        "max_abs_diff": diff,
        "opset": int(opset),
        "library_versions": library_versions(
            "onnx", "onnxruntime", "skl2onnx" if interface.name == "skops" else "onnxmltools"
        ),
    }
