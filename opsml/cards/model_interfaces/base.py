"""The model interface: how one framework's models are saved, loaded and described.

An interface is a small class with a ``name`` (what the card records as its
``serializer``), a cheap :meth:`ModelInterface.matches` test (it must not import
the framework: it looks at the class's module) and the methods that save and
load the files. Built-in interfaces live beside this module; other packages
add theirs through the ``opsml.model_interfaces`` entry point (see
:mod:`opsml.cards.model_interfaces.table`).
"""

from __future__ import annotations

import importlib
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["LoadOptions", "ModelInterface", "SavedFiles", "class_path", "library_versions"]


@dataclass(frozen=True)
class SavedFiles:
    """What :meth:`ModelInterface.save` wrote.

    Attributes:
        files: paths relative to the model folder, the main file first.
        details: JSON-able facts the loader needs (wrapper class, classes, ...).

    Example:
        >>> SavedFiles(["model.ubj"], {"wrapper": "xgboost.sklearn.XGBClassifier"}).files
        ['model.ubj']

    """

    files: list[str]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadOptions:
    """What the caller allows when loading.

    Attributes:
        trusted: extra type names a skops file may hold.
        allow_pickle: the caller accepts to unpickle a file the card says is a pickle.

    Example:
        >>> LoadOptions(allow_pickle=True).allow_pickle
        True

    """

    trusted: Sequence[str] = ()
    allow_pickle: bool = False


def class_path(obj: Any) -> str:
    """``module.QualName`` of the object's class.

    Example:
        >>> class_path(1.5)
        'builtins.float'

    """
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def defined_in(obj: Any, *packages: str) -> bool:
    """Whether the object's class or one of its bases comes from one of ``packages``.

    Only looks at module names: the framework is not imported.

    Example:
        >>> defined_in(1.5, "builtins"), defined_in(1.5, "numpy")
        (True, False)

    """
    return any(cls.__module__.split(".")[0] in packages for cls in type(obj).__mro__)


def library_versions(*names: str) -> dict[str, str]:
    """Python's version and the ``__version__`` of each importable module in ``names``.

    Example:
        >>> sorted(library_versions("json"))
        ['json', 'python']

    """
    versions = {"python": platform.python_version()}
    for name in names:
        module = sys.modules.get(name)
        if module is None:
            try:
                module = importlib.import_module(name)
            except Exception:
                continue
        version = getattr(module, "__version__", None)
        if version is not None:
            versions[name] = str(version)
    return versions


class ModelInterface:
    """Save, load and describe the models of one framework.

    Subclasses set ``name``, ``framework``, ``libraries`` and ``extra`` and
    implement :meth:`matches`, :meth:`save` and :meth:`load`; :meth:`predict`
    (used to record the signature) defaults to ``model.predict(x)``.

    Example:
        >>> class Echo(ModelInterface):
        ...     name = framework = "echo"
        >>> Echo().matches(object())
        False

    """

    name: ClassVar[str] = ""
    """The card's ``serializer``: the key of this interface in the table."""
    framework: ClassVar[str] = ""
    """The framework the card records (``sklearn``, ``xgboost``...)."""
    libraries: ClassVar[tuple[str, ...]] = ()
    """Modules whose versions the card records."""
    extra: ClassVar[str] = "ml"
    """The opsml extra that installs the framework (for error messages)."""
    auto: ClassVar[bool] = True
    """Whether ``serializer="auto"`` may pick this interface."""

    def matches(self, model: Any) -> bool:
        """Whether ``serializer="auto"`` should save ``model`` with this interface."""
        return False

    def save(self, model: Any, folder: Path) -> SavedFiles:
        """Write the model's files into ``folder`` (which exists)."""
        raise NotImplementedError

    def load(self, folder: Path, saved: SavedFiles, options: LoadOptions) -> Any:
        """Load the model from the files :meth:`save` wrote into ``folder``."""
        raise NotImplementedError

    def can_predict(self, model: Any) -> bool:
        """Whether :meth:`predict` works on ``model`` (else the signature has no output)."""
        return callable(getattr(model, "predict", None))

    def predict(self, model: Any, inputs: Any) -> Any:
        """Predictions of ``model`` on ``inputs`` (records the signature's output)."""
        return model.predict(inputs)

    def describe(self, model: Any) -> dict[str, Any]:
        """Extra JSON-able facts for the signature (ONNX graph inputs, for instance)."""
        return {}

    def versions(self) -> dict[str, str]:
        """Library versions to record on the card."""
        return library_versions(*self.libraries)
