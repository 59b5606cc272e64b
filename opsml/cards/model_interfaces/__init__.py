"""Model interfaces: how each framework's models are saved, loaded and described.

One table (:mod:`.table`) maps the name a card records as its ``serializer``
to an interface: ``skops`` (scikit-learn), ``xgboost``, ``lightgbm``, ``onnx``,
``pickle`` (explicit only), ``files``, and any a package registers through the
``opsml.model_interfaces`` entry point. A framework's library is imported only
when one of its models is saved or loaded.

Example:
    >>> from opsml.cards.model_interfaces import get_interface
    >>> get_interface("lightgbm").libraries
    ('lightgbm', 'numpy')

"""

from __future__ import annotations

from opsml.cards.model_interfaces._io import MODEL_DIR, load_model, save_model
from opsml.cards.model_interfaces._signature import describe_value, predict_signature
from opsml.cards.model_interfaces.base import LoadOptions, ModelInterface, SavedFiles
from opsml.cards.model_interfaces.table import (
    ENTRY_POINT_GROUP,
    find_interface,
    get_interface,
    interfaces,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "MODEL_DIR",
    "LoadOptions",
    "ModelInterface",
    "SavedFiles",
    "describe_value",
    "find_interface",
    "get_interface",
    "interfaces",
    "load_model",
    "predict_signature",
    "save_model",
]
