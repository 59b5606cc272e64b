"""Save and load the model artifact of a ModelCard through the table of interfaces.

The model lives under ``<dest>/model/``: the interface's files (``model.skops``,
``model.ubj``, ``model.txt``, ``model.onnx``, ``model.pkl`` or
``files/<name>``), and with ``to_onnx`` an export under ``onnx/model.onnx``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from opsml.cards.model_interfaces._signature import predict_signature
from opsml.cards.model_interfaces.base import LoadOptions, ModelInterface, SavedFiles, class_path
from opsml.cards.model_interfaces.table import find_interface, get_interface, interfaces
from opsml.errors import ArtifactNotFoundError, InvalidInputError

__all__ = ["MODEL_DIR", "load_model", "save_model"]

MODEL_DIR = "model"
"""Folder under the destination that holds every model artifact."""

ToOnnx = bool | Literal["try"]


def _pick(model: Any, serializer: str) -> Any:
    is_path = isinstance(model, (str, os.PathLike))
    if serializer == "auto":
        return find_interface(model)
    interface = get_interface(serializer)
    if serializer == "files" and not is_path:
        raise InvalidInputError(
            f'serializer="files" needs a path (str or os.PathLike); got {class_path(model)}'
        )
    if is_path and serializer not in ("files", "onnx"):
        raise InvalidInputError(
            f"model is a path ({os.fspath(model)!s}); paths are copied as files, so pass "
            'serializer="auto" or "files"'
        )
    return interface


def save_model(
    model: Any,
    dest: Path,
    *,
    serializer: str = "auto",
    sample_input: Any = None,
    to_onnx: ToOnnx = False,
) -> dict[str, Any]:
    """Write ``model`` under ``dest/model`` with its interface and describe it.

    Args:
        model: A model of a known framework, any object to pickle (with
            ``serializer="pickle"``), or a ``str``/``os.PathLike`` to a file or
            folder (a ``.onnx`` file is stored as ONNX).
        dest: The card's artifact folder; files go under ``dest/model``.
        serializer: ``"auto"`` (the interface that recognises the model) or an
            interface name: ``"skops"``, ``"xgboost"``, ``"lightgbm"``,
            ``"onnx"``, ``"pickle"`` (explicit opt-in), ``"files"``, or one a
            package registered.
        sample_input: Optional input the model predicts on; records the signature.
        to_onnx: ``True`` adds an ONNX export and its parity with the model on
            ``sample_input`` (a failed export is an error); ``"try"`` records
            why an export failed instead of raising.

    Returns:
        A JSON-able dict: ``serializer`` (the interface), ``framework``,
        ``model_class`` (``None`` for files), ``files``, ``library_versions``,
        ``signature``; ``details`` when the interface records some; ``onnx``
        with ``to_onnx``.

    Raises:
        InvalidInputError: Unknown serializer, a model no interface recognises,
            one that cannot be saved, a missing path, a sample input that does
            not fit the model, or a failed ONNX export with ``to_onnx=True``.
        MissingDependencyError: The framework's library is not installed.

    Example:
        >>> import tempfile
        >>> from sklearn.linear_model import LinearRegression
        >>> model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     info = save_model(model, Path(tmp))
        >>> info["serializer"], info["files"]
        ('skops', ['model/model.skops'])

    """
    if to_onnx not in (True, False, "try"):
        raise InvalidInputError(f'to_onnx must be True, False or "try", not {to_onnx!r}')
    interface = _pick(model, serializer)
    signature = predict_signature(model, sample_input, interface)
    folder = dest / MODEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    info = _info(model, interface, interface.save(model, folder), signature)
    if to_onnx:
        from opsml.cards.model_interfaces._onnx_export import export_onnx

        info["onnx"] = export_onnx(model, interface, sample_input, folder, strict=to_onnx is True)
        if "file" in info["onnx"]:
            info["files"].append(f"{MODEL_DIR}/{info['onnx']['file']}")
    return info


def _info(
    model: Any, interface: ModelInterface, saved: SavedFiles, signature: dict[str, Any] | None
) -> dict[str, Any]:
    """The JSON-able description :func:`save_model` returns."""
    framework = interface.framework
    if interface.name == "pickle":
        top = str(type(model).__module__).split(".")[0]
        framework = "pickle" if top in ("builtins", "__main__") else top
    info: dict[str, Any] = {
        "serializer": interface.name,
        "framework": framework,
        "model_class": None if isinstance(model, (str, os.PathLike)) else class_path(model),
        "files": [f"{MODEL_DIR}/{f}" for f in saved.files],
        "library_versions": interface.versions(),
        "signature": signature,
    }
    if saved.details:
        info["details"] = saved.details
    return info


def _saved(src: Path, info: Any) -> tuple[ModelInterface, SavedFiles]:
    kind = info.get("serializer") if isinstance(info, dict) else None
    try:
        interface = get_interface(kind) if isinstance(kind, str) else None
    except InvalidInputError:
        interface = None
    if interface is None:
        raise InvalidInputError(
            f"not a model info dict: serializer {kind!r} is none of the model interfaces "
            f"({', '.join(interfaces())}); expected the dict save_model returned"
        )
    files: list[str] = list(info.get("files") or [])
    missing = [f for f in files if not src.joinpath(*f.split("/")).is_file()]
    if not files or missing:
        raise ArtifactNotFoundError(
            f"model files missing under {src}: {', '.join(missing) or 'no files recorded'}"
        )
    prefix = f"{MODEL_DIR}/"
    saved = SavedFiles([f.removeprefix(prefix) for f in files], dict(info.get("details") or {}))
    return interface, saved


def load_model(
    src: Path,
    info: dict[str, Any],
    *,
    trusted: Sequence[str] | None = None,
    allow_pickle: bool = False,
) -> Any:
    """Load a model saved by :func:`save_model` from ``src``, with the interface it names.

    Args:
        src: A folder holding the relative files listed in ``info["files"]``.
        info: The dict :func:`save_model` returned.
        trusted: For skops files, extra type names to trust beyond the default
            policy (see :mod:`opsml.cards.model_interfaces.sklearn`).
        allow_pickle: Unpickle a model saved with ``serializer="pickle"``
            (unpickling runs code from the file); without it such a model is refused.

    Returns:
        The model object (an onnxruntime session for ONNX); for ``"files"``,
        the :class:`~pathlib.Path` of the copied file or folder under ``src``.

    Raises:
        InvalidInputError: ``info`` is not a model info dict, names an unknown
            interface, ``trusted`` is a plain string, the skops file holds
            untrusted types, or a pickle without ``allow_pickle``.
        ArtifactNotFoundError: A file listed in ``info`` is missing under ``src``.
        MissingDependencyError: The framework's library is not installed.

    Example:
        >>> import tempfile
        >>> from sklearn.linear_model import LinearRegression
        >>> model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     info = save_model(model, Path(tmp))
        ...     load_model(Path(tmp), info).predict([[2.0]]).round(6).tolist()
        [4.0]

    """
    if isinstance(trusted, str):
        raise InvalidInputError(f"trusted must be a list of type names, not the string {trusted!r}")
    interface, saved = _saved(src, info)
    options = LoadOptions(trusted=tuple(trusted or ()), allow_pickle=allow_pickle)
    return interface.load(src / MODEL_DIR, saved, options)
