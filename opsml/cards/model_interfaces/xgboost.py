"""XGBoost boosters and scikit-learn wrappers, saved in XGBoost's own UBJSON format.

Never pickled: the booster goes to ``model.ubj`` (``Booster.save_model``); for a
wrapper (``XGBClassifier``...) the card records the wrapper's class, which must
be one of XGBoost's, and loading builds it and calls its ``load_model``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsml.cards.model_interfaces.base import (
    LoadOptions,
    ModelInterface,
    SavedFiles,
    class_path,
    defined_in,
)
from opsml.errors import InvalidInputError, require

__all__ = ["XGBoostInterface"]


class XGBoostInterface(ModelInterface):
    """``xgboost.Booster`` and the scikit-learn wrappers as ``model.ubj``.

    Example:
        >>> XGBoostInterface().matches(object())
        False

    """

    name = "xgboost"
    framework = "xgboost"
    libraries = ("xgboost", "numpy")
    extra = "xgboost"

    def matches(self, model: Any) -> bool:
        """Boosters and wrappers (any class defined in ``xgboost``)."""
        return defined_in(model, "xgboost")

    def save(self, model: Any, folder: Path) -> SavedFiles:
        """``save_model`` to UBJSON; records the wrapper class when there is one."""
        require("xgboost", self.extra)
        import xgboost

        target = folder / "model.ubj"
        if not isinstance(model, (xgboost.Booster, xgboost.XGBModel)):
            raise InvalidInputError(
                f"{class_path(model)} is neither an xgboost.Booster nor a scikit-learn wrapper"
            )
        model.save_model(target)
        wrapper = None if isinstance(model, xgboost.Booster) else type(model).__name__
        return SavedFiles([target.name], {"wrapper": wrapper})

    def load(self, folder: Path, saved: SavedFiles, options: LoadOptions) -> Any:
        """A ``Booster``, or the recorded wrapper (XGBoost's own only) loaded from the file."""
        require("xgboost", self.extra)
        import xgboost

        path = folder / saved.files[0]
        wrapper = saved.details.get("wrapper")
        if wrapper is None:
            return xgboost.Booster(model_file=str(path))
        cls = getattr(xgboost, str(wrapper), None)
        if not (isinstance(cls, type) and issubclass(cls, xgboost.XGBModel)):
            raise InvalidInputError(
                f"the card names the XGBoost wrapper {wrapper!r}, which xgboost "
                f"{xgboost.__version__} does not have"
            )
        model = cls()
        model.load_model(path)
        return model

    def predict(self, model: Any, inputs: Any) -> Any:
        """Wrappers predict directly; a ``Booster`` predicts on a ``DMatrix``."""
        import xgboost

        if isinstance(model, xgboost.Booster):
            return model.predict(xgboost.DMatrix(inputs))
        return model.predict(inputs)
