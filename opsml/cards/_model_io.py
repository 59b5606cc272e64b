"""Save and load the model artifact of a ModelCard.

The model lives under ``<dest>/model/``:

* scikit-learn estimators and pipelines (``serializer="auto"``):
  ``model/model.skops``, written with skops so that loading runs no arbitrary
  code;
* any object the user explicitly asks to pickle (``serializer="pickle"``):
  ``model/model.pkl``, pickle protocol 5;
* a path to a file or folder (ONNX, a torch state dict, anything):
  copied under ``model/files/<name>``.

Trust policy when loading skops files: skops itself trusts a safe default set
(builtin containers, numpy arrays and ufuncs, most scikit-learn types). On top
of that, :func:`load_model` trusts every reported type that is a *class*
defined in ``sklearn`` or ``numpy`` (such as ``sklearn.tree._tree.Tree``).
Functions (``numpy.mean``), builtins and any other module's types are never
trusted implicitly: they are refused with :class:`InvalidInputError` naming them
until the caller lists them in ``trusted=[...]``. Pickle files are loaded with
:func:`pickle.load`, i.e. the file is trusted; such files are only written when
the user asked for ``serializer="pickle"``.

The heavy libraries are imported only inside the functions that use them.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opsml.cards._data_io import copy_path_artifact, detect_kind
from opsml.errors import ArtifactNotFoundError, InvalidInputError, require

__all__ = ["load_model", "predict_signature", "save_model"]

MODEL_DIR = "model"
"""Folder under the destination that holds every model artifact."""

SERIALIZERS = ("auto", "skops", "pickle", "files")
SAMPLE_ROWS = 5
"""At most this many rows of the sample input are kept in the signature."""

_AUTO_TRUSTED_MODULES = ("sklearn", "numpy")


def _top_module(obj: Any) -> str:
    return str(type(obj).__module__).split(".")[0]


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_sklearn_object(obj: Any) -> bool:
    return any(cls.__module__.split(".")[0] == "sklearn" for cls in type(obj).__mro__)


def _module_version(name: str) -> str | None:
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except Exception:
            return None
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def _versions(*names: str) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        version = _module_version(name)
        if version is not None:
            versions[name] = version
    return versions


# ------------------------------------------------------------------------ save


def save_model(
    model: Any, dest: Path, *, serializer: str = "auto", sample_input: Any = None
) -> dict[str, Any]:
    """Write ``model`` under ``dest/model`` and describe it.

    Args:
        model: A fitted scikit-learn estimator or pipeline, any object to pickle
            (with ``serializer="pickle"``), or a ``str``/``os.PathLike`` to a
            file or folder that is copied as is.
        dest: The card's artifact folder; files go under ``dest/model``.
        serializer: ``"auto"`` (skops for scikit-learn objects, copy for paths),
            ``"skops"`` (force skops, e.g. for a custom estimator), ``"pickle"``
            (explicit opt-in to pickle) or ``"files"`` (a path).
        sample_input: Optional input the model's ``predict`` accepts; used to
            record the signature (see :func:`predict_signature`).

    Returns:
        A JSON-able dict with the keys ``serializer`` (``"skops"``, ``"pickle"``
        or ``"files"``), ``framework``, ``model_class`` (``None`` for files),
        ``files``, ``library_versions`` and ``signature``.

    Raises:
        InvalidInputError: Unknown serializer, an object that ``"auto"`` will
            not pickle, an object that cannot be serialized, a missing path, or
            a sample input that does not fit the model.
        MissingDependencyError: skops is needed and not installed.

    Example:
        >>> import tempfile
        >>> from sklearn.linear_model import LinearRegression
        >>> model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     info = save_model(model, Path(tmp))
        >>> info["serializer"], info["files"]
        ('skops', ['model/model.skops'])

    """
    if serializer not in SERIALIZERS:
        raise InvalidInputError(
            f"serializer {serializer!r} is not known; accepted: {', '.join(SERIALIZERS)}"
        )
    is_path = isinstance(model, (str, os.PathLike))
    if serializer == "files" and not is_path:
        raise InvalidInputError(
            f'serializer="files" needs a path (str or os.PathLike); got {_class_path(model)}'
        )
    if is_path and serializer in ("skops", "pickle"):
        raise InvalidInputError(
            f"model is a path ({os.fspath(model)!s}); paths are copied as files, so pass "
            'serializer="auto" or "files"'
        )
    if serializer == "auto":
        if is_path:
            serializer = "files"
        elif _top_module(model) == "sklearn":
            serializer = "skops"
        else:
            hint = ' pass serializer="skops" to save this scikit-learn-style estimator with skops,'
            raise InvalidInputError(
                f"model of type {_class_path(model)} cannot be saved automatically: "
                "scikit-learn estimators are saved with skops and paths are copied."
                + (hint if _is_sklearn_object(model) else "")
                + ' pass serializer="pickle" to pickle it explicitly (loading a pickle runs '
                "code from the file), or save it to a file and pass the path"
            )

    signature = predict_signature(model, sample_input)
    base = dest / MODEL_DIR
    if serializer == "files":
        return {
            "serializer": "files",
            "framework": "files",
            "model_class": None,
            "files": copy_path_artifact(model, dest, f"{MODEL_DIR}/files"),
            "library_versions": _versions(),
            "signature": signature,
        }
    base.mkdir(parents=True, exist_ok=True)
    framework = _top_module(model)
    if serializer == "skops":
        require("skops", "ml")
        import skops.io as sio

        target = base / "model.skops"
        try:
            sio.dump(model, target)
        except Exception as exc:
            target.unlink(missing_ok=True)
            raise InvalidInputError(
                f"skops cannot save model of type {_class_path(model)}: {exc}; "
                'pass serializer="pickle" to pickle it explicitly'
            ) from exc
        versions = _versions("sklearn", "skops", "numpy")
        if framework not in versions:
            versions.update(_versions(framework))
        files = [f"{MODEL_DIR}/model.skops"]
    else:
        target = base / "model.pkl"
        try:
            with target.open("wb") as fh:
                pickle.dump(model, fh, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            target.unlink(missing_ok=True)
            raise InvalidInputError(
                f"model of type {_class_path(model)} cannot be pickled: {exc}"
            ) from exc
        versions = (
            _versions(framework) if framework not in ("builtins", "__main__") else _versions()
        )
        files = [f"{MODEL_DIR}/model.pkl"]
    return {
        "serializer": serializer,
        "framework": framework,
        "model_class": _class_path(model),
        "files": files,
        "library_versions": versions,
        "signature": signature,
    }


# ------------------------------------------------------------------------ load


def _resolve(name: str) -> Any:
    """Import ``a.b.C`` (longest importable module prefix, then attributes)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _auto_trusted(name: str) -> bool:
    """Whether a type reported by skops is trusted without the caller's consent."""
    if name.split(".")[0] not in _AUTO_TRUSTED_MODULES:
        return False
    return isinstance(_resolve(name), type)


