"""Artifact storage through fsspec: a folder, ``s3://`` or ``gs://``, the same way.

Layout: ``{root}/{registry}/{repository}/{name}/v{version}/{relative path}``.
The store never takes a path from a client: callers give registry, repository,
name and version (validated) and a relative path (checked by
:func:`opsml.schemas.check_relative_path`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsml.storage.layout import card_prefix, staging_prefix
    from opsml.storage.store import ArtifactStore

__all__ = ["ArtifactStore", "card_prefix", "staging_prefix"]

_HOMES = {
    "ArtifactStore": "opsml.storage.store",
    "card_prefix": "opsml.storage.layout",
    "staging_prefix": "opsml.storage.layout",
}


def __getattr__(name: str) -> Any:
    """The store and its layout, imported on first use: a client that only hashes files
    (``opsml.storage.digest``) does not import the stores (about 7 ms of a fresh process).
    """
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    if name == "ArtifactStore":
        from opsml.storage import _local, _remote  # noqa: F401  # the kinds register themselves
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
