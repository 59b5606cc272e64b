"""The table of model interfaces, keyed by the name a card records as its ``serializer``.

Built in: ``skops`` (scikit-learn), ``xgboost``, ``lightgbm``, ``onnx``,
``pickle`` (explicit only) and ``files``. Other packages add interfaces
through the ``opsml.model_interfaces`` entry point: each entry names a
:class:`~opsml.cards.model_interfaces.base.ModelInterface` subclass (or an
instance), registered under its ``name``; a package's interface may not
replace a built-in one. Entry points are read (and their modules imported)
only when a model is saved or loaded, never on ``import opsml``.

``serializer="auto"`` asks each interface in turn, built-ins first, whether it
:meth:`~ModelInterface.matches` the model; the files interface comes last, so
a ``.onnx`` path is stored as ONNX and any other path as files.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from opsml.cards.model_interfaces._basic import FilesInterface, PickleInterface
from opsml.cards.model_interfaces.base import ModelInterface, class_path, defined_in
from opsml.cards.model_interfaces.lightgbm import LightGBMInterface
from opsml.cards.model_interfaces.onnx import OnnxInterface
from opsml.cards.model_interfaces.sklearn import SklearnInterface
from opsml.cards.model_interfaces.xgboost import XGBoostInterface
from opsml.errors import InvalidInputError

__all__ = ["ENTRY_POINT_GROUP", "find_interface", "get_interface", "interfaces"]

ENTRY_POINT_GROUP = "opsml.model_interfaces"

_BUILT_IN: tuple[ModelInterface, ...] = (
    SklearnInterface(),
    XGBoostInterface(),
    LightGBMInterface(),
    OnnxInterface(),
    PickleInterface(),
)
_FILES = FilesInterface()


def _plugin(entry: importlib.metadata.EntryPoint) -> ModelInterface:
    try:
        loaded = entry.load()
    except Exception as exc:
        raise InvalidInputError(
            f"the model interface {entry.name!r} ({entry.value}) of the "
            f"{ENTRY_POINT_GROUP} entry point cannot be imported: {exc}"
        ) from exc
    interface = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(interface, ModelInterface) or not interface.name:
        raise InvalidInputError(
            f"the {ENTRY_POINT_GROUP} entry point {entry.name!r} ({entry.value}) is not a "
            "ModelInterface with a name"
        )
    return interface


def interfaces() -> dict[str, ModelInterface]:
    """Every interface by name: built-ins, then those of the entry point, then ``files``.

    Read afresh on each call (entry points are cheap to list; a plugin's module
    is imported when listed here).

    Example:
        >>> list(interfaces())[:4]
        ['skops', 'xgboost', 'lightgbm', 'onnx']

    """
    table = {i.name: i for i in _BUILT_IN}
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        interface = _plugin(entry)
        if interface.name in table or interface.name == _FILES.name:
            raise InvalidInputError(
                f"the {ENTRY_POINT_GROUP} entry point {entry.name!r} ({entry.value}) "
                f"would replace the interface {interface.name!r}; give it another name"
            )
        table[interface.name] = interface
    table[_FILES.name] = _FILES
    return table


def _built_in(name: str) -> ModelInterface | None:
    """A built-in interface by name, found without listing entry points (the hot path)."""
    return next((i for i in (*_BUILT_IN, _FILES) if i.name == name), None)


def get_interface(name: str) -> ModelInterface:
    """The interface a card's ``serializer`` names.

    A built-in name is answered without reading the entry points (listing them
    costs milliseconds per call); other names read them.

    Raises:
        InvalidInputError: No interface has that name (the message lists them).

    Example:
        >>> get_interface("xgboost").framework
        'xgboost'

    """
    built_in = _built_in(name)
    if built_in is not None:
        return built_in
    table = interfaces()
    if name not in table:
        raise InvalidInputError(
            f"no model interface is called {name!r}; known: {', '.join(table)} "
            f"(packages add more through the {ENTRY_POINT_GROUP} entry point)"
        )
    return table[name]


def find_interface(model: Any) -> ModelInterface:
    """The interface ``serializer="auto"`` uses for ``model``.

    Raises:
        InvalidInputError: No interface matches (the message says what to do).

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> find_interface(LinearRegression()).name
        'skops'

    """
    for interface in _BUILT_IN:  # the hot path: built-ins match without listing entry points
        if interface.auto and interface.matches(model):
            return interface
    for interface in interfaces().values():
        if interface.auto and interface.matches(model):
            return interface
    hint = (
        ' pass serializer="skops" to save this scikit-learn-style estimator with skops,'
        if defined_in(model, "sklearn")
        else ""
    )
    raise InvalidInputError(
        f"model of type {class_path(model)} cannot be saved automatically: no model interface "
        f"({', '.join(interfaces())}) recognises it."
        + hint
        + ' pass serializer="pickle" to pickle it explicitly (loading a pickle runs '
        "code from the file), or save it to a file and pass the path"
    )