def load_model(src: Path, info: dict[str, Any], *, trusted: Sequence[str] | None = None) -> Any:
    """Load a model saved by :func:`save_model` from ``src``.

    Args:
        src: A folder holding the relative files listed in ``info["files"]``.
        info: The dict :func:`save_model` returned.
        trusted: For skops files, extra type names (as skops reports them,
            e.g. ``"mypackage.MyTransformer"``) to trust beyond the default
            policy described in the module docstring.

    Returns:
        The model object; for ``"files"``, the :class:`~pathlib.Path` of the
        copied file or folder under ``src``.

    Raises:
        InvalidInputError: ``info`` is not a model info dict, ``trusted`` is a
            plain string, or the skops file holds types that are not trusted.
        ArtifactNotFoundError: A file listed in ``info`` is missing under ``src``.
        MissingDependencyError: skops is needed and not installed.

    Example:
        >>> import tempfile
        >>> from sklearn.linear_model import LinearRegression
        >>> model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     info = save_model(model, Path(tmp))
        ...     load_model(Path(tmp), info).predict([[2.0]]).round(6).tolist()
        [4.0]

    """
    kind = info.get("serializer") if isinstance(info, dict) else None
    if kind not in ("skops", "pickle", "files"):
        raise InvalidInputError(
            f"not a model info dict: serializer {kind!r}; expected the dict save_model returned"
        )
    if isinstance(trusted, str):
        raise InvalidInputError(f"trusted must be a list of type names, not the string {trusted!r}")
    files: list[str] = list(info.get("files") or [])
    missing = [f for f in files if not src.joinpath(*f.split("/")).is_file()]
    if not files or missing:
        raise ArtifactNotFoundError(
            f"model files missing under {src}: {', '.join(missing) or 'no files recorded'}"
        )
    if kind == "files":
        return src.joinpath(*files[0].split("/")[:3])
    path = src.joinpath(*files[0].split("/"))
    if kind == "pickle":
        # The user chose pickle when saving: the file is trusted by design.
        with path.open("rb") as fh:
            return pickle.load(fh)
    require("skops", "ml")
    import skops.io as sio

    untrusted = list(sio.get_untrusted_types(file=path))
    allowed = set(trusted or ())
    refused = sorted(t for t in untrusted if t not in allowed and not _auto_trusted(t))
    if refused:
        raise InvalidInputError(
            f"the skops file {path} holds types that are not trusted: {', '.join(refused)}; "
            "if you trust where this model comes from, pass "
            f"trusted={refused!r} to load it"
        )
    return sio.load(path, trusted=untrusted)


# ------------------------------------------------------------------- signature


def _jsonable(value: Any) -> Any:
    """Turn a value from a table or array into plain JSON types."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(value)).decode("ascii")
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    if hasattr(value, "isoformat"):  # datetime, date, time, pandas Timestamp
        return str(value.isoformat())
    return str(value)


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
    return {"kind": "python", "type": _class_path(value)}


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
    result = _jsonable(rows)
    return result if isinstance(result, list) else None


def predict_signature(model: Any, sample_input: Any) -> dict[str, Any] | None:
    """Describe the model's input and output by calling ``predict`` on a sample.

    Args:
        model: The model; when it has no ``predict`` (a path, for instance),
            only the input is described and ``output`` is ``None``.
        sample_input: A few rows the model accepts, or ``None``.

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
    predict = getattr(model, "predict", None)
    output: dict[str, Any] | None = None
    sample_output: list[Any] | None = None
    if callable(predict) and not isinstance(model, (str, os.PathLike)):
        try:
            prediction = predict(sample_input)
        except Exception as exc:
            raise InvalidInputError(
                f"the sample input ({_class_path(sample_input)}) does not fit the model "
                f"{_class_path(model)}: predict failed with {type(exc).__name__}: {exc}"
            ) from exc
        output = describe_value(prediction)
        sample_output = _sample_records(prediction)
    return {
        "input": describe_value(sample_input),
        "output": output,
        "sample_input": _sample_records(sample_input),
        "sample_output": sample_output,
    }
