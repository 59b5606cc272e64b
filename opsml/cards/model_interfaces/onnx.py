"""ONNX models: an ``onnx.ModelProto`` or a ``.onnx`` path, loaded as an onnxruntime session.

The graph is stored as ``model.onnx``; :meth:`OnnxInterface.load` returns an
``onnxruntime.InferenceSession`` on the CPU. The signature records the graph's
input and output names, element types and shapes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from opsml.cards.model_interfaces.base import (
    LoadOptions,
    ModelInterface,
    SavedFiles,
    class_path,
    defined_in,
)
from opsml.errors import InvalidInputError, OpsmlError, require

__all__ = ["OnnxInterface", "onnx_session", "run_session"]


def onnx_session(source: str | Path | bytes) -> Any:
    """An onnxruntime CPU session for a file or serialized graph.

    Example:
        >>> onnx_session("model/model.onnx").get_inputs()[0].name  # doctest: +SKIP
        'input'

    """
    require("onnxruntime", "onnx")
    import onnxruntime

    model = source if isinstance(source, bytes) else str(source)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: converters' shape hints warn on every run
    return onnxruntime.InferenceSession(
        model, sess_options=options, providers=["CPUExecutionProvider"]
    )


_NUMPY_OF_ONNX = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def run_session(session: Any, inputs: Any) -> Any:
    """The first output of ``session`` on ``inputs`` (cast to the graph's one input type).

    Example:
        >>> run_session(onnx_session("model.onnx"), [[5.1, 3.5, 1.4, 0.2]])  # doctest: +SKIP
        array([0])

    """
    import numpy as np

    graph_inputs = session.get_inputs()
    if len(graph_inputs) != 1:
        raise InvalidInputError(
            f"the ONNX graph has {len(graph_inputs)} inputs; call session.run with a dict"
        )
    dtype = _NUMPY_OF_ONNX.get(graph_inputs[0].type, "float32")
    values = inputs.to_numpy() if hasattr(inputs, "to_numpy") else inputs
    return session.run(None, {graph_inputs[0].name: np.asarray(values, dtype=dtype)})[0]


def _args(values: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": v.name,
            "type": v.type,
            "shape": [d if isinstance(d, int) else None for d in v.shape],
        }
        for v in values
    ]


class OnnxInterface(ModelInterface):
    """``onnx.ModelProto`` objects and ``.onnx`` files as ``model.onnx``.

    Example:
        >>> OnnxInterface().matches("model.onnx")
        True

    """

    name = "onnx"
    framework = "onnx"
    libraries = ("onnx", "onnxruntime", "numpy")
    extra = "onnx"

    def matches(self, model: Any) -> bool:
        """A ``ModelProto`` or a path to a ``.onnx`` file."""
        if isinstance(model, (str, os.PathLike)):
            return Path(model).suffix.lower() == ".onnx" and Path(model).is_file()
        return defined_in(model, "onnx") and type(model).__name__ == "ModelProto"

    def save(self, model: Any, folder: Path) -> SavedFiles:
        """Write the serialized graph (or copy the file) to ``model.onnx``."""
        target = folder / "model.onnx"
        if isinstance(model, (str, os.PathLike)):
            shutil.copyfile(model, target)
        elif hasattr(model, "SerializeToString"):
            target.write_bytes(model.SerializeToString())
        else:
            raise InvalidInputError(f"{class_path(model)} is not an onnx.ModelProto")
        try:
            self._session(target)
        except OpsmlError:
            target.unlink(missing_ok=True)
            raise
        return SavedFiles([target.name])

    def load(self, folder: Path, saved: SavedFiles, options: LoadOptions) -> Any:
        """An ``onnxruntime.InferenceSession`` (CPU)."""
        return onnx_session(folder / saved.files[0])

    def _session(self, model: Any) -> Any:
        if type(model).__name__ == "InferenceSession":
            return model
        source = Path(model) if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
        try:
            return onnx_session(source)
        except OpsmlError:
            raise
        except Exception as exc:
            raise InvalidInputError(f"onnxruntime cannot load this ONNX model: {exc}") from exc

    def can_predict(self, model: Any) -> bool:
        """Every graph runs."""
        return True

    def predict(self, model: Any, inputs: Any) -> Any:
        """The graph's first output, run with onnxruntime."""
        return run_session(self._session(model), inputs)

    def describe(self, model: Any) -> dict[str, Any]:
        """The graph's inputs and outputs: names, element types, shapes."""
        session = self._session(model)
        return {
            "onnx": {"inputs": _args(session.get_inputs()), "outputs": _args(session.get_outputs())}
        }
