"""LightGBM boosters and scikit-learn wrappers, saved as LightGBM's text model.

Never pickled: the booster goes to ``model.txt`` (``Booster.save_model``). For
a wrapper (``LGBMClassifier``...) the card records the wrapper's class (one of
LightGBM's), its parameters and, for a classifier, its classes; loading builds
the wrapper around the booster read back from the text file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsml.cards.model_interfaces._json import jsonable
from opsml.cards.model_interfaces.base import (
    LoadOptions,
    ModelInterface,
    SavedFiles,
    class_path,
    defined_in,
)
from opsml.errors import InvalidInputError, require

__all__ = ["LightGBMInterface"]


class LightGBMInterface(ModelInterface):
    """``lightgbm.Booster`` and the scikit-learn wrappers as ``model.txt``.

    Example:
        >>> LightGBMInterface().matches(object())
        False

    """

    name = "lightgbm"
    framework = "lightgbm"
    libraries = ("lightgbm", "numpy")
    extra = "lightgbm"

    def matches(self, model: Any) -> bool:
        """Boosters and wrappers (any class defined in ``lightgbm``)."""
        return defined_in(model, "lightgbm")

    def save(self, model: Any, folder: Path) -> SavedFiles:
        """The booster's text model; for a wrapper its class, parameters and classes."""
        require("lightgbm", self.extra)
        import lightgbm

        target = folder / "model.txt"
        if isinstance(model, lightgbm.Booster):
            model.save_model(target)
            return SavedFiles([target.name], {"wrapper": None})
        if not isinstance(model, lightgbm.LGBMModel):
            raise InvalidInputError(
                f"{class_path(model)} is neither a lightgbm.Booster nor a scikit-learn wrapper"
            )
        model.booster_.save_model(target)
        classes = getattr(model, "classes_", None)
        details = {
            "wrapper": type(model).__name__,
            "params": jsonable(model.get_params()),
            "objective": jsonable(getattr(model, "objective_", None)),
            "classes": None if classes is None else jsonable(classes),
        }
        return SavedFiles([target.name], details)

    def load(self, folder: Path, saved: SavedFiles, options: LoadOptions) -> Any:
        """A ``Booster``, or the recorded wrapper (LightGBM's own only) around it."""
        require("lightgbm", self.extra)
        import lightgbm

        booster = lightgbm.Booster(model_file=str(folder / saved.files[0]))
        wrapper = saved.details.get("wrapper")
        if wrapper is None:
            return booster
        cls = getattr(lightgbm, str(wrapper), None)
        if not (isinstance(cls, type) and issubclass(cls, lightgbm.LGBMModel)):
            raise InvalidInputError(
                f"the card names the LightGBM wrapper {wrapper!r}, which lightgbm "
                f"{lightgbm.__version__} does not have"
            )
        return _rebuild(cls, booster, saved.details)


def _rebuild(cls: type[Any], booster: Any, details: dict[str, Any]) -> Any:
    """Set the fitted state ``predict`` reads (what ``fit`` would have set)."""
    import numpy as np
    from lightgbm import sklearn as lgb_sklearn

    model = cls(**(details.get("params") or {}))
    model._Booster = booster
    model.fitted_ = True
    model._n_features = model._n_features_in = booster.num_feature()
    model._objective = details.get("objective")
    classes = details.get("classes")
    if classes is not None:
        model._classes = np.asarray(classes)
        model._n_classes = len(classes)
        model._le = lgb_sklearn._LGBMLabelEncoder().fit(model._classes)  # type: ignore[attr-defined]
    return model
