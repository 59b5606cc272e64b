"""DataCard: a dataset (pandas, pyarrow, polars, numpy, or files) with its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from opsml.cards.base import Card
from opsml.errors import InvalidInputError


class DataCard(Card):
    """A dataset: tabular data is stored as Parquet, arrays as ``.npy``, paths as files.

    The card records the schema, row count and SHA-256 of the data.

    Example:
        >>> import pandas as pd  # doctest: +SKIP
        >>> card = DataCard(name="churn-data", repository="ds-team",
        ...                 contact="ds@example.com", data=pd.DataFrame({"x": [1, 2]}))
        >>> CardRegistry("data").register_card(card)  # doctest: +SKIP
        >>> loaded = CardRegistry("data").load_card(name="churn-data")  # doctest: +SKIP
        >>> loaded.load_data()  # doctest: +SKIP

    """

    registry_type: ClassVar = "data"

    data: Any = Field(default=None, exclude=True, description="The data to store.")
    splits: dict[str, Any] | None = Field(
        default=None, exclude=True, description="Optional named splits (e.g. train, test)."
    )

    def _write_artifacts(self, dest: Path) -> dict[str, Any]:
        from opsml.cards._data_io import save_data

        if self.data is None:
            raise InvalidInputError(
                f"DataCard {self.repository}/{self.name} has no data: pass data= "
                "(a DataFrame, Table, array, or a path)"
            )
        return {"data": save_data(self.data, dest, splits=self.splits)}

    @property
    def data_info(self) -> dict[str, Any]:
        """What was recorded about the data: kind, format, schema, row count, digest."""
        info: dict[str, Any] = self.metadata.get("data", {})
        return info

    def load_data(self, *, split: str | None = None) -> Any:
        """Download (verified) and load the data as the kind it was saved from.

        Args:
            split: name of a split to load instead of the whole data.

        Example:
            >>> df = registry.load_card(name="churn-data").load_data()  # doctest: +SKIP

        """
        if self.data is not None and split is None:
            return self.data
        from opsml.cards._data_io import load_data

        root = self._local_artifacts("data/")
        return load_data(root, self.data_info, split=split)
