"""OpsML for Prefect: a registry of data, model, run and pipeline cards.

Importing this package is cheap: it touches no network, database or disk, and
loads the card and registry modules only when their names are first used.

Example:
    >>> from opsml import CardRegistry, ModelCard  # doctest: +SKIP
    >>> registry = CardRegistry("model")  # doctest: +SKIP

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsml.errors import OpsmlError

if TYPE_CHECKING:
    from opsml.cards import DataCard, ModelCard, PipelineCard, RunCard
    from opsml.config import configure
    from opsml.registry import CardRegistry

__version__ = "0.1.0"

_LAZY = {
    "CardRegistry": "opsml.registry",
    "DataCard": "opsml.cards",
    "ModelCard": "opsml.cards",
    "RunCard": "opsml.cards",
    "PipelineCard": "opsml.cards",
    "configure": "opsml.config",
}

__all__ = [
    "CardRegistry",
    "DataCard",
    "ModelCard",
    "OpsmlError",
    "PipelineCard",
    "RunCard",
    "configure",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'opsml' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
