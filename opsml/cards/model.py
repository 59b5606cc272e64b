"""ModelCard: a trained model, its framework, library versions and signature."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from opsml.cards.base import Card
from opsml.errors import InvalidInputError


class ModelCard(Card):
    """A model: scikit-learn estimators are saved with skops (loading runs no
    arbitrary code); other objects only when you ask for ``serializer="pickle"``;
    files or folders (ONNX, torch state dicts, anything) by path.

    Example:
        >>> from sklearn.linear_model import LogisticRegression  # doctest: +SKIP
        >>> card = ModelCard(name="churn", repository="ds-team", contact="ds@example.com",
        ...                  model=LogisticRegression().fit(X, y), sample_input=X[:5])
        >>> CardRegistry("model").register_card(card)  # doctest: +SKIP
        >>> CardRegistry("model").load_card(name="churn").load_model()  # doctest: +SKIP

    """

    registry_type: ClassVar = "model"
    _metadata_fields: ClassVar[tuple[str, ...]] = ("datacard_uid", "runcard_uid", "serializer")

    model: Any = Field(default=None, exclude=True, description="The model object or a path.")
    sample_input: Any = Field(
        default=None, exclude=True, description="A few input rows; records the signature."
    )
    serializer: Literal["auto", "skops", "pickle", "files"] = Field(
        default="auto",
        description="auto (skops for scikit-learn), skops, pickle (explicit), files.",
    )
    datacard_uid: str | None = Field(default=None, description="The data it was trained on.")
    runcard_uid: str | None = Field(default=None, description="The run that trained it.")

    def _write_artifacts(self, dest: Path) -> dict[str, Any]:
        from opsml.cards._model_io import save_model

        if self.model is None:
            raise InvalidInputError(
                f"ModelCard {self.repository}/{self.name} has no model: pass model= "
                "(an estimator, a path, or any object with serializer='pickle')"
            )
        info = save_model(
            self.model, dest, serializer=self.serializer, sample_input=self.sample_input
        )
        return {"model": info}

    @property
    def model_info(self) -> dict[str, Any]:
        """Serializer, framework, model class, library versions and signature."""
        info: dict[str, Any] = self.metadata.get("model", {})
        return info

    @property
    def signature(self) -> dict[str, Any] | None:
        """Input/output description recorded from ``sample_input``."""
        sig: dict[str, Any] | None = self.model_info.get("signature")
        return sig

    def load_model(self, *, trusted: Sequence[str] | None = None) -> Any:
        """Download (verified) and load the model.

        Args:
            trusted: extra types skops may load beyond scikit-learn and numpy.

        Returns:
            The model, or the local ``Path`` of a model stored as files.

        Example:
            >>> card = registry.load_card(name="churn", version="^1")  # doctest: +SKIP
            >>> model = card.load_model()  # doctest: +SKIP

        """
        if self.model is not None:
            return self.model
        from opsml.cards._model_io import load_model

        root = self._local_artifacts("model/")
        return load_model(root, self.model_info, trusted=trusted)
