"""The two interfaces that are not a framework: explicit pickle, and files copied as they are."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from opsml.cards.model_interfaces.base import (
    LoadOptions,
    ModelInterface,
    SavedFiles,
    class_path,
)
from opsml.errors import InvalidInputError

__all__ = ["FilesInterface", "PickleInterface"]


class PickleInterface(ModelInterface):
    """Any object, pickled (protocol 5), only when the user asks for ``serializer="pickle"``.

    Loading runs code from the file, so it also needs the caller's consent:
    ``load_model(allow_pickle=True)``.

    Example:
        >>> PickleInterface.auto
        False

    """

    name = "pickle"
    framework = "pickle"
    auto = False

    def save(self, model: Any, folder: Path) -> SavedFiles:
        """``model.pkl``; an object pickle refuses is an error naming its type."""
        target = folder / "model.pkl"
        try:
            with target.open("wb") as fh:
                pickle.dump(model, fh, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            target.unlink(missing_ok=True)
            raise InvalidInputError(
                f"model of type {class_path(model)} cannot be pickled: {exc}"
            ) from exc
        return SavedFiles([target.name])

    def load(self, folder: Path, saved: SavedFiles, options: LoadOptions) -> Any:
        """Unpickle, only with ``allow_pickle``: the file runs code when loaded."""
        path = folder / saved.files[0]
        if not options.allow_pickle:
            raise InvalidInputError(
                f"the model {path.name} was saved with pickle, and unpickling runs code from "
                "the file: pass allow_pickle=True to load_model if you trust where it comes from"
            )
        with path.open("rb") as fh:
            return pickle.load(fh)


class FilesInterface(ModelInterface):
    """A path to a file or folder (a torch state dict, anything), copied as it is.

    Loading returns the local path of the copy.

    Example:
        >>> FilesInterface().matches("weights.pt")
        True

    """

    name = "files"
    framework = "files"

    def matches(self, model: Any) -> bool:
        """Any ``str`` or ``os.PathLike``."""
        return isinstance(model, (str, os.PathLike))

    def save(self, model: Any, folder: Path) -> SavedFiles:
        """Copy the file or folder under ``files/<name>``."""
        from opsml.cards._path_copy import copy_path_artifact

        return SavedFiles(copy_path_artifact(model, folder, "files"))

    def load(self, folder: Path, saved: SavedFiles, options: LoadOptions) -> Any:
        """The copied file or folder (its top-level path)."""
        return folder.joinpath(*saved.files[0].split("/")[:2])
