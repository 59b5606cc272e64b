"""scikit-learn estimators and pipelines, saved with skops (loading runs no arbitrary code).

Trust policy when loading: skops itself trusts a safe default set (builtin
containers, numpy arrays and ufuncs, most scikit-learn types). On top of that
every reported type that is a *class* defined in ``sklearn`` or ``numpy`` (such
as ``sklearn.tree._tree.Tree``) is trusted. Functions (``numpy.mean``),
builtins and any other module's types are refused with
:class:`~opsml.errors.InvalidInputError` naming them until the caller lists
them in ``trusted=[...]``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from opsml.cards.model_interfaces.base import (
    LoadOptions,
    ModelInterface,
    SavedFiles,
    class_path,
)
from opsml.errors import InvalidInputError, require

__all__ = ["SklearnInterface"]

_AUTO_TRUSTED_MODULES = ("sklearn", "numpy")


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


class SklearnInterface(ModelInterface):
    """scikit-learn models as ``model.skops``.

    ``serializer="auto"`` picks it for objects whose class is defined in
    ``sklearn``; ``serializer="skops"`` forces it (a custom estimator).

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> SklearnInterface().matches(LinearRegression())
        True

    """

    name = "skops"
    framework = "sklearn"
    libraries = ("sklearn", "skops", "numpy")

    def matches(self, model: Any) -> bool:
        """scikit-learn's own classes (not subclasses defined elsewhere)."""
        return str(type(model).__module__).split(".")[0] == "sklearn"

    def save(self, model: Any, folder: Path) -> SavedFiles:
        """Dump with skops; a model skops cannot save is an error that suggests pickle."""
        require("skops", "ml")
        import skops.io as sio

        target = folder / "model.skops"
        try:
            sio.dump(model, target)
        except Exception as exc:
            target.unlink(missing_ok=True)
            raise InvalidInputError(
                f"skops cannot save model of type {class_path(model)}: {exc}; "
                'pass serializer="pickle" to pickle it explicitly'
            ) from exc
        return SavedFiles([target.name])

    def load(self, folder: Path, saved: SavedFiles, options: LoadOptions) -> Any:
        """Load with skops after checking every reported type against the trust policy."""
        require("skops", "ml")
        import skops.io as sio

        path = folder / saved.files[0]
        untrusted = list(sio.get_untrusted_types(file=path))
        allowed = set(options.trusted)
        refused = sorted(t for t in untrusted if t not in allowed and not _auto_trusted(t))
        if refused:
            raise InvalidInputError(
                f"the skops file {path} holds types that are not trusted: {', '.join(refused)}; "
                "if you trust where this model comes from, pass "
                f"trusted={refused!r} to load it"
            )
        return sio.load(path, trusted=untrusted)
